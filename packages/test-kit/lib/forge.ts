// Tokens built by hand: arbitrary header and payload bytes signed with node:crypto directly (never with
// the library's own signer, so that a bug there cannot hide a bug in verification), for the hostile,
// property and conformance suites of the library and the hardening suites of the server.
import { Buffer } from 'node:buffer';
import { createHmac, sign as cryptoSign, type KeyObject } from 'node:crypto';

/** What the forger needs of a key (the library's `Key` has it). */
export interface ForgeKey {
  readonly kid: string;
  readonly alg: 'EdDSA' | 'ES256' | 'RS256' | 'HS256';
  readonly signingKey: KeyObject | undefined;
}

/** A header or payload: an object or array (JSON-encoded), a string (taken as raw JSON text, UTF-8) or raw bytes. */
export type Part = string | Uint8Array | Record<string, unknown> | readonly unknown[];

/** Unpadded base64url of bytes or of UTF-8 text. */
export function b64u(data: Uint8Array | string): string {
  return (typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data)).toString('base64url');
}

/** The base64url segment for a header or payload. */
export function segment(part: Part): string {
  if (typeof part === 'string' || part instanceof Uint8Array) return b64u(part);
  return b64u(JSON.stringify(part));
}

/** Decodes a segment leniently (Node's decoder), for reading what a token says. */
export function decodeSegment(text: string): Buffer {
  return Buffer.from(text, 'base64url');
}

/** The signature `key` makes over the JWS signing input, per its one algorithm (RFC 7518 §3). */
export function signature(key: ForgeKey, input: string, options: { der?: boolean } = {}): Buffer {
  const signingKey = key.signingKey;
  if (signingKey === undefined) throw new TypeError(`key ${key.kid} cannot sign`);
  const data = Buffer.from(input, 'latin1');
  switch (key.alg) {
    case 'HS256':
      return createHmac('sha256', signingKey).update(data).digest();
    case 'EdDSA':
      return cryptoSign(null, data, signingKey);
    case 'ES256':
      return cryptoSign('sha256', data, { key: signingKey, dsaEncoding: options.der === true ? 'der' : 'ieee-p1363' });
    case 'RS256':
      return cryptoSign('sha256', data, signingKey);
  }
}

/** HMAC-SHA256 keyed with any material at all: what an attacker does with a published public key. */
export function hmacWith(material: string | Uint8Array | KeyObject, input: string): Buffer {
  return createHmac('sha256', material).update(input, 'latin1').digest();
}

/** `header.payload.signature` over the given segment texts, signed with `key` (the texts are signed as they are, canonical or not). */
export function signSegments(key: ForgeKey, header: string, payload: string): string {
  return `${header}.${payload}.${signature(key, `${header}.${payload}`).toString('base64url')}`;
}

/** A compact token whose header and payload are exactly `header` and `payload`, signed with `key`. */
export function sign(key: ForgeKey, header: Part, payload: Part): string {
  return signSegments(key, segment(header), segment(payload));
}

/** A compact token with the given signature segment text (empty, junk, another token's). */
export function withSignature(header: Part, payload: Part, signatureText: string): string {
  return `${segment(header)}.${segment(payload)}.${signatureText}`;
}

/** A copy of `base` with `changes` applied; a change to `undefined` removes the member. */
export function patch(base: Readonly<Record<string, unknown>>, changes: Readonly<Record<string, unknown>> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries({ ...base, ...changes })) if (value !== undefined) out[name] = value;
  return out;
}

/** The three segments of a compact token. */
export function parts(token: string): [string, string, string] {
  const [h = '', p = '', s = ''] = token.split('.');
  return [h, p, s];
}

/** Sets the lowest unused bit of a segment's last character: Node decodes it to the same bytes (security.md §9). */
export function nonCanonicalTail(text: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  if (text.length % 4 === 0 || text.length % 4 === 1) throw new TypeError('segment has no unused bits');
  const last = alphabet.indexOf(text.charAt(text.length - 1));
  return text.slice(0, -1) + alphabet.charAt(last | 1);
}
