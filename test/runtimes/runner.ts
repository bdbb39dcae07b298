// The conformance runner for other runtimes: the RFC vectors, the hostile-token table, a Hono app over real
// sockets and the remote verifier against a JWKS it serves, against the packed @tessera/auth (runtimes.test.ts
// bundles this file into a scratch app where the tarball is installed, so every package import resolves to what
// a user installs).
// Usage: <runtime> runner.mjs <node|bun|deno>. Prints a line per case, then SUMMARY_MARK and the JSON summary;
// exits 1 when a case failed. On workerd the same cases run from the worker's `test` handler (workerd.ts).
import process from 'node:process';
import { rfcVectorCases } from './cases/vectors.js';
import { hostileCases } from './cases/hostile.js';
import { honoAppCases } from './cases/hono-app.js';
import { remoteCases } from './cases/remote.js';
import { runCases, SUMMARY_MARK, type Case } from './harness.js';
import { HOSTS, isHostName, onWorkerd, type HostName } from './serve.js';

export { setWorkerd, workerdFetch } from './serve.js';

/** Case lists whose setup itself failed become one failing case, so that nothing disappears silently. */
async function orFailure(group: string, build: () => Case[] | Promise<Case[]>): Promise<Case[]> {
  try {
    return await build();
  } catch (err) {
    return [{ group, name: 'setup', run: () => Promise.reject(err) }];
  }
}

/** Runs every case on the runtime `name`, printing as it goes; answers whether all passed. */
export async function runAll(name: HostName, print: (line: string) => void): Promise<boolean> {
  const host = HOSTS[name];
  // A table entry that starts one runtime under another's name would test the wrong thing.
  if (!host.detect()) throw new TypeError(`asked to run as ${name}, but this is not ${name}`);
  // workerd runs the verify-only entry alone (docs/resource-server.md "Runtimes"): the rest of the library signs
  // and generates keys with node:crypto KeyObjects, which workerd's node:crypto lacks.
  const library =
    name === 'workerd'
      ? []
      : [
          ...(await orFailure('rfc-vectors', rfcVectorCases)),
          ...(await orFailure('hostile', hostileCases)),
          ...(await orFailure('hono-app', () => honoAppCases(host.serve))),
        ];
  const cases = [...library, ...(await orFailure('remote', () => remoteCases(host.serve)))];
  const summary = await runCases(name, host.version(), cases, print);
  print(`${SUMMARY_MARK}${JSON.stringify(summary)}`);
  return summary.failed === 0;
}

// workerd runs no top-level I/O: there, the worker's test handler calls runAll.
if (!onWorkerd()) {
  const name = process.argv[2];
  if (!isHostName(name)) throw new TypeError(`the runner needs a runtime name, one of: ${Object.keys(HOSTS).join(', ')}`);
  process.exitCode = (await runAll(name, (line) => console.log(line))) ? 0 : 1;
}
