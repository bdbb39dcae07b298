// The JWS layer alone (RFC 7515 compact form), for the suites that check RFC vectors and
// detached/unencoded payloads: strict segments, the key's algorithm, the signature, no claim rules.
import type { Buffer } from 'node:buffer';
import { verifyInput } from '../../src/core/tokens/jws.js';
import { decodeBase64url, isCanonicalBase64url } from '../../src/internal/base64url.js';
import { parseJsonObject } from '../../src/internal/json.js';
import type { Key } from '../../src/index.js';

/** The header and the raw payload bytes of a token whose signature `key` verifies, or undefined. */
export function verifyCompactJws(token: string, key: Key): { header: Record<string, unknown>; payload: Buffer } | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every(isCanonicalBase64url)) return undefined;
  const [h, p, s] = parts as [string, string, string];
  const header = parseJsonObject(decodeBase64url(h));
  if (header === undefined || header.alg !== key.alg || 'crit' in header) return undefined;
  if (!verifyInput(key, `${h}.${p}`, decodeBase64url(s))) return undefined;
  return { header, payload: decodeBase64url(p) };
}
