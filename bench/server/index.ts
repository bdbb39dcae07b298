// bench/server: the real auth server (`node packages/server/dist/cli.js serve`, a child process configured by TESSERA_*
// variables) on SQLite and on Postgres + Redis, beside a bare Fastify route, in one run: /auth/me, /auth/refresh (a new
// refresh token on every request: seeded sessions, each answer's token fed to the next request) and /auth/login
// throughput and p99; then /auth/me's p99 under a paced probe, idle and during a login storm. Targets: /auth/me ≥ 0.5×
// bare Fastify; refresh ≥ 0.35× (SQLite) and ≥ 0.2× (Postgres + Redis) a do-nothing POST that the same load client
// drives the same way; /auth/me p99 during a login storm ≤ 2× its idle p99.
import type { Request as CannonRequest } from 'autocannon';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deleteKeysUnder } from '@tessera/test-kit';
import pg from 'pg';
import { createClient } from 'redis';
import { BenchSuite, type SuiteReport } from '../harness.js';
import { cannon, httpJson, httpOptions, median, percentile, probeLatency, type LoadResult } from '../support/load.js';
import { forkServer, startTessera, type Child } from '../support/processes.js';
import { addToReport, round, runThenClean } from '../support/report.js';

const PG_URL = process.env.TESSERA_BENCH_DATABASE_URL ?? process.env.TESSERA_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** A logical Redis database of this benchmark's own; keys and channels also carry the run's prefix (channels ignore the db). */
const REDIS_URL = process.env.TESSERA_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/12';
const RUN = randomBytes(4).toString('hex');
const SCHEMA = `bench_server_${RUN}`;
const REDIS_PREFIX = `${SCHEMA}:`;
const PASSWORD = 'correct horse battery staple';
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
/** The length of a refresh token (HS256, the server's claims): the do-nothing twin's tokens are as long (server/bare.ts answers them back). */
const REFRESH_TOKEN_LENGTH = 405;
/** Refresh sessions: twice the connections, so a fresh token is always waiting for the next request. */
const CHAINS = 2 * CONNECTIONS;
/** Users whose sessions rotate (each under the server's default limit of 10 live sessions per user). */
const CHAIN_USERS = Math.ceil(CHAINS / 5);
/** Users the login storm signs in, round robin (each login past 10 sessions revokes that user's oldest, as in production). */
const STORM_USERS = 8;
const STORM_CONNECTIONS = 8;
/** The paced /auth/me probe: requests per second, over twice the round's time. */
const PROBE_RATE = 250;
/** The /auth/me baseline that receives and answers the same bytes (bare.ts `/bare-me`). */
const SAME_BYTES = 'bare Fastify · same bytes';
const TARGETS = {
  me: { SQLite: 0.7, 'Postgres + Redis': 0.6 } as Record<string, number>,
  refresh: { SQLite: 0.35, 'Postgres + Redis': 0.2 } as Record<string, number>,
  storm: 2,
};

// Ten rounds (the harness treats fewer as a smoke run) of 800 ms (the latency probe runs twice as long): about three minutes.
const options = httpOptions({ rounds: 10, timeMs: 800, quickRounds: 2, quickTimeMs: 400 });
const suite = new BenchSuite('server', options);

const DEPLOYMENTS = ['SQLite', 'Postgres + Redis'] as const;

interface Deployment {
  readonly name: (typeof DEPLOYMENTS)[number];
  readonly url: string;
  readonly pid: number;
  readonly meToken: string;
  readonly chain: TokenChain;
}

/** Fresh refresh tokens waiting for a request, and those sent whose answer has not been read yet. */
interface TokenChain {
  readonly ready: string[];
  readonly inflight: Set<string>;
}

