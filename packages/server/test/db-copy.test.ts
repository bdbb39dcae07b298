// `tessera db copy`: a SQLite database filled through a real server (users, rotated and revoked
// sessions, sealed keys) is copied into a fresh Postgres schema, and a server on the copy behaves as
// the old one did: same passwords, same keys, same sessions. The copy goes back from Postgres into
// SQLite row for row, and a target that already holds rows is refused.
import { randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt, loginTokens as login, PG_BASE, postgresUrl, register, schemaNames, sqliteBackend, tokens } from '@tessera/test-kit';
import type { TestServer } from '@tessera/test-kit/server';
import { main } from '../src/cli.js';
import { openDatabase } from '../src/db/connect.js';
import { convert } from '../src/db/copy.js';
import { expectError } from './support/contract-suite.js';
import { BASE_ENV, call, startServer } from './support/harness.js';

const TABLES = ['tessera_users', 'tessera_keys', 'tessera_sessions'] as const;
const KEYS_SECRET = randomBytes(32).toString('base64url');

/** Runs `tessera …` through main(): the exit code and every line written. */
async function tessera(args: string[], env: Record<string, string>): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (s) => out.push(s), err: (s) => err.push(s), env: { ...BASE_ENV, ...env } });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** Every row of the three tables, in primary-key order. */
async function dump(url: string): Promise<Record<string, unknown[]>> {
  const database = await openDatabase(url);
  try {
    const db = database.db as unknown as Kysely<unknown>;
    const rows: Record<string, unknown[]> = {};
    for (const table of TABLES) rows[table] = (await sql`select * from ${sql.table(table)} order by 1`.execute(db)).rows;
    return rows;
  } finally {
    await database.close();
  }
}

