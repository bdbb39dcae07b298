// bench/soak: a mixed login / refresh / me / logout load at a fixed rate against a real `tessera serve`
// process, for a set duration. It counts every answer that is not the expected one as an error, and
// samples the server's resident memory, reporting it after the warm-up and at the end.
//
//   node --import tsx bench/soak/index.ts --duration 300          (writes bench/results/soak.json)
//   options: --duration S  --rate OPS_PER_S  --warmup S  --database-url URL  --redis-url URL  --out FILE|none
//
// Needs the built server (`npm run build`). Users are seeded in the database before the server
// starts. The per-account login limit stays at its default (TESSERA_LOGIN_LIMIT, 10 per 15 min):
// logins go round-robin over enough users that no account comes near it. Every request comes from
// 127.0.0.1, where in production thousands of clients would: the per-address limit is raised for
// the run and the planned login rate is checked against it before anything starts, so the soak
// runs under both limits and a 429 is an error. Each refresh sends the newest refresh token of its
// session (a rotated token replayed would measure the grace path or trip reuse detection).
// Long on purpose: the load mix, the rate control, the memory sampling and the report of one run.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CLI, sleep } from '@tessera/test-kit';
import pino from 'pino';
import { createRuntime } from '../../packages/server/src/runtime.js';
import { loadConfig, type Limit } from '../../packages/server/src/settings.js';
import { checkNewUsername } from '../../packages/server/src/users/username/index.js';
import { startTessera } from '../support/processes.js';

const RESULTS = fileURLToPath(new URL('../results/soak.json', import.meta.url));
const PASSWORD = 'soak test password 1';

/** The share of each operation in the mix (the pool keeps logins and logouts in balance). */
const MIX = { login: 0.1, refresh: 0.3, me: 0.5, logout: 0.1 } as const;
type Op = keyof typeof MIX;
const OPS = Object.keys(MIX) as Op[];
/** Live sessions the load keeps around; a user never holds more than a few (TESSERA_MAX_SESSIONS is 10). */
const POOL_TARGET = 40;
/** Logins per account per window the schedule allows itself (the default limit is 10). */
const PER_ACCOUNT_BUDGET = 6;
/** Requests in flight beyond which the server is not keeping up with the rate: counted as errors. */
const MAX_IN_FLIGHT = 200;

export interface SoakOptions {
  /** Seconds of load. */
  readonly durationS: number;
  /** Operations started per second (open loop: the schedule does not wait for answers). */
  readonly rate?: number;
  /** Seconds before the "after warm-up" RSS sample (default: 40 % of the run, at most 120 s: V8 sizes its heaps in the first minutes). */
  readonly warmupS?: number;
  /** Default: a SQLite file in a temporary directory. */
  readonly databaseUrl?: string;
  readonly redisUrl?: string;
  /** Where to write the JSON report; undefined: nowhere. */
  readonly out?: string | undefined;
  /** Print progress and the summary (default true). */
  readonly log?: boolean;
}

export interface OpStats {
  count: number;
  errors: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface SoakReport {
  readonly name: 'soak';
  readonly startedAt: string;
  readonly options: { durationS: number; rate: number; warmupS: number; database: string; redis: boolean; users: number };
  readonly limits: {
    loginPerAccount: string;
    loginPerAddress: string;
    plannedLoginsPerAccountPerWindow: number;
    plannedLoginsPerAddressPerWindow: number;
  };
  readonly operations: number;
  readonly achievedRate: number;
  readonly errors: number;
  /** Up to 20 distinct error descriptions with their counts. */
  readonly errorSamples: Record<string, number>;
  readonly perOp: Record<Op, OpStats>;
  readonly rss: {
    /** The sample taken when the warm-up ended, and the last one. */
    readonly afterWarmupMiB: number;
    readonly endMiB: number;
    readonly maxMiB: number;
    /** (end − after warm-up) / after warm-up, in percent, from the two samples. */
    readonly changePercent: number;
    /** Medians of the samples in the window just after the warm-up and in the last window (one GC can move a single sample by 20 %). */
    readonly windowS: number;
    readonly afterWarmupMedianMiB: number;
    readonly endMedianMiB: number;
    readonly changeMedianPercent: number;
    /** Goal: within ±10 %, judged on the window medians. */
    readonly withinGoal: boolean;
    /** One sample every 5 s: [seconds since start, MiB]. */
    readonly samples: readonly (readonly [number, number])[];
  };
  readonly environment: Record<string, unknown>;
}

interface Session {
  access: string;
  refresh: string;
  busy: boolean;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits;
const mib = (bytes: number): number => round(bytes / 2 ** 20, 1);

/** Runs the soak and answers its report (written to `options.out` when given). */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const durationS = options.durationS;
  const rate = options.rate ?? 25;
  const warmupS = options.warmupS ?? Math.min(120, Math.max(1, Math.round(durationS * 0.4)));
  const log = options.log === false ? (): void => undefined : (line: string): void => console.log(line);
  if (!(durationS > 0) || !(rate > 0) || !(warmupS < durationS))
    throw new Error('soak: --duration and --rate must be positive, --warmup below the duration');
  if (!existsSync(CLI)) throw new Error(`soak: ${CLI} is missing: run \`npm run build\` first.`);

