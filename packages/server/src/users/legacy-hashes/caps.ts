// The most work one legacy hash may ask for. Each login verifies with the stored parameters, so a
// hash line past these (10^9 PBKDF2 iterations, a 4 GiB argon2) would let one import make logins a
// denial of service; the import refuses it with its line number, and login treats it as a mismatch.
import { malformed, tooCostly } from './errors.js';

export const LEGACY_HASH_CAPS = {
  pbkdf2Iterations: 2_000_000,
  bcryptCost: 14,
  /** scrypt's memory is 128·N·r bytes: 2^20 is 128 MiB. */
  scryptNr: 2 ** 20,
  scryptParallelism: 16,
  argon2MemoryKiB: 262_144,
  argon2Time: 10,
  argon2Parallelism: 16,
} as const;

/** Longest stored hash looked at: every supported format is far shorter. */
export const MAX_HASH_LENGTH = 512;

/**
 * A decimal parameter as a number, refused past `max` with `name` in the message. Digits only (no
 * sign, no exponent); a number too long to read exactly is past any cap.
 */
export function costParameter(format: string, name: string, text: string | undefined, max: number, min = 1): number {
  if (text === undefined || !/^[0-9]+$/.test(text)) throw malformed(format, `${name} is not a number`);
  const value = text.length > 15 ? Number.POSITIVE_INFINITY : Number(text);
  if (value > max) throw tooCostly(format, `${name} ${text.length > 15 ? `${text.slice(0, 15)}…` : text} is over the cap of ${max}`);
  if (value < min) throw malformed(format, `${name} ${value} is under ${min}`);
  return value;
}

/** Bytes of standard or URL-safe base64 (padding optional), refused when not. */
export function base64Bytes(format: string, what: string, text: string | undefined, alphabet: 'standard' | 'ab64' = 'standard'): Buffer {
  const pattern = alphabet === 'ab64' ? /^[A-Za-z0-9./]*$/ : /^[A-Za-z0-9+/]*={0,2}$/;
  if (text === undefined || text === '' || !pattern.test(text) || text.replace(/=+$/, '').length % 4 === 1)
    throw malformed(format, `${what} is not base64`);
  // passlib's "adapted base64" writes '.' for '+' and drops the padding.
  return Buffer.from(alphabet === 'ab64' ? text.replaceAll('.', '+') : text, 'base64');
}
