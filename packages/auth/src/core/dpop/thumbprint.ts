import { createHash } from 'node:crypto';
import { encodeBase64url } from '../../internal/base64url.js';

/** The members of each key type that its RFC 7638 thumbprint covers, in lexicographic order (§3.2). */
const REQUIRED: Readonly<Record<string, readonly string[]>> = {
  EC: ['crv', 'kty', 'x', 'y'],
  OKP: ['crv', 'kty', 'x'],
  RSA: ['e', 'kty', 'n'],
};

/**
 * The RFC 7638 JWK thumbprint of a public key: SHA-256 over the JSON of its required members only, in
 * lexicographic order and without whitespace (§3.1–§3.3), as base64url. It is the `jkt` that DPoP binds
 * tokens to (RFC 9449 §6.1). Throws a `TypeError` for a key type without a thumbprint rule here (`oct`
 * is never a DPoP key) or a required member that is not a string.
 * @example const jkt = jwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' });
 */
export function jwkThumbprint(jwk: Readonly<Record<string, unknown>>): string {
  const kty = jwk.kty;
  const members = typeof kty === 'string' && Object.hasOwn(REQUIRED, kty) ? REQUIRED[kty] : undefined;
  if (members === undefined) throw new TypeError(`No thumbprint for key type ${JSON.stringify(kty)}: DPoP keys are EC, OKP or RSA.`);
  const parts: string[] = [];
  for (const name of members) {
    const value = jwk[name];
    if (typeof value !== 'string') throw new TypeError(`The ${kty} key lacks its "${name}" member.`);
    // JSON.stringify escapes exactly as RFC 7638 §3.3 requires (no whitespace, minimal escapes).
    parts.push(`${JSON.stringify(name)}:${JSON.stringify(value)}`);
  }
  return encodeBase64url(
    createHash('sha256')
      .update(`{${parts.join(',')}}`, 'utf8')
      .digest(),
  );
}
