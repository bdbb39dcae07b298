// Prometheus metrics: what an operator watches (logins, refreshes, reuse detections, revocations,
// throttling, request and store latency). One registry per server instance, so tests can run several in
// one process. Names follow Prometheus's rules (`promtool check metrics`, run by test/metrics.test.ts):
// counters end in `_total`, nothing else does, units are base units; the process and Node.js series keep
// prom-client's standard names (`process_*`, `nodejs_*`), which the usual dashboards expect.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { SessionEvent } from '@tessera/auth';

/** The buckets of `tessera_http_request_duration_seconds`, in seconds. */
const REQUEST_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** The throttled actions (`users/login-throttle.ts`), a label of `tessera_throttle_refusals_total`. */
const THROTTLED_ACTIONS: readonly string[] = ['login', 'register', 'password'];

export class Metrics {
  readonly registry = new Registry();
  readonly logins = new Counter({
    name: 'tessera_logins_total',
    help: 'Login attempts by result.',
    labelNames: ['result'],
    registers: [this.registry],
  });
  readonly refreshes = new Counter({
    name: 'tessera_refreshes_total',
    help: 'Refresh-token exchanges by outcome.',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  readonly reuse = new Counter({
    name: 'tessera_reuse_detections_total',
    help: 'Refresh tokens presented again after rotation (the session was revoked).',
    registers: [this.registry],
  });
  readonly revocations = new Counter({
    name: 'tessera_revocations_total',
    help: 'Sessions revoked, by reason.',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly throttleOverflow = new Counter({
    name: 'tessera_throttle_overflow_total',
    help: 'Throttle hits counted in a shared bucket because the in-memory throttle was full of running windows (a flood of new keys).',
    registers: [this.registry],
  });
  #redisUp: Gauge | undefined;
  readonly redisFallbacks = new Counter({
    name: 'tessera_redis_fallbacks_total',
    help: 'Calls answered without Redis while it could not be reached, by what: session checks (SQL), throttle hits (memory), revocations not yet published.',
    labelNames: ['what'],
    registers: [this.registry],
  });
  readonly sessions = new Counter({ name: 'tessera_sessions_created_total', help: 'Sessions opened.', registers: [this.registry] });
  // The timer purge (db/purge.ts), also at log levels that hide its line: how it went, what it deleted, how long it
  // ran and how long a request may have waited behind its longest batch.
  readonly purges = new Counter({
    name: 'tessera_purges_total',
    help: 'Timer purges of ended sessions, by result: done, stopped (the server drained) or failed.',
    labelNames: ['result'],
    registers: [this.registry],
  });
  readonly purgedSessions = new Counter({
    name: 'tessera_purged_sessions_total',
    help: 'Ended sessions deleted by the timer purge.',
    registers: [this.registry],
  });
  readonly lastPurgeDuration = new Gauge({
    name: 'tessera_purge_last_duration_seconds',
    help: 'How long the last finished timer purge ran.',
    registers: [this.registry],
  });
  readonly lastPurgeWorstBatch = new Gauge({
    name: 'tessera_purge_last_worst_batch_seconds',
    help: 'The longest batch of the last finished timer purge: how long a request may have waited behind it.',
    registers: [this.registry],
  });
  readonly legacyAccepts = new Counter({
    name: 'tessera_legacy_accepts_total',
    help: 'Tokens of the replaced stack accepted during the cut-over, by kind: exchange (a refresh token for a session) or access (a guarded route of this server); flat at 0 once they are gone.',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  readonly throttled = new Counter({
    name: 'tessera_throttle_refusals_total',
    help: 'Password attempts refused (429) by the throttle, by action (login, register, password) and by the counter that was full (account: one account from one network; address: one network).',
    labelNames: ['action', 'counter'],
    registers: [this.registry],
  });
  readonly latency = new RequestLatency(this.registry);
  readonly storeLatency = new Histogram({
    name: 'tessera_store_duration_seconds',
    help: 'Latency of session-store verbs and user-store reads, by store (session, user), operation and outcome (ok, error).',
    labelNames: ['store', 'operation', 'outcome'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  constructor() {
    // No prefix: prom-client's names already say what they are (a prefix doubled them: tessera_process_process_*).
    collectDefaultMetrics({ register: this.registry });
    // Gauges named like counters (promtool refuses them); each is the sum of its by-type gauge, which stays
    // (sum(nodejs_active_handles) is the same number).
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'])
      this.registry.removeSingleMetric(name);
    // Series that exist from the start, at 0, so that rates and alerts work before the first event.
    for (const result of ['success', 'failure']) this.logins.inc({ result }, 0);
    for (const outcome of ['rotated', 'grace_replay']) this.refreshes.inc({ outcome }, 0);
    for (const kind of ['exchange', 'access']) this.legacyAccepts.inc({ kind }, 0);
    for (const action of THROTTLED_ACTIONS) for (const counter of ['account', 'address']) this.throttled.inc({ action, counter }, 0);
  }

  /**
   * Counts a throttle refusal from the key that was full: `<action>:<account>|<network>` or
   * `<action>-ip:<network>`, as `users/login-throttle.ts` writes them (never the account or address itself).
   */
  throttleRefused(key: string): void {
    const name = key.slice(0, Math.max(0, key.indexOf(':')));
    const address = name.endsWith('-ip');
    const action = address ? name.slice(0, -'-ip'.length) : name;
    this.throttled.inc({ action: THROTTLED_ACTIONS.includes(action) ? action : 'other', counter: address ? 'address' : 'account' });
  }

  /** `tessera_redis_up`, registered only where Redis is configured, so an instance without it shows no outage. */
  redisUp(): Gauge {
    this.#redisUp ??= new Gauge({
      name: 'tessera_redis_up',
      help: 'Whether Redis answers (1), or the instance runs degraded on SQL and its memory throttle (0).',
      registers: [this.registry],
    });
    for (const what of ['session_check', 'throttle', 'publish']) this.redisFallbacks.inc({ what }, 0);
    return this.#redisUp;
  }

  /** Counts a session event. */
  record(event: SessionEvent): void {
    switch (event.type) {
      case 'session_created':
        this.sessions.inc();
        break;
      case 'rotated':
        this.refreshes.inc({ outcome: 'rotated' });
        break;
      case 'grace_replay':
        this.refreshes.inc({ outcome: 'grace_replay' });
        break;
      case 'reuse_detected':
        this.reuse.inc();
        break;
      case 'session_revoked':
        this.revocations.inc({ reason: event.reason ?? 'unknown' });
        break;
    }
  }
}

/** One series of the request histogram: its count per bucket (not cumulative), sum and count. */
interface Series {
  readonly labels: { readonly method: string; readonly route: string; readonly status: string };
  readonly buckets: number[];
  sum: number;
  count: number;
}

/**
 * `tessera_http_request_duration_seconds{method,route,status}`, observed on every request. prom-client's
 * Histogram validates and hashes the label object on each observation (a few µs a request); this one finds
 * the series by method, route and status in nested maps and exposes the same text, through the same registry.
 */
export class RequestLatency {
  readonly name = 'tessera_http_request_duration_seconds';
  readonly help = 'HTTP request latency by route and status.';
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #series = new Map<string, Map<string, Map<number, Series>>>();
  /** The same series in the order they first appeared, the order prom-client writes them in. */
  readonly #ordered: Series[] = [];

  constructor(registry: Registry) {
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  /** Counts one request of `seconds`. */
  observe(method: string, route: string, status: number, seconds: number): void {
    if (!Number.isFinite(seconds)) return;
    let byRoute = this.#series.get(method);
    if (byRoute === undefined) this.#series.set(method, (byRoute = new Map()));
    let byStatus = byRoute.get(route);
    if (byStatus === undefined) byRoute.set(route, (byStatus = new Map()));
    let series = byStatus.get(status);
    if (series === undefined) {
      series = { labels: { method, route, status: String(status) }, buckets: REQUEST_BUCKETS.map(() => 0), sum: 0, count: 0 };
      byStatus.set(status, series);
      this.#ordered.push(series);
    }
    // Above the last bound, only +Inf (the count) holds it.
    const bound = bucketOf(seconds);
    if (bound >= 0) series.buckets[bound] = (series.buckets[bound] ?? 0) + 1;
    series.sum += seconds;
    series.count += 1;
  }

  /** Every series as prom-client's registry formats a histogram: cumulative buckets with `le`, then `+Inf`, sum and count. */
  get(): { name: string; help: string; type: string; aggregator: string; values: HistogramValue[] } {
    const values: HistogramValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const series of this.#ordered) {
      let total = 0;
      REQUEST_BUCKETS.forEach((le, i) => {
        total += series.buckets[i] ?? 0;
        values.push({ labels: { le, ...series.labels }, value: total, metricName: bucket });
      });
      values.push({ labels: { le: '+Inf', ...series.labels }, value: series.count, metricName: bucket });
      values.push({ labels: { ...series.labels }, value: series.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...series.labels }, value: series.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** Forgets every series (prom-client's `reset`). */
  reset(): void {
    this.#series.clear();
    this.#ordered.length = 0;
  }
}

/** The index of the first bucket that holds `seconds`, or -1 above the last bound (only +Inf holds it). */
function bucketOf(seconds: number): number {
  let i = 0;
  for (const le of REQUEST_BUCKETS) {
    if (seconds <= le) return i;
    i++;
  }
  return -1;
}

interface HistogramValue {
  readonly labels: Record<string, string | number>;
  readonly value: number;
  readonly metricName: string;
}
