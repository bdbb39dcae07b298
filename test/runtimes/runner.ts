// The conformance runner for other runtimes: the RFC vectors, the hostile-token table and a Hono app over
// real sockets, against the packed @tessera/auth (runtimes.test.ts bundles this file into a scratch app
// where the tarball is installed, so every package import resolves to what a user installs).
// Usage: <runtime> runner.mjs <node|bun|deno>. Prints a line per case, then SUMMARY_MARK and the JSON summary;
// exits 1 when a case failed.
import process from 'node:process';
import { rfcVectorCases } from './cases/vectors.js';
import { hostileCases } from './cases/hostile.js';
import { honoAppCases } from './cases/hono-app.js';
import { runCases, SUMMARY_MARK, type Case } from './harness.js';
import { HOSTS, isHostName } from './serve.js';

const name = process.argv[2];
if (!isHostName(name)) throw new TypeError(`the runner needs a runtime name, one of: ${Object.keys(HOSTS).join(', ')}`);
const host = HOSTS[name];
// A table entry that starts one runtime under another's name would test the wrong thing.
if (!host.detect()) throw new TypeError(`asked to run as ${name}, but this is not ${name}`);

/** Case lists whose setup itself failed become one failing case, so that nothing disappears silently. */
async function orFailure(group: string, build: () => Case[] | Promise<Case[]>): Promise<Case[]> {
  try {
    return await build();
  } catch (err) {
    return [{ group, name: 'setup', run: () => Promise.reject(err) }];
  }
}

const cases = [
  ...(await orFailure('rfc-vectors', rfcVectorCases)),
  ...(await orFailure('hostile', hostileCases)),
  ...(await orFailure('hono-app', () => honoAppCases(host.serve))),
];
const summary = await runCases(name, host.version(), cases, (line) => console.log(line));
console.log(`${SUMMARY_MARK}${JSON.stringify(summary)}`);
process.exitCode = summary.failed === 0 ? 0 : 1;