  const tmp = mkdtempSync(join(tmpdir(), 'tessera-soak-'));
  try {
    return await soak(options, { durationS, rate, warmupS, log, tmp });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function soak(
  options: SoakOptions,
  { durationS, rate, warmupS, log, tmp }: { durationS: number; rate: number; warmupS: number; log: (line: string) => void; tmp: string },
): Promise<SoakReport> {
  const databaseUrl = options.databaseUrl ?? `sqlite:${join(tmp, 'tessera.db')}`;
  // 1.5: the pool may ask for more logins than the mix when it runs low.
  const loginRate = rate * MIX.login * 1.5;
  const inWindow = (limit: Limit): number => loginRate * Math.min(limit.window, durationS);
  const env: Record<string, string> = {
    TESSERA_DATABASE_URL: databaseUrl,
    TESSERA_HOST: '127.0.0.1',
    TESSERA_LOG_LEVEL: 'warn',
    // The one load generator stands for many addresses: the per-address limit is set to 4x the planned logins.
    TESSERA_LOGIN_IP_LIMIT: `${Math.max(100, Math.ceil(loginRate * 900 * 4))}/15m`,
    ...(options.redisUrl === undefined ? {} : { TESSERA_REDIS_URL: options.redisUrl }),
  };
  const config = loadConfig(env);
  // Round-robin over enough users that each account stays at ~60 % of its limit (at most PER_ACCOUNT_BUDGET per window).
  const budget = Math.max(1, Math.min(PER_ACCOUNT_BUDGET, Math.floor(config.loginLimit.count * 0.6)));
  const users = Math.max(10, Math.ceil(inWindow(config.loginLimit) / budget));
  const perAccount = inWindow(config.loginLimit) / users;
  const perAddress = inWindow(config.loginIpLimit);
  if (perAccount > config.loginLimit.count || perAddress > config.loginIpLimit.count)
    throw new Error(`soak: the planned logins (${round(perAccount)} per account, ${round(perAddress)} per address) exceed the throttle limits`);

  // Seed the users straight into the database (one hash: the same password for all), then let the server start on it.
  const seeding = await createRuntime(config, { log: pino({ level: 'silent' }), keyReloadMs: 0 });
  const usernames: string[] = [];
  try {
    const hash = await seeding.hasher.hash(PASSWORD);
    const run = Date.now().toString(36);
    for (let i = 0; i < users; i++) {
      const username = `soak${run}u${i}`;
      const name = checkNewUsername(username);
      if (!name.ok || (await seeding.users.create({ username: name, passwordHash: hash, now: Date.now() })) === undefined)
        throw new Error(`soak: could not seed ${username}`);
      usernames.push(username);
    }
  } finally {
    await seeding.close();
  }

  const server = await startTessera(env);
  const base = server.url;

  const errors = new Map<string, number>();
  const latencies: Record<Op, number[]> = { login: [], refresh: [], me: [], logout: [] };
  const opErrors: Record<Op, number> = { login: 0, refresh: 0, me: 0, logout: 0 };
  const fail = (op: Op, what: string): void => {
    opErrors[op]++;
    errors.set(`${op}: ${what}`, (errors.get(`${op}: ${what}`) ?? 0) + 1);
  };
  const samples: [number, number][] = [];
  let afterWarmup = 0;
  let started = 0;

  try {
    log(
      `soak: ${durationS} s at ${rate} ops/s against ${base} (${config.databaseUrl.startsWith('sqlite:') ? 'SQLite' : 'Postgres'}${options.redisUrl === undefined ? '' : ' + Redis'}), ${users} users`,
    );

    const pool: Session[] = [];
    let nextUser = 0;
    let inFlight = 0;
    const post = (path: string, body: unknown, bearer?: string): Promise<Response> =>
      fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(bearer === undefined ? {} : { authorization: `Bearer ${bearer}` }) },
        body: JSON.stringify(body),
      });

