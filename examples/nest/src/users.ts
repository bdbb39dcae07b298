import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import type { CredentialCheck } from '@tessera/auth';

export interface User {
  name: string;
  roles: string[];
}

// A real app keeps users in a database and hashes with Argon2id; scrypt keeps the example dependency-free.
const salt = randomBytes(16);
const hash = (password: string) => scryptSync(password, salt, 32);
const users = new Map([
  ['ada', { name: 'Ada Lovelace', roles: ['admin'], hash: hash('correct horse') }],
  ['bob', { name: 'Bob', roles: [], hash: hash('battery staple') }],
]);
const decoy = hash(randomBytes(16).toString('hex'));

/** The login's credential check: the identity and its claims for a good password, else null. */
export const checkPassword: CredentialCheck = (body) => {
  const { username, password } = (body ?? {}) as Record<string, unknown>;
  if (typeof username !== 'string' || typeof password !== 'string' || password.length > 1024) return null;
  const user = users.get(username);
  // An unknown user costs the same hash, so timing does not tell which names exist.
  const same = timingSafeEqual(hash(password), user?.hash ?? decoy);
  return same && user ? { sub: username, claims: { roles: user.roles } } : null;
};

/** The user a token names, on every guarded request: an unknown one is refused with 401. */
export function findUser(sub: string): User | undefined {
  const user = users.get(sub);
  return user && { name: user.name, roles: user.roles };
}
