// The revocation feed's rows (docs/resource-server.md "The revocation feed") on every store: an event per
// revocation written atomically with it, read in id order, a snapshot for a cold start, purged once it no
// longer matters; on Postgres, concurrent writers that can never commit out of id order.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_BASE, schemaNames, waitFor } from '@tessera/test-kit';
import { fixedClock } from '../../src/core/clock.js';
import { generateKey, generateRefreshKey } from '../../src/core/keys/key.js';
import { REVOCATION_EVENTS_MIN_KEEP_MS, type SessionStore } from '../../src/core/sessions/store.js';
import { createTessera } from '../../src/core/tessera.js';
import { memoryStore } from '../../src/stores/memory.js';
import { postgresStore } from '../../src/stores/postgres.js';
import { recordRevocationEvents, type SqlSessionStore } from '../../src/stores/sql/index.js';
import { sqliteStore } from '../../src/stores/sqlite.js';
import { session } from '../conformance/session-store.js';

const T = Date.UTC(2030, 0, 1);
const DAY = 86_400_000;
const newSchema = schemaNames('tessera_rev').next;
const RUN_ID = Math.random().toString(36).slice(2);
const root = mkdtempSync(join(tmpdir(), 'tessera-rev-'));
let direct: pg.Client;
const schemas: string[] = [];

beforeAll(async () => {
  direct = new pg.Client({ connectionString: PG_BASE });
  await direct.connect();
});
afterAll(async () => {
  for (const schema of schemas) await direct.query(`drop schema if exists "${schema}" cascade`);
  await direct.end();
  rmSync(root, { recursive: true, force: true });
});

interface Harness {
  store: SessionStore;
  /** Makes the next event insert for `ref` fail inside the database (undefined: the store has no database). */
  poison?: (ref: string) => Promise<void>;
}

async function postgresHarness(): Promise<Harness & { store: SqlSessionStore; schema: string }> {
  const schema = newSchema();
  schemas.push(schema);
  const store = postgresStore({ connectionString: PG_BASE, schema });
  await store.migrate();
  return {
    store,
    schema,
    poison: async (ref) => {
      await direct.query(`alter table "${schema}".tessera_revocation_events add constraint poison check (ref <> '${ref}') not valid`);
    },
  };
}

let files = 0;
const STORES: readonly (readonly [string, () => Promise<Harness>])[] = [
  ['memory', async () => ({ store: memoryStore() })],
  [
    'sqlite',
    async () => {
      const filename = join(root, `f${++files}`, 'tessera.db');
      const store = sqliteStore({ filename });
      await store.migrate();
      return {
        store,
        poison: async (ref) => {
          // A trigger that aborts the event's insert: the revocation's UPDATE has run by then.
          await sql
            .raw(
              `create trigger poison before insert on tessera_revocation_events when new.ref = '${ref}' begin select raise(abort, 'poisoned'); end`,
            )
            .execute(store.db);
        },
      };
    },
  ],
  ['postgres', postgresHarness],
];

