// The runner's own small test harness: cases are plain functions that throw (node:assert) on failure, since
// Bun and Deno do not run Vitest as it is. The summary is one marked JSON line that the Vitest driver reads.

/** One conformance case: `run` throws when the runtime gets it wrong. */
export interface Case {
  readonly group: string;
  readonly name: string;
  readonly run: () => unknown;
}

/** How one group of cases went. */
export interface GroupCount {
  passed: number;
  failed: number;
}

/** What the runner prints last, after `SUMMARY_MARK`, as one line of JSON. */
export interface Summary {
  readonly runtime: string;
  readonly version: string;
  readonly passed: number;
  readonly failed: number;
  readonly groups: Record<string, GroupCount>;
  readonly failures: readonly { group: string; name: string; error: string }[];
  readonly seconds: number;
}

/** The prefix of the summary line; the driver takes the last line that starts with it. */
export const SUMMARY_MARK = 'tessera-runtimes-summary ';

/** Runs every case in order (one at a time: some share a listening server), printing a TAP-like line each. */
export async function runCases(runtime: string, version: string, cases: readonly Case[], print: (line: string) => void): Promise<Summary> {
  const started = performance.now();
  const groups: Record<string, GroupCount> = {};
  const failures: { group: string; name: string; error: string }[] = [];
  for (const [index, c] of cases.entries()) {
    const count = (groups[c.group] ??= { passed: 0, failed: 0 });
    try {
      await c.run();
      count.passed++;
      print(`ok ${index + 1} - ${c.group}: ${c.name}`);
    } catch (err) {
      count.failed++;
      const error = describe(err);
      failures.push({ group: c.group, name: c.name, error });
      print(`not ok ${index + 1} - ${c.group}: ${c.name}\n  ${error.replace(/\n/g, '\n  ')}`);
    }
  }
  const passed = Object.values(groups).reduce((n, g) => n + g.passed, 0);
  return { runtime, version, passed, failed: failures.length, groups, failures, seconds: (performance.now() - started) / 1000 };
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // The stack says where: enough for a runtime that lacks something the library uses.
  return (err.stack ?? `${err.name}: ${err.message}`).split('\n').slice(0, 8).join('\n');
}
