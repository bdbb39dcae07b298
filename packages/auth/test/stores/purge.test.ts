// The batched purge (stores/sql/purge.ts) on real SQLite files and the real Postgres: exactly the ended
// sessions go, in several batches; a purge stopped or failing half-way leaves a consistent store that a
// second purge finishes; every statement it sends is planned through an index; new SQLite files give
// freed pages back, existing ones keep their mode.
import { PG_BASE, schemaNames } from '@tessera/test-kit';
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql, type CompiledQuery, type LogEvent } from 'kysely';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { PurgeBatch, SessionRecord } from '../../src/core/sessions/store.js';
import { CAPABILITIES } from '../../src/stores/sql/capabilities.js';
import { INCREMENTAL, purgeSessionRows } from '../../src/stores/sql/purge.js';
import { sqlStore } from '../../src/stores/sql/sql-store.js';
import type { SessionDatabase } from '../../src/stores/sql/tables.js';
import { postgresStore } from '../../src/stores/postgres.js';
import { sqliteStore, type SqlSessionStore } from '../../src/stores/sqlite.js';
import { session } from '../conformance/session-store.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2030, 0, 1);
const BEFORE = NOW - 7 * DAY;
const root = mkdtempSync(join(tmpdir(), 'tessera-purge-'));
let files = 0;
const fresh = (): string => join(root, `case-${++files}`, 'tessera.db');
const newSchema = schemaNames('tessera_purge').next;
const schemas: string[] = [];
const direct = new pg.Client({ connectionString: PG_BASE });
let connected: Promise<void> | undefined;
const admin = async (): Promise<pg.Client> => {
  connected ??= direct.connect().then(() => undefined);
  await connected;
  return direct;
};

afterAll(async () => {
  rmSync(root, { recursive: true, force: true });
  if (connected !== undefined) {
    for (const schema of schemas) await direct.query(`drop schema if exists "${schema}" cascade`);
    await direct.end();
  }
});

/** Sessions of every kind, `each` of each: which must go and which must stay at NOW with BEFORE. */
function mixture(each: number): { gone: SessionRecord[]; kept: SessionRecord[] } {
  const live = { absoluteExpiresAt: NOW + DAY, expiresAt: NOW + DAY };
  const gone: SessionRecord[] = [];
  const kept: SessionRecord[] = [];
  for (let i = 0; i < each; i++) {
    const user = `user-${i % 3}`;
    gone.push(
      session({ userId: user, absoluteExpiresAt: NOW, expiresAt: NOW + DAY }), // absolute expiry reached (<=)
      session({ userId: user, ...live, revokedAt: BEFORE - 1, reason: 'logout' }), // revoked before the retention cut
      session({ userId: user, absoluteExpiresAt: NOW + DAY, expiresAt: BEFORE - 1 }), // idle long ago
    );
    kept.push(
      session({ userId: user, ...live }),
      session({ userId: user, ...live, revokedAt: BEFORE, reason: 'logout' }), // revoked recently: kept for audit
      session({ userId: user, absoluteExpiresAt: NOW + DAY, expiresAt: BEFORE }), // idle, but not for long enough
    );
  }
  return { gone, kept };
}

/** Creates the sessions interleaved, so ended and live ones share pages and key ranges. */
async function seed(store: SqlSessionStore, each: number): Promise<{ gone: SessionRecord[]; kept: SessionRecord[] }> {
  const sets = mixture(each);
  for (let i = 0; i < sets.gone.length; i++) {
    await store.create(sets.gone[i]!);
    await store.create(sets.kept[i]!);
  }
  return sets;
}

async function remaining(store: SqlSessionStore, sets: { gone: SessionRecord[]; kept: SessionRecord[] }): Promise<{ gone: number; kept: number }> {
  let gone = 0;
  let kept = 0;
  for (const s of sets.gone) if ((await store.get(s.id)) !== undefined) gone++;
  for (const s of sets.kept) if ((await store.get(s.id)) !== undefined) kept++;
  return { gone, kept };
}

const target = (store: SqlSessionStore, dialect: 'sqlite' | 'postgres', schema?: string) => ({
  db: (schema === undefined ? store.db : store.db.withSchema(schema)) as Kysely<SessionDatabase>,
  capabilities: CAPABILITIES[dialect],
});

interface Backend {
  readonly name: 'sqlite' | 'postgres';
  open(): Promise<{ store: SqlSessionStore; schema?: string }>;
}

const backends: Backend[] = [
  {
    name: 'sqlite',
    async open() {
      const store = sqliteStore({ filename: fresh() });
      await store.migrate();
      return { store };
    },
  },
  {
    name: 'postgres',
    async open() {
      const schema = newSchema();
      schemas.push(schema);
      await admin();
      const store = postgresStore({ connectionString: PG_BASE, schema });
      await store.migrate();
      return { store, schema };
    },
  },
];

