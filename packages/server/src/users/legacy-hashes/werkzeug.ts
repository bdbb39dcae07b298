// Werkzeug's `method$salt$hexdigest` (werkzeug.security.generate_password_hash): `pbkdf2:DIGEST:ITERATIONS`
// and, since Werkzeug 2.3, `scrypt:N:r:p`; the salt is a text used as its UTF-8 bytes. generate_password_hash
// always writes the parameters: a method without them would depend on the Werkzeug version's defaults,
// so it is refused as malformed.
import { malformed } from './errors.js';
import type { LegacyHash } from './types.js';
import { pbkdf2Hash } from './pbkdf2.js';
import { scryptHash } from './scrypt.js';

export const WERKZEUG_PREFIXES = ['pbkdf2:', 'scrypt:'] as const;

/** Parses a Werkzeug hash; undefined when `stored` has neither of its prefixes. */
export function parseWerkzeug(stored: string): LegacyHash | undefined {
  if (!WERKZEUG_PREFIXES.some((prefix) => stored.startsWith(prefix))) return undefined;
  const [method = '', salt, hex, ...extra] = stored.split('$');
  const [name = '', ...args] = method.split(':');
  const format = `Werkzeug ${name}`;
  if (salt === undefined || salt === '' || hex === undefined || extra.length > 0) throw malformed(format, 'not method$salt$hash');
  if (!/^(?:[0-9a-f]{2})+$/.test(hex)) throw malformed(format, 'the hash is not hexadecimal');
  const expected = Buffer.from(hex, 'hex');
  const saltBytes = Buffer.from(salt, 'utf8');
  if (name === 'pbkdf2') {
    if (args.length !== 2) throw malformed(format, 'not pbkdf2:DIGEST:ITERATIONS');
    return pbkdf2Hash(format, args[0] ?? '', args[1], saltBytes, expected);
  }
  if (args.length !== 3) throw malformed(format, 'not scrypt:N:r:p');
  return scryptHash(format, args[0], args[1], args[2], saltBytes, expected);
}
