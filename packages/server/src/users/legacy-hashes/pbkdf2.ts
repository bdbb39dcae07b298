// PBKDF2-HMAC (RFC 8018 §5.2), the family of Django's pbkdf2_sha256/pbkdf2_sha1, Werkzeug's pbkdf2:
// and passlib's $pbkdf2-sha256$: one derivation with the stored salt and count, compared in constant time.
import { pbkdf2, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { costParameter, LEGACY_HASH_CAPS } from './caps.js';
import { malformed } from './errors.js';

const derive = promisify(pbkdf2);

export type Pbkdf2Digest = 'sha1' | 'sha256' | 'sha512';

export interface Pbkdf2Hash {
  readonly kind: 'pbkdf2';
  /** The source format, for messages (`django pbkdf2_sha256`, `werkzeug pbkdf2`...). */
  readonly format: string;
  readonly digest: Pbkdf2Digest;
  readonly iterations: number;
  readonly salt: Buffer;
  readonly expected: Buffer;
}

/** Checks the count against the cap and the derived key's length (at most one 512-bit block, as every source writes). */
export function pbkdf2Hash(format: string, digest: string, iterations: string | undefined, salt: Buffer, expected: Buffer): Pbkdf2Hash {
  if (digest !== 'sha1' && digest !== 'sha256' && digest !== 'sha512') throw malformed(format, `digest ${digest} is not sha1, sha256 or sha512`);
  const count = costParameter(format, 'iteration count', iterations, LEGACY_HASH_CAPS.pbkdf2Iterations);
  if (salt.length === 0) throw malformed(format, 'the salt is empty');
  if (expected.length < 16 || expected.length > 64) throw malformed(format, `a derived key of ${expected.length} bytes`);
  return { kind: 'pbkdf2', format, digest, iterations: count, salt, expected };
}

export async function verifyPbkdf2(hash: Pbkdf2Hash, password: Buffer): Promise<boolean> {
  const derived = await derive(password, hash.salt, hash.iterations, hash.expected.length, hash.digest);
  return timingSafeEqual(derived, hash.expected);
}
