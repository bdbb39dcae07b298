// Load generation the benchmarks share (bench/http, bench/server, bench/sessions): autocannon runs that fail loudly
// and read the server's CPU time around them, a paced latency probe, percentiles, and the knobs with HTTP-sized
// defaults. On 2 cores the load generator takes one and the server the other; a server's CPU time per request is
// the figure that noise on a shared machine disturbs least.
import autocannon, { type Instance, type Options, type Result } from 'autocannon';
import { request, Agent } from 'node:http';
import { performance } from 'node:perf_hooks';
import { benchOptions, type BenchOptions } from '../harness.js';
import { processCpuSeconds } from './processes.js';

/** The harness knobs, with HTTP-sized defaults unless the caller set rounds or time explicitly. */
export function httpOptions(defaults: { rounds: number; timeMs: number; quickRounds: number; quickTimeMs: number }): BenchOptions {
  const argv = process.argv.slice(2);
  const env = process.env;
  const base = benchOptions(argv, env);
  const quick = argv.includes('--quick') || (env.BENCH_QUICK !== undefined && env.BENCH_QUICK !== '' && env.BENCH_QUICK !== '0');
  const given = (flag: string, variable: string): boolean => argv.includes(flag) || (env[variable] ?? '') !== '';
  return {
    ...base,
    rounds: given('--rounds', 'BENCH_ROUNDS') ? base.rounds : quick ? defaults.quickRounds : defaults.rounds,
    timeMs: given('--time', 'BENCH_TIME') ? base.timeMs : quick ? defaults.quickTimeMs : defaults.timeMs,
  };
}

/** One load run's figures. */
export interface LoadResult {
  /** 2xx answers per second of the run. */
  readonly rps: number;
  readonly requests: number;
  readonly seconds: number;
  /** Latency percentiles of 2xx answers, in milliseconds (from autocannon's per-response times, not its 1-ms histogram). */
  readonly p50: number;
  readonly p99: number;
  /** Server CPU seconds spent during the run, when the server's pid is known. */
  readonly serverCpuSeconds: number | undefined;
}

export type CannonOptions = Omit<Options, 'url' | 'duration'> & {
  readonly url: string;
  readonly durationMs: number;
  /** The pid whose CPU time is read around the run. */
  readonly serverPid?: number;
  /** Status codes that count as success (default: 200). */
  readonly okStatus?: readonly number[];
};

/**
 * An autocannon run that throws when anything but success came back (errors, timeouts, other statuses):
 * a benchmark of error answers must fail loudly, never look fast.
 */
export async function cannon(options: CannonOptions): Promise<LoadResult> {
  const { durationMs, serverPid, okStatus = [200], ...rest } = options;
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  const cpuBefore = serverPid === undefined ? undefined : processCpuSeconds(serverPid);
  const started = performance.now();
  let instance: Instance | undefined;
  const result = await new Promise<Result>((resolve, reject) => {
    // sampleInt: autocannon checks for the end of the run at each sample tick (default 1 s): every 100 ms instead.
    instance = autocannon({ connections: 10, pipelining: 1, sampleInt: 100, ...rest, duration: durationMs / 1000 }, (err, res) =>
      err ? reject(err) : resolve(res),
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      statuses.set(statusCode, (statuses.get(statusCode) ?? 0) + 1);
      if (okStatus.includes(statusCode)) latencies.push(responseTime);
    });
  });
  const seconds = (performance.now() - started) / 1000;
  const cpuAfter = serverPid === undefined ? undefined : processCpuSeconds(serverPid);
  const bad = [...statuses].filter(([status]) => !okStatus.includes(status));
  if (result.errors > 0 || result.timeouts > 0 || result.mismatches > 0 || bad.length > 0 || latencies.length === 0) {
    throw new Error(
      `Load run on ${rest.url} went wrong: ${result.errors} errors, ${result.timeouts} timeouts, ${result.mismatches} unexpected bodies, statuses ${JSON.stringify(Object.fromEntries(statuses))}.`,
    );
  }
  latencies.sort((a, b) => a - b);
  return {
    rps: latencies.length / seconds,
    requests: latencies.length,
    seconds,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    serverCpuSeconds: cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore,
  };
}

/** The nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = (sorted.length - 1) / 2;
  return (sorted[Math.floor(mid)]! + sorted[Math.ceil(mid)]!) / 2;
}

/**
 * A paced (open-loop) latency probe: `rate` GET requests per second on keep-alive sockets, each timed from the moment it
 * was due, so a stalled server shows up in the figures instead of silently slowing the probe (coordinated omission).
 * Answers the latencies in milliseconds, sorted; throws on any non-200 answer.
 */
export async function probeLatency(options: { url: string; headers: Record<string, string>; rate: number; durationMs: number }): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const interval = 1000 / options.rate;
  const count = Math.max(1, Math.round((options.durationMs / 1000) * options.rate));
  const start = performance.now();
  const latencies: number[] = [];
  const failures: string[] = [];
  const pending: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    pending.push(
      new Promise<void>((resolve) => {
        const req = request(options.url, { agent, headers: options.headers }, (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode === 200) latencies.push(performance.now() - due);
            else failures.push(String(res.statusCode));
            resolve();
          });
        });
        req.on('error', (err) => {
          failures.push(err.message);
          resolve();
        });
        req.end();
      }),
    );
  }
  await Promise.all(pending);
  agent.destroy();
  if (failures.length > 0) throw new Error(`Latency probe on ${options.url}: ${failures.length} failures (${failures.slice(0, 3).join(', ')}).`);
  return latencies.sort((a, b) => a - b);
}

/** A JSON request with Node's http client (setup and recovery steps outside the timed runs). */
export async function httpJson(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { ...(init.body === undefined ? {} : { 'content-type': 'application/json' }), ...init.headers },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text) as unknown;
  } catch {
    // Not JSON: keep the text.
  }
  return { status: response.status, body };
}

export type { Instance };
