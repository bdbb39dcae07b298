// bench/sessions: refresh-token rotations/s and session-checked verifications/s per session store (memory, SQLite
// file, Postgres, Postgres + redisBus), in one process and one run, beside the raw store floor: one SQL SELECT by key
// through the same driver (better-sqlite3, pg), one Redis EXISTS (node-redis). Every rotation is a real compare-and-set:
// sessions are seeded first and each one's current refresh token is rotated, the next token replacing it (counted
// through onEvent: any grace replay or refusal stops the run). Targets: rotation ≥ 5k/s on SQLite and ≥ 3k/s on
// Postgres; a session-checked `authenticate()` with its caches warm ≥ 0.75× a stateless HS256 `verifyAccessToken`.
import {
  createTessera,
  generateKey,
  generateRefreshKey,
  type AuthRequest,
  type Key,
  type RevocationBus,
  type SessionEvent,
  type SessionStore,
  type Tessera,
} from '@tessera/auth';
import { memoryStore } from '@tessera/auth/stores/memory';
import { redisBus } from '@tessera/auth/stores/redis';
import { postgresStore } from '@tessera/auth/stores/postgres';
import { sqliteStore } from '@tessera/auth/stores/sqlite';
import { deleteKeysUnder } from '@tessera/test-kit';
import Database from 'better-sqlite3';
import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { createClient } from 'redis';
import { BenchSuite, type BenchCheck, type SuiteReport } from '../harness.js';
import { httpOptions } from '../support/load.js';
import { addToReport, rateTargets, runThenClean } from '../support/report.js';

const PG_URL = process.env.TESSERA_BENCH_DATABASE_URL ?? process.env.TESSERA_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** A logical Redis database of this benchmark's own; keys and channels also carry a prefix of this run (channels ignore the db). */
const REDIS_URL = process.env.TESSERA_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/12';
const RUN = randomBytes(4).toString('hex');
const SCHEMA = `bench_sessions_${RUN}`;
const REDIS_PREFIX = `bench:sessions:${RUN}:`;
/** Sessions seeded per store: rotations cycle through them. */
const SESSIONS = 1024;
/** Tokens the verify cases cycle through: distinct sessions, so the liveness cache holds many entries, as a server's does. */
const VERIFY_SESSIONS = 256;
/** Operations in flight at once in a rate case, as requests are in a busy server. */
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const ROTATION_TARGETS: Record<string, number> = { 'SQLite file': 5000, Postgres: 3000, 'Postgres + redisBus': 3000 };
const VERIFY_TARGET = 0.75;

const options = httpOptions({ rounds: 15, timeMs: 300, quickRounds: 3, quickTimeMs: 100 });
const suite = new BenchSuite('sessions', options);

interface StoreCase {
  readonly name: string;
  readonly auth: Tessera;
  /** Current refresh token of each seeded session (replaced after each rotation). */
  readonly refresh: string[];
  readonly access: string[];
  readonly events: Map<SessionEvent['type'], number>;
  /** The raw store operations, each one round trip through the driver the store uses. */
  readonly floors: { name: string; op: (i: number) => Promise<unknown> | unknown }[];
}

/** Sessions set aside for the raw compare-and-set floor: their ids and current refresh jti, advanced by the floor itself. */
interface CasRows {
  readonly sids: string[];
  readonly jtis: string[];
}

const cleanups: (() => Promise<void> | void)[] = [];

