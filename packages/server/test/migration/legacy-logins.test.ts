// Users imported with the hashes Django, Werkzeug, passlib, bcrypt and argon2-cffi really make
// (generated now by /usr/bin/python3), signing in through the real server on SQLite: the right
// password signs in and the hash becomes today's argon2id in that request, a wrong one is refused
// and leaves the imported hash in place. The import itself runs through the built CLI.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqliteBackend } from '@tessera/test-kit';
import type { TestServer } from '@tessera/test-kit/server';
import type { User } from '../../src/users/user-store.js';
import { call, runCli, startServer } from '../support/harness.js';
import { FORMATS, makeHashes, sourceChecks, type Format } from './python.js';

/** Passes today's policy; not ASCII, so the bytes sent are the UTF-8 the source hashed. */
const PASSWORD = 'Grüße aus Köln, 2026 ✓';
/** NFKC changes it (a ligature, full-width letters): the source hashed these bytes, not "file cabinet 42". */
const UNNORMALISED = 'ﬁle ｃａｂｉｎｅｔ 42 drawer';
/** On the blocklist: signs in, then must be changed. */
const WEAK = 'password';
/** 87 bytes: bcrypt reads the first 72. */
const LONG = 'correct horse battery staple '.repeat(3);
const ARGON2ID_TODAY = /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/;

const backend = sqliteBackend();
let server: TestServer;
let dir: string;
const hashes = new Map<string, string>();

const login = (username: string, password: string) => call(server.url, 'POST', '/auth/login', { json: { username, password, transport: 'bearer' } });
const stored = async (username: string): Promise<User> => {
  const user = await server.runtime.users.byUsername(username);
  if (user === undefined) throw new Error(`no user ${username}`);
  return user;
};

interface Line {
  username: string;
  format: Format;
  password: string;
  legacy_id?: number | string;
  disabled?: boolean;
}

const lines: Line[] = [
  ...FORMATS.map((format, i) => ({ username: `user.${format}`, format, password: PASSWORD, legacy_id: 100 + i })),
  { username: 'Weak.Pass', format: 'django-pbkdf2_sha256', password: WEAK, legacy_id: 'weak' },
  { username: 'unnormalised', format: 'django-pbkdf2_sha256', password: UNNORMALISED },
  { username: 'bcrypt.long', format: 'passlib-bcrypt-2b', password: LONG },
  { username: 'bcrypt.short', format: 'passlib-bcrypt-2b', password: LONG },
  { username: 'django.bcrypt.long', format: 'django-bcrypt', password: LONG },
  { username: 'django.sha256.long', format: 'django-bcrypt_sha256', password: LONG },
  { username: 'max.1024', format: 'werkzeug-pbkdf2', password: 'ü'.repeat(500) + 'x'.repeat(24) },
  { username: 'over.1025', format: 'werkzeug-pbkdf2', password: 'ü'.repeat(500) + 'x'.repeat(25) },
  { username: 'gone', format: 'werkzeug-scrypt', password: PASSWORD, disabled: true },
];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tessera-import-'));
  const made = await makeHashes(lines.map(({ format, password }) => ({ format, password })));
  lines.forEach((line, i) => hashes.set(line.username, made[i] ?? ''));
  server = await startServer(backend.env);
  const file = join(dir, 'users.jsonl');
  writeFileSync(
    file,
    lines
      .map(({ username, legacy_id, disabled }) =>
        JSON.stringify({
          username,
          password_hash: hashes.get(username),
          ...(legacy_id === undefined ? {} : { legacy_id }),
          ...(disabled ? { disabled } : {}),
        }),
      )
      .join('\n') + '\n',
  );
  const imported = await runCli(['users', 'import', file], backend.env);
  expect(imported.stderr).toBe('');
  expect(imported.stdout).toContain(`Imported ${lines.length} user(s)`);
  expect(imported.code).toBe(0);
}, 120_000);

