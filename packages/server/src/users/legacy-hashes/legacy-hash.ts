// A password hash from another stack, parsed (parameters checked against the caps) and ready to verify.
import { verifyArgon2 } from './argon2.js';
import { verifyBcrypt } from './bcrypt.js';
import { MAX_HASH_LENGTH } from './caps.js';
import { parseDjango } from './django.js';
import { LegacyHashError } from './errors.js';
import { parseModularCrypt } from './passlib.js';
import { verifyPbkdf2 } from './pbkdf2.js';
import { verifyScrypt } from './scrypt.js';
import type { LegacyHash } from './types.js';
import { parseWerkzeug } from './werkzeug.js';

export type { LegacyHash };

/** The formats recognised, by prefix, for messages and the docs. */
export const LEGACY_FORMATS =
  'Django (pbkdf2_sha256$, pbkdf2_sha1$, argon2$, bcrypt_sha256$, bcrypt$), Werkzeug (pbkdf2:, scrypt:), ' +
  'bcrypt ($2a$, $2b$, $2y$), passlib ($pbkdf2-sha256$, $pbkdf2-sha512$, $pbkdf2$) and argon2 PHC ($argon2id$, $argon2i$, $argon2d$)';

/** Parses a stored hash, checking its parameters against the caps; throws LegacyHashError with a stable code. */
export function parseLegacyHash(stored: string): LegacyHash {
  if (stored.length > MAX_HASH_LENGTH) throw new LegacyHashError('legacy_hash_malformed', `the hash is longer than ${MAX_HASH_LENGTH} characters`);
  const parsed = parseDjango(stored) ?? parseWerkzeug(stored) ?? parseModularCrypt(stored);
  if (parsed === undefined) {
    // Django marks an account without a password with "!" and random characters.
    if (stored.startsWith('!'))
      throw new LegacyHashError('legacy_hash_unknown_format', 'unknown hash format: "!" marks an unusable password, with nothing to verify');
    // The prefix alone (up to its separator), never the rest of the hash.
    const prefix = /^\$?[A-Za-z0-9_.-]{1,24}[$:]/.exec(stored)?.[0];
    throw new LegacyHashError('legacy_hash_unknown_format', `unknown hash format${prefix === undefined ? '' : ` ${JSON.stringify(prefix)}`}`);
  }
  return parsed;
}

/** Whether `password` (the bytes as typed, 1 to 1024 of them) is the one behind `hash`; constant-time compare. */
export function verifyLegacyHash(hash: LegacyHash, password: Buffer): Promise<boolean> {
  switch (hash.kind) {
    case 'pbkdf2':
      return verifyPbkdf2(hash, password);
    case 'scrypt':
      return verifyScrypt(hash, password);
    case 'bcrypt':
      return verifyBcrypt(hash, password);
    case 'argon2':
      return verifyArgon2(hash, password);
  }
}
