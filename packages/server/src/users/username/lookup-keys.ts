// What login looks up: users stored before the case-folded key keep their legacy form until a
// migration rewrites them, so both forms are tried. No refusal rule applies here.
import { legacyUsernameKey, usernameKey } from './username-key.js';

/** The forms to look `value` up under, in order: the legacy form, then the key when it differs. */
export function lookupKeys(value: unknown): string[] {
  if (typeof value !== 'string') return [];
  const legacy = legacyUsernameKey(value);
  const key = usernameKey(value);
  return key === legacy ? [legacy] : [legacy, key];
}
