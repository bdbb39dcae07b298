// Real hashes from the Python libraries (python/make_hashes.py), run with Debian's /usr/bin/python3:
// the `python3` on PATH may be another interpreter without them.
import { execFile } from 'node:child_process';
import { join } from 'node:path';

export const PYTHON = '/usr/bin/python3';
const SCRIPT = join(import.meta.dirname, 'python', 'make_hashes.py');

/** Every format make_hashes.py makes: Django's hashers, Werkzeug, passlib, bcrypt, argon2-cffi. */
export const FORMATS = [
  'django-pbkdf2_sha256',
  'django-pbkdf2_sha1',
  'django-argon2',
  'django-bcrypt_sha256',
  'django-bcrypt',
  'werkzeug-pbkdf2',
  'werkzeug-scrypt',
  'passlib-bcrypt-2b',
  'passlib-bcrypt-2a',
  'passlib-bcrypt-2y',
  'bcrypt',
  'passlib-pbkdf2_sha256',
  'passlib-argon2',
  'argon2-cffi',
] as const;
export type Format = (typeof FORMATS)[number];

interface Request {
  make?: readonly { format: Format; password: string }[];
  check?: readonly { format: Format; password: string; hash: string }[];
}

function run(request: Request): Promise<{ made: string[]; checked: boolean[] }> {
  return new Promise((resolve, reject) => {
    const child = execFile(PYTHON, [SCRIPT], { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`make_hashes.py failed: ${stderr || err.message}`));
      else resolve(JSON.parse(stdout) as { made: string[]; checked: boolean[] });
    });
    child.stdin?.end(JSON.stringify(request));
  });
}

/** Hashes made by the source libraries, in order. */
export async function makeHashes(items: readonly { format: Format; password: string }[]): Promise<string[]> {
  const { made } = await run({ make: items });
  if (made.length !== items.length) throw new Error('make_hashes.py answered a different number of hashes');
  return made;
}

/** What the source library itself answers for each (password, hash). */
export async function sourceChecks(items: readonly { format: Format; password: string; hash: string }[]): Promise<boolean[]> {
  return (await run({ check: items })).checked;
}
