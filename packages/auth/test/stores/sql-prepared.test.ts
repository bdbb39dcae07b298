// The two pieces that keep Kysely's per-call work off the hot verbs: statements kept by SQL text
// (SQLite) and queries compiled once with named values (both databases), on real databases.
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { describe, expect, it, onTestFinished } from 'vitest';
import { prepareQuery } from '../../src/stores/sql/prepared-query.js';
import { cachingStatements } from '../../src/stores/sql/statement-cache.js';

interface Db {
  t: { id: string; n: number; note: string | null };
}

function sqlite(max?: number) {
  const raw = new Database(':memory:');
  raw.exec("create table t (id text primary key, n integer not null, note text); insert into t values ('a', 1, null), ('b', 2, 'x')");
  let prepared = 0;
  const counting = { prepare: (text: string) => (prepared++, raw.prepare(text)), close: () => raw.close() };
  const db = new Kysely<Db>({ dialect: new SqliteDialect({ database: cachingStatements(counting, max) }) });
  onTestFinished(() => db.destroy());
  return { db, prepared: () => prepared };
}

describe('cachingStatements', () => {
  it('prepares each SQL text once, however often it runs, and answers with fresh values each time', async () => {
    const { db, prepared } = sqlite();
    for (const id of ['a', 'b', 'a', 'b']) {
      const row = await db.selectFrom('t').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      expect(row.id).toBe(id);
    }
    await db.updateTable('t').set({ n: 5 }).where('id', '=', 'a').execute();
    await db.updateTable('t').set({ n: 6 }).where('id', '=', 'a').execute();
    expect((await db.selectFrom('t').select('n').where('id', '=', 'a').executeTakeFirstOrThrow()).n).toBe(6);
    expect(prepared()).toBe(3);
  });

  it('keeps at most max statements, dropping the least recently used', async () => {
    const { db, prepared } = sqlite(2);
    const run = (text: string) => sql.raw(text).execute(db);
    await run('select 1'); // 1
    await run('select 2'); // 2
    await run('select 1'); // cached, now the most recent
    await run('select 3'); // 3, evicts "select 2"
    await run('select 1'); // still cached
    await run('select 2'); // 4, prepared again
    expect(prepared()).toBe(4);
  });
});

describe('prepareQuery', () => {
  it('runs a query compiled once with the values of each call, constants left as Kysely put them (SQLite)', async () => {
    const { db } = sqlite();
    const q = db as unknown as Kysely<unknown>;
    const bump = prepareQuery<{ id: string; by: number }, { id: string; n: number }>(q, (p) =>
      db
        .updateTable('t')
        .set((eb) => ({ n: eb('n', '+', p.by), note: 'bumped' }))
        .where('id', '=', p.id)
        .returning(['id', 'n']),
    );
    expect(await bump({ id: 'a', by: 10 })).toEqual([{ id: 'a', n: 11 }]);
    expect(await bump({ id: 'a', by: 5 })).toEqual([{ id: 'a', n: 16 }]);
    expect(await bump({ id: 'nobody', by: 1 })).toEqual([]);
    expect(await db.selectFrom('t').select('note').where('id', '=', 'a').executeTakeFirstOrThrow()).toEqual({ note: 'bumped' });
  });

  it('refuses a call that leaves a named value out, before anything reaches the database', async () => {
    const { db, prepared } = sqlite();
    const byId = prepareQuery<{ id: string }, unknown>(db as unknown as Kysely<unknown>, (p) =>
      db.selectFrom('t').selectAll().where('id', '=', p.id),
    );
    const before = prepared();
    await expect(byId({} as { id: string })).rejects.toThrow(/needs a value for id/);
    expect(prepared()).toBe(before);
  });

  it('binds $n placeholders by name on Postgres, a value used twice included', async () => {
    const pool = new pg.Pool({ connectionString: process.env.TESSERA_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test', max: 1 });
    const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
    onTestFinished(() => db.destroy());
    const between = prepareQuery<{ low: number; high: number }, { inside: boolean; twice: number }>(db, (p) =>
      db.selectNoFrom([sql<boolean>`${p.low}::int <= 5 and 5 <= ${p.high}::int`.as('inside'), sql<number>`${p.low}::int * 2`.as('twice')]),
    );
    expect(await between({ low: 1, high: 9 })).toEqual([{ inside: true, twice: 2 }]);
    expect(await between({ low: 6, high: 9 })).toEqual([{ inside: false, twice: 12 }]);
  });
});
