// bcrypt in its modular-crypt form ($2a$, $2b$, $2y$ — passlib, the bcrypt package, Django's
// bcrypt$ and bcrypt_sha256$). Like the source, only the first 72 bytes of the password count
// (bcrypt's key schedule reads no more). The hash is recomputed with the stored salt by
// @node-rs/bcrypt and its checksum compared in constant time here.
import { createHash, timingSafeEqual } from 'node:crypto';
import { hash as bcrypt } from '@node-rs/bcrypt';
import { costParameter, LEGACY_HASH_CAPS } from './caps.js';
import { malformed } from './errors.js';

/** bcrypt's own base64 alphabet, and the standard one it maps onto. */
const BCRYPT_ALPHABET = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const STANDARD_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const KEY_BYTES = 72;

export interface BcryptHash {
  readonly kind: 'bcrypt';
  readonly format: string;
  readonly cost: number;
  /** The 16 salt bytes. */
  readonly salt: Buffer;
  /** The 31 characters after the salt. */
  readonly checksum: string;
  /**
   * Django's bcrypt_sha256 hashes the password with SHA-256 first and gives bcrypt the 64 hex
   * digits (so long passwords are not truncated); every other format gives the password itself.
   */
  readonly prehash: 'sha256-hex' | 'none';
}

/** Parses `$2b$12$<22 salt characters><31 checksum characters>`. `$2x$` (a buggy variant) is not accepted. */
export function bcryptHash(format: string, text: string, prehash: BcryptHash['prehash'] = 'none'): BcryptHash {
  const match = /^\$2[aby]\$([0-9]{2})\$([./A-Za-z0-9]{22})([./A-Za-z0-9]{31})$/.exec(text);
  if (match === null) throw malformed(format, 'not $2a$, $2b$ or $2y$, a two-digit cost, 22 salt and 31 checksum characters');
  const cost = costParameter(format, 'cost', match[1], LEGACY_HASH_CAPS.bcryptCost, 4);
  return { kind: 'bcrypt', format, cost, salt: decode(match[2] ?? ''), checksum: match[3] ?? '', prehash };
}

export async function verifyBcrypt(hash: BcryptHash, password: Buffer): Promise<boolean> {
  const input = hash.prehash === 'sha256-hex' ? Buffer.from(createHash('sha256').update(password).digest('hex'), 'latin1') : password;
  const computed = await bcrypt(input.subarray(0, KEY_BYTES), hash.cost, hash.salt);
  return timingSafeEqual(Buffer.from(computed.slice(-31), 'latin1'), Buffer.from(hash.checksum, 'latin1'));
}

/** 22 bcrypt-base64 characters to the 16 salt bytes (the last character's low 4 bits are unused). */
function decode(text: string): Buffer {
  let standard = '';
  for (const c of text) standard += STANDARD_ALPHABET[BCRYPT_ALPHABET.indexOf(c)] ?? '';
  return Buffer.from(standard, 'base64').subarray(0, 16);
}
