import { Buffer } from 'node:buffer';

/** Characters allowed in a base64url segment (RFC 4648 §5, no padding). */
const SEGMENT = /^[A-Za-z0-9_-]+$/;

/**
 * For the last character of an unpadded segment, the bits that must be zero so the text is the
 * only encoding of its bytes: with length % 4 === 2 the last char carries 2 used bits (4 unused),
 * with length % 4 === 3 it carries 4 used bits (2 unused). Node's decoder ignores these bits and
 * so accepts several strings for one value (security.md §9).
 */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) VALUE[ALPHABET.charCodeAt(i)] = i;

/** True when `s` is non-empty, uses only the base64url alphabet, and is the canonical encoding. */
export function isCanonicalBase64url(s: string): boolean {
  const rem = s.length & 3;
  if (rem === 1 || !SEGMENT.test(s)) return false;
  if (rem === 0) return true;
  const last = VALUE[s.charCodeAt(s.length - 1)] ?? -1;
  return (last & (rem === 2 ? 0b001111 : 0b000011)) === 0;
}

/** Decodes a segment already checked with `isCanonicalBase64url`. */
export function decodeBase64url(s: string): Buffer {
  return Buffer.from(s, 'base64url');
}

/** Encodes bytes or UTF-8 text as unpadded base64url. */
export function encodeBase64url(data: Uint8Array | string): string {
  return (typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength)).toString('base64url');
}