const runs = new Map<string, LoadResult[]>();
const cleanups: (() => Promise<void> | void)[] = [];

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-server-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`create schema "${SCHEMA}"`);
  cleanups.push(async () => {
    await admin.query(`drop schema if exists "${SCHEMA}" cascade`);
    await admin.end();
  });
  cleanups.push(async () => {
    const redis = createClient({ url: REDIS_URL });
    redis.on('error', () => undefined);
    await redis.connect();
    // The server's keys (revocations, throttle counters) in this benchmark's own database.
    await deleteKeysUnder(redis, REDIS_PREFIX);
    await redis.close();
  });

  const bare = await forkServer<{ port: number }>(new URL('./bare.ts', import.meta.url), []);
  cleanups.push(() => bare.stop());
  const pgUrl = new URL(PG_URL);
  pgUrl.searchParams.set('options', `-c search_path=${SCHEMA}`);
  const deployments = [
    await deploy('SQLite', { TESSERA_DATABASE_URL: `sqlite:${join(dir, 'tessera.db')}` }),
    await deploy('Postgres + Redis', { TESSERA_DATABASE_URL: pgUrl.toString(), TESSERA_REDIS_URL: REDIS_URL, TESSERA_REDIS_PREFIX: REDIS_PREFIX }),
  ];

  for (const d of deployments) addThroughput(d, bare);
  for (const d of deployments) addRefresh(d, bare);
  for (const d of deployments) addStorm(d);

  const report = await suite.run();
  extend(report);
}

/** Starts the server, registers the users and seeds the sessions. */
async function deploy(name: Deployment['name'], env: Record<string, string>): Promise<Deployment> {
  const server = await startTessera({
    TESSERA_HOST: '127.0.0.1',
    // Request logs off: at 'info' Fastify writes two lines per request, which would be measured instead of auth.
    TESSERA_LOG_LEVEL: 'warn',
    // Under the throttle for the whole run: a storm of 429s would be measured otherwise.
    TESSERA_LOGIN_LIMIT: '1000000/1m',
    TESSERA_LOGIN_IP_LIMIT: '1000000/1m',
    ...env,
  });
  cleanups.push(async () => {
    await server.stop(5000);
  });
  const { url } = server;

  const register = async (username: string): Promise<void> => {
    const { status, body } = await httpJson(`${url}/auth/register`, { body: { username, password: PASSWORD } });
    if (status !== 201) throw new Error(`${name}: registering ${username} answered ${status} ${JSON.stringify(body)}`);
  };
  const names = [
    'meuser',
    ...Array.from({ length: CHAIN_USERS }, (_, i) => `chain${i}`),
    ...Array.from({ length: STORM_USERS }, (_, i) => `storm${i}`),
  ];
  await Promise.all(names.map(register));
  const me = await login(url, 'meuser');
  const chain: TokenChain = { ready: [], inflight: new Set() };
  for (let i = 0; i < CHAINS; i++) chain.ready.push((await login(url, `chain${i % CHAIN_USERS}`)).refresh_token);
  return { name, url, pid: server.child.pid!, meToken: me.access_token, chain };
}

async function login(url: string, username: string): Promise<{ access_token: string; refresh_token: string }> {
  const { status, body } = await httpJson(`${url}/auth/login`, { body: { username, password: PASSWORD } });
  const tokens = body as { access_token?: string; refresh_token?: string };
  if (status !== 200 || tokens.access_token === undefined || tokens.refresh_token === undefined)
    throw new Error(`login of ${username} answered ${status} ${JSON.stringify(body)}`);
  return { access_token: tokens.access_token, refresh_token: tokens.refresh_token };
}

function record(key: string, result: LoadResult): number {
  if (!runs.has(key)) runs.set(key, []);
  runs.get(key)!.push(result);
  return result.rps;
}

/** The login requests of a load run: the storm users in turn. */
function loginRequests(): CannonRequest[] {
  let n = 0;
  return [
    {
      method: 'POST',
      path: '/auth/login',
      headers: { 'content-type': 'application/json' },
      setupRequest: (request) => ({ ...request, body: JSON.stringify({ username: `storm${n++ % STORM_USERS}`, password: PASSWORD }) }),
    },
  ];
}

