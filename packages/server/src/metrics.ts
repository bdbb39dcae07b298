// Prometheus metrics: what an operator watches (logins, refreshes, reuse detections, revocations,
// latency). One registry per server instance, so tests can run several in one process.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { SessionEvent } from '@tessera/auth';

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
  readonly sessions = new Counter({ name: 'tessera_sessions_created_total', help: 'Sessions opened.', registers: [this.registry] });
  readonly latency = new Histogram({
    name: 'tessera_http_request_duration_seconds',
    help: 'HTTP request latency by route and status.',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'tessera_process_' });
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
