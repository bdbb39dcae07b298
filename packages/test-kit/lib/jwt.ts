// Reading tokens without verifying them (the servers and the library do that): header and claims.
import { Buffer } from 'node:buffer';
import { jsonObject } from './http.js';

/** The decoded header and claims of a JWT (each {} when it is not a JSON object). */
export function decodeJwt(token: string): { header: Record<string, unknown>; claims: Record<string, unknown> } {
  const [h = '', c = ''] = token.split('.');
  return { header: jsonObject(Buffer.from(h, 'base64url').toString('utf8')), claims: jsonObject(Buffer.from(c, 'base64url').toString('utf8')) };
}

/** The decoded claims of a JWT. */
export function claimsOf(token: string): Record<string, unknown> {
  return decodeJwt(token).claims;
}
