// Migration 0006_oauth on SQLite and Postgres: a database at 0005 (made by the previous migrations, with a user in
// it) gains the three OAuth tables with the columns of docs/oauth.md; `tessera db migrate` names it; the client
// store, the codes table and the DPoP replay store work on both, times coming back as numbers.
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_BASE, postgresUrl, schemaNames, sqliteBackend } from '@tessera/test-kit';
import { main } from '../../src/cli.js';
import { openDatabase, type Database } from '../../src/db/connect.js';
import { SERVER_MIGRATIONS } from '../../src/db/schema.js';
import { ClientStore } from '../../src/oauth/clients.js';
import { SqlDpopReplayStore } from '../../src/oauth/dpop-replay-store.js';
import { purgeOAuth } from '../../src/oauth/oauth-runtime.js';
import { BASE_ENV } from '../support/harness.js';

const COLUMNS: Record<string, string[]> = {
  tessera_oauth_clients: ['audiences', 'client_id', 'created_at', 'first_party', 'public', 'redirect_uris', 'secret_hash'],
  tessera_oauth_codes: [
    'client_id',
    'code_challenge',
    'code_hash',
    'created_at',
    'credential_version',
    'expires_at',
    'jkt',
    'redirect_uri',
    'scope',
    'session_id',
    'used_at',
    'user_id',
  ],
  tessera_dpop_proofs: ['expires_at', 'jkt', 'jti'],
};

/** The column names of `table`, sorted, as the database itself reports them. */
async function columnsOf(database: Database, table: string): Promise<string[]> {
  const db = database.db as unknown as Kysely<unknown>;
  const { rows } =
    database.dialect === 'sqlite'
      ? await sql<{ name: string }>`select name from pragma_table_info(${table})`.execute(db)
      : await sql<{
          name: string;
        }>`select column_name as name from information_schema.columns where table_name = ${table} and table_schema = current_schema()`.execute(db);
  return rows.map((r) => r.name).sort();
}

/** `tessera …` through main(). */
async function tessera(args: string[], env: Record<string, string>): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (s) => out.push(s), err: (s) => err.push(s), env: { ...BASE_ENV, ...env } });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** A database at 0005: the server's migrations before 0006 run by hand through the same runner. */
async function atMigration0005(url: string): Promise<void> {
  const { sqliteStore } = await import('@tessera/auth/stores/sqlite');
  const { postgresStore } = await import('@tessera/auth/stores/postgres');
  const store = url.startsWith('sqlite:') ? sqliteStore({ filename: url.slice('sqlite:'.length) }) : postgresStore({ connectionString: url });
  try {
    const before = Object.fromEntries(Object.entries(SERVER_MIGRATIONS.migrations).filter(([name]) => name < '0006'));
    await store.migrate({ table: SERVER_MIGRATIONS.table, migrations: before });
    await sql`insert into tessera_users (id, username, password_hash, roles, created_at, password_changed_at, username_key, username_skeleton)
      values ('u1', 'alice', 'x', '[]', 1, 1, 'alice', 'alice')`.execute(store.db as Kysely<unknown>);
  } finally {
    await store.close();
  }
}

function suite(name: 'sqlite' | 'postgres', url: () => string): void {
  describe(`0006_oauth on ${name}`, () => {
    it('upgrades a database at 0005 with its users kept, and db migrate says what ran', async () => {
      await atMigration0005(url());
      const migrated = await tessera(['db', 'migrate'], { TESSERA_DATABASE_URL: url() });
      expect(migrated.code).toBe(0);
      expect(migrated.out).toMatch(/^ {2}server 0006_oauth$/m);
      expect(migrated.out).not.toMatch(/server 0005/);
      const database = await openDatabase(url());
      try {
        for (const [table, columns] of Object.entries(COLUMNS)) expect(await columnsOf(database, table), table).toEqual(columns);
        expect(await database.db.selectFrom('tessera_users').select('username').execute()).toEqual([{ username: 'alice' }]);
      } finally {
        await database.close();
      }
      expect((await tessera(['db', 'migrate'], { TESSERA_DATABASE_URL: url() })).out).toMatch(/is up to date: no migration to run\.$/);
    });

    it('stores clients, codes and DPoP proofs; times are numbers; the replay store says true once', async () => {
      const database = await openDatabase(url());
      try {
        const clients = new ClientStore(database.db);
        const { client, secret } = await clients.add({
          id: `c-${name}`,
          redirectUris: ['https://a.example/cb'],
          audiences: ['urn:api'],
          now: 1_733_570_000_000,
        });
        expect(secret).toBeDefined();
        const read = await clients.get(client.id);
        expect(read).toEqual(client);
        expect(read?.createdAt).toBe(1_733_570_000_000);
        expect(clients.verifySecret(read!, secret!)).toBe(true);
        expect(await clients.remove(client.id)).toBe(true);
        expect(await clients.get(client.id)).toBeUndefined();

        await database.db
          .insertInto('tessera_oauth_codes')
          .values({
            code_hash: 'h1',
            client_id: 'c',
            redirect_uri: 'https://a.example/cb',
            code_challenge: 'ch',
            user_id: 'u1',
            scope: null,
            jkt: null,
            created_at: 1,
            expires_at: 2,
            used_at: null,
            session_id: null,
          })
          .execute();
        const code = await database.db.selectFrom('tessera_oauth_codes').selectAll().executeTakeFirstOrThrow();
        expect(Number(code.expires_at)).toBe(2);
        expect(code.credential_version).toBeNull();

        const proofs = new SqlDpopReplayStore(database.db);
        const now = 1_733_570_000_000;
        expect(await proofs.claim('jkt-a', 'jti-1', now + 60_000)).toBe(true);
        expect(await proofs.claim('jkt-a', 'jti-1', now + 60_000)).toBe(false);
        expect(await proofs.claim('jkt-b', 'jti-1', now + 60_000)).toBe(true);
        // Two instances racing on one proof: exactly one first use.
        const raced = await Promise.all(Array.from({ length: 8 }, () => proofs.claim('jkt-c', 'jti-race', now + 60_000)));
        expect(raced.filter(Boolean)).toHaveLength(1);
        expect(await proofs.claim('jkt-d', 'jti-old', now - 1)).toBe(true);
        // The purge drops proofs whose window ended (and codes a day past their lifetime), nothing else.
        expect(await purgeOAuth(database.db, now)).toBe(2);
        expect(await database.db.selectFrom('tessera_oauth_codes').selectAll().execute()).toEqual([]);
        const left = await database.db.selectFrom('tessera_dpop_proofs').select(['jkt', 'jti']).orderBy('jkt').execute();
        expect(left).toEqual([
          { jkt: 'jkt-a', jti: 'jti-1' },
          { jkt: 'jkt-b', jti: 'jti-1' },
          { jkt: 'jkt-c', jti: 'jti-race' },
        ]);
      } finally {
        await database.close();
      }
    });
  });
}

const sqlite = sqliteBackend();
afterAll(() => sqlite.cleanup());
suite('sqlite', () => sqlite.env.TESSERA_DATABASE_URL!);

const names = schemaNames('oauthmig');
const schema = names.next();
let admin: pg.Client;
beforeAll(async () => {
  admin = new pg.Client({ connectionString: PG_BASE });
  await admin.connect();
  await admin.query(`drop schema if exists "${schema}" cascade; create schema "${schema}"`);
});
afterAll(async () => {
  await admin.query(`drop schema if exists "${schema}" cascade`);
  await admin.end();
});
suite('postgres', () => postgresUrl(schema));
