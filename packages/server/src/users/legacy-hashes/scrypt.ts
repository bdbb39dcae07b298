// scrypt (RFC 7914), as Werkzeug 3 stores it. Node's default maxmem (32 MiB) refuses Werkzeug's own
// default (N = 2^15, r = 8 needs 128·N·r = 32 MiB plus a little), so the limit is computed from the
// parameters, which the cap already bounds.
import { scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { costParameter, LEGACY_HASH_CAPS } from './caps.js';
import { malformed, tooCostly } from './errors.js';

export interface ScryptHash {
  readonly kind: 'scrypt';
  readonly format: string;
  readonly n: number;
  readonly r: number;
  readonly p: number;
  readonly salt: Buffer;
  readonly expected: Buffer;
}

export function scryptHash(
  format: string,
  n: string | undefined,
  r: string | undefined,
  p: string | undefined,
  salt: Buffer,
  expected: Buffer,
): ScryptHash {
  const cost = costParameter(format, 'N', n, LEGACY_HASH_CAPS.scryptNr, 2);
  if ((cost & (cost - 1)) !== 0) throw malformed(format, `N ${cost} is not a power of 2`);
  const block = costParameter(format, 'r', r, LEGACY_HASH_CAPS.scryptNr);
  if (cost * block > LEGACY_HASH_CAPS.scryptNr) throw tooCostly(format, `N·r ${cost * block} is over the cap of ${LEGACY_HASH_CAPS.scryptNr}`);
  const parallel = costParameter(format, 'p', p, LEGACY_HASH_CAPS.scryptParallelism);
  if (salt.length === 0) throw malformed(format, 'the salt is empty');
  if (expected.length < 16 || expected.length > 128) throw malformed(format, `a derived key of ${expected.length} bytes`);
  return { kind: 'scrypt', format, n: cost, r: block, p: parallel, salt, expected };
}

export function verifyScrypt(hash: ScryptHash, password: Buffer): Promise<boolean> {
  // OpenSSL's own accounting: 128·r·(N + p + 2) bytes (the V array and the p blocks), plus slack.
  const options: ScryptOptions = { N: hash.n, r: hash.r, p: hash.p, maxmem: 128 * hash.r * (hash.n + hash.p + 2) + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(password, hash.salt, hash.expected.length, options, (err, derived) => {
      if (err) reject(err);
      else resolve(timingSafeEqual(derived, hash.expected));
    });
  });
}
