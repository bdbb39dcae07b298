// A store whose tables were never created, on a real SQLite file and a real Postgres schema: the answer
// says how to create them (`tessera db migrate`, `store.migrate()`), not that the store cannot be reached.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { PG_BASE, schemaNames } from '@tessera/test-kit';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { createTessera, errorResponse, generateKey, generateRefreshKey, StoreUnavailableError } from '../../src/index.js';
import type { SqlSessionStore } from '../../src/stores/sql/sql-store.js';
import { postgresStore } from '../../src/stores/postgres.js';
import { sqliteStore } from '../../src/stores/sqlite.js';

const MIGRATE = 'The session store has no tables yet: run `tessera db migrate` (or `store.migrate()`) before serving';

const root = mkdtempSync(join(tmpdir(), 'tessera-unmigrated-'));
const schemas: string[] = [];
const newSchema = schemaNames('tessera_unmigrated').next;
afterAll(async () => {
  rmSync(root, { recursive: true, force: true });
  const direct = new pg.Client({ connectionString: PG_BASE });
  await direct.connect();
  for (const schema of schemas) await direct.query(`drop schema if exists "${schema}" cascade`);
  await direct.end();
});

/** Logs in and refreshes against a store that was never migrated; every verb names the missing migration. */
async function expectMigrateSentence(store: SqlSessionStore): Promise<void> {
  const auth = createTessera({ keys: await generateKey('EdDSA'), refreshKey: await generateRefreshKey(), sessions: { store } });
  onTestFinished(() => auth.close());
  const refused = await auth.openSession({ sub: 'ada' }).catch((err: unknown) => err);
  expect(refused).toBeInstanceOf(StoreUnavailableError);
  const response = errorResponse(refused as StoreUnavailableError);
  expect([response.status, JSON.parse(response.body)]).toEqual([503, { error: 'store_unavailable', message: MIGRATE }]);
  await expect(auth.listSessions('ada')).rejects.toThrow(MIGRATE);
  await expect(store.get('no-such-session')).rejects.toThrow(MIGRATE);
  // Once migrated, the same store works.
  await store.migrate();
  expect((await auth.openSession({ sub: 'ada' })).sid).toMatch(/^[A-Za-z0-9_-]+$/);
}

describe('a store whose tables were never created', () => {
  it('SQLite ("no such table") says to run the migrations', async () => {
    await expectMigrateSentence(sqliteStore({ filename: join(root, 'data', 'tessera.db') }));
  });

  it('Postgres (42P01, undefined_table) says to run the migrations', async () => {
    const schema = newSchema();
    schemas.push(schema);
    const direct = new pg.Client({ connectionString: PG_BASE });
    await direct.connect();
    await direct.query(`create schema "${schema}"`); // an empty schema: the database is there, the tables are not
    await direct.end();
    await expectMigrateSentence(postgresStore({ connectionString: PG_BASE, schema }));
  });

  it('still reports a store that cannot be reached as such', async () => {
    const store = postgresStore({ connectionString: 'postgres://postgres@127.0.0.1:1/test', schema: newSchema() });
    onTestFinished(() => store.close());
    const err = await store.get('x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(String((err as Error).message)).not.toContain('migrate');
  });
});
