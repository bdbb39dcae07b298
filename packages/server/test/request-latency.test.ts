// tessera_http_request_duration_seconds is counted by metrics.ts's RequestLatency, not prom-client's
// Histogram (which hashes the label object on every request): its exposition must be the same text.
import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { RequestLatency } from '../src/metrics.js';

const OBSERVED: readonly [string, string, number, number][] = [
  ['GET', '/auth/me', 200, 0.0004],
  ['GET', '/auth/me', 200, 0.001],
  ['GET', '/auth/me', 200, 0.0031],
  ['GET', '/auth/me', 401, 0.02],
  ['POST', '/auth/login', 200, 0.3],
  ['POST', '/auth/login', 429, 3.2],
  ['GET', 'unknown', 404, 0.0001],
  ['GET', '/auth/me', 200, 2.5],
];

describe('RequestLatency', () => {
  it("writes what prom-client's Histogram writes for the same requests", async () => {
    const theirs = new Registry();
    const histogram = new Histogram({
      name: 'tessera_http_request_duration_seconds',
      help: 'HTTP request latency by route and status.',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [theirs],
    });
    const ours = new Registry();
    const latency = new RequestLatency(ours);
    for (const [method, route, status, seconds] of OBSERVED) {
      histogram.observe({ method, route, status: String(status) }, seconds);
      latency.observe(method, route, status, seconds);
    }
    const text = await ours.metrics();
    expect(text).toBe(await theirs.metrics());
    expect(text).toContain('tessera_http_request_duration_seconds_count{method="GET",route="/auth/me",status="200"} 4');
  });

  it('starts empty, and leaves a value that is no number out', async () => {
    const registry = new Registry();
    const latency = new RequestLatency(registry);
    expect(await registry.metrics()).toBe(
      '# HELP tessera_http_request_duration_seconds HTTP request latency by route and status.\n# TYPE tessera_http_request_duration_seconds histogram\n',
    );
    latency.observe('GET', '/auth/me', 200, Number.NaN);
    expect(await registry.metrics()).not.toContain('_count');
  });
});
