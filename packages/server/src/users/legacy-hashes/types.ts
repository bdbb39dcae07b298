// What every format parses into: one of the four families' parameters.
import type { Argon2Hash } from './argon2.js';
import type { BcryptHash } from './bcrypt.js';
import type { Pbkdf2Hash } from './pbkdf2.js';
import type { ScryptHash } from './scrypt.js';

export type LegacyHash = Pbkdf2Hash | ScryptHash | BcryptHash | Argon2Hash;
