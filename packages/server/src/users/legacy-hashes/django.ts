// Django's `algorithm$…` strings (django.contrib.auth.hashers): pbkdf2_sha256 and pbkdf2_sha1
// (`$iterations$salt$base64`, the salt a text used as its UTF-8 bytes), argon2 (a PHC string after
// the name), bcrypt and bcrypt_sha256 (a $2b$ string after `name$`).
import { argon2Hash } from './argon2.js';
import { bcryptHash } from './bcrypt.js';
import { base64Bytes } from './caps.js';
import { malformed } from './errors.js';
import { pbkdf2Hash } from './pbkdf2.js';
import type { LegacyHash } from './types.js';

export const DJANGO_PREFIXES = ['pbkdf2_sha256$', 'pbkdf2_sha1$', 'argon2$', 'bcrypt_sha256$', 'bcrypt$'] as const;

/** Parses a Django hash; undefined when `stored` has none of Django's prefixes. */
export function parseDjango(stored: string): LegacyHash | undefined {
  const name = DJANGO_PREFIXES.find((prefix) => stored.startsWith(prefix))?.slice(0, -1);
  if (name === undefined) return undefined;
  const format = `Django ${name}`;
  const rest = stored.slice(name.length);
  switch (name) {
    case 'pbkdf2_sha256':
    case 'pbkdf2_sha1': {
      const [, iterations, salt, hash, ...extra] = rest.split('$');
      if (salt === undefined || salt === '' || hash === undefined || extra.length > 0) throw malformed(format, 'not name$iterations$salt$hash');
      return pbkdf2Hash(
        format,
        name === 'pbkdf2_sha1' ? 'sha1' : 'sha256',
        iterations,
        Buffer.from(salt, 'utf8'),
        base64Bytes(format, 'the hash', hash),
      );
    }
    case 'argon2':
      // Django writes `argon2` then argon2-cffi's own PHC string, which starts with `$`.
      return argon2Hash(format, rest);
    case 'bcrypt_sha256':
    case 'bcrypt':
      // `bcrypt$` + bcrypt's `$2b$…`: the rest starts with `$$2b$`.
      return bcryptHash(format, rest.slice(1), name === 'bcrypt_sha256' ? 'sha256-hex' : 'none');
  }
}
