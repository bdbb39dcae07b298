// What the benchmarks do with their figures beyond the harness's report: figures rounded to four digits, absolute
// rate targets judged and printed, extra fields added to bench/results/<name>.json, and clean-ups run to the end.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Four significant digits. */
export function round(x: number): number {
  return Number(x.toPrecision(4));
}

/** An absolute rate target (the harness's targets are ratios), judged on a median rate. */
export interface RateTarget {
  readonly group: string;
  readonly case: string;
  readonly atLeastPerSecond: number;
  readonly median: number | undefined;
  readonly pass: boolean;
}

/**
 * Judges the targets whose case ran (a filtered run leaves the others out), prints them under `title` (each named by
 * `label`, padded to `width`), and answers them.
 */
export function rateTargets(
  title: string,
  targets: readonly Omit<RateTarget, 'pass'>[],
  width: number,
  label: (t: Omit<RateTarget, 'pass'>) => string = (t) => `${t.group} ${t.case}`,
): RateTarget[] {
  const judged = targets.filter((t) => t.median !== undefined).map((t) => ({ ...t, pass: (t.median ?? 0) >= t.atLeastPerSecond }));
  console.log(`\n${title}`);
  for (const t of judged)
    console.log(
      `  ${t.pass ? 'PASS' : 'MISS'}  ${label(t).padEnd(width)}  ≥ ${t.atLeastPerSecond.toLocaleString('en-US')}/s  ${Math.round(t.median ?? 0).toLocaleString('en-US')}/s`,
    );
  return judged;
}

/** Adds `fields` to the report the harness wrote to bench/results/<name>.json. */
export function addToReport(name: string, fields: Record<string, unknown>): void {
  const file = fileURLToPath(new URL(`../results/${name}.json`, import.meta.url));
  const saved = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  writeFileSync(file, `${JSON.stringify({ ...saved, ...fields }, null, 2)}\n`);
}

/** Runs `main`, then every clean-up in reverse order, each to the end whatever the others did. */
export async function runThenClean(main: () => Promise<void>, cleanups: (() => Promise<void> | void)[]): Promise<void> {
  try {
    await main();
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (err) {
        console.error('cleanup failed:', err);
      }
    }
  }
}
