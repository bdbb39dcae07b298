// The server measurements of bench/scale: a `tessera serve` child on a built database, its event loop watched by a
// bench-only preload (loop-delay.mjs), its timer purge set to fall inside the measured window. It answers the RSS
// after a warm load, the load figures idle and during the purge, the worst event-loop stall of each window, and the
// purge's time: from the server's log line when it writes one (at TESSERA_LOG_LEVEL=info), else from its /metrics,
// and from outside as well (until a sample of ended sessions is gone from the database).
import { metricSample, spawnServer, type ServerProcess } from '@tessera/test-kit';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { profileArgs } from '../support/processes.js';
import { loadWindow, login, sleep, type Target, type WindowFigures } from './load.js';
import { LOGIN_USERS, PASSWORD, loginUser, userName, type Population } from './population.js';

export interface Stall {
  readonly maxMs: number;
  readonly p99Ms: number;
}

/**
 * What the server said about its purge: from its log line (`BENCH_SCALE_LOG_LEVEL=info`) `deleted` always, `ms`,
 * `batches`, `worstBatchMs` when its version logs them; else from /metrics, `deleted`, `ms` and `worstBatchMs`.
 */
export interface PurgeLog {
  readonly deleted: number | null;
  readonly ms: number | null;
  readonly batches: number | null;
  readonly worstBatchMs: number | null;
  readonly failed: string | null;
}

export interface ServerFigures {
  readonly rssMiB: number;
  readonly idle: WindowFigures & { readonly stall: Stall };
  readonly purge: WindowFigures & {
    readonly stall: Stall;
    /** The ended sessions were gone before the window (a purge at start): nothing of the purge was measured. */
    readonly ranEarly: boolean;
    /**
     * Until the sampled ended sessions were gone, from the earliest moment the timer could fire (the server's spawn +
     * the interval): an upper bound, by at most `startupMs`; null if they never went.
     */
    readonly observedMs: number | null;
    /** From the spawn until the server answered /healthz: the uncertainty of `observedMs`. */
    readonly startupMs: number;
    /**
     * From the first to the last of the sampled ended sessions gone (polled every 100 ms): a lower bound of a purge
     * that deletes in steps; about 0 for one that deletes in one statement (its stall is its length then).
     */
    readonly sampledGoneMs: number | null;
    readonly log: PurgeLog | null;
  };
}

export interface ServerPlan {
  /** TESSERA_* settings of the database (and Redis). */
  readonly env: Readonly<Record<string, string>>;
  readonly population: Population;
  /** How many of a sample of ended sessions are still stored. */
  readonly endedLeft: () => Promise<number>;
  readonly quick: boolean;
}

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
/** /auth/me probes per second during each window. */
const ME_RATE = 200;
/** How long before the purge is due the purge window's load starts, and how long after its end it goes on. */
const LEAD_MS = 1500;
const TAIL_MS = 500;
const PURGE_TIMEOUT_MS = 300_000;
const PRELOAD = fileURLToPath(new URL('./loop-delay.mjs', import.meta.url));

export async function measureServer(plan: ServerPlan): Promise<ServerFigures> {
  const warmMs = plan.quick ? 1000 : 5000;
  const idleMs = plan.quick ? 1500 : 4000;
  // A slow start (a loaded machine), the logins, the warm load and the idle window fit before the first timer purge.
  const intervalS = Math.ceil((3000 + 2000 + warmMs + idleMs + LEAD_MS + 2000) / 1000);
  const stallFile = join(tmpdir(), `tessera-scale-loop-${process.pid}-${Date.now()}.json`);
  const metricsToken = randomBytes(18).toString('base64url');
  const spawned = performance.now();
  const server = await spawnServer(
    {
      TESSERA_HOST: '127.0.0.1',
      TESSERA_LOG_LEVEL: process.env.BENCH_SCALE_LOG_LEVEL ?? 'warn',
      TESSERA_LOGIN_LIMIT: '1000000/1m',
      TESSERA_LOGIN_IP_LIMIT: '1000000/1m',
      TESSERA_PURGE_INTERVAL: `${intervalS}s`,
      TESSERA_METRICS_TOKEN: metricsToken,
      BENCH_LOOP_DELAY_FILE: stallFile,
      ...plan.env,
    },
    { nodeArgs: [...profileArgs(), '--import', PRELOAD], readyMs: 120_000 },
  );
  // The timer is set while the server starts: it fires between `intervalS` after the spawn and `intervalS` after it
  // answered. The purge window starts before the earliest of these; the idle window just before it, so both measure a
  // server of the same age.
  const startupMs = performance.now() - spawned;
  const earliest = spawned + intervalS * 1000;
  try {
    const target = await prepare(server.url, plan.population);
    await loadWindow(target, sleep(warmMs), ME_RATE);
    const rssMiB = server.rss() / 2 ** 20;

    const idleStart = earliest - LEAD_MS - idleMs;
    if (performance.now() > idleStart) console.warn('  (the server started slowly: its idle window is shorter)');
    await sleep(idleStart - performance.now());
    await readStall(server, stallFile);
    const idle = await loadWindow(target, sleep(earliest - LEAD_MS - performance.now()), ME_RATE);
    const idleStall = await readStall(server, stallFile);

    // None left: a server that purges before its timer (at start) already deleted them; the window then measures 2 s.
    const sampled = await plan.endedLeft();
    if (sampled === 0) console.warn('  (the ended sessions were gone before the purge window: the figures during the purge are not)');
    const logFrom = server.output().length;
    let firstGone: number | undefined;
    let end: number | undefined;
    const purgeEnd = (async (): Promise<void> => {
      const deadline = performance.now() + (sampled === 0 ? 2000 - TAIL_MS : PURGE_TIMEOUT_MS);
      while (performance.now() < deadline) {
        const left = sampled === 0 ? 1 : await plan.endedLeft();
        if (left < sampled) firstGone ??= performance.now();
        if (left === 0) {
          end = performance.now();
          break;
        }
        if (purgeLog(server.output().slice(logFrom))?.failed != null) break;
        await sleep(100);
      }
      await sleep(TAIL_MS);
    })();
    const purge = await loadWindow(target, purgeEnd, ME_RATE);
    const purgeStall = await readStall(server, stallFile);
    return {
      rssMiB,
      idle: { ...idle, stall: idleStall },
      purge: {
        ...purge,
        stall: purgeStall,
        ranEarly: sampled === 0,
        observedMs: end === undefined ? null : end - earliest,
        startupMs,
        sampledGoneMs: end === undefined || firstGone === undefined ? null : end - firstGone,
        log: purgeLog(server.output().slice(logFrom)) ?? (sampled === 0 ? null : await purgeMetrics(server.url, metricsToken)),
      },
    };
  } catch (err) {
    console.error(server.output().slice(-4000));
    throw err;
  } finally {
    await server.stop(10_000);
    rmSync(stallFile, { force: true });
  }
}