for (const backend of backends) {
  describe(`batched purge on ${backend.name}`, () => {
    it('deletes exactly the ended sessions, in several batches, and leaves live and recently revoked ones', async () => {
      const { store, schema } = await backend.open();
      try {
        const sets = await seed(store, 12);
        const batches: PurgeBatch[] = [];
        const deleted = await purgeSessionRows(
          target(store, backend.name, schema),
          NOW,
          BEFORE,
          BEFORE,
          { onBatch: (b) => batches.push(b) },
          { batchSize: 4 },
        );
        expect(deleted).toBe(sets.gone.length);
        expect(await remaining(store, sets)).toEqual({ gone: 0, kept: sets.kept.length });
        // 12 of each kind in batches of 4: more than one batch per kind.
        expect(batches.filter((b) => b.deleted > 0).length).toBeGreaterThanOrEqual(9);
        expect(Math.max(...batches.map((b) => b.deleted))).toBeLessThanOrEqual(4);
        expect(await store.purge(NOW, BEFORE)).toBe(0);
      } finally {
        await store.close();
      }
    });

    it('stops between two batches when the signal is aborted; a second purge finishes the job', async () => {
      const { store, schema } = await backend.open();
      try {
        const sets = await seed(store, 10);
        const stop = new AbortController();
        let batches = 0;
        const first = await purgeSessionRows(
          target(store, backend.name, schema),
          NOW,
          BEFORE,
          BEFORE,
          {
            signal: stop.signal,
            onBatch: () => {
              if (++batches === 3) stop.abort();
            },
          },
          { batchSize: 3 },
        );
        expect(batches).toBe(3);
        expect(first).toBe(9);
        const half = await remaining(store, sets);
        expect(half).toEqual({ gone: sets.gone.length - 9, kept: sets.kept.length });
        expect(await store.purge(NOW, BEFORE, { signal: new AbortController().signal })).toBe(sets.gone.length - 9);
        expect(await remaining(store, sets)).toEqual({ gone: 0, kept: sets.kept.length });
      } finally {
        await store.close();
      }
    });

    it('an aborted signal stops the purge before its first batch', async () => {
      const { store } = await backend.open();
      try {
        const sets = await seed(store, 2);
        expect(await store.purge(NOW, BEFORE, { signal: AbortSignal.abort() })).toBe(0);
        expect(await remaining(store, sets)).toEqual({ gone: sets.gone.length, kept: sets.kept.length });
      } finally {
        await store.close();
      }
    });
  });
}

describe('batched purge on an SQLite file: the connection after it', () => {
  it("puts the connection's automatic checkpoint back after a purge, also after two at once", async () => {
    const store = sqliteStore({ filename: fresh() });
    await store.migrate();
    try {
      await seed(store, 20);
      const checkpointAt = async (): Promise<number> =>
        Number((await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(store.db)).rows[0]?.wal_autocheckpoint);
      await sql`pragma wal_autocheckpoint = 777`.execute(store.db);
      const during: number[] = [];
      const [a, b] = await Promise.all([
        store.purge(NOW, BEFORE, { onBatch: () => void checkpointAt().then((n) => during.push(n)) }),
        store.purge(NOW, BEFORE),
      ]);
      expect(a + b).toBe(60);
      expect(during.some((n) => n !== 777)).toBe(true);
      expect(await checkpointAt()).toBe(777);
    } finally {
      await store.close();
    }
  });
});

describe('batched purge on an SQLite file that fails half-way', () => {
  it('leaves a consistent store when a batch fails (the file locked by another process), and a second purge finishes', async () => {
    const filename = fresh();
    const store = sqliteStore({ filename, busyTimeout: 20 });
    await store.migrate();
    const other = new Database(filename, { timeout: 20 });
    try {
      const sets = await seed(store, 10);
      let batches = 0;
      const failing = purgeSessionRows(
        target(store, 'sqlite'),
        NOW,
        BEFORE,
        BEFORE,
        {
          // After the second batch, another connection takes the write lock: the third batch cannot write.
          onBatch: () => {
            if (++batches === 2) other.exec('begin immediate');
          },
        },
        { batchSize: 3 },
      );
      await expect(failing).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
      other.exec('rollback');
      expect(await remaining(store, sets)).toEqual({ gone: sets.gone.length - 6, kept: sets.kept.length });
      expect(await store.purge(NOW, BEFORE)).toBe(sets.gone.length - 6);
      expect(await remaining(store, sets)).toEqual({ gone: 0, kept: sets.kept.length });
    } finally {
      other.close();
      await store.close();
    }
  });
});

