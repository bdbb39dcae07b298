// The canonical form a username is stored and looked up under.
import { caseFold } from './case-fold.js';

/**
 * The key: NFKC (UAX #15), so compatibility variants (fullwidth, ligatures, the Kelvin sign) meet
 * their plain letters; full case fold (CaseFolding.txt C + F); NFKC again, because folding can
 * produce text that is not NFKC. Default-ignorables are not removed here (as NFKC_Casefold would):
 * checkNewUsername refuses them instead, so no two stored keys differ by one.
 */
export function usernameKey(value: string): string {
  return caseFold(value.normalize('NFKC')).normalize('NFKC');
}

/**
 * The canonical form users were stored under before the key above (credentials.ts):
 * toLowerCase instead of a case fold. Login still looks it up first, until every row is migrated.
 */
export function legacyUsernameKey(value: string): string {
  return value.normalize('NFKC').toLowerCase().normalize('NFKC');
}