describe('tessera db copy', () => {
  const source = sqliteBackend();
  const back = sqliteBackend();
  const names = schemaNames('copy');
  const schema = names.next();
  const bulk = names.next();
  const failed = names.next();
  const target = postgresUrl(schema);
  const sourceEnv = { ...source.env, TESSERA_KEYS_SECRET: KEYS_SECRET };
  let admin: pg.Client;
  let server: TestServer | undefined;

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: PG_BASE });
    await admin.connect();
    for (const name of [schema, bulk, failed]) await admin.query(`drop schema if exists "${name}" cascade; create schema "${name}"`);
  });
  afterAll(async () => {
    await server?.close();
    for (const name of [schema, bulk, failed]) await admin.query(`drop schema if exists "${name}" cascade`);
    await admin.end();
    await source.cleanup();
    await back.cleanup();
  });

  it('moves users, keys and sessions from SQLite to Postgres and back; a server on the copy honours them all', async () => {
    // Keys made at the first start, plus a staged one, all sealed under TESSERA_KEYS_SECRET.
    expect((await tessera(['keys', 'generate'], sourceEnv)).code).toBe(0);
    server = await startServer(sourceEnv);
    const users = [await register(server.url), await register(server.url), await register(server.url, undefined, 'another fine passphrase')];
    const kept = await login(server.url, users[0]!.username);
    const once = tokens(await call(server.url, 'POST', '/auth/refresh', { json: { refresh_token: kept.refresh_token } }));
    const rotated = tokens(await call(server.url, 'POST', '/auth/refresh', { json: { refresh_token: once.refresh_token } }));
    const ended = await login(server.url, users[1]!.username);
    expect((await call(server.url, 'POST', '/auth/logout', { json: { refresh_token: ended.refresh_token } })).status).toBe(204);
    await login(server.url, users[2]!.username, users[2]!.password);
    const jwks = (await call(server.url, 'GET', '/.well-known/jwks.json')).body;
    await server.close();
    server = undefined;
    const before = await dump(source.env.TESSERA_DATABASE_URL!);
    expect(before.tessera_keys!.length).toBeGreaterThanOrEqual(3);

    const copied = await tessera(['db', 'copy', '--to', target], sourceEnv);
    expect(copied).toMatchObject({ code: 0, err: '' });
    expect(copied.out).toMatch(/^ {2}tessera_users +3 row\(s\)$/m);
    expect(copied.out).toMatch(new RegExp(`^ {2}tessera_keys +${before.tessera_keys!.length} row\\(s\\)$`, 'm'));
    expect(copied.out).toMatch(/^ {2}tessera_sessions +3 row\(s\)$/m);
    expect(copied.out).toContain('the same TESSERA_KEYS_SECRET');
    // Nothing secret reaches the terminal: no keys secret, no private key, no hash.
    expect(copied.out).not.toContain(KEYS_SECRET);
    expect(copied.out).not.toMatch(/sealed:v1:|\$argon2/);
    expect(await dump(target)).toEqual(before);

    // And back: Postgres into a new SQLite file, row for row.
    const returned = await tessera(['db', 'copy', '--to', back.env.TESSERA_DATABASE_URL!], { TESSERA_DATABASE_URL: target });
    expect(returned).toMatchObject({ code: 0, err: '' });
    expect(await dump(back.env.TESSERA_DATABASE_URL!)).toEqual(before);

    server = await startServer({ TESSERA_DATABASE_URL: target, TESSERA_KEYS_SECRET: KEYS_SECRET });
    const url = server.url;
    expect((await call(url, 'GET', '/.well-known/jwks.json')).body).toEqual(jwks);
    for (const user of users) expect((await login(url, user.username, user.password)).access_token).toBeTruthy();
    // An access token and a refresh token issued before the copy work after it, in the same session and key.
    expect((await call(url, 'GET', '/auth/me', { bearer: rotated.access_token! })).body).toMatchObject({ id: users[0]!.id });
    const after = tokens(await call(url, 'POST', '/auth/refresh', { json: { refresh_token: rotated.refresh_token } }));
    expect(decodeJwt(after.refresh_token!).claims.sid).toBe(decodeJwt(kept.refresh_token!).claims.sid);
    expect(decodeJwt(after.refresh_token!).header.kid).toBe(decodeJwt(kept.refresh_token!).header.kid);
    // The revoked session stays revoked; a token rotated away before the copy is still reuse.
    expectError(await call(url, 'GET', '/auth/me', { bearer: ended.access_token! }), 401, 'token_revoked');
    expectError(await call(url, 'POST', '/auth/refresh', { json: { refresh_token: kept.refresh_token } }), 401, 'refresh_token_reused');
  });

  it('refuses a target that has rows, naming the table, and writes nothing', async () => {
    const rows = (await admin.query(`select count(*)::int as n from "${schema}".tessera_sessions`)).rows[0] as { n: number };
    const again = await tessera(['db', 'copy', '--to', target], sourceEnv);
    expect(again).toMatchObject({ code: 1, out: '' });
    expect(again.err).toBe('The target database already has rows in tessera_users: db copy only fills an empty database.');
    expect((await admin.query(`select count(*)::int as n from "${schema}".tessera_sessions`)).rows[0]).toEqual(rows);
    const self = await tessera(['db', 'copy', '--to', `sqlite:${source.dir}/data/../data/tessera.db`], sourceEnv);
    expect(self).toMatchObject({ code: 1, err: 'The target is the source database: name another one with --to.' });
    const down = await tessera(['db', 'copy', '--to', 'postgres://postgres:hunter2@127.0.0.1:1/test'], sourceEnv);
    expect(down).toMatchObject({ code: 1, out: '' });
    expect(down.err).toMatch(/^Cannot reach the database postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/test .*check the --to URL/);
  });

  it('copies thousands of rows in batches, SQLite into SQLite and into Postgres', async () => {
    const many = sqliteBackend();
    const copy = sqliteBackend();
    try {
      const database = await openDatabase(many.env.TESSERA_DATABASE_URL!);
      const db = database.db as unknown as Kysely<unknown>;
      for (let start = 0; start < 2345; start += 500) {
        const values = Array.from({ length: Math.min(500, 2345 - start) }, (_, i) => {
          const n = start + i;
          const at = 1_733_570_000_000 + n;
          return sql`(${`s${String(n).padStart(5, '0')}`}, ${`u${n % 7}`}, ${`j${n}`}, ${n % 2 === 0 ? null : `p${n}`}, ${at}, ${at + 1}, ${at + 2}, ${n % 3 === 0 ? at : null}, ${n % 3 === 0 ? 'logout' : null}, ${at}, ${at}, ${'agent'}, ${'127.0.0.1'})`;
        });
        await sql`insert into tessera_sessions (id, user_id, current_jti, previous_jti, rotated_at, expires_at, absolute_expires_at, revoked_at, reason, created_at, last_used_at, user_agent, ip) values ${sql.join(values)}`.execute(
          db,
        );
      }
      await database.close();
      const result = await tessera(['db', 'copy', '--to', copy.env.TESSERA_DATABASE_URL!], many.env);
      expect(result).toMatchObject({ code: 0, err: '' });
      expect(result.out).toMatch(/^ {2}tessera_sessions +2345 row\(s\)$/m);
      const rows = await dump(many.env.TESSERA_DATABASE_URL!);
      expect(await dump(copy.env.TESSERA_DATABASE_URL!)).toEqual(rows);
      expect(await tessera(['db', 'copy', '--to', postgresUrl(bulk)], many.env)).toMatchObject({ code: 0, err: '' });
      expect(await dump(postgresUrl(bulk))).toEqual(rows);
    } finally {
      await many.cleanup();
      await copy.cleanup();
    }
  });

  it('rolls the whole copy back when a row does not fit the target', async () => {
    const loose = sqliteBackend();
    try {
      const database = await openDatabase(loose.env.TESSERA_DATABASE_URL!);
      const db = database.db as unknown as Kysely<unknown>;
      await sql`insert into tessera_users (id, username, username_key, username_skeleton, password_hash, roles, created_at, password_changed_at)
                values ('u1', 'alice', 'alice', 'alice', 'x', '[]', 1, 1)`.execute(db);
      // SQLite keeps text in an integer column; Postgres' bigint does not take it.
      await sql`insert into tessera_sessions (id, user_id, current_jti, rotated_at, expires_at, absolute_expires_at, created_at, last_used_at)
                values ('s1', 'u1', 'j1', 1, 'soon', 1, 1, 1)`.execute(db);
      await database.close();
      const result = await tessera(['db', 'copy', '--to', postgresUrl(failed)], loose.env);
      expect(result).toMatchObject({ code: 1, out: '' });
      expect(result.err).toMatch(/^The copy stopped and the target is left empty \(.*bigint.*\)\.$/);
      for (const table of TABLES) expect((await admin.query(`select count(*)::int as n from "${failed}".${table}`)).rows[0]).toEqual({ n: 0 });
    } finally {
      await loose.cleanup();
    }
  });

  it('answers its usage for a missing --to or an unknown option (there is no --force)', async () => {
    for (const args of [
      ['db', 'copy'],
      ['db', 'copy', '--to'],
      ['db', 'copy', '--to', target, '--force'],
    ]) {
      const result = await tessera(args, sourceEnv);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.err).toMatch(/^Usage: tessera db /);
    }
  });

  it('converts values where the dialects differ', () => {
    expect(convert('9007199254740993', 'bigint', 'sqlite')).toBe('9007199254740993');
    expect(convert('1733570000000', 'bigint', 'postgres')).toBe(1733570000000);
    expect(convert(true, 'boolean', 'sqlite')).toBe(1);
    expect(convert(0, 'boolean', 'postgres')).toBe(false);
    expect(convert({ a: [1] }, 'jsonb', 'sqlite')).toBe('{"a":[1]}');
    expect(convert([1, 2], 'jsonb', 'postgres')).toBe('[1,2]');
    expect(convert(null, 'text', 'postgres')).toBeNull();
  });
});
