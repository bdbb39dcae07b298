// bench/scale: how Tessera grows with the number of stored sessions. For each N (10k, 100k, 1M; 10M on Postgres with
// --pg-10m) and each database (SQLite; Postgres + Redis), it builds the database by bulk insert (build-sqlite.ts,
// build-postgres.ts: the real schema from the CLI, about 5 sessions a user, half of them ended), then measures
// (store-ops.ts: each store operation's latency and the purge, in this process; server-run.ts: a `tessera serve`
// child, idle and during its timer purge), and prints one growth table, written to bench/results/scale.json.
//
//   npm run bench:scale                       10k, 100k, 1M on SQLite and on Postgres + Redis
//   node --import tsx bench/scale/index.ts --quick            a smoke run: 2k and 20k
//   node --import tsx bench/scale/index.ts --pg-10m           adds 10M on Postgres
//   options: --sizes 10000,100000  --only sqlite|postgres  --samples 1000
import { postgresStore } from '@tessera/auth/stores/postgres';
import { sqliteStore } from '@tessera/auth/stores/sqlite';
import { deleteKeysUnder } from '@tessera/test-kit';
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createClient } from 'redis';
import { runThenClean } from '../support/report.js';
import { buildPostgres, postgresBytes, reinsertEndedPg, schemaUrl } from './build-postgres.js';
import { buildSqlite, reinsertEnded, sqliteBytes } from './build-sqlite.js';
import { idOf, kindOf, population, sampleIndices, type Population } from './population.js';
import { measureServer, type ServerFigures } from './server-run.js';
import type { ScaleResult } from './result.js';
import { measureStoreOps, timedPurge } from './store-ops.js';
import { printGrowthTable } from './table.js';

const PG_URL = process.env.TESSERA_BENCH_DATABASE_URL ?? process.env.TESSERA_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.TESSERA_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/13';
const RUN = randomBytes(4).toString('hex');
const REDIS_PREFIX = `bench_scale_${RUN}:`;

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    'pg-10m': { type: 'boolean' },
    sizes: { type: 'string' },
    only: { type: 'string' },
    samples: { type: 'string' },
  },
});
const quick = values.quick === true || (process.env.BENCH_QUICK ?? '0') !== '0';
const sizes = values.sizes?.split(',').map(Number) ?? (quick ? [2_000, 20_000] : [10_000, 100_000, 1_000_000]);
const samples = Number(values.samples ?? (quick ? 100 : 1000));
const backends = values.only === undefined ? ['sqlite', 'postgres'] : [values.only];
if (sizes.some((n) => !Number.isSafeInteger(n) || n < 1000) || !(samples > 0) || backends.some((b) => b !== 'sqlite' && b !== 'postgres'))
  throw new Error('bench/scale: --sizes takes numbers ≥ 1000, --samples a positive number, --only sqlite or postgres.');

const results: ScaleResult[] = [];
const cleanups: (() => Promise<void> | void)[] = [];