    const choose = (): Op => {
      const idle = pool.filter((s) => !s.busy).length;
      if (idle === 0 || pool.length < POOL_TARGET / 2) return 'login';
      if (pool.length > POOL_TARGET * 1.5) return 'logout';
      let x = Math.random();
      for (const op of OPS) {
        x -= MIX[op];
        if (x <= 0) return op;
      }
      return 'me';
    };

    const perform = async (op: Op): Promise<void> => {
      const t0 = performance.now();
      const idle = pool.filter((s) => !s.busy);
      const session = op === 'login' ? undefined : idle[Math.floor(Math.random() * idle.length)];
      if (op !== 'login' && session === undefined) return perform('login');
      if (session !== undefined) session.busy = true;
      try {
        let expected = 200;
        let response: Response;
        if (op === 'login') {
          const username = usernames[nextUser++ % usernames.length] as string;
          response = await post('/auth/login', { username, password: PASSWORD });
          if (response.status === 200) {
            const body = (await response.json()) as { access_token: string; refresh_token: string };
            pool.push({ access: body.access_token, refresh: body.refresh_token, busy: false });
          }
        } else if (op === 'refresh') {
          response = await post('/auth/refresh', { refresh_token: session!.refresh });
          if (response.status === 200) {
            const body = (await response.json()) as { access_token: string; refresh_token: string };
            session!.access = body.access_token;
            session!.refresh = body.refresh_token;
          }
        } else if (op === 'me') {
          response = await fetch(`${base}/auth/me`, { headers: { authorization: `Bearer ${session!.access}` } });
        } else {
          expected = 204;
          pool.splice(pool.indexOf(session!), 1);
          response = await post('/auth/logout', { refresh_token: session!.refresh });
        }
        if (!response.bodyUsed) await response.arrayBuffer();
        latencies[op].push(performance.now() - t0);
        if (response.status !== expected) fail(op, `${response.status}`);
      } catch (err) {
        fail(op, err instanceof Error ? `${err.message}` : String(err));
      } finally {
        if (session !== undefined) session.busy = false;
      }
    };

    const t0 = Date.now();
    const sampler = setInterval(() => {
      const elapsed = (Date.now() - t0) / 1000;
      const rss = server.rss();
      samples.push([round(elapsed, 1), rss]);
      if (afterWarmup === 0 && elapsed >= warmupS) afterWarmup = rss;
    }, 1000);
    const running = new Set<Promise<void>>();
    const period = 1000 / rate;
    let lastReport = t0;
    try {
      for (let i = 0; ; i++) {
        const due = t0 + i * period;
        if (due >= t0 + durationS * 1000) break;
        const wait = due - Date.now();
        if (wait > 0) await sleep(wait);
        if (server.child.exitCode !== null || server.child.signalCode !== null) throw new Error(`soak: the server died:\n${server.output()}`);
        const op = choose();
        if (inFlight >= MAX_IN_FLIGHT) {
          fail(op, `more than ${MAX_IN_FLIGHT} requests in flight: the server is not keeping up`);
          continue;
        }
        inFlight++;
        started++;
        const p = perform(op).finally(() => {
          inFlight--;
          running.delete(p);
        });
        running.add(p);
        if (Date.now() - lastReport >= 30_000) {
          lastReport = Date.now();
          const errorCount = [...errors.values()].reduce((a, b) => a + b, 0);
          log(
            `  ${Math.round((Date.now() - t0) / 1000)} s: ${started} ops, ${errorCount} errors, ${pool.length} sessions, RSS ${mib(server.rss())} MiB`,
          );
        }
      }
      await Promise.all(running);
    } finally {
      clearInterval(sampler);
    }
    const elapsedS = (Date.now() - t0) / 1000;
    const end = server.rss();
    if (end > 0) samples.push([round(elapsedS, 1), end]);
    if (afterWarmup === 0) afterWarmup = samples[0]?.[1] ?? end;

