// Argon2id runs on worker threads of its own (users/hash-workers.ts), niced below the event loop on
// Linux, behind PasswordHasher's bounded queue: the same hashes and answers as before.
import { readdirSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { verify as argon2Verify } from '@node-rs/argon2';
import { afterEach, describe, expect, it } from 'vitest';
import { HASH_NICE, HashThreadError } from '../src/users/hash-workers.js';
import { PasswordHasher } from '../src/users/hasher.js';

/** The nice value of every thread of this process, from /proc (Linux). */
function threadNices(): number[] {
  return readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    // Fields after the command name; nice is the 19th field of the line, the 17th after it.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
}

const hashers: PasswordHasher[] = [];
afterEach(async () => {
  await Promise.all(hashers.splice(0).map((h) => h.close()));
});

function hasher(concurrency = 1): PasswordHasher {
  const made = new PasswordHasher({ concurrency });
  hashers.push(made);
  return made;
}

describe('PasswordHasher on hash threads', () => {
  it('hashes argon2id with OWASP parameters, which argon2 itself verifies; verify says yes and no', async () => {
    const h = hasher();
    const stored = await h.hash('correct horse battery staple');
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await argon2Verify(stored, 'correct horse battery staple')).toBe(true);
    expect(await h.verify(stored, 'correct horse battery staple')).toBe(true);
    expect(await h.verify(stored, 'wrong horse')).toBe(false);
  });

  it('answers a stored hash argon2 cannot read as a mismatch', async () => {
    expect(await hasher().verify('not a hash', 'password')).toBe(false);
  });

  it('runs several checks at once up to its concurrency, each answered to its own caller', async () => {
    const h = hasher(2);
    const [a, b] = await Promise.all([h.hash('first password'), h.hash('second password')]);
    const answers = await Promise.all([h.verify(a, 'first password'), h.verify(b, 'first password'), h.verify(b, 'second password')]);
    expect(answers).toEqual([true, false, true]);
  });

  it.runIf(process.platform === 'linux')('hashes on a thread niced below the event loop, and leaves the process priority alone', async () => {
    const before = threadNices().filter((n) => n === HASH_NICE).length;
    const h = hasher();
    await h.hash('a password');
    expect(threadNices().filter((n) => n === HASH_NICE).length).toBe(before + 1);
    expect(getPriority()).toBe(0);
    await h.close();
    expect(threadNices().filter((n) => n === HASH_NICE).length).toBe(before);
  });

  it('a check whose thread stops is an error, never a "wrong password"', async () => {
    const h = hasher();
    const stored = await h.hash('a password');
    const checking = h.verify(stored, 'a password');
    await h.close();
    await expect(checking).rejects.toBeInstanceOf(HashThreadError);
    await expect(h.verify(stored, 'a password')).rejects.toBeInstanceOf(HashThreadError);
  });

  it('refuses work once closed', async () => {
    const h = hasher();
    await h.close();
    await expect(h.hash('a password')).rejects.toThrow('closed');
  });
});
