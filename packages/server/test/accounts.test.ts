// The account rules of docs/security.md "Usernames" and "Passwords", through the real server and CLI:
// look-alike names cannot coexist (key: NFKC, full case fold, NFKC; uniqueness on the UTS #39
// skeleton), invisible and mixed-script names are refused, login still finds names stored before the
// key existed, existing look-alikes are kept and listed until renamed, and new passwords follow NIST
// SP 800-63B-4 (blocklist, no username, no sequences, length in characters) — never at login.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { hash as argon2 } from '@node-rs/argon2';
import Database from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { account, loginTokens, PASSWORD, register, sqliteBackend, tokens } from '@tessera/test-kit';
import type { TestServer } from '@tessera/test-kit/server';
import { SERVER_MIGRATIONS } from '../src/db/schema.js';
import { checkNewUsername } from '../src/users/username/index.js';
import { expectError } from './support/contract-suite.js';
import { call, runCli, startServer } from './support/harness.js';

/** A fresh stem per run, so names never meet another run's on a shared database. */
const stem = (): string => `n${randomBytes(3).toString('hex')}`;

describe('usernames', () => {
  const backend = sqliteBackend();
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(backend.env);
  });
  afterAll(async () => {
    await server?.close();
    await backend.cleanup();
  });

  const registerAs = (username: string) => call(server.url, 'POST', '/auth/register', { json: { username, password: PASSWORD } });

  it.each([
    ['U+034F combining grapheme joiner', '\u034f'],
    ['U+FE0F variation selector 16', '\ufe0f'],
    ['U+FE00 variation selector 1', '\ufe00'],
    ['U+180B Mongolian free variation selector', '\u180b'],
    ['U+17B4 Khmer vowel inherent aq', '\u17b4'],
    ['U+3164 Hangul filler', '\u3164'],
    ['U+115F Hangul choseong filler', '\u115f'],
    ['U+200B zero width space', '\u200b'],
  ])('refuses a name with an invisible character (%s): 422, and "dave" stays the only dave', async (_name, invisible) => {
    const base = `dave${stem()}`;
    expect((await registerAs(base)).status).toBe(201);
    for (const spelled of [`${base}${invisible}`, `${base.slice(0, 2)}${invisible}${base.slice(2)}`]) {
      const reply = await registerAs(spelled);
      expectError(reply, 422, 'validation_failed');
      expect((reply.body as { message: string }).message).toMatch(/invisible|control|formatting/);
    }
  });

  it.each([
    ['straße', 'strasse'],
    ['strasse', 'STRAẞE'],
    ['οδος', 'οδοσ'],
    ['info', 'İnfo'],
    ['dave', 'd\u0430ve'],
    ['paypal', 'раураl'],
  ])('answers 409 username_taken for %s then %s', async (first, second) => {
    const suffix = stem();
    // A suffix in the first name's own script keeps the pair apart from other runs without mixing scripts.
    const tail = /^[a-z]/i.test(first) ? suffix : '';
    expect((await registerAs(`${first}${tail}`)).status).toBe(201);
    expectError(await registerAs(`${second}${tail}`), 409, 'username_taken');
  });

  it('refuses a mixed-script name that looks like no one else with 422', async () => {
    const reply = await registerAs(`x${stem()}\u0430`);
    expectError(reply, 422, 'validation_failed');
    expect((reply.body as { message: string }).message).toMatch(/mix .*Cyrillic|mix .*Latin/);
  });

  it('accepts names in one script, and Latin with Han', async () => {
    for (const name of [`alice${stem()}`, 'Ωμέγα', '山田太郎', `tanaka${stem()}田中`]) {
      expect((await registerAs(name)).status, name).toBe(201);
    }
  });

  it('logs in with any case and width of the name, and finds the account under its key', async () => {
    const name = `Strasse${stem()}`;
    const user = await register(server.url, name);
    for (const typed of [name, name.toUpperCase(), name.replace('ss', 'ß'), name.normalize('NFKD')])
      expect((await loginTokens(server.url, typed)).access_token, typed).toBeTruthy();
    expect(user.username).toBe(name.toLowerCase());
  });
});