async function main(): Promise<void> {
  const accessKey = await generateKey('HS256');
  const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-sessions-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));

  // Postgres: a schema of this run's own, dropped at the end.
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  cleanups.push(async () => {
    await admin.query(`drop schema if exists "${SCHEMA}" cascade`);
    await admin.end();
  });
  const floorPool = new pg.Pool({ connectionString: PG_URL, max: 10 });
  cleanups.push(() => floorPool.end());
  const redis = createClient({ url: REDIS_URL });
  redis.on('error', () => undefined);
  await redis.connect();
  cleanups.push(async () => {
    // Only this run's keys: the database number is ours, but a prefix keeps a mistake from touching anyone else's.
    await deleteKeysUnder(redis, REDIS_PREFIX);
    await redis.close();
  });

  const sqliteFile = join(dir, 'sessions.db');
  const stores: StoreCase[] = [];
  stores.push(
    await storeCase('memory', accessKey, memoryStore(), undefined, (auth, sids) => [
      { name: 'floor: store.get', op: (i) => storeGet(auth, sids, i) },
    ]),
  );

  const sqlite = sqliteStore({ filename: sqliteFile });
  await sqlite.migrate();
  // The floor's own connection, as the CLI would open one beside the server (WAL: readers never wait for the writer).
  const raw = new Database(sqliteFile, { timeout: 5000 });
  cleanups.push(() => {
    raw.close();
  });
  const select = raw.prepare('select * from tessera_sessions where id = ?');
  const update = raw.prepare(casSql('?', ''));
  stores.push(
    await storeCase('SQLite file', accessKey, sqlite, undefined, (_auth, sids, cas) => [
      { name: 'floor: SELECT by key', op: (i) => select.get(sids[i % sids.length]) },
      { name: 'floor: CAS UPDATE … RETURNING', op: (i) => casStep(cas, i, (params) => update.get(...params)) },
    ]),
  );

  const pgSelect = (sids: string[]) => (i: number) =>
    floorPool.query(`select * from "${SCHEMA}".tessera_sessions where id = $1`, [sids[i % sids.length]]).then((r) => r.rows[0] as unknown);
  const postgres = postgresStore({ connectionString: PG_URL, schema: SCHEMA });
  await postgres.migrate();
  const pgUpdate = casSql('$', `"${SCHEMA}".`);
  stores.push(
    await storeCase('Postgres', accessKey, postgres, undefined, (_auth, sids, cas) => [
      { name: 'floor: SELECT by key', op: pgSelect(sids) },
      {
        name: 'floor: CAS UPDATE … RETURNING',
        op: (i) => casStep(cas, i, (params) => floorPool.query(pgUpdate, params).then((r) => r.rows[0] as unknown)),
      },
    ]),
  );

  const postgres2 = postgresStore({ connectionString: PG_URL, schema: SCHEMA });
  const bus = redisBus({ url: REDIS_URL, prefix: REDIS_PREFIX });
  stores.push(
    await storeCase('Postgres + redisBus', accessKey, postgres2, bus, (_auth, sids) => [
      { name: 'floor: Redis EXISTS', op: (i) => redis.exists(`${REDIS_PREFIX}revoked:{${sids[i % sids.length]}}`) },
      { name: 'floor: SELECT by key', op: pgSelect(sids) },
    ]),
  );

  for (const s of stores) addRotation(s);
  addVerify(await stateless(accessKey), stores);

  const report = await suite.run();
  extend(report, stores);
}

/** Opens a Tessera over the store, seeds the sessions and answers the case. */
async function storeCase(
  name: string,
  accessKey: Key,
  store: SessionStore,
  bus: RevocationBus | undefined,
  floors: (auth: Tessera, sids: string[], cas: CasRows) => StoreCase['floors'],
): Promise<StoreCase> {
  const events = new Map<SessionEvent['type'], number>();
  const auth = createTessera({
    keys: accessKey,
    refreshKey: await generateRefreshKey(),
    accessTtl: 3600,
    sessions: { store, ...(bus === undefined ? {} : { bus }), onEvent: (e) => events.set(e.type, (events.get(e.type) ?? 0) + 1) },
  });
  cleanups.push(() => auth.close());
  const refresh: string[] = [];
  const access: string[] = [];
  const sids: string[] = [];
  const cas: CasRows = { sids: [], jtis: [] };
  // Seeded a few at a time (a pool of 10 connections at most on Postgres); the second half is the raw floor's.
  for (let i = 0; i < 2 * SESSIONS; i += 16) {
    const opened = await Promise.all(Array.from({ length: 16 }, (_, j) => auth.openSession({ sub: `user-${(i + j) % 100}` })));
    for (const o of opened) {
      if (refresh.length < SESSIONS) {
        refresh.push(o.refresh.token);
        access.push(o.access.token);
        sids.push(o.sid);
      } else {
        cas.sids.push(o.sid);
        cas.jtis.push(o.refresh.claims.jti);
      }
    }
  }
  return { name, auth, refresh, access, events, floors: floors(auth, sids, cas) };
}

/**
 * The store's compare-and-set as one raw statement (what sql-store.ts sends through Kysely, by hand): `?` placeholders
 * for SQLite, `$n` for Postgres. Parameters: jti, now, expiresAt, expiresAt, now, id, expected jti, now, now.
 */
