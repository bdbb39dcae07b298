// The SQL store on the real Postgres: the conformance suite in a schema of its own per worker and
// run, then migrations from two instances at once, int8 handling, and outages simulated by a TCP
// proxy in front of the shared server (never stopped: docs/architecture.md "Platform notes").
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_BASE as URL_BASE, schemaNames, startTcpProxy, type TcpProxy } from '@tessera/test-kit';
import { ConfigError } from '../../src/core/errors.js';
import type { SessionRecord } from '../../src/core/sessions/store.js';
import { CAPABILITIES } from '../../src/stores/sql/capabilities.js';
import { sessionMigrations } from '../../src/stores/sql/migrations.js';
import { postgresStore, type SqlSessionStore } from '../../src/stores/postgres.js';
import { describeSessionStore, session } from '../conformance/session-store.js';

/** Every migration of the store, in order, as its bookkeeping table lists them. */
const ALL_MIGRATIONS = Object.keys(sessionMigrations(undefined, CAPABILITIES.postgres)).map((name) => ({ name }));

/** A schema per worker, run and use, so parallel files and reruns never share tables. */
const newSchema = schemaNames('tessera_t').next;
const throughPort = (port: number): string => {
  const url = new URL(URL_BASE);
  url.port = String(port);
  return url.toString();
};

/** A direct connection, beside the store's pool: to inspect and to drop what the tests made. */
let direct: pg.Client;
const made: string[] = [];
beforeAll(async () => {
  direct = new pg.Client({ connectionString: URL_BASE });
  await direct.connect();
});
afterAll(async () => {
  for (const schema of made) await direct.query(`drop schema if exists "${schema}" cascade`);
  await direct.end();
});

async function migratedStore(schema: string, connectionString = URL_BASE, onError?: (error: Error) => void): Promise<SqlSessionStore> {
  made.push(schema);
  const store = postgresStore({ connectionString, schema, ...(onError === undefined ? {} : { onError }) });
  await store.migrate();
  return store;
}

async function row(schema: string, id: string): Promise<{ current_jti: string; previous_jti: string | null } | undefined> {
  const result = await direct.query<{ current_jti: string; previous_jti: string | null }>(
    `select current_jti, previous_jti from "${schema}".tessera_sessions where id = $1`,
    [id],
  );
  return result.rows[0];
}

const T = Date.UTC(2030, 0, 1);
const nextFor = (jti: string) => ({ jti, rotatedAt: T + 1000, expiresAt: T + 2 * 86_400_000, now: T + 1000 });

/** Measures how long a promise takes to settle, and whether it rejected. */
async function settle(promise: Promise<unknown>): Promise<{ ms: number; rejected: boolean }> {
  const start = performance.now();
  try {
    await promise;
    return { ms: performance.now() - start, rejected: false };
  } catch {
    return { ms: performance.now() - start, rejected: true };
  }
}

