import { Buffer } from 'node:buffer';
import { timingSafeEqual } from 'node:crypto';

/**
 * Constant-time equality of two byte strings. Lengths are compared first because
 * `timingSafeEqual` throws on a length mismatch (a 500 waiting to happen, security.md §9);
 * a length difference leaks only the length, which is not secret here.
 */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && timingSafeEqual(a, b);
}

/** Constant-time equality of two strings, compared as UTF-8 bytes. */
export function stringsEqual(a: string, b: string): boolean {
  return bytesEqual(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