function addThroughput(d: Deployment, bare: Child<{ port: number }>): void {
  const group = suite.group(`server · ${d.name}`, 'bare Fastify');
  const key = (c: string): string => `${group.name} › ${c}`;
  group.addMeasured('bare Fastify', async () =>
    record(key('bare Fastify'), await cannon({ url: `${bare.url}/bare`, connections: CONNECTIONS, durationMs: options.timeMs, serverPid: bare.pid })),
  );
  // The same request and answer bytes as /auth/me (its Authorization header, its headers and body size): what the target is judged against.
  group.addMeasured(SAME_BYTES, async () =>
    record(
      key(SAME_BYTES),
      await cannon({
        url: `${bare.url}/bare-me`,
        connections: CONNECTIONS,
        durationMs: options.timeMs,
        serverPid: bare.pid,
        headers: { authorization: `Bearer ${d.meToken}` },
      }),
    ),
  );
  group.addMeasured('/auth/me', async () =>
    record(
      key('/auth/me'),
      await cannon({
        url: `${d.url}/auth/me`,
        connections: CONNECTIONS,
        durationMs: options.timeMs,
        serverPid: d.pid,
        headers: { authorization: `Bearer ${d.meToken}` },
      }),
    ),
  );
  group.addMeasured('/auth/login', async () =>
    record(
      key('/auth/login'),
      await cannon({ url: d.url, connections: CONNECTIONS, durationMs: options.timeMs, serverPid: d.pid, requests: loginRequests() }),
    ),
  );
  group.note(
    `${CONNECTIONS} connections, ${options.timeMs} ms per run. /auth/me: one access token (EdDSA, the server's default); /auth/login: argon2id, ${STORM_USERS} users in turn.`,
  );
  suite.target({ group: group.name, case: '/auth/me', atLeast: TARGETS.me[d.name]!, label: `/auth/me ≥ ${TARGETS.me[d.name]}× bare Fastify` });
}

/**
 * Refresh against its do-nothing twin: a bare Fastify POST that parses the same JSON body and answers a body of the
 * refresh answer's shape and size, driven by the same load client (a token taken per request, the answer's token put
 * back in line), so the ratio is what rotation costs on top of HTTP and JSON.
 */
function addRefresh(d: Deployment, bare: Child<{ port: number }>): void {
  const group = suite.group(`refresh · ${d.name}`, 'do-nothing POST');
  const key = (c: string): string => `${group.name} › ${c}`;
  // Distinct tokens of a refresh token's length (the in-flight set tells them apart).
  const twin: TokenChain = {
    ready: Array.from({ length: CHAINS }, (_, i) => `${i}.`.padEnd(REFRESH_TOKEN_LENGTH, 'r')),
    inflight: new Set(),
  };
  group.addMeasured('do-nothing POST', async () =>
    record(key('do-nothing POST'), await refreshRun({ url: bare.url, path: '/bare/refresh', pid: bare.pid, chain: twin })),
  );
  group.addMeasured('/auth/refresh', async () =>
    record(key('/auth/refresh'), await refreshRun({ url: d.url, path: '/auth/refresh', pid: d.pid, chain: d.chain })),
  );
  group.note(
    `${CONNECTIONS} connections, ${options.timeMs} ms per run; ${CHAINS} sessions, each request presenting a session's current refresh token (a real rotation, never the reuse grace path).`,
  );
  const atLeast = TARGETS.refresh[d.name]!;
  suite.target({ group: group.name, case: '/auth/refresh', atLeast, label: `/auth/refresh ≥ ${atLeast}× do-nothing POST` });
}

/**
 * One refresh load run: each request takes a waiting token and each answer's new token goes back in line, so every
 * request is a real rotation. Requests cut off when the run stops are replayed once at once (inside the reuse grace
 * window: the server answers with the session's current token), so every chain goes on in the next round.
 */
async function refreshRun(target: { url: string; path: string; pid: number; chain: TokenChain }): Promise<LoadResult> {
  const { url, path, pid, chain } = target;
  const requests: CannonRequest[] = [
    {
      method: 'POST',
      path,
      headers: { 'content-type': 'application/json' },
      setupRequest: (request, context) => {
        const token = chain.ready.shift();
        if (token === undefined) throw new Error('No refresh token waiting: more connections than sessions.');
        chain.inflight.add(token);
        (context as { token?: string }).token = token;
        return { ...request, body: JSON.stringify({ refresh_token: token }) };
      },
      onResponse: (status, body, context) => {
        const sent = (context as { token?: string }).token;
        if (sent !== undefined) chain.inflight.delete(sent);
        // Anything but 200 fails the run (cannon counts statuses); the chain of that session ends here.
        if (status === 200) chain.ready.push((JSON.parse(body) as { refresh_token: string }).refresh_token);
      },
    },
  ];
  const result = await cannon({ url, connections: CONNECTIONS, durationMs: options.timeMs, serverPid: pid, requests }).catch((err: unknown) => err);
  for (const token of [...chain.inflight]) {
    chain.inflight.delete(token);
    const { status, body } = await httpJson(`${url}${path}`, { body: { refresh_token: token } });
    if (status !== 200) throw new Error(`Replaying a cut-off refresh answered ${status} ${JSON.stringify(body)}`);
    chain.ready.push((body as { refresh_token: string }).refresh_token);
  }
  if (result instanceof Error) throw result;
  return result as LoadResult;
}