/** Waits until the server shows a statement of the store blocked on a row lock. */
async function untilWaitingOnLock(schema: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const { rows } = await direct.query(
      "select 1 from pg_stat_activity where application_name = 'tessera' and wait_event_type = 'Lock' and position($1 in query) > 0",
      [schema],
    );
    if (rows.length > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('the rotation never reached the server');
}

/** Waits until no backend of the store is still running a statement on this schema. */
async function untilIdle(schema: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const { rows } = await direct.query(
      "select 1 from pg_stat_activity where application_name = 'tessera' and state = 'active' and position($1 in query) > 0",
      [schema],
    );
    if (rows.length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('a statement of the store is still running');
}

/**
 * After any failure, exactly one refresh token of the session can rotate: the one the database
 * holds as current, which is either the old or the new jti, never something else, never both.
 */
async function expectExactlyOneUsable(store: SqlSessionStore, schema: string, s: SessionRecord, newJti: string): Promise<string> {
  const stored = await row(schema, s.id);
  expect([s.currentJti, newJti]).toContain(stored?.current_jti);
  const current = stored!.current_jti;
  const other = current === s.currentJti ? newJti : s.currentJti;
  if (current === newJti) expect(stored?.previous_jti).toBe(s.currentJti);
  else expect(stored?.previous_jti).toBeNull();
  expect(await store.rotate(s.id, other, nextFor(`x-${randomBytes(4).toString('hex')}`))).toMatchObject({ ok: false, reason: 'jti_mismatch' });
  expect(await store.rotate(s.id, current, nextFor(`y-${randomBytes(4).toString('hex')}`))).toMatchObject({ ok: true });
  return current;
}

describeSessionStore('postgres', async () => {
  const schema = newSchema();
  const store = await migratedStore(schema);
  return { store, cleanup: () => store.close() };
});

describe('postgresStore: migrations and types', () => {
  it('migrates safely from three stores at once, into its own schema, and once only', async () => {
    const schema = newSchema();
    made.push(schema);
    const stores = [0, 1, 2].map(() => postgresStore({ connectionString: URL_BASE, schema }));
    try {
      await Promise.all(stores.map((s) => s.migrate()));
      await stores[0]!.migrate();
      const { rows } = await direct.query(`select name from "${schema}".tessera_sessions_migrations`);
      expect(rows).toEqual(ALL_MIGRATIONS);
      const tables = await direct.query<{ table_name: string }>(
        'select table_name from information_schema.tables where table_schema = $1 order by table_name',
        [schema],
      );
      expect(tables.rows.map((r) => r.table_name)).toEqual([
        'tessera_revocation_events',
        'tessera_sessions',
        'tessera_sessions_migrations',
        'tessera_sessions_migrations_lock',
      ]);
      const s = session();
      await stores[1]!.create(s);
      expect(await stores[2]!.get(s.id)).toEqual(s);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it("without a schema option, migrates into the connection's own schema even when another schema has the tables", async () => {
    const [other, own] = [newSchema(), newSchema()];
    made.push(own);
    await (await migratedStore(other)).close();
    await direct.query(`create schema "${own}"`);
    const url = new URL(URL_BASE);
    url.searchParams.set('options', `-c search_path=${own}`);
    const store = postgresStore({ connectionString: url.toString() });
    try {
      await store.migrate();
      const s = session();
      await store.create(s);
      expect((await direct.query(`select id from "${own}".tessera_sessions`)).rows).toEqual([{ id: s.id }]);
      expect((await direct.query(`select count(*)::int as n from "${other}".tessera_sessions`)).rows).toEqual([{ n: 0 }]);
    } finally {
      await store.close();
    }
  });

  it('migrates while other schemas of the database are created and dropped (another tenant, a parallel test run)', async () => {
    // Kysely's own introspector named every schema's tables back to Postgres, and failed on one dropped meanwhile.
    const churn = new pg.Client({ connectionString: URL_BASE });
    await churn.connect();
    const passing = schemaNames('tessera_churn');
    let stop = false;
    const churning = (async () => {
      while (!stop) {
        const schema = passing.next();
        await churn.query(`create schema "${schema}"; create table "${schema}".t (id serial primary key)`);
        await churn.query(`drop schema "${schema}" cascade`);
      }
    })();
    try {
      for (let i = 0; i < 20; i++) {
        const schema = newSchema();
        made.push(schema);
        const store = postgresStore({ connectionString: URL_BASE, schema, max: 1 });
        try {
          await store.migrate();
        } finally {
          await store.close();
        }
      }
    } finally {
      stop = true;
      await churning;
      await churn.end();
    }
  });

  it('stores times as int8 and answers them as numbers, also through a pool without an int8 parser', async () => {
    const schema = newSchema();
    const store = await migratedStore(schema);
    const { rows } = await direct.query<{ column_name: string; data_type: string }>(
      "select column_name, data_type from information_schema.columns where table_schema = $1 and table_name = 'tessera_sessions' and column_name like '%_at'",
      [schema],
    );
    expect(rows.length).toBe(6);
    for (const column of rows) expect(column.data_type).toBe('bigint');

    const s = session({ revokedAt: T + 7, reason: 'admin' });
    await store.create(s);
    const mine = await store.get(s.id);
    expect(mine).toEqual(s);
    expect(typeof mine?.expiresAt).toBe('number');

    // A caller's pool with pg's defaults answers int8 as a string: the store still gives numbers,
    // and leaves the caller's pool open on close.
    const pool = new pg.Pool({ connectionString: URL_BASE, max: 2 });
    const theirs = postgresStore({ pool, schema });
    expect(await theirs.get(s.id)).toEqual(s);
    await theirs.close();
    expect((await pool.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    await pool.end();
    await store.close();
  });

  it('refuses to round a time it cannot hold exactly', async () => {
    const schema = newSchema();
    const store = await migratedStore(schema);
    const s = session();
    await store.create(s);
    await direct.query(`update "${schema}".tessera_sessions set expires_at = 9007199254740993 where id = $1`, [s.id]);
    await expect(store.get(s.id)).rejects.toThrow(TypeError);
    await store.close();
  });

  it('refuses bad options at construction', () => {
    expect(() => postgresStore({ connectionString: URL_BASE, schema: 'x"; drop table y; --' })).toThrow(ConfigError);
    expect(() => postgresStore({ connectionString: URL_BASE, statementTimeout: 0 })).toThrow(ConfigError);
    expect(() => postgresStore({} as { connectionString: string })).toThrow(ConfigError);
  });
});

describe('postgresStore through a failing network', () => {
  let proxy: TcpProxy;
  let store: SqlSessionStore;
  let schema: string;
  const poolErrors: Error[] = [];
  beforeAll(async () => {
    proxy = await startTcpProxy(new URL(URL_BASE).port === '' ? 5432 : Number(new URL(URL_BASE).port), new URL(URL_BASE).hostname);
    schema = newSchema();
    store = await migratedStore(schema, throughPort(proxy.port), (error) => poolErrors.push(error));
  });
  afterAll(async () => {
    await store.close();
    await proxy.close();
  });

  it('rejects every verb within 3 s while cut, and the same store works again once restored', async () => {
    const s = session();
    await store.create(s);
    // Several open connections, idle in the pool when the cut comes.
    await Promise.all(Array.from({ length: 4 }, () => store.get(s.id)));
    const inFlight = settle(store.listByUser(s.userId, T));
    proxy.cut();
    expect((await inFlight).rejected).toBe(true);
    const verbs = [
      store.get(s.id),
      store.create(session()),
      store.rotate(s.id, s.currentJti, nextFor('cut')),
      store.revoke(s.id, 'logout', T),
      store.revokeUser(s.userId, 'logout_all', T),
      store.listByUser(s.userId, T),
      store.purge(T, T),
      store.ping(),
    ];
    for (const outcome of await Promise.all(verbs.map(settle))) {
      expect(outcome.rejected).toBe(true);
      expect(outcome.ms).toBeLessThan(3000);
    }
    // The idle connections' errors reached the listener; a checked-out connection's 'error' with no
    // listener would have been an uncaught exception, which fails this run (tried: it does).
    expect(poolErrors.length).toBeGreaterThan(0);

    proxy.restore();
    await store.ping();
    expect(await store.get(s.id)).toEqual(s);
  });

  it('rejects within ~3 s while the network hangs; a rotation that never arrived leaves the old token current', async () => {
    const s = session();
    await store.create(s);
    proxy.stall();
    const outcomes = await Promise.all([settle(store.rotate(s.id, s.currentJti, nextFor('stalled'))), settle(store.get(s.id)), settle(store.ping())]);
    for (const outcome of outcomes) {
      expect(outcome.rejected).toBe(true);
      expect(outcome.ms).toBeLessThan(3500);
    }
    proxy.restore();
    expect(await expectExactlyOneUsable(store, schema, s, 'stalled')).toBe(s.currentJti);
  });

  it('leaves exactly one usable token when the connection is cut while the rotation waits in the server', async () => {
    const s = session();
    await store.create(s);
    const blocker = new pg.Client({ connectionString: URL_BASE });
    await blocker.connect();
    try {
      await blocker.query('begin');
      await blocker.query(`select 1 from "${schema}".tessera_sessions where id = $1 for update`, [s.id]);
      const rotation = settle(store.rotate(s.id, s.currentJti, nextFor('midway-cut')));
      await untilWaitingOnLock(schema);
      proxy.cut();
      expect((await rotation).rejected).toBe(true);
      // The server still holds the UPDATE: let it finish now that nobody hears the answer.
      await blocker.query('commit');
      await untilIdle(schema);
    } finally {
      await blocker.end();
    }
    proxy.restore();
    await expectExactlyOneUsable(store, schema, s, 'midway-cut');
  });

  it('leaves exactly one usable token when the answer of a rotation is lost in a hung network', async () => {
    const s = session();
    await store.create(s);
    const blocker = new pg.Client({ connectionString: URL_BASE });
    await blocker.connect();
    let outcome: { ms: number; rejected: boolean };
    try {
      await blocker.query('begin');
      await blocker.query(`select 1 from "${schema}".tessera_sessions where id = $1 for update`, [s.id]);
      const rotation = settle(store.rotate(s.id, s.currentJti, nextFor('midway-stall')));
      await untilWaitingOnLock(schema);
      proxy.stall();
      await blocker.query('commit');
      outcome = await rotation;
    } finally {
      await blocker.end();
    }
    expect(outcome.rejected).toBe(true);
    expect(outcome.ms).toBeLessThan(3500);
    await untilIdle(schema);
    proxy.restore();
    // The server applied it; the client never heard. Either way one token only can rotate.
    expect(await expectExactlyOneUsable(store, schema, s, 'midway-stall')).toBe('midway-stall');
  });
});