for (const [name, make] of STORES) {
  describe(`revocation events: ${name}`, () => {
    let harness: Harness;
    let store: SessionStore;
    beforeAll(async () => {
      harness = await make();
      store = harness.store;
    });
    afterAll(async () => {
      await store?.close();
    });

    it('writes one event per revocation, in id order, and none for a session already revoked', async () => {
      const start = (await store.revocationSnapshot!(0)).lastId;
      const a = session();
      const b = session();
      await store.create(a);
      await store.create(b);
      expect(await store.revoke(a.id, 'logout', T + 1)).toBe(true);
      expect(await store.revoke(a.id, 'logout', T + 2)).toBe(false);
      expect(await store.revoke(b.id, 'admin', T + 3)).toBe(true);
      const events = await store.revocationEvents!(start, 100);
      expect(events.map(({ kind, ref, at }) => ({ kind, ref, at }))).toEqual([
        { kind: 'session', ref: a.id, at: T + 1 },
        { kind: 'session', ref: b.id, at: T + 3 },
      ]);
      expect(events[1]!.id).toBeGreaterThan(events[0]!.id);
      expect(events[0]!.id).toBeGreaterThan(start);
      expect(await store.revocationEvents!(events[0]!.id, 100)).toEqual([events[1]]);
      expect(await store.revocationEvents!(start, 1)).toEqual([events[0]]);
    });

    it('writes one event per session revokeUser revoked, never for the one it spared', async () => {
      const start = (await store.revocationSnapshot!(0)).lastId;
      const first = session();
      const sessions = [first, session({ userId: first.userId }), session({ userId: first.userId })];
      for (const s of sessions) await store.create(s);
      const ids = await store.revokeUser(first.userId, 'logout_all', T + 5, sessions[2]!.id);
      const events = await store.revocationEvents!(start, 100);
      expect(events.map((e) => e.ref).sort()).toEqual([...ids].sort());
      expect(ids.sort()).toEqual([sessions[0]!.id, sessions[1]!.id].sort());
      expect(await store.revokeUser(first.userId, 'logout_all', T + 6)).toEqual([sessions[2]!.id]);
      expect((await store.revocationEvents!(events.at(-1)!.id, 100)).map((e) => e.ref)).toEqual([sessions[2]!.id]);
    });

    it('gives a cold reader a snapshot of what still matters and the cursor to continue from', async () => {
      const old = session();
      const recent = session();
      await store.create(old);
      await store.create(recent);
      await store.revoke(old.id, 'logout', T - 2 * DAY);
      await store.revoke(recent.id, 'logout', T + 10);
      const snapshot = await store.revocationSnapshot!(T);
      const refs = snapshot.events.map((e) => e.ref);
      expect(refs).toContain(recent.id);
      expect(refs).not.toContain(old.id);
      expect(snapshot.lastId).toBe(snapshot.events.at(-1)!.id);
      expect(await store.revocationEvents!(snapshot.lastId, 10)).toEqual([]);
      const later = session();
      await store.create(later);
      await store.revoke(later.id, 'logout', T + 11);
      expect((await store.revocationEvents!(snapshot.lastId, 10)).map((e) => e.ref)).toEqual([later.id]);
    });

    it('purges events that no longer matter, keeping a day at least whatever the retention', async () => {
      const gone = session();
      const kept = session();
      await store.create(gone);
      await store.create(kept);
      const now = T + 10 * DAY;
      await store.revoke(gone.id, 'logout', now - REVOCATION_EVENTS_MIN_KEEP_MS - 1);
      await store.revoke(kept.id, 'logout', now - 1000);
      // A retention of 0 (before = now) keeps the recent event anyway.
      await store.purge(now, now);
      const refs = (await store.revocationSnapshot!(0)).events.map((e) => e.ref);
      expect(refs).toContain(kept.id);
      expect(refs).not.toContain(gone.id);
    });

    it('writes the event of a reuse detected at refresh (rotation path), past the grace window', async () => {
      const clock = fixedClock(T);
      const auth = createTessera({ keys: await generateKey('HS256'), refreshKey: await generateRefreshKey(), clock, sessions: { store } });
      const start = (await store.revocationSnapshot!(0)).lastId;
      const opened = await auth.openSession({ sub: `user-${RUN_ID}` });
      await auth.refresh(opened.refresh.token);
      clock.advance(60_000);
      await expect(auth.refresh(opened.refresh.token)).rejects.toMatchObject({ code: 'refresh_token_reused' });
      expect((await store.revocationEvents!(start, 10)).map((e) => e.ref)).toEqual([opened.sid]);
    });

    it('writes the revocation and its event together or neither', async () => {
      if (harness.poison === undefined) return expect(name).toBe('memory'); // no await inside a memory verb: atomic by construction
      const s = session();
      const other = session({ userId: s.userId });
      await store.create(s);
      await store.create(other);
      await harness.poison(s.id);
      const start = (await store.revocationSnapshot!(0)).lastId;
      await expect(store.revoke(s.id, 'logout', T)).rejects.toThrow();
      expect((await store.get(s.id))?.revokedAt).toBeNull();
      // revokeUser: the other session's row and event are rolled back too.
      await expect(store.revokeUser(s.userId, 'logout_all', T)).rejects.toThrow();
      expect((await store.get(other.id))?.revokedAt).toBeNull();
      expect(await store.revocationEvents!(start, 10)).toEqual([]);
    });
  });
}