/** Logs in the /auth/me user and one chain per connection (login users in turn, each far under 10 sessions). */
async function prepare(url: string, p: Population): Promise<Target> {
  const me = await login(url, userName(loginUser(p, 0)), PASSWORD);
  const chainUser = (k: number): string => userName(loginUser(p, 1 + (k % (LOGIN_USERS - 1))));
  const chains: string[] = [];
  for (let k = 0; k < CONNECTIONS; k++) chains.push((await login(url, chainUser(k), PASSWORD)).refresh);
  return { url, meToken: me.access, chains, relogin: async (k) => (await login(url, chainUser(k), PASSWORD)).refresh };
}

/** Asks the preload for the loop delays since the last ask (SIGUSR2), and waits for its answer. */
async function readStall(server: ServerProcess, file: string): Promise<Stall> {
  const last = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { seq: number }).seq : 0;
  server.child.kill('SIGUSR2');
  const deadline = performance.now() + PURGE_TIMEOUT_MS;
  while (performance.now() < deadline) {
    if (existsSync(file)) {
      try {
        const report = JSON.parse(readFileSync(file, 'utf8')) as { seq: number; maxMs: number; p99Ms: number };
        if (report.seq > last) return { maxMs: report.maxMs, p99Ms: report.p99Ms };
      } catch {
        // Read while being written: try again.
      }
    }
    await sleep(20);
  }
  throw new Error('bench/scale: the server never answered for its event-loop delays.');
}

/**
 * The first timer purge from the server's /metrics, once it has finished (its later phases may outlast the window),
 * or null after the timeout or when the server has no such metrics.
 */
async function purgeMetrics(url: string, token: string): Promise<PurgeLog | null> {
  const deadline = performance.now() + PURGE_TIMEOUT_MS;
  while (performance.now() < deadline) {
    const reply = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    if (!reply.ok) return null;
    const scrape = await reply.text();
    const value = (series: string): number | null => metricSample(scrape, series) ?? null;
    const failed = value('tessera_purges_total{result="failed"}') ?? 0;
    if (failed > 0) return { deleted: null, ms: null, batches: null, worstBatchMs: null, failed: 'see the server log' };
    if ((value('tessera_purges_total{result="done"}') ?? 0) > 0) {
      const seconds = (series: string): number | null => {
        const v = value(series);
        return v === null ? null : v * 1000;
      };
      return {
        deleted: value('tessera_purged_sessions_total'),
        ms: seconds('tessera_purge_last_duration_seconds'),
        batches: null,
        worstBatchMs: seconds('tessera_purge_last_worst_batch_seconds'),
        failed: null,
      };
    }
    await sleep(200);
  }
  return null;
}

/** The server's purge lines ('ended sessions purged', 'purge failed') in its JSON log output, if any. */
function purgeLog(output: string): PurgeLog | null {
  let found: PurgeLog | null = null;
  for (const line of output.split('\n')) {
    if (!line.includes('purge')) continue;
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    const num = (key: string): number | null => {
      const value = entry[key];
      return typeof value === 'number' ? value : null;
    };
    if (entry.msg === 'ended sessions purged')
      found = { deleted: num('deleted'), ms: num('ms'), batches: num('batches'), worstBatchMs: num('worstBatchMs'), failed: null };
    else if (entry.msg === 'purge failed')
      found = { deleted: null, ms: null, batches: null, worstBatchMs: null, failed: typeof entry.err === 'string' ? entry.err : 'unknown' };
  }
  return found;
}