function casSql(placeholder: '?' | '$', table: string): string {
  let n = 0;
  const p = (): string => (placeholder === '?' ? '?' : `$${++n}`);
  return (
    `update ${table}tessera_sessions set previous_jti = current_jti, current_jti = ${p()}, rotated_at = ${p()}, ` +
    `expires_at = case when ${p()} < absolute_expires_at then ${p()} else absolute_expires_at end, last_used_at = ${p()} ` +
    `where id = ${p()} and current_jti = ${p()} and revoked_at is null and absolute_expires_at > ${p()} and expires_at > ${p()} returning *`
  );
}

/** One raw compare-and-set on set-aside row `i`; throws when the row did not move (the floor must do the real work). */
async function casStep(cas: CasRows, i: number, run: (params: unknown[]) => unknown): Promise<void> {
  const k = i % cas.sids.length;
  const now = Date.now();
  const jti = randomBytes(16).toString('base64url');
  const expected = cas.jtis[k]!;
  cas.jtis[k] = jti;
  const row = await run([jti, now, now + 7 * 86_400_000, now + 7 * 86_400_000, now, cas.sids[k], expected, now, now]);
  if (row === undefined) throw new Error('The raw compare-and-set matched no row.');
}

function storeGet(auth: Tessera, sids: string[], i: number): Promise<unknown> {
  // The store itself, not Tessera: the memory floor is one Map lookup behind the store's async verb.
  return auth.config.sessions!.store.get(sids[i % sids.length]!);
}

/**
 * Operations per second with `CONCURRENCY` loops in flight for the round's time: each loop awaits its own operation,
 * as concurrent requests of a server do. Loop `w` only ever touches items w, w + CONCURRENCY, … (no two loops rotate
 * one session at once).
 */
async function rate(op: (worker: number, n: number) => Promise<unknown> | unknown): Promise<number> {
  let done = 0;
  const start = performance.now();
  const end = start + options.timeMs;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, worker) => {
      for (let n = 0; performance.now() < end; n++) {
        await op(worker, n);
        done++;
      }
    }),
  );
  return (done * 1000) / (performance.now() - start);
}

function addRotation(s: StoreCase): void {
  const group = suite.group(`rotation · ${s.name}`, s.floors[0]!.name);
  let cursor = 0;
  // One global cursor: the items in flight at once are CONCURRENCY consecutive ones, never the same row twice.
  for (const floor of s.floors) group.addMeasured(floor.name, () => rate(() => floor.op(cursor++)));
  const perWorker = Math.floor(SESSIONS / CONCURRENCY);
  const next = new Array<number>(CONCURRENCY).fill(0);
  group.addMeasured('rotation: auth.refresh()', async () => {
    const before = s.events.get('rotated') ?? 0;
    let ops = 0;
    const perSecond = await rate(async (worker) => {
      const slot = worker + CONCURRENCY * (next[worker]!++ % perWorker);
      const tokens = await s.auth.refresh(s.refresh[slot]!);
      s.refresh[slot] = tokens.refresh.token;
      ops++;
    });
    // Every call must have been a real compare-and-set: no grace replay, no refusal.
    const rotated = (s.events.get('rotated') ?? 0) - before;
    const other = [...s.events].filter(([type]) => type !== 'rotated' && type !== 'session_created');
    if (rotated !== ops || other.length > 0)
      throw new Error(`${s.name}: ${ops} refreshes but ${rotated} rotations; other events ${JSON.stringify(other)}`);
    return perSecond;
  });
  group.note(`${CONCURRENCY} operations in flight; ${SESSIONS} seeded sessions, each rotation presenting the session's current refresh token.`);
}

/** The bearer request a guard sees: the token in a new string each call, as from a request's headers. */
function bearer(token: string): AuthRequest {
  return { method: 'GET', headers: ['Host', '127.0.0.1:8000', 'Accept', 'application/json', 'Authorization', `Bearer ${token}`], protocol: 'http' };
}

interface Stateless {
  readonly off: Tessera;
  readonly on: Tessera;
  readonly tokens: string[];
}

