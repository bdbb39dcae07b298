// bench/revocations: how long after `POST /auth/logout` a resource server refuses that session's access token
// (docs/resource-server.md "What an operator must know"). Two `tessera serve` instances (the build) on one
// Postgres and one Redis; a resource server in its own process verifies with `@tessera/auth/remote`, its JWKS
// from instance A and its revocation feed from instance B; each run logs out on A and polls the resource
// server every 2 ms until it answers 401. Prints p50, p99 and max over the runs; the target is p99 < 1 s.
// A report, never a test.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { forkServer, startTessera } from '../support/processes.js';
import { round, runThenClean } from '../support/report.js';

const PG_URL = process.env.TESSERA_BENCH_DATABASE_URL ?? process.env.TESSERA_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.TESSERA_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/12';
const RUN = randomBytes(4).toString('hex');
const SCHEMA = `bench_revocations_${RUN}`;
const PASSWORD = 'correct horse battery staple';
const RUNS = Number(process.env.BENCH_RUNS ?? 200);
const TARGET_P99_MS = 1000;
/** BENCH_NO_REDIS=1: the feed learns of revocations by polling SQL alone (every 250 ms). */
const WITH_REDIS = process.env.BENCH_NO_REDIS !== '1';
const TOKEN = randomBytes(32).toString('base64url');

const cleanups: (() => Promise<void> | void)[] = [];

async function json(url: string, init: RequestInit = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { ...init, headers: { 'content-type': 'application/json', ...init.headers } });
  const text = await response.text();
  return { status: response.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function main(): Promise<void> {
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`create schema "${SCHEMA}"`);
  cleanups.push(async () => {
    await admin.query(`drop schema if exists "${SCHEMA}" cascade`);
    await admin.end();
  });
  const database = new URL(PG_URL);
  database.searchParams.set('options', `-c search_path=${SCHEMA}`);
  const env = {
    TESSERA_DATABASE_URL: database.toString(),
    ...(WITH_REDIS ? { TESSERA_REDIS_URL: REDIS_URL, TESSERA_REDIS_PREFIX: `${SCHEMA}:` } : {}),
    TESSERA_REVOCATIONS_TOKEN: TOKEN,
    TESSERA_LOGIN_LIMIT: '100000/15m',
    TESSERA_LOGIN_IP_LIMIT: '100000/15m',
    TESSERA_PURGE_INTERVAL: '0',
  };
  const a = await startTessera(env);
  cleanups.push(() => void a.stop());
  const b = await startTessera(env);
  cleanups.push(() => void b.stop());
  const resource = await forkServer<Record<string, never>>(new URL('./resource-server.ts', import.meta.url), [a.url, b.url, TOKEN]);
  cleanups.push(() => resource.stop());

  const username = `bench${RUN}`;
  if ((await json(`${a.url}/auth/register`, { method: 'POST', body: JSON.stringify({ username, password: PASSWORD }) })).status !== 201)
    throw new Error('register failed');

  const latencies: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const login = await json(`${a.url}/auth/login`, { method: 'POST', body: JSON.stringify({ username, password: PASSWORD }) });
    const access = login.body.access_token as string;
    const refresh = login.body.refresh_token as string;
    const me = { headers: { authorization: `Bearer ${access}` } };
    // Accepted first (and now in the verifier's verified-token cache): the refusal must come from the feed.
    if ((await fetch(`${resource.url}/me`, me)).status !== 200) throw new Error('the resource server refused a live token');
    const start = performance.now();
    const logout = await json(`${a.url}/auth/logout`, { method: 'POST', body: JSON.stringify({ refresh_token: refresh }) });
    if (logout.status !== 204) throw new Error(`logout answered ${logout.status}`);
    for (;;) {
      const status = (await fetch(`${resource.url}/me`, me)).status;
      if (status === 401) break;
      if (status !== 200) throw new Error(`the resource server answered ${status}`);
      if (performance.now() - start > 10_000) throw new Error('the logout never reached the resource server');
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    latencies.push(performance.now() - start);
  }
  latencies.sort((x, y) => x - y);
  const p50 = percentile(latencies, 50);
  const p99 = percentile(latencies, 99);
  console.log(
    `\nlogout on instance A → refusal at a resource server following instance B (${WITH_REDIS ? 'Postgres + Redis' : 'Postgres only'}), ${RUNS} runs`,
  );
  console.log(`  p50 ${round(p50)} ms   p99 ${round(p99)} ms   max ${round(latencies.at(-1)!)} ms   min ${round(latencies[0]!)} ms`);
  console.log(`  ${p99 < TARGET_P99_MS ? 'PASS' : 'MISS'}  p99 < ${TARGET_P99_MS} ms`);
}

await runThenClean(main, cleanups);
