// bench/degraded: /auth/me latency of the real auth server (`tessera serve` from the build) on Postgres with Redis cut
// off through a TCP proxy (degraded: session checks read SQL, docs/architecture.md "Scaling out"), beside the same
// server in SQL-only mode (no TESSERA_REDIS_URL), in alternating rounds. Prints each mode's median p50 and p99 over the
// rounds and the ratio of the p99s; the target is degraded p99 within 2× the SQL-only p99. A report, never a test.
import { randomBytes } from 'node:crypto';
import { deleteKeysUnder, startTcpProxy, type TcpProxy } from '@tessera/test-kit';
import pg from 'pg';
import { createClient } from 'redis';
import { cannon, httpJson, median, type LoadResult } from '../support/load.js';
import { startTessera } from '../support/processes.js';
import { round, runThenClean } from '../support/report.js';

const PG_URL = process.env.TESSERA_BENCH_DATABASE_URL ?? process.env.TESSERA_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = new URL(process.env.TESSERA_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/12');
const RUN = randomBytes(4).toString('hex');
const SCHEMA = `bench_degraded_${RUN}`;
const REDIS_PREFIX = `${SCHEMA}:`;
const PASSWORD = 'correct horse battery staple';
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const TIME_MS = Number(process.env.BENCH_TIME ?? 2000);
/** Sessions the load spreads over, so that the one-second trust of a cached answer does not hide the store reads. */
const SESSIONS = 50;
const TARGET = 2;

const cleanups: (() => Promise<void> | void)[] = [];

interface Mode {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
  readonly tokens: readonly string[];
  readonly runs: LoadResult[];
}

async function main(): Promise<void> {
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`create schema "${SCHEMA}"`);
  cleanups.push(async () => {
    await admin.query(`drop schema if exists "${SCHEMA}" cascade`);
    await admin.end();
  });
  cleanups.push(async () => {
    const redis = createClient({ url: REDIS_URL.toString() });
    redis.on('error', () => undefined);
    await redis.connect();
    await deleteKeysUnder(redis, REDIS_PREFIX);
    await redis.close();
  });
  const proxy: TcpProxy = await startTcpProxy(Number(REDIS_URL.port || 6379), REDIS_URL.hostname);
  cleanups.push(() => proxy.close());

  const pgUrl = new URL(PG_URL);
  pgUrl.searchParams.set('options', `-c search_path=${SCHEMA}`);
  const database = { TESSERA_DATABASE_URL: pgUrl.toString() };
  const proxied = new URL(REDIS_URL);
  proxied.host = `127.0.0.1:${proxy.port}`;
  const sqlOnly = await deploy('SQL only (no Redis)', 'sqlonly', database);
  const degraded = await deploy('Redis cut (degraded)', 'degraded', {
    ...database,
    TESSERA_REDIS_URL: proxied.toString(),
    TESSERA_REDIS_PREFIX: REDIS_PREFIX,
  });

  proxy.cut();
  await until('the server to see Redis gone', async () => {
    const { body } = await httpJson(`${degraded.url}/readyz`);
    return ((body as { degraded?: string[] }).degraded ?? []).includes('redis');
  });

  const modes = [sqlOnly, degraded];
  for (let r = 0; r < ROUNDS; r++) {
    for (const mode of r % 2 === 0 ? modes : [...modes].reverse()) {
      let n = 0;
      mode.runs.push(
        await cannon({
          url: mode.url,
          connections: CONNECTIONS,
          durationMs: TIME_MS,
          serverPid: mode.pid,
          requests: [
            {
              method: 'GET',
              path: '/auth/me',
              setupRequest: (request) => ({ ...request, headers: { authorization: `Bearer ${mode.tokens[n++ % SESSIONS]}` } }),
            },
          ],
        }),
      );
    }
  }

  const figures = modes.map((mode) => ({
    mode: mode.name,
    'req/s': round(median(mode.runs.map((run) => run.rps))),
    'p50 ms': round(median(mode.runs.map((run) => run.p50))),
    'p99 ms': round(median(mode.runs.map((run) => run.p99))),
  }));
  console.table(figures);
  const ratio = (figures[1]?.['p99 ms'] ?? NaN) / (figures[0]?.['p99 ms'] ?? NaN);
  const p50ratio = (figures[1]?.['p50 ms'] ?? NaN) / (figures[0]?.['p50 ms'] ?? NaN);
  console.log(
    `/auth/me, Redis cut vs SQL only: p50 ${round(p50ratio)}×, p99 ${round(ratio)}× (target ≤ ${TARGET}×: ${ratio <= TARGET ? 'met' : 'MISSED'}); ` +
      `${ROUNDS} alternating rounds of ${TIME_MS} ms, ${CONNECTIONS} connections, ${SESSIONS} sessions.`,
  );
}

/** Starts the server, registers a user and opens `SESSIONS` sessions (limit lifted) before any outage. */
async function deploy(name: string, user: string, env: Record<string, string>): Promise<Mode> {
  const server = await startTessera({
    TESSERA_HOST: '127.0.0.1',
    TESSERA_LOG_LEVEL: 'warn',
    TESSERA_MAX_SESSIONS: '0',
    TESSERA_LOGIN_LIMIT: '1000000/1m',
    TESSERA_LOGIN_IP_LIMIT: '1000000/1m',
    ...env,
  });
  cleanups.push(async () => {
    await server.stop(5000);
  });
  const { status } = await httpJson(`${server.url}/auth/register`, { body: { username: user, password: PASSWORD } });
  if (status !== 201) throw new Error(`${name}: registering answered ${status}`);
  const tokens: string[] = [];
  for (let i = 0; i < SESSIONS; i++) {
    const { status: s, body } = await httpJson(`${server.url}/auth/login`, { body: { username: user, password: PASSWORD } });
    const token = (body as { access_token?: string }).access_token;
    if (s !== 200 || token === undefined) throw new Error(`${name}: login answered ${s}`);
    tokens.push(token);
  }
  return { name, url: server.url, pid: server.child.pid!, tokens, runs: [] };
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}.`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

await runThenClean(main, cleanups);