describe('revocation events on Postgres: concurrent writers', () => {
  let harness: Awaited<ReturnType<typeof postgresHarness>>;
  beforeAll(async () => {
    harness = await postgresHarness();
  });
  afterAll(async () => {
    await harness?.store.close();
  });

  const events = (schema: string, after: number) =>
    direct.query<{ id: string; ref: string }>(`select id, ref from "${schema}".tessera_revocation_events where id > $1 order by id`, [after]);

  it('can commit ids out of order when writers do not take turns (the hazard is real)', async () => {
    const { schema } = harness;
    const [t1, t2] = [new pg.Client({ connectionString: PG_BASE }), new pg.Client({ connectionString: PG_BASE })];
    await Promise.all([t1.connect(), t2.connect()]);
    try {
      const cursor = Number((await direct.query(`select coalesce(max(id), 0) as m from "${schema}".tessera_revocation_events`)).rows[0].m);
      await t1.query('begin');
      await t1.query(`insert into "${schema}".tessera_revocation_events (kind, ref, at) values ('session', 'first-drawn', 1)`);
      await t2.query('begin');
      await t2.query(`insert into "${schema}".tessera_revocation_events (kind, ref, at) values ('session', 'second-drawn', 1)`);
      await t2.query('commit');
      // A reader now sees only the larger id; once it moved its cursor there, the smaller one is skipped.
      const seen = await events(schema, cursor);
      expect(seen.rows.map((r) => r.ref)).toEqual(['second-drawn']);
      await t1.query('commit');
      expect((await events(schema, Number(seen.rows[0]!.id))).rows).toEqual([]);
    } finally {
      await Promise.all([t1.end(), t2.end()]);
    }
  });

  it("makes the store's writers take turns: a revocation waits for a slower writer, so ids commit in order", async () => {
    const { schema, store } = harness;
    const s = session();
    await store.create(s);
    const cursor = (await store.revocationSnapshot!(0)).lastId;
    const slow = new pg.Client({ connectionString: PG_BASE });
    await slow.connect();
    try {
      // A writer following the protocol (as the server's key withdrawal does) that draws its id first and commits late.
      await slow.query('begin');
      await slow.query(`set local search_path to "${schema}"`);
      await recordRevocationEventsRaw(slow, 'slow-writer');
      const revocation = store.revoke(s.id, 'logout', T);
      await waitFor(
        'the revocation to wait for its turn',
        async () =>
          (
            await direct.query(
              "select 1 from pg_stat_activity where application_name = 'tessera' and wait_event_type = 'Lock' and query like '%pg_advisory_xact_lock%'",
            )
          ).rows.length > 0,
        5000,
        20,
      );
      // Meanwhile a reader sees neither.
      expect(await store.revocationEvents!(cursor, 10)).toEqual([]);
      await slow.query('commit');
      expect(await revocation).toBe(true);
      expect((await store.revocationEvents!(cursor, 10)).map((e) => e.ref)).toEqual(['slow-writer', s.id]);
    } finally {
      await slow.end();
    }
  });

  it('writes events of an application transaction (a key withdrawal) with the same rules', async () => {
    const { store } = harness;
    const cursor = (await store.revocationSnapshot!(0)).lastId;
    await store.db.transaction().execute(async (trx) => {
      await recordRevocationEvents(trx, 'postgres', [{ kind: 'key', ref: 'kid-1', at: T }], harness.schema);
    });
    expect(await store.revocationEvents!(cursor, 10)).toEqual([{ id: expect.any(Number) as number, kind: 'key', ref: 'kid-1', at: T }]);
    await expect(
      store.db.transaction().execute(async (trx) => {
        await recordRevocationEvents(trx, 'postgres', [{ kind: 'key', ref: 'kid-2', at: T }], harness.schema);
        throw new Error('the withdrawal failed');
      }),
    ).rejects.toThrow('the withdrawal failed');
    expect((await store.revocationEvents!(cursor, 10)).map((e) => e.ref)).toEqual(['kid-1']);
  });
});

/** The protocol of `recordRevocationEvents` on a raw pg client: take turns, then insert. */
async function recordRevocationEventsRaw(client: pg.Client, ref: string): Promise<void> {
  await client.query("select pg_advisory_xact_lock(hashtext(current_schema() || '.tessera_revocation_events'))");
  await client.query("insert into tessera_revocation_events (kind, ref, at) values ('key', $1, 1)", [ref]);
}
