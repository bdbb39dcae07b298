// Legacy checks share the argon2 queue (hasher.ts): with one slot and no waiting room, a second
// check of any format, legacy or argon2, is refused while the first runs, and the queue frees after.
import { describe, expect, it } from 'vitest';
import { HasherBusyError, PasswordHasher } from '../../src/users/hasher.js';
import { makeHashes } from './python.js';

const PASSWORD = 'queued passphrase 2026';

describe('legacy hashes in the bounded hash queue', () => {
  it('counts a legacy check as one of the queue slots, like argon2', async () => {
    const [django, bcrypt] = await makeHashes([
      { format: 'django-pbkdf2_sha256', password: PASSWORD },
      { format: 'passlib-bcrypt-2b', password: PASSWORD },
    ]);
    const hasher = new PasswordHasher({ concurrency: 1, queueLimit: 0 });
    const ours = await hasher.hash(PASSWORD);
    const first = hasher.verifyLogin(django ?? '', PASSWORD, PASSWORD);
    await expect(hasher.verifyLogin(bcrypt ?? '', PASSWORD, PASSWORD)).rejects.toBeInstanceOf(HasherBusyError);
    await expect(hasher.verifyLogin(ours, PASSWORD, PASSWORD)).rejects.toBeInstanceOf(HasherBusyError);
    expect(await first).toEqual({ ok: true, rehash: true });
    expect(await hasher.verifyLogin(bcrypt ?? '', PASSWORD, PASSWORD)).toEqual({ ok: true, rehash: true });
    expect(await hasher.verifyLogin(ours, PASSWORD, PASSWORD)).toEqual({ ok: true, rehash: false });
    expect(await hasher.verifyLogin(django ?? '', `${PASSWORD}x`, `${PASSWORD}x`)).toEqual({ ok: false, rehash: false });
  });
});
