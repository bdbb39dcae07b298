// Node, Bun and Deno run the conformance runner (runner.ts: RFC vectors, hostile tokens, a Hono app over real
// sockets) against the packed @tessera/auth, installed from its tarball into a scratch app. Each runtime must
// run every case and fail none; a runtime is one entry in runtimes.ts.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { packedApp } from '@tessera/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleRunner } from './bundle.js';
import { SUMMARY_MARK, type Summary } from './harness.js';
import { RUNTIMES, type RuntimeEntry } from './runtimes.js';

/**
 * Every group of cases the runner has, with the fewest cases it may run: each must run on each runtime, and a
 * table that shrank by accident (a filter gone wrong, cases built from an empty list) fails here, not in silence.
 */
const GROUPS: Readonly<Record<string, number>> = { 'rfc-vectors': 35, hostile: 170, 'hono-app': 15, remote: 52 };
/** Runtimes that run some groups only: workerd runs the verify-only entry (@tessera/auth/remote) alone. */
const ONLY: Readonly<Record<string, readonly string[]>> = { workerd: ['remote'] };
const groupsOf = (runtime: string): string[] => Object.keys(GROUPS).filter((group) => ONLY[runtime]?.includes(group) ?? true);

let app: string;
let dir: string;
let runner: string;
const summaries = new Map<string, Summary>();

beforeAll(async () => {
  app = (await packedApp()).dir;
  dir = mkdtempSync(join(app, 'runtimes-'));
  runner = join(dir, 'runner.mjs');
  await bundleRunner(runner);
}, 600_000);

afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

/** Runs the runner on one runtime; its exit status is not trusted alone: the summary line must say what ran. */
function run(runtime: RuntimeEntry): Promise<{ stdout: string; stderr: string; code: number | null }> {
  const [file = '', ...args] = runtime.command(runner, app);
  // Vitest's own loader options are not the runtime's business.
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.NODE_OPTIONS;
  return new Promise((resolve) => {
    execFile(file, args, { cwd: dir, env, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ stdout, stderr, code });
    });
  });
}

describe.each(RUNTIMES.map((runtime) => [runtime.name, runtime] as const))('%s', (name, runtime) => {
  it('runs every case of the runner on the packed library and fails none', async () => {
    const { stdout, stderr, code } = await run(runtime);
    const line = stdout.split('\n').findLast((l) => l.startsWith(SUMMARY_MARK));
    expect(line, `no summary from ${name}:\n${stdout.slice(-4000)}\n${stderr.slice(-4000)}`).toBeDefined();
    const summary = JSON.parse((line ?? '').slice(SUMMARY_MARK.length)) as Summary;
    expect(summary.runtime).toBe(name);
    expect(summary.failures).toEqual([]);
    expect(summary.failed).toBe(0);
    expect(Object.keys(summary.groups).sort()).toEqual(groupsOf(name).sort());
    for (const [group, fewest] of Object.entries(GROUPS).filter(([group]) => groupsOf(name).includes(group)))
      expect(summary.groups[group]?.passed ?? 0, `cases of ${group}`).toBeGreaterThanOrEqual(fewest);
    expect(summary.passed).toBe(Object.values(summary.groups).reduce((n, g) => n + g.passed, 0));
    console.log(`${name} ${summary.version}: ${summary.passed} cases passed in ${summary.seconds.toFixed(1)} s (${JSON.stringify(summary.groups)})`);
    expect(code, stderr.slice(-4000)).toBe(0);
    summaries.set(name, summary);
  }, 180_000);
});

it('every runtime ran the same cases', () => {
  // The runtimes the README promises stay in the table.
  expect(RUNTIMES.map((r) => r.name)).toEqual(expect.arrayContaining(['node', 'bun', 'deno', 'workerd']));
  expect([...summaries.keys()]).toEqual(RUNTIMES.map((r) => r.name));
  // Each group a runtime runs has the same cases on every runtime that runs it.
  for (const group of Object.keys(GROUPS)) {
    const counts = [...summaries.values()].flatMap((s) => (s.groups[group] === undefined ? [] : [s.groups[group]]));
    for (const count of counts) expect(count).toEqual(counts[0]);
  }
});
