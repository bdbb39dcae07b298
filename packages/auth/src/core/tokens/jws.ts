import { Buffer } from 'node:buffer';
import { createHmac, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import { bytesEqual } from '../../internal/timing-safe.js';
import type { Key } from '../keys/key.js';

/** P-256 group order n (FIPS 186-4 D.1.2.3): ES256 r and s must lie in [1, n−1]. */
const P256_ORDER = Buffer.from('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551', 'hex');

/** Signs the JWS signing input (`header.payload`, ASCII) with the key's one algorithm. */
export function signInput(key: Key, input: string): Buffer {
  const signingKey = key.signingKey;
  if (signingKey === undefined) throw new TypeError(`Key ${key.kid} is verify-only and cannot sign.`);
  switch (key.alg) {
    case 'HS256':
      return createHmac('sha256', signingKey).update(input, 'latin1').digest();
    case 'EdDSA':
      return cryptoSign(null, Buffer.from(input, 'latin1'), signingKey);
    case 'ES256':
      return cryptoSign('sha256', Buffer.from(input, 'latin1'), { key: signingKey, dsaEncoding: 'ieee-p1363' });
    case 'RS256':
      return cryptoSign('sha256', Buffer.from(input, 'latin1'), signingKey);
  }
}

/**
 * Checks a signature with the key's one algorithm. The length is checked first for every
 * algorithm (a truncated MAC must not reach `timingSafeEqual`, which throws); ES256 takes only
 * the 64-byte IEEE P1363 form with r and s in [1, n−1] (CVE-2022-21449).
 */
export function verifyInput(key: Key, input: string, signature: Buffer): boolean {
  if (signature.length !== key.signatureLength) return false;
  switch (key.alg) {
    case 'HS256':
      return bytesEqual(createHmac('sha256', key.verifyingKey).update(input, 'latin1').digest(), signature);
    case 'EdDSA':
      return cryptoVerify(null, Buffer.from(input, 'latin1'), key.verifyingKey, signature);
    case 'ES256':
      if (!scalarInRange(signature.subarray(0, 32)) || !scalarInRange(signature.subarray(32))) return false;
      return cryptoVerify('sha256', Buffer.from(input, 'latin1'), { key: key.verifyingKey, dsaEncoding: 'ieee-p1363' }, signature);
    case 'RS256':
      return cryptoVerify('sha256', Buffer.from(input, 'latin1'), key.verifyingKey, signature);
  }
}

function scalarInRange(scalar: Buffer): boolean {
  return scalar.some((b) => b !== 0) && Buffer.compare(scalar, P256_ORDER) < 0;
}
