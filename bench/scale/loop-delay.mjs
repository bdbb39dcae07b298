// A bench-only preload for `tessera serve` (node --import): watches the server's event loop with
// monitorEventLoopDelay (1 ms resolution) and, on SIGUSR2, writes the worst and the 99th-percentile delay since the
// previous signal to the file BENCH_LOOP_DELAY_FILE names, then starts over. Nothing of it is in the server: a stall
// the server's own code causes shows up here as a long delay. Plain JavaScript, since the server runs without tsx.
import { writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const file = process.env.BENCH_LOOP_DELAY_FILE;
if (file !== undefined && file !== '') {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  let seq = 0;
  process.on('SIGUSR2', () => {
    seq += 1;
    const report = { seq, maxMs: histogram.max / 1e6, p99Ms: histogram.percentile(99) / 1e6, count: histogram.count };
    writeFileSync(file, JSON.stringify(report));
    histogram.reset();
  });
}