/** p99 of the paced /auth/me probe, as a rate (1000 / p99 ms) so that the harness's ratio is idle p99 / storm p99. */
function addStorm(d: Deployment): void {
  const group = suite.group(`/auth/me p99 · ${d.name}`, 'idle');
  const probe = (): Promise<number[]> =>
    probeLatency({ url: `${d.url}/auth/me`, headers: { authorization: `Bearer ${d.meToken}` }, rate: PROBE_RATE, durationMs: 2 * options.timeMs });
  group.addMeasured('idle', async () => {
    const latencies = await probe();
    stormRecord(group.name, 'idle', latencies, undefined);
    return 1000 / percentile(latencies, 0.99);
  });
  group.addMeasured('login storm', async () => {
    const storm = cannon({
      url: d.url,
      connections: STORM_CONNECTIONS,
      durationMs: 2 * options.timeMs + 300,
      serverPid: d.pid,
      requests: loginRequests(),
    });
    // The storm first fills the hash queue; then the probe.
    await new Promise((resolve) => setTimeout(resolve, 150));
    const latencies = await probe();
    const logins = await storm;
    stormRecord(group.name, 'login storm', latencies, logins);
    return 1000 / percentile(latencies, 0.99);
  });
  group.note(
    `Figures are 1 / p99 (the µs/op column is the p99 itself): a paced probe of ${PROBE_RATE} GET /auth/me per second for ${2 * options.timeMs} ms, each timed from when it was due; the storm is ${STORM_CONNECTIONS} connections posting /auth/login (argon2id) as fast as answered.`,
  );
  suite.target({ group: group.name, case: 'login storm', atLeast: 1 / TARGETS.storm, label: `p99 during storm ≤ ${TARGETS.storm}× idle` });
}

const storms = new Map<string, { p50: number; p99: number; loginsPerSecond: number | undefined }[]>();

function stormRecord(group: string, name: string, latencies: number[], logins: LoadResult | undefined): void {
  const key = `${group} › ${name}`;
  if (!storms.has(key)) storms.set(key, []);
  storms.get(key)!.push({ p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), loginsPerSecond: logins?.rps });
}