/** Runs a purge through a Kysely instance that records every statement it sends. */
async function purgeStatements(
  db: Kysely<SessionDatabase>,
  dialect: 'sqlite' | 'postgres',
  sent: CompiledQuery[],
  schema?: string,
): Promise<CompiledQuery[]> {
  const store = sqlStore(db, { dialect, ...(schema === undefined ? {} : { schema }) });
  await store.migrate();
  const sets = mixture(5);
  for (const s of [...sets.gone, ...sets.kept]) await store.create(s);
  await store.revoke(sets.kept[0]!.id, 'logout', BEFORE - 2 * DAY);
  sent.length = 0;
  await purgeSessionRows(
    { db: schema === undefined ? db : db.withSchema(schema), capabilities: CAPABILITIES[dialect] },
    NOW,
    BEFORE,
    NOW,
    {},
    { batchSize: 2 },
  );
  return sent.filter((q) => /^\s*(delete|select)/i.test(q.sql) && /tessera_(sessions|revocation_events)/.test(q.sql));
}

const record =
  (sent: CompiledQuery[]) =>
  (event: LogEvent): void => {
    if (event.level === 'query') sent.push(event.query);
  };

describe('purge query plans', () => {
  it('SQLite: every statement of the purge searches an index or a rowid range, none scans a table', async () => {
    const sqlite = new Database(':memory:');
    const sent: CompiledQuery[] = [];
    const db = new Kysely<SessionDatabase>({ dialect: new SqliteDialect({ database: sqlite }), log: record(sent) });
    try {
      const statements = await purgeStatements(db, 'sqlite', sent);
      const kinds = new Set(statements.map((q) => q.sql.replace(/\d+/g, 'n')));
      // Ended, revoked, idle (max(rowid) and the range) and events.
      expect(kinds.size).toBeGreaterThanOrEqual(5);
      for (const q of statements) {
        const plan = (sqlite.prepare(`explain query plan ${q.sql}`).all(...q.parameters) as { detail: string }[]).map((r) => r.detail);
        expect(
          plan.filter((line) => /^SCAN /.test(line)),
          `${q.sql}\n${plan.join('\n')}`,
        ).toEqual([]);
        expect(
          plan.some((line) => /^SEARCH /.test(line)),
          `${q.sql}\n${plan.join('\n')}`,
        ).toBe(true);
      }
    } finally {
      await db.destroy();
    }
  });

  it('Postgres: with sequential scans priced out, every statement of the purge uses an index', async () => {
    const schema = newSchema();
    schemas.push(schema);
    const client = await admin();
    const sent: CompiledQuery[] = [];
    const pool = new pg.Pool({ connectionString: PG_BASE, max: 2 });
    const db = new Kysely<SessionDatabase>({ dialect: new PostgresDialect({ pool }), log: record(sent) });
    try {
      const statements = await purgeStatements(db, 'postgres', sent, schema);
      expect(new Set(statements.map((q) => q.sql)).size).toBeGreaterThanOrEqual(5);
      await client.query('begin');
      try {
        // A handful of rows would make any plan cheap: price sequential scans out, so one shows only where no index serves.
        await client.query('set local enable_seqscan = off');
        for (const q of statements) {
          const { rows } = await client.query<{ 'QUERY PLAN': string }>(`explain ${q.sql}`, [...q.parameters]);
          const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
          expect(plan, q.sql).not.toMatch(/Seq Scan/);
          expect(plan, q.sql).toMatch(/Index (Only )?Scan/);
        }
      } finally {
        await client.query('rollback');
      }
    } finally {
      await db.destroy();
    }
  });
});

describe('SQLite auto_vacuum', () => {
  it('a new file is created in incremental mode, and a purge gives its free pages back', async () => {
    const filename = fresh();
    const store = sqliteStore({ filename });
    await store.migrate();
    const sets = await seed(store, 300);
    expect(sets.gone.length).toBe(900);
    expect(await store.purge(NOW, BEFORE)).toBe(900);
    await store.close();
    const db = new Database(filename, { readonly: true });
    try {
      expect(db.pragma('auto_vacuum', { simple: true })).toBe(INCREMENTAL);
      expect(db.pragma('freelist_count', { simple: true })).toBe(0);
    } finally {
      db.close();
    }
  });

  it('an existing file keeps its mode: it is never converted when the store opens it', async () => {
    const filename = fresh();
    mkdirSync(dirname(filename), { recursive: true });
    // An older file: created before the store set the mode (a table already in it).
    const old = new Database(filename);
    old.exec('create table app_notes (id integer primary key)');
    expect(old.pragma('auto_vacuum', { simple: true })).toBe(0);
    old.close();
    const store = sqliteStore({ filename });
    await store.migrate();
    await seed(store, 20);
    expect(await store.purge(NOW, BEFORE)).toBe(60);
    await store.close();
    const db = new Database(filename, { readonly: true });
    try {
      expect(db.pragma('auto_vacuum', { simple: true })).toBe(0);
    } finally {
      db.close();
    }
  });
});
