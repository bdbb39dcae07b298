// Password policy for new passwords (NIST SP 800-63B-4 §3.1.1.2, password verifiers): a length
// minimum counted in characters, no composition rules, and refusal of passwords on a blocklist of
// commonly used, expected or compromised values, of context-specific words (the username) and of
// trivially guessable repetitions and sequences. Login never applies the policy: only new
// passwords are judged, so accounts with older passwords can still sign in and then change them.
import { createRequire } from 'node:module';
import type { dictionary as Dictionary } from '@zxcvbn-ts/language-common';

export type PasswordResult = { ok: true; value: string } | { ok: false; problem: string };

export interface PasswordContext {
  /** The account's username; passwords containing it are refused when it has 3 or more characters. */
  username?: string;
  /** Minimum length in code points after NFKC, 8 to 64 (default 8, the §3.1.1.2 floor). */
  minLength?: number;
}

/** Which list forms the blocklist, for the docs. */
export const BLOCKLIST_SOURCE = '@zxcvbn-ts/language-common 4.x passwords-common';
export const PASSWORD_MIN_LENGTH_DEFAULT = 8;
export const PASSWORD_MIN_LENGTH_FLOOR = 8;
export const PASSWORD_MIN_LENGTH_CEILING = 64;
export const PASSWORD_MAX_BYTES = 1024;
const USERNAME_MIN_LENGTH = 3;

const PROBLEMS = {
  type: 'password must be a string',
  tooLong: `password must be at most ${PASSWORD_MAX_BYTES} bytes`,
  tooShort: (min: number) => `password must be at least ${min} characters`,
  trivial: 'password must not be a single repeated character or a simple sequence such as 12345678',
  username: 'password must not contain the username',
  blocklisted: 'password is on a list of common or breached passwords; choose another',
} as const;

// The package decompresses its lists when it is loaded (~25 ms, ~2 MB), so it is required on
// first use rather than imported: the server starts fast and processes that never set a password
// never pay for it.
let blocklist: Set<string> | undefined;

function loadBlocklist(): Set<string> {
  if (blocklist === undefined) {
    const require = createRequire(import.meta.url);
    const { dictionary } = require('@zxcvbn-ts/language-common') as { dictionary: typeof Dictionary };
    // Only the observed-password list: 'diceware-common' is the EFF word list for building
    // passphrases, not a record of chosen or breached passwords; words people do pick (baseball) are here.
    blocklist = new Set(dictionary['passwords-common'].map(fold));
  }
  return blocklist;
}

/** Whether the blocklist Set has been built yet (it is built on the first policy check). */
export function blocklistBuilt(): boolean {
  return blocklist !== undefined;
}

/** Number of distinct entries in the blocklist (builds it if needed). */
export function blocklistSize(): number {
  return loadBlocklist().size;
}

/** Case-insensitive comparison form, the same folding as canonical usernames. */
function fold(value: string): string {
  return value.normalize('NFKC').toLowerCase().normalize('NFKC');
}

/**
 * Type check, NFKC and the byte maximum only: for login and legacy-hash rehash, which must accept
 * any password that was valid when it was set. Longer input is refused, never truncated (§3.1.1.2).
 */
export function normaliseLoginPassword(value: unknown): PasswordResult {
  if (typeof value !== 'string') return { ok: false, problem: PROBLEMS.type };
  const normalised = value.normalize('NFKC');
  if (Buffer.byteLength(normalised, 'utf8') > PASSWORD_MAX_BYTES) return { ok: false, problem: PROBLEMS.tooLong };
  return { ok: true, value: normalised };
}

/** Only one code point repeated, or each code point one above (or each one below) the previous. */
function isTrivial(codePoints: readonly number[]): boolean {
  const [first, second] = codePoints;
  if (first === undefined || second === undefined) return true;
  const step = second - first;
  if (step !== 0 && step !== 1 && step !== -1) return false;
  return codePoints.every((cp, i) => i === 0 || cp - (codePoints[i - 1] ?? cp) === step);
}

/** The NFKC-normalised new password, or one sentence saying why it is refused (never echoing it). */
export function checkNewPassword(password: unknown, context: PasswordContext = {}): PasswordResult {
  const minLength = context.minLength ?? PASSWORD_MIN_LENGTH_DEFAULT;
  if (!Number.isInteger(minLength) || minLength < PASSWORD_MIN_LENGTH_FLOOR || minLength > PASSWORD_MIN_LENGTH_CEILING) {
    throw new RangeError(`minLength must be an integer from ${PASSWORD_MIN_LENGTH_FLOOR} to ${PASSWORD_MIN_LENGTH_CEILING}`);
  }
  const normalised = normaliseLoginPassword(password);
  if (!normalised.ok) return normalised;
  const { value } = normalised;
  // §3.1.1.2 counts characters, and each Unicode code point counts as one.
  if ([...value].length < minLength) return { ok: false, problem: PROBLEMS.tooShort(minLength) };

  const folded = fold(value);
  const codePoints = Array.from(folded, (ch) => ch.codePointAt(0) ?? 0);
  if (isTrivial(codePoints)) return { ok: false, problem: PROBLEMS.trivial };

  if (context.username !== undefined) {
    const username = fold(context.username);
    if ([...username].length >= USERNAME_MIN_LENGTH && folded.includes(username)) return { ok: false, problem: PROBLEMS.username };
  }

  if (loadBlocklist().has(folded)) return { ok: false, problem: PROBLEMS.blocklisted };
  return { ok: true, value };
}
