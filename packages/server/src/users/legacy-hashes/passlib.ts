// Modular-crypt strings as passlib and the bcrypt package write them: bcrypt ($2a$, $2b$, $2y$),
// passlib's own $pbkdf2$, $pbkdf2-sha256$ and $pbkdf2-sha512$ (`$ITERATIONS$SALT$CHECKSUM`, both in
// passlib's "adapted base64": '.' for '+', no padding, the salt raw bytes), and argon2 PHC strings.
import { argon2Hash } from './argon2.js';
import { bcryptHash } from './bcrypt.js';
import { base64Bytes } from './caps.js';
import { malformed } from './errors.js';
import type { LegacyHash } from './types.js';
import { pbkdf2Hash, type Pbkdf2Digest } from './pbkdf2.js';

const PBKDF2_DIGESTS: Record<string, Pbkdf2Digest> = { pbkdf2: 'sha1', 'pbkdf2-sha256': 'sha256', 'pbkdf2-sha512': 'sha512' };

export const MODULAR_CRYPT_PREFIXES = [
  '$2a$',
  '$2b$',
  '$2y$',
  '$pbkdf2$',
  '$pbkdf2-sha256$',
  '$pbkdf2-sha512$',
  '$argon2id$',
  '$argon2i$',
  '$argon2d$',
];

/** Parses a modular-crypt hash; undefined when `stored` has none of the prefixes above. */
export function parseModularCrypt(stored: string): LegacyHash | undefined {
  const id = stored.split('$', 2)[1] ?? '';
  if (!MODULAR_CRYPT_PREFIXES.includes(`$${id}$`)) return undefined;
  if (/^2[aby]$/.test(id)) return bcryptHash(`bcrypt $${id}$`, stored);
  if (id.startsWith('argon2')) return argon2Hash(id, stored);
  const format = `passlib ${id}`;
  const [, , iterations, salt, checksum, ...extra] = stored.split('$');
  if (checksum === undefined || extra.length > 0) throw malformed(format, `not $${id}$iterations$salt$checksum`);
  return pbkdf2Hash(
    format,
    PBKDF2_DIGESTS[id] ?? '',
    iterations,
    base64Bytes(format, 'the salt', salt, 'ab64'),
    base64Bytes(format, 'the checksum', checksum, 'ab64'),
  );
}