/** Refresh against its twin, p99 and server CPU per request, printed and added to the report. */
function extend(report: SuiteReport): void {
  const rounds = options.rounds;
  const rows = [...runs].map(([key, all]) => {
    const mine = all.slice(-rounds);
    // Requests per server CPU-second against the group's bare baseline, paired by round (it runs in every round).
    const group = key.slice(0, key.indexOf(' › '));
    const base = (runs.get(`${group} › bare Fastify`) ?? runs.get(`${group} › do-nothing POST`))!.slice(-rounds);
    const perRequest = (r: LoadResult): number => (r.serverCpuSeconds ?? Number.NaN) / r.requests;
    return {
      case: key,
      cpuRatioToBare: round(median(mine.map((r, i) => perRequest(base[i]!) / perRequest(r)))),
      rps: round(median(mine.map((r) => r.rps))),
      p50Ms: round(median(mine.map((r) => r.p50))),
      p99Ms: round(median(mine.map((r) => r.p99))),
      serverCpuMicrosPerRequest: round(median(mine.map((r) => ((r.serverCpuSeconds ?? Number.NaN) / r.requests) * 1e6))),
      serverBusy: round(median(mine.map((r) => (r.serverCpuSeconds ?? Number.NaN) / r.seconds))),
    };
  });
  console.log('\nThroughput runs — medians over rounds (server CPU from /proc):');
  console.log(
    `  ${'case'.padEnd(42)}  ${'req/s'.padStart(8)}  ${'p50 ms'.padStart(7)}  ${'p99 ms'.padStart(7)}  ${'CPU µs/req'.padStart(10)}  ${'busy'.padStart(5)}  ${'CPU × bare'.padStart(10)}`,
  );
  for (const r of rows)
    console.log(
      `  ${r.case.padEnd(42)}  ${Math.round(r.rps).toLocaleString('en-US').padStart(8)}  ${r.p50Ms.toFixed(2).padStart(7)}  ${r.p99Ms.toFixed(2).padStart(7)}  ${r.serverCpuMicrosPerRequest.toFixed(0).padStart(10)}  ${r.serverBusy.toFixed(2).padStart(5)}  ${`${r.cpuRatioToBare.toFixed(2)}×`.padStart(10)}`,
    );
  // /auth/me against the bare route that receives and sends the same bytes, paired by round.
  console.log(`\n/auth/me ÷ ${SAME_BYTES} (paired by round; server CPU per request, wall-clock req/s beside):`);
  const sameBytes = DEPLOYMENTS.map((name) => {
    const group = `server · ${name}`;
    const me = runs.get(`${group} › /auth/me`)?.slice(-rounds) ?? [];
    const bare = runs.get(`${group} › ${SAME_BYTES}`)?.slice(-rounds) ?? [];
    const measured = me.length > 0 && me.length === bare.length;
    const perRequest = (r: LoadResult): number => (r.serverCpuSeconds ?? Number.NaN) / r.requests;
    const cpuRatio = measured ? round(median(me.map((r, i) => perRequest(bare[i]!) / perRequest(r)))) : undefined;
    const wallRatio = measured ? round(median(me.map((r, i) => r.rps / bare[i]!.rps))) : undefined;
    const atLeast = TARGETS.me[name]!;
    const pass = wallRatio !== undefined && wallRatio >= atLeast;
    console.log(
      `  ${pass ? 'PASS' : 'MISS'}  ${name.padEnd(18)}  /auth/me ≥ ${atLeast}×  ${wallRatio === undefined ? 'not measured' : `${wallRatio.toFixed(2)}× wall   ${cpuRatio!.toFixed(2)}× CPU`}`,
    );
    return { deployment: name, atLeast, wallRatio, cpuRatio, pass };
  });
  const latency = [...storms].map(([key, all]) => {
    const mine = all.slice(-rounds);
    const logins = mine.map((m) => m.loginsPerSecond).filter((x): x is number => x !== undefined);
    return {
      case: key,
      p50Ms: round(median(mine.map((m) => m.p50))),
      p99Ms: round(median(mine.map((m) => m.p99))),
      loginsPerSecond: logins.length > 0 ? round(median(logins)) : null,
    };
  });
  console.log('\n/auth/me under the paced probe — medians over rounds:');
  for (const l of latency)
    console.log(
      `  ${l.case.padEnd(42)}  p50 ${l.p50Ms.toFixed(2)} ms  p99 ${l.p99Ms.toFixed(2)} ms${l.loginsPerSecond === null ? '' : `  (storm: ${Math.round(l.loginsPerSecond)} logins/s)`}`,
    );

  const refresh = report.targets.filter((t) => t.group.startsWith('refresh · '));
  if (refresh.length > 0) console.log('\nRefresh with rotation against its do-nothing twin (median req/s over rounds):');
  for (const t of refresh) {
    const rps = (c: string): string => Math.round(rows.find((r) => r.case === `${t.group} › ${c}`)?.rps ?? Number.NaN).toLocaleString('en-US');
    console.log(
      `  ${t.pass ? 'PASS' : 'MISS'}  ${t.group.padEnd(26)}  ${(t.ratio ?? Number.NaN).toFixed(2)}× (target ≥ ${t.atLeast}×)  /auth/refresh ${rps('/auth/refresh')}/s, do-nothing POST ${rps('do-nothing POST')}/s`,
    );
  }
  addToReport('server', { runs: rows, meVersusSameBytes: sameBytes, latencyProbe: latency, connections: CONNECTIONS });
}

await runThenClean(main, cleanups);