describe('usernames stored before the key existed', () => {
  const backend = sqliteBackend();
  let server: TestServer;
  const names: string[] = [];

  beforeAll(async () => {
    // A database at the first schema, with names as the old rule stored them (NFKC, toLowerCase, NFKC):
    // "straße" and "strasse" coexisted, and so did "info" and "i̇nfo" (from "İnfo").
    mkdirSync(dirname(backend.file), { recursive: true });
    const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new Database(backend.file) }) });
    const migrator = new Migrator({
      db,
      migrationTableName: SERVER_MIGRATIONS.table,
      migrationLockTableName: `${SERVER_MIGRATIONS.table}_lock`,
      provider: { getMigrations: async () => ({ '0001_users_and_keys': SERVER_MIGRATIONS.migrations['0001_users_and_keys']! }) },
    });
    const { error } = await migrator.migrateToLatest();
    if (error !== undefined) throw error;
    const hash = await argon2(PASSWORD);
    const old = ['straße', 'strasse', 'info', 'İnfo'.normalize('NFKC').toLowerCase().normalize('NFKC'), 'alice'];
    const raw = new Database(backend.file);
    const insert = raw.prepare(
      'INSERT INTO tessera_users (id, username, password_hash, roles, disabled_at, created_at, password_changed_at) VALUES (?, ?, ?, ?, NULL, ?, ?)',
    );
    old.forEach((name, i) => insert.run(`old${i}`, name, hash, '[]', 1_700_000_000_000 + i, 1_700_000_000_000 + i));
    names.push(...old);
    raw.close();
    await db.destroy();
    server = await startServer(backend.env);
  });
  afterAll(async () => {
    await server?.close();
    await backend.cleanup();
  });

  it('keeps every row: each logs in under its stored form, as before', async () => {
    for (const name of names) expect((await loginTokens(server.url, name)).access_token, name).toBeTruthy();
  });

  it('lists the look-alikes, keeps them out of the unique index until renamed, and then takes them back', async () => {
    const listed = await runCli(['users', 'list', '--collisions'], backend.env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain('straße');
    expect(listed.stdout).toContain('strasse');
    expect(listed.stdout).toContain('\tinfo');
    expect(listed.stdout).not.toContain('alice');
    expect(listed.stdout).toMatch(/2 group\(s\) of look-alike usernames/);

    // Nobody new can take a name like theirs meanwhile.
    expectError(await call(server.url, 'POST', '/auth/register', { json: { username: 'Strasse', password: PASSWORD } }), 409, 'username_taken');

    const renamed = await runCli(['users', 'rename', 'straße', 'strasse-de'], backend.env);
    expect(renamed.stdout).toContain('Renamed straße to strasse-de');
    expect(renamed.code).toBe(0);
    expect((await loginTokens(server.url, 'strasse-de')).access_token).toBeTruthy();
    expect((await loginTokens(server.url, 'strasse')).access_token).toBeTruthy();
    const after = await runCli(['users', 'list', '--collisions'], backend.env);
    expect(after.stdout).not.toContain('strasse');
    expect(after.stdout).toMatch(/1 group\(s\)/);
    // The row left alone is back under the unique index.
    expectError(await call(server.url, 'POST', '/auth/register', { json: { username: 'STRASSE', password: PASSWORD } }), 409, 'username_taken');
  });

  it('refuses a rename to a look-alike of someone else, or to a name that breaks the rules', async () => {
    const taken = await runCli(['users', 'rename', 'info', 'alice'], backend.env);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toMatch(/taken/);
    const invisible = await runCli(['users', 'rename', 'info', 'info\u200b2'], backend.env);
    expect(invisible.code).toBe(2);
    expect(invisible.stderr).toMatch(/invisible/);
  });
});

describe('passwords (NIST SP 800-63B-4)', () => {
  const backend = sqliteBackend();
  let server: TestServer;
  let strict: TestServer;
  beforeAll(async () => {
    server = await startServer(backend.env);
    strict = await startServer({ ...backend.env, TESSERA_PASSWORD_MIN_LENGTH: '15' });
  });
  afterAll(async () => {
    await Promise.allSettled([server?.close(), strict?.close()]);
    await backend.cleanup();
  });

  it.each([
    ['12345678', /sequence/],
    ['aaaaaaaaaa', /repeated/],
    ['zyxwvuts', /sequence/],
    ['password', /common or breached/],
    ['qwerty123', /common or breached/],
    ['iloveyou1', /common or breached/],
  ])('refuses %s at registration, saying why', async (password, why) => {
    const reply = await call(server.url, 'POST', '/auth/register', { json: { username: stem(), password } });
    expectError(reply, 422, 'validation_failed');
    expect((reply.body as { message: string }).message).toMatch(why);
    expect(reply.text).not.toContain(JSON.stringify(password)); // never echoed as a value
  });

  it('refuses a password that contains the username, in any case', async () => {
    const username = `kestrel${stem()}`;
    const reply = await call(server.url, 'POST', '/auth/register', { json: { username, password: `My${username.toUpperCase()}!x9` } });
    expectError(reply, 422, 'validation_failed');
    expect((reply.body as { message: string }).message).toMatch(/username/);
  });

  it('counts length in characters after NFKC, with TESSERA_PASSWORD_MIN_LENGTH', async () => {
    const emoji = '🦊🌵🎻🧭🪁🦉🍋🛶'; // 8 characters, 32 bytes
    expect((await call(server.url, 'POST', '/auth/register', { json: { username: stem(), password: emoji } })).status).toBe(201);
    expectError(await call(strict.url, 'POST', '/auth/register', { json: { username: stem(), password: emoji } }), 422, 'validation_failed');
    const fifteen = 'tern marsh gale'; // 15 characters
    expect((await call(strict.url, 'POST', '/auth/register', { json: { username: stem(), password: fifteen } })).status).toBe(201);
  });

  it('applies to a password change, never to the current password at login', async () => {
    const user = await account(server.url);
    const change = (new_password: string) =>
      call(server.url, 'POST', '/auth/password', { bearer: user.access, json: { current_password: PASSWORD, new_password } });
    expectError(await change('password1'), 422, 'validation_failed');
    expectError(await change(`${user.username}-99!`), 422, 'validation_failed');
    expect(tokens(await change('pelican quarry lantern')).access_token).toBeTruthy();
  });

  it('lets a stored password that today would be refused still log in (the policy never runs at login)', async () => {
    const username = stem();
    // The CLI is held to the policy too, so make the account through the store with a weak password's hash.
    const hash = await server.runtime.hasher.hash('password');
    const name = checkNewUsername(username);
    if (!name.ok) throw new Error(name.problem);
    await server.runtime.users.create({ username: name, passwordHash: hash, now: Date.now() });
    expect((await loginTokens(server.url, username, 'password')).access_token).toBeTruthy();
  });

  it('holds tessera users add to the policy', async () => {
    const weak = await runCli(['users', 'add', stem()], { ...backend.env, TESSERA_PASSWORD: '11111111' });
    expect(weak.code).toBe(2);
    expect(weak.stderr).toMatch(/repeated|sequence/);
    const good = await runCli(['users', 'add', stem()], { ...backend.env, TESSERA_PASSWORD: 'otter meadow sundial' });
    expect(good.code).toBe(0);
  });
});
