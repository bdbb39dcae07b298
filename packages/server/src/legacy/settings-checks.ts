// The TESSERA_LEGACY_* values checked one by one, and the rules joining them (docs/migration.md): a cut-over
// that names a format names its secret and its end, and that end is near, so old tokens cannot linger.
import { CHECKS, type Check } from '@tessera/auth';

const { refuse } = CHECKS;

/** The stacks whose tokens a cut-over honours. */
export const LEGACY_FORMATS = ['simplejwt', 'flask-jwt-extended', 'authx'] as const;
export type LegacyFormat = (typeof LEGACY_FORMATS)[number];

/** HMAC only: the secret is shared with the old stack, and `none` or a public-key algorithm is never taken. */
export const LEGACY_ALGS = ['HS256', 'HS384', 'HS512'] as const;
export type LegacyAlg = (typeof LEGACY_ALGS)[number];

/** The longest a cut-over may still run when the server starts. */
export const MAX_CUTOVER_DAYS = 90;
const DAY_MS = 86_400_000;

/** Which claim names the user when TESSERA_LEGACY_USER_CLAIM is unset: each library's own default. */
export const DEFAULT_USER_CLAIM: Readonly<Record<LegacyFormat, string>> = {
  simplejwt: 'user_id', // SIMPLE_JWT['USER_ID_CLAIM']
  'flask-jwt-extended': 'sub', // JWT_IDENTITY_CLAIM
  authx: 'sub', // authx/token.py create_token always writes `sub`
};

/** RFC 7518 §3.2: an HMAC key at least as long as the hash; 32 bytes is HS256's and the floor for all three. */
export const MIN_SECRET_BYTES = 32;

/** The old stack's signing key as it was configured: any text, UTF-8, at least 32 bytes. */
export const legacySecretText: Check<string> = {
  kind: 'text',
  check: (value) =>
    typeof value === 'string' && Buffer.byteLength(value, 'utf8') >= MIN_SECRET_BYTES
      ? { ok: true, value }
      : refuse(
          `the old stack's signing key exactly as it was configured, at least ${MIN_SECRET_BYTES} bytes (a shorter key makes its tokens guessable: let those users sign in again instead)`,
        ),
};

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2})$/;

/** An ISO 8601 date (midnight UTC) or a date-time with its offset, as epoch milliseconds. */
export const legacyUntilText: Check<number> = {
  kind: 'text',
  check: (value) => {
    const text = String(value);
    const day = text.slice(0, 10);
    // Date.parse rolls 2027-02-30 over to March: the day must read back as written.
    const midnight = ISO_DATE.test(day) ? Date.parse(`${day}T00:00:00Z`) : Number.NaN;
    const real = Number.isFinite(midnight) && new Date(midnight).toISOString().startsWith(day);
    const at = !real ? Number.NaN : text === day ? midnight : ISO_DATE_TIME.test(text) ? Date.parse(text) : Number.NaN;
    return Number.isFinite(at)
      ? { ok: true, value: at }
      : refuse('an ISO 8601 date such as 2027-03-01 (midnight UTC) or a date-time with its offset such as 2027-03-01T12:00:00Z');
  },
};

/** The part of the configuration these rules read. */
export interface LegacySettings {
  readonly legacyFormat: LegacyFormat | undefined;
  readonly legacySecret: string | undefined;
  readonly legacyUntil: number | undefined;
  readonly legacyUserClaim: string | undefined;
  readonly legacyAccess: boolean;
}

/** One sentence per problem, each saying how to fix it; `now` is when the server starts. */
export function legacyProblems(config: LegacySettings, now: number): string[] {
  const problems: string[] = [];
  if (config.legacyFormat === undefined) {
    for (const [set, name] of [
      [config.legacySecret !== undefined, 'TESSERA_LEGACY_SECRET'],
      [config.legacyUntil !== undefined, 'TESSERA_LEGACY_UNTIL'],
      [config.legacyUserClaim !== undefined, 'TESSERA_LEGACY_USER_CLAIM'],
      [config.legacyAccess, 'TESSERA_LEGACY_ACCESS'],
    ] as const)
      if (set)
        problems.push(`${name} is only used with TESSERA_LEGACY_FORMAT: set TESSERA_LEGACY_FORMAT to the stack being replaced, or unset ${name}.`);
    return problems;
  }
  if (config.legacySecret === undefined)
    problems.push(
      `TESSERA_LEGACY_SECRET is required with TESSERA_LEGACY_FORMAT=${config.legacyFormat}: set it to the key that stack signed its tokens with.`,
    );
  if (config.legacyUntil === undefined)
    problems.push(
      `TESSERA_LEGACY_UNTIL is required with TESSERA_LEGACY_FORMAT=${config.legacyFormat}: set the date the cut-over ends, at most ${MAX_CUTOVER_DAYS} days ahead (e.g. ${isoDay(now + 30 * DAY_MS)}).`,
    );
  else if (config.legacyUntil - now > MAX_CUTOVER_DAYS * DAY_MS)
    problems.push(
      `TESSERA_LEGACY_UNTIL (${new Date(config.legacyUntil).toISOString()}) is more than ${MAX_CUTOVER_DAYS} days ahead: choose a date on or before ${isoDay(now + MAX_CUTOVER_DAYS * DAY_MS)}, so that old tokens stop being honoured soon.`,
    );
  if (config.legacyFormat === 'authx' && config.legacyUserClaim !== undefined && config.legacyUserClaim !== 'sub')
    problems.push('TESSERA_LEGACY_USER_CLAIM must be sub (or unset) with TESSERA_LEGACY_FORMAT=authx: AuthX always names the user in sub.');
  return problems;
}

function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