async function main(): Promise<void> {
  const started = performance.now();
  const loadAtStart = loadavg();
  console.log(
    `bench/scale: sizes ${sizes.join(', ')} on ${backends.join(' and ')}${values['pg-10m'] === true ? ' (+10M on Postgres)' : ''}, ${samples} samples an operation; ` +
      `Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, load ${loadAtStart.map((x) => x.toFixed(2)).join(' ')}`,
  );
  if (backends.includes('sqlite')) for (const n of sizes) await sqliteRun(population(n, Date.now()));
  if (backends.includes('postgres')) {
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    cleanups.push(() => admin.end());
    cleanups.push(async () => {
      const redis = createClient({ url: REDIS_URL });
      redis.on('error', () => undefined);
      await redis.connect();
      await deleteKeysUnder(redis, REDIS_PREFIX);
      await redis.close();
    });
    const pgSizes = values['pg-10m'] === true ? [...sizes, 10_000_000] : sizes;
    for (const n of pgSizes) await postgresRun(admin, population(n, Date.now()));
  }
  const seconds = (performance.now() - started) / 1000;
  printGrowthTable(results);
  const loadAtEnd = loadavg();
  console.log(`\nbench/scale took ${Math.round(seconds)} s; load average at start ${fmtLoad(loadAtStart)}, at end ${fmtLoad(loadAtEnd)}.`);
  const dir = fileURLToPath(new URL('../results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'scale.json');
  writeFileSync(
    file,
    `${JSON.stringify({ name: 'scale', startedAt: new Date(Date.now() - seconds * 1000).toISOString(), durationSeconds: Math.round(seconds), loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadAtEnd, node: process.version, options: { sizes, samples, backends, pg10m: values['pg-10m'] === true, quick }, results }, null, 2)}\n`,
  );
  console.log(`Report: ${file}`);
}

const fmtLoad = (load: readonly number[]): string => load.map((x) => x.toFixed(2)).join(' ');

/** The sampled ended sessions: once none of them is stored, the purge has run to its end. */
const endedSample = (p: Population): string[] => sampleIndices(p, 256, (i) => kindOf(i) !== 'live', 9).map((i) => idOf(`s${i}`));

async function sqliteRun(p: Population): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-scale-'));
  const removeDir = (): void => rmSync(dir, { recursive: true, force: true });
  cleanups.push(removeDir);
  const file = join(dir, 'tessera.db');
  step(`SQLite ${p.sessions}: building`);
  const buildSeconds = await buildSqlite(file, p);
  const bytesPerSession = sqliteBytes(file) / p.sessions;

  step(`SQLite ${p.sessions}: store operations and purge (built in ${buildSeconds.toFixed(1)} s)`);
  const store = sqliteStore({ filename: file });
  const operations = await measureStoreOps(store, p, samples);
  const storePurge = await timedPurge(store).catch(failure);
  const storePurgeEmpty = await timedPurge(store).catch(failure);
  await store.close();

  step(`SQLite ${p.sessions}: the server, idle and during its purge`);
  reinsertEnded(file, p);
  const sample = endedSample(p);
  const reader = new Database(file, { timeout: 5000 });
  const left = reader.prepare(`select count(*) as n from tessera_sessions where id in (${sample.map(() => '?').join(', ')})`);
  let server: ServerFigures;
  try {
    server = await measureServer({
      env: { TESSERA_DATABASE_URL: `sqlite:${file}` },
      population: p,
      endedLeft: async () => (left.get(...sample) as { n: number }).n,
      quick,
    });
  } finally {
    reader.close();
  }
  results.push({
    database: 'SQLite',
    sessions: p.sessions,
    users: p.users,
    buildSeconds,
    bytesPerSession,
    operations,
    storePurge,
    storePurgeEmpty,
    server,
  });
  removeDir();
}

async function postgresRun(admin: pg.Client, p: Population): Promise<void> {
  const schema = `bench_scale_${RUN}_${p.sessions}`;
  const dropSchema = async (): Promise<void> => {
    await admin.query(`drop schema if exists "${schema}" cascade`);
  };
  cleanups.push(dropSchema);
  step(`Postgres ${p.sessions}: building`);
  const buildSeconds = await buildPostgres(admin, PG_URL, schema, p);
  const bytesPerSession = (await postgresBytes(admin, schema)) / p.sessions;

  step(`Postgres ${p.sessions}: store operations and purge (built in ${buildSeconds.toFixed(1)} s)`);
  const store = postgresStore({ connectionString: PG_URL, schema });
  const operations = await measureStoreOps(store, p, samples);
  const storePurge = await timedPurge(store).catch(failure);
  const storePurgeEmpty = await timedPurge(store).catch(failure);
  await store.close();

  step(`Postgres ${p.sessions}: the server (+ Redis), idle and during its purge`);
  await reinsertEndedPg(admin, schema, p);
  const sample = endedSample(p);
  const server = await measureServer({
    env: { TESSERA_DATABASE_URL: schemaUrl(PG_URL, schema), TESSERA_REDIS_URL: REDIS_URL, TESSERA_REDIS_PREFIX: REDIS_PREFIX },
    population: p,
    endedLeft: async () =>
      Number((await admin.query<{ n: string }>(`select count(*) as n from "${schema}".tessera_sessions where id = any($1)`, [sample])).rows[0]!.n),
    quick,
  });
  results.push({
    database: 'Postgres + Redis',
    sessions: p.sessions,
    users: p.users,
    buildSeconds,
    bytesPerSession,
    operations,
    storePurge,
    storePurgeEmpty,
    server,
  });
  await dropSchema();
}

function failure(err: unknown): { error: string } {
  return { error: err instanceof Error ? err.message : String(err) };
}

function step(text: string): void {
  console.log(`  ${new Date().toISOString().slice(11, 19)} ${text}`);
}

await runThenClean(main, cleanups);
