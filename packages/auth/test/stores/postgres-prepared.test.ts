// The hot statements on the real Postgres: named prepared statements on each connection (one set
// per schema), that keep answering when a migration adds a column while the store runs, and the
// connection that Postgres refuses a stale plan on is replaced rather than kept.
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import pg from 'pg';
import { sql } from 'kysely';
import { PG_BASE, schemaNames } from '@tessera/test-kit';
import { markHot } from '../../src/stores/sql/hot-statements.js';
import { GuardedPool } from '../../src/stores/sql/pg-pool.js';
import { postgresStore, type SqlSessionStore } from '../../src/stores/postgres.js';
import { session } from '../conformance/session-store.js';

const newSchema = schemaNames('tessera_prep').next;
const T0 = Date.UTC(2030, 0, 1);

let direct: pg.Client;
const made: string[] = [];
beforeAll(async () => {
  direct = new pg.Client({ connectionString: PG_BASE });
  await direct.connect();
});
afterAll(async () => {
  for (const schema of made) await direct.query(`drop schema if exists "${schema}" cascade`);
  await direct.end();
});

/** A store on one connection, so that its own `db` sees that connection's prepared statements. */
async function oneConnectionStore(): Promise<{ store: SqlSessionStore; schema: string }> {
  const schema = newSchema();
  made.push(schema);
  const store = postgresStore({ connectionString: PG_BASE, schema, max: 1 });
  onTestFinished(() => store.close());
  await store.migrate();
  return { store, schema };
}

async function prepared(store: SqlSessionStore): Promise<{ name: string; statement: string }[]> {
  const result = await sql<{ name: string; statement: string }>`select name, statement from pg_prepared_statements order by name`.execute(store.db);
  return result.rows;
}

async function backendPid(store: SqlSessionStore): Promise<number> {
  return (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(store.db)).rows[0]!.pid;
}

/** Rotates `times` times from the session's current jti; returns the last jti. */
async function rotateRepeatedly(store: SqlSessionStore, id: string, jti: string, times: number, from: number): Promise<string> {
  let current = jti;
  for (let i = 1; i <= times; i++) {
    const next = `${id}-r${from + i}`;
    const now = T0 + (from + i) * 1000;
    const result = await store.rotate(id, current, { jti: next, rotatedAt: now, expiresAt: now + 86_400_000, now });
    expect(result).toMatchObject({ ok: true, session: { id, currentJti: next, previousJti: current, rotatedAt: now } });
    current = next;
  }
  return current;
}

describe('hot statements on Postgres', () => {
  it('run get and rotate as named prepared statements, one pair per schema, with the same answers', async () => {
    const a = await oneConnectionStore();
    const b = await oneConnectionStore();
    const namesOf = async ({ store }: { store: SqlSessionStore }) => {
      const s = session();
      await store.create(s);
      // More runs than Postgres's five custom plans, so its generic plan answers too.
      const last = await rotateRepeatedly(store, s.id, s.currentJti, 8, 0);
      expect(await store.get(s.id)).toMatchObject({ id: s.id, currentJti: last, clientId: s.clientId, jkt: s.jkt });
      expect(await store.get('nobody')).toBeUndefined();
      expect(
        await store.rotate(s.id, s.currentJti, { jti: 'late', rotatedAt: T0 + 99_000, expiresAt: T0 + 99_999_000, now: T0 + 99_000 }),
      ).toMatchObject({
        ok: false,
        reason: 'jti_mismatch',
      });
      return prepared(store);
    };
    const inA = await namesOf(a);
    const inB = await namesOf(b);
    for (const [statements, schema] of [
      [inA, a.schema],
      [inB, b.schema],
    ] as const) {
      expect(statements).toHaveLength(2);
      for (const { name, statement } of statements) {
        expect(name).toMatch(/^tessera_[0-9a-f]{32}$/);
        expect(statement).toContain(`"${schema}"."tessera_sessions"`);
        expect(statement).not.toContain('*');
      }
    }
    expect(inA.map((s) => s.name).filter((name) => inB.some((other) => other.name === name))).toEqual([]);
  });

  it('keeps answering, on the same connection, after another connection adds a column', async () => {
    const { store, schema } = await oneConnectionStore();
    const s = session();
    await store.create(s);
    const jti = await rotateRepeatedly(store, s.id, s.currentJti, 6, 0);
    for (let i = 0; i < 6; i++) expect(await store.get(s.id)).toMatchObject({ currentJti: jti });
    const pid = await backendPid(store);
    expect(await prepared(store)).toHaveLength(2);

    await direct.query(`alter table "${schema}".tessera_sessions add column added_later text default 'x'`);

    // Not one failure: the listed columns keep the result type, so Postgres only plans again.
    const last = await rotateRepeatedly(store, s.id, jti, 3, 6);
    const read = await store.get(s.id);
    expect(read).toMatchObject({ id: s.id, currentJti: last });
    expect(read).not.toHaveProperty('added_later');
    expect(await backendPid(store)).toBe(pid);
  });
});

describe('GuardedPool', () => {
  it('replaces a connection whose prepared statement a migration made stale (0A000): one call fails, the next succeeds', async () => {
    const schema = newSchema();
    made.push(schema);
    await direct.query(
      `create schema "${schema}"; create table "${schema}".t (id text primary key, n int not null); insert into "${schema}".t values ('a', 1)`,
    );
    const pool = new pg.Pool({ connectionString: PG_BASE, max: 1 });
    const guarded = new GuardedPool(pool, { owned: true, queryTimeout: 5000, onError: () => undefined });
    onTestFinished(() => guarded.end());
    // `*` on purpose: the shape the store avoids, to reach the refusal.
    const text = `select * from "${schema}".t where id = $1`;
    markHot(text);
    const run = async (): Promise<{ rows: unknown[]; pid: number }> => {
      const client = await guarded.connect();
      try {
        const { rows } = await client.query<unknown>(text, ['a']);
        const pid = (await client.query<{ pid: number }>('select pg_backend_pid() as pid', [])).rows[0]!.pid;
        return { rows, pid };
      } finally {
        client.release();
      }
    };
    const before = await run();
    expect(before.rows).toEqual([{ id: 'a', n: 1 }]);
    expect((await run()).pid).toBe(before.pid);

    await direct.query(`alter table "${schema}".t add column note text default 'new'`);

    await expect(run()).rejects.toMatchObject({ code: '0A000' });
    const after = await run();
    expect(after.rows).toEqual([{ id: 'a', n: 1, note: 'new' }]);
    expect(after.pid).not.toBe(before.pid);
  });
});