    const perOp = {} as Record<Op, OpStats>;
    for (const op of OPS) {
      const sorted = [...latencies[op]].sort((a, b) => a - b);
      perOp[op] = {
        count: latencies[op].length + opErrors[op],
        errors: opErrors[op],
        p50Ms: round(percentile(sorted, 50)),
        p95Ms: round(percentile(sorted, 95)),
        p99Ms: round(percentile(sorted, 99)),
        maxMs: round(sorted.at(-1) ?? 0),
      };
    }
    const errorTotal = [...errors.values()].reduce((a, b) => a + b, 0);
    const change = afterWarmup > 0 ? ((end - afterWarmup) / afterWarmup) * 100 : 0;
    const windowS = Math.max(1, Math.min(30, (elapsedS - warmupS) / 4));
    const medianOf = (from: number, to: number): number => {
      const inside = samples.filter(([t]) => t >= from && t <= to).map(([, r]) => r);
      const sorted = inside.sort((x, y) => x - y);
      return sorted.length === 0 ? 0 : (sorted[Math.floor(sorted.length / 2)] as number);
    };
    const warmMedian = medianOf(warmupS, warmupS + windowS) || afterWarmup;
    const endMedian = medianOf(elapsedS - windowS, elapsedS) || end;
    const changeMedian = warmMedian > 0 ? ((endMedian - warmMedian) / warmMedian) * 100 : 0;
    const report: SoakReport = {
      name: 'soak',
      startedAt: new Date(t0).toISOString(),
      options: {
        durationS,
        rate,
        warmupS,
        database: config.databaseUrl.startsWith('sqlite:') ? 'sqlite' : 'postgres',
        redis: options.redisUrl !== undefined,
        users,
      },
      limits: {
        loginPerAccount: `${config.loginLimit.count}/${config.loginLimit.window}s`,
        loginPerAddress: `${config.loginIpLimit.count}/${config.loginIpLimit.window}s`,
        plannedLoginsPerAccountPerWindow: round(perAccount),
        plannedLoginsPerAddressPerWindow: round(perAddress),
      },
      operations: started,
      achievedRate: round(started / elapsedS),
      errors: errorTotal,
      errorSamples: Object.fromEntries([...errors.entries()].slice(0, 20)),
      perOp,
      rss: {
        afterWarmupMiB: mib(afterWarmup),
        endMiB: mib(end),
        maxMiB: mib(Math.max(...samples.map(([, r]) => r))),
        changePercent: round(change, 1),
        windowS: round(windowS, 1),
        afterWarmupMedianMiB: mib(warmMedian),
        endMedianMiB: mib(endMedian),
        changeMedianPercent: round(changeMedian, 1),
        withinGoal: Math.abs(changeMedian) <= 10,
        samples: samples.filter((_, i) => i % 5 === 0 || i === samples.length - 1).map(([t, r]) => [t, mib(r)] as const),
      },
      environment: {
        node: process.version,
        platform: `${platform()} ${release()}`,
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        loadAverageAtEnd: loadavg().map((x) => round(x)),
      },
    };
    log(
      `soak: ${report.operations} ops in ${round(elapsedS, 1)} s (${report.achievedRate}/s), ${report.errors} errors; ` +
        OPS.map((op) => `${op} ${perOp[op].count} (p50 ${perOp[op].p50Ms} ms, p99 ${perOp[op].p99Ms} ms)`).join(', '),
    );
    log(
      `soak: server RSS after warm-up (${warmupS} s) ${report.rss.afterWarmupMiB} MiB, at the end ${report.rss.endMiB} MiB (${report.rss.changePercent} %); ` +
        `${report.rss.windowS} s medians ${report.rss.afterWarmupMedianMiB} → ${report.rss.endMedianMiB} MiB (${report.rss.changeMedianPercent} %, ` +
        `goal ±10 %: ${report.rss.withinGoal ? 'met' : 'MISSED'}); max ${report.rss.maxMiB} MiB`,
    );
    if (errorTotal > 0) log(`soak: errors ${JSON.stringify(report.errorSamples)}`);
    if (options.out !== undefined) {
      mkdirSync(join(options.out, '..'), { recursive: true });
      writeFileSync(options.out, `${JSON.stringify(report, null, 2)}\n`);
      log(`soak: report written to ${options.out}`);
    }
    return report;
  } finally {
    await server.stop(10_000);
  }
}

// Run as a script: parse the options, run, write bench/results/soak.json, exit 1 on any error.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '300' },
      rate: { type: 'string', default: '25' },
      warmup: { type: 'string' },
      'database-url': { type: 'string' },
      'redis-url': { type: 'string' },
      out: { type: 'string', default: RESULTS },
    },
  });
  const report = await runSoak({
    durationS: Number(values.duration),
    rate: Number(values.rate),
    ...(values.warmup === undefined ? {} : { warmupS: Number(values.warmup) }),
    ...(values['database-url'] === undefined ? {} : { databaseUrl: values['database-url'] }),
    ...(values['redis-url'] === undefined ? {} : { redisUrl: values['redis-url'] }),
    out: values.out === 'none' ? undefined : values.out,
  });
  process.exitCode = report.errors === 0 ? 0 : 1;
}
