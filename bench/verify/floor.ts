// The floor: the steps every JWT library must take, written directly with node:crypto and nothing else. A library
// cannot be faster than this by more than noise; the ratio to it is the library's own overhead.
import { Buffer } from 'node:buffer';
import { createHmac, randomBytes, sign, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import type { Algorithm } from '@tessera/auth';

export interface FloorKeys {
  readonly alg: Algorithm;
  readonly kid: string;
  readonly issuer: string;
  readonly audience: string;
  /** Private key or HMAC secret. */
  readonly signingKey: KeyObject;
  /** Public key or HMAC secret. */
  readonly verifyingKey: KeyObject;
}

/** Split, decode, parse, one node:crypto call, claim checks (exp/iat/nbf/iss/aud, header typ/alg/kid). */
export function floorVerifier(keys: FloorKeys): (token: string) => Record<string, unknown> {
  const { alg, kid, issuer, audience, verifyingKey } = keys;
  const check = signatureCheck(alg, verifyingKey);
  return (token) => {
    const parts = token.split('.');
    if (parts.length !== 3) throw new Error('malformed');
    const [h, p, s] = parts as [string, string, string];
    const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (header.alg !== alg || header.typ !== 'at+jwt' || header.kid !== kid) throw new Error('header refused');
    if (!check(`${h}.${p}`, Buffer.from(s, 'base64url'))) throw new Error('bad signature');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>;
    const now = Date.now() / 1000;
    const { exp, iat, nbf } = claims;
    if (typeof exp !== 'number' || exp <= now) throw new Error('expired');
    if (typeof iat !== 'number' || iat > now) throw new Error('issued in the future');
    if (nbf !== undefined && (typeof nbf !== 'number' || nbf > now)) throw new Error('not yet valid');
    if (claims.iss !== issuer || claims.aud !== audience) throw new Error('issuer or audience refused');
    return claims;
  };
}

/** JSON.stringify the claims (random jti and sid, as every Tessera token has), base64url, one node:crypto call. */
export function floorSigner(keys: FloorKeys, ttlSeconds: number): (sub: string) => string {
  const { alg, kid, issuer, audience, signingKey } = keys;
  const header = Buffer.from(JSON.stringify({ alg, typ: 'at+jwt', kid })).toString('base64url');
  const signer = signatureMaker(alg, signingKey);
  return (sub) => {
    const iat = Math.floor(Date.now() / 1000);
    const claims = {
      iss: issuer,
      aud: audience,
      sub,
      iat,
      nbf: iat,
      exp: iat + ttlSeconds,
      jti: randomBytes(16).toString('base64url'),
      sid: randomBytes(16).toString('base64url'),
      type: 'access',
      fresh: true,
    };
    const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    return `${input}.${signer(input).toString('base64url')}`;
  };
}

function signatureCheck(alg: Algorithm, key: KeyObject): (input: string, signature: Buffer) => boolean {
  switch (alg) {
    case 'HS256':
      return (input, signature) => {
        const mac = createHmac('sha256', key).update(input).digest();
        return mac.length === signature.length && timingSafeEqual(mac, signature);
      };
    case 'EdDSA':
      return (input, signature) => verify(null, Buffer.from(input), key, signature);
    case 'ES256':
      return (input, signature) => verify('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }, signature);
    case 'RS256':
      return (input, signature) => verify('sha256', Buffer.from(input), key, signature);
  }
}

function signatureMaker(alg: Algorithm, key: KeyObject): (input: string) => Buffer {
  switch (alg) {
    case 'HS256':
      return (input) => createHmac('sha256', key).update(input).digest();
    case 'EdDSA':
      return (input) => sign(null, Buffer.from(input), key);
    case 'ES256':
      return (input) => sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
    case 'RS256':
      return (input) => sign('sha256', Buffer.from(input), key);
  }
}
