// Reading a Prometheus scrape (`/metrics`) the way the suites and benchmarks check it: one sample at a time.

/** The value of one sample line, e.g. `tessera_logins_total{result="success"}`; undefined when absent. */
export function metricSample(scrape: string, series: string): number | undefined {
  const line = scrape.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
