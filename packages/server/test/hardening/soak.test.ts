// The soak (bench/soak) in CI: 60 s of mixed login/refresh/me/logout at a fixed rate against a real
// `tessera serve` process, under the throttle limits, with zero errors required. Outside CI it runs
// 10 s. The 5-minute run with the memory figures is `node --import tsx bench/soak/index.ts --duration 300`.
import { expect, it } from 'vitest';
import { runSoak } from '../../../../bench/soak/index.js';

const DURATION_S = process.env.CI ? 60 : 10;

it(
  `${DURATION_S} s of mixed load at a fixed rate: every operation answered as expected, 0 errors`,
  { timeout: (DURATION_S + 90) * 1000 },
  async () => {
    const report = await runSoak({ durationS: DURATION_S, rate: 25, out: undefined, log: false });
    expect(report.errorSamples).toEqual({});
    expect(report.errors).toBe(0);
    // The load really ran at about the asked rate, and every kind of operation took part.
    expect(report.operations).toBeGreaterThanOrEqual(Math.floor(DURATION_S * 25 * 0.95));
    for (const op of ['login', 'refresh', 'me', 'logout'] as const) expect(report.perOp[op].count).toBeGreaterThan(0);
    expect(report.rss.endMiB).toBeGreaterThan(0);
  },
);