/** The baseline: Tessera without sessions, the same access key, verified-token cache off and on. */
async function stateless(accessKey: Key): Promise<Stateless> {
  const off = createTessera({ keys: accessKey, refreshKey: await generateRefreshKey(), accessTtl: 3600, verifiedCacheSize: 0 });
  const on = createTessera({ keys: accessKey, refreshKey: await generateRefreshKey(), accessTtl: 3600 });
  const tokens = Array.from({ length: VERIFY_SESSIONS }, (_, n) => off.createAccessToken({ sub: `user-${n % 100}` }).token);
  return { off, on, tokens };
}

function addVerify(base: Stateless, stores: readonly StoreCase[]): void {
  const group = suite.group('verify (caches warm)', 'stateless verifyAccessToken · cache off');
  const isUser: BenchCheck = (result) => {
    const sub = (result as { sub?: unknown } | null)?.sub;
    if (typeof sub !== 'string' || !sub.startsWith('user-')) throw new Error(`unexpected result ${JSON.stringify(result)}`);
  };
  const { tokens } = base;
  // A cache keyed by the token string would find V8's cached hash on a string handed again: give it a new copy each call.
  const copies = tokens.map((t) => Buffer.from(t, 'latin1'));
  let i = 0;
  group.add('stateless verifyAccessToken · cache off', () => base.off.verifyAccessToken(tokens[i++ % tokens.length]!), isUser);
  group.add('stateless verifyAccessToken · cache on', () => base.on.verifyAccessToken(copies[i++ % copies.length]!.toString('latin1')), isUser);
  group.add('stateless authenticate() · cache on', () => base.on.authenticate(bearer(tokens[i++ % tokens.length]!)), isUser);
  for (const s of stores) {
    const access = s.access.slice(0, VERIFY_SESSIONS);
    let j = 0;
    const name = `session-checked authenticate() · ${s.name}`;
    group.add(name, () => s.auth.authenticate(bearer(access[j++ % access.length]!)), isUser);
    suite.target({ group: group.name, case: name, atLeast: VERIFY_TARGET, label: `${s.name} ≥ ${VERIFY_TARGET}× stateless` });
  }
  group.note(
    `HS256 access tokens; ${VERIFY_SESSIONS} sessions cycled. The liveness cache trusts a "live" answer for 1 s without a bus and 60 s with redisBus connected: the store is asked about once per session per second (or minute).`,
  );
}

/** Rotation rate targets (absolute rates: the harness's targets are ratios), printed and added to the report. */
function extend(report: SuiteReport, stores: readonly StoreCase[]): void {
  const results = rateTargets(
    'Rate targets (median rotations/s over rounds):',
    stores
      .filter((s) => ROTATION_TARGETS[s.name] !== undefined)
      .map((s) => ({
        group: `rotation · ${s.name}`,
        case: 'rotation: auth.refresh()',
        atLeastPerSecond: ROTATION_TARGETS[s.name]!,
        median: report.groups.find((g) => g.name === `rotation · ${s.name}`)?.cases.find((c) => c.name === 'rotation: auth.refresh()')?.median,
      })),
    30,
    (t) => t.group,
  );
  // The session check's own price: each session-checked case against the stateless authenticate() of the same request
  // path and the same cache (CPU time, paired by round), beside the harness's ratios to a bare verify.
  const verify = report.groups.find((g) => g.name === 'verify (caches warm)');
  const plain = verify?.cases.find((c) => c.name === 'stateless authenticate() · cache on');
  // A --filter that leaves out the stateless case leaves nothing to compare with.
  const sessionCost = (plain === undefined ? [] : (verify?.cases ?? []))
    .filter((c) => c.name.startsWith('session-checked'))
    .map((c) => {
      const ratios = c.cpuSamples.map((v, i) => v / plain!.cpuSamples[i]!).sort((a, b) => a - b);
      return { case: c.name, cpuRatioToStatelessAuthenticate: Number(ratios[Math.floor(ratios.length / 2)]!.toPrecision(3)) };
    });
  if (sessionCost.length > 0) {
    console.log('\nThe session check alone (session-checked ÷ stateless authenticate() with the cache on, CPU time, median of rounds):');
    for (const c of sessionCost) console.log(`  ${c.case.padEnd(54)}  ${c.cpuRatioToStatelessAuthenticate.toFixed(2)}×`);
  }
  addToReport('sessions', { rateTargets: results, sessionCheckCost: sessionCost, concurrency: CONCURRENCY });
}

await runThenClean(main, cleanups);