afterAll(async () => {
  await server?.close();
  await backend.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe('every source format signs in through the server and becomes argon2id', () => {
  for (const format of FORMATS) {
    it(format, async () => {
      const username = `user.${format}`;
      const hash = hashes.get(username) ?? '';
      // The prefix the source writes, kept as imported.
      const before = await stored(username);
      expect(before.passwordHash).toBe(hash);
      expect(before.legacyId).toBe(String(100 + FORMATS.indexOf(format)));

      expect((await login(username, `${PASSWORD}!`)).status).toBe(401);
      expect((await login(username, PASSWORD.normalize('NFD'))).status).toBe(401); // other bytes, same text once normalised
      expect((await stored(username)).passwordHash).toBe(hash);

      const ok = await login(username, PASSWORD);
      expect(ok.status).toBe(200);
      const after = await stored(username);
      expect(after.passwordHash).toMatch(ARGON2ID_TODAY);
      expect(after.passwordHash).not.toContain(hash);
      // Not a credential change: no version bump (sessions and logins in flight stand), same password time.
      expect(after.credentialVersion).toBe(before.credentialVersion);
      expect(after.passwordChangedAt).toBe(before.passwordChangedAt);
      expect(after.passwordChangeRequired).toBe(false);
      const me = await call(server.url, 'GET', '/auth/me', { bearer: (ok.body as { access_token: string }).access_token });
      expect(me.body).toEqual({ id: after.id, username: username.toLowerCase(), roles: [] });

      // Today's hash from now on.
      expect((await login(username, PASSWORD)).status).toBe(200);
      expect((await login(username, `${PASSWORD}!`)).status).toBe(401);
    });
  }
});

describe('verification as the source did it', () => {
  it('uses the password exactly as typed, without NFKC; the typed password is what is rehashed', async () => {
    expect(UNNORMALISED.normalize('NFKC')).not.toBe(UNNORMALISED);
    const [sourceTakesNormalised] = await sourceChecks([
      { format: 'django-pbkdf2_sha256', password: UNNORMALISED.normalize('NFKC'), hash: hashes.get('unnormalised') ?? '' },
    ]);
    expect(sourceTakesNormalised).toBe(false);
    expect((await login('unnormalised', UNNORMALISED.normalize('NFKC'))).status).toBe(401);
    expect((await login('unnormalised', UNNORMALISED)).status).toBe(200);
    expect((await stored('unnormalised')).passwordHash).toMatch(ARGON2ID_TODAY);
    // From now on Tessera's own rule: the password as login normalises it.
    expect((await login('unnormalised', UNNORMALISED)).status).toBe(200);
    expect((await login('unnormalised', UNNORMALISED.normalize('NFKC'))).status).toBe(200);
  });

  it('bcrypt reads the first 72 bytes, as the source does; Django bcrypt_sha256 reads them all', async () => {
    const tail = `${LONG.slice(0, 72)}something else`;
    const short = LONG.slice(0, 71);
    const checks = [
      { format: 'passlib-bcrypt-2b', password: tail, hash: hashes.get('bcrypt.long') ?? '' },
      { format: 'passlib-bcrypt-2b', password: short, hash: hashes.get('bcrypt.short') ?? '' },
      { format: 'django-bcrypt', password: tail, hash: hashes.get('django.bcrypt.long') ?? '' },
      { format: 'django-bcrypt_sha256', password: tail, hash: hashes.get('django.sha256.long') ?? '' },
    ] as const;
    // What the Python libraries answer for the same passwords and hashes.
    expect(await sourceChecks(checks)).toEqual([true, false, true, false]);
    expect((await login('bcrypt.short', short)).status).toBe(401);
    expect((await login('django.sha256.long', tail)).status).toBe(401);
    expect((await login('bcrypt.long', tail)).status).toBe(200);
    expect((await login('django.bcrypt.long', tail)).status).toBe(200);
    expect((await login('bcrypt.short', LONG)).status).toBe(200);
    expect((await login('django.sha256.long', LONG)).status).toBe(200);
    for (const name of ['bcrypt.long', 'bcrypt.short', 'django.bcrypt.long', 'django.sha256.long'])
      expect((await stored(name)).passwordHash).toMatch(ARGON2ID_TODAY);
  });

  it('takes a password of 1024 bytes and refuses one of 1025, even when the hash would match', async () => {
    const max = 'ü'.repeat(500) + 'x'.repeat(24);
    const over = 'ü'.repeat(500) + 'x'.repeat(25);
    expect([Buffer.byteLength(max), Buffer.byteLength(over)]).toEqual([1024, 1025]);
    expect(await sourceChecks([{ format: 'werkzeug-pbkdf2', password: over, hash: hashes.get('over.1025') ?? '' }])).toEqual([true]);
    expect((await login('over.1025', over)).status).toBe(401);
    expect((await stored('over.1025')).passwordHash).toBe(hashes.get('over.1025'));
    expect((await login('max.1024', max)).status).toBe(200);
    expect((await stored('max.1024')).passwordHash).toMatch(ARGON2ID_TODAY);
    expect((await login('max.1024', max)).status).toBe(200);
  });

  it('signs in with a password the policy refuses, and asks for a new one until it is changed', async () => {
    const ok = await login('weak.pass', WEAK);
    expect(ok.status).toBe(200);
    const user = await stored('weak.pass');
    expect(user.passwordHash).toMatch(ARGON2ID_TODAY);
    expect(user.passwordChangeRequired).toBe(true);
    const access = (ok.body as { access_token: string }).access_token;
    expect((await call(server.url, 'GET', '/auth/me', { bearer: access })).body).toEqual({
      id: user.id,
      username: 'weak.pass',
      roles: [],
      password_change_required: true,
    });
    const changed = await call(server.url, 'POST', '/auth/password', {
      bearer: access,
      json: { current_password: WEAK, new_password: 'a much better passphrase 7' },
    });
    expect(changed.status).toBe(200);
    const after = await stored('weak.pass');
    expect(after.passwordChangeRequired).toBe(false);
    const fresh = (changed.body as { access_token: string }).access_token;
    expect((await call(server.url, 'GET', '/auth/me', { bearer: fresh })).body).toEqual({ id: user.id, username: 'weak.pass', roles: [] });
  });

  it('refuses a disabled imported user with the right password', async () => {
    expect((await login('gone', PASSWORD)).status).toBe(401);
    expect((await stored('gone')).passwordHash).toBe(hashes.get('gone'));
  });
});
