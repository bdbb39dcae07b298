// bench/http: requests/s of Express 5, Fastify 5 and Hono 4 (@hono/node-server) bare, bare with one floor verify
// (bench/verify/floor.ts) in the handler, behind the Tessera guard (`required()`, stateless, verified-token cache on
// and off) and behind each framework's usual JWT peer, for HS256 and EdDSA, in one run. Each framework and algorithm
// is one server in a child process; autocannon runs here with 10 connections, every request the same (the bare
// routes get the Authorization header too, unread), the cases of a group interleaved round after round. Targets: the
// cached guard (EdDSA) keeps ≥ 0.9× of the bare route; the uncached guard (HS256) ≥ 0.9× of bare + floor verify.
import { BenchSuite, type SuiteReport } from '../harness.js';
import { cannon, httpOptions, median, type LoadResult } from '../support/load.js';
import { forkServer, type Child } from '../support/processes.js';
import { addToReport, round } from '../support/report.js';
import type { ServerInfo } from './server.js';

const FRAMEWORKS = [
  { id: 'express', name: 'Express 5', peer: 'express-jwt' },
  { id: 'fastify', name: 'Fastify 5', peer: '@fastify/jwt' },
  { id: 'hono', name: 'Hono 4', peer: 'hono/jwt' },
] as const;
const ALGORITHMS = ['HS256', 'EdDSA'] as const;
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
/** Each target: a case against another case of its group (server CPU per request, paired by round). */
const TARGETS = [
  { alg: 'EdDSA', case: 'Tessera · cache on', versus: 'bare', atLeast: 0.9 },
  { alg: 'HS256', case: 'Tessera · cache off', versus: 'bare + floor verify', atLeast: 0.9 },
  // Hono only: the guard as middleware in front of the handler, beside its one-handler form above.
  { alg: 'EdDSA', case: 'Tessera · cache on · middleware', versus: 'bare', atLeast: 0.9 },
  { alg: 'HS256', case: 'Tessera · cache off · middleware', versus: 'bare + floor verify', atLeast: 0.9 },
] as const;

// Ten rounds (the harness treats fewer as a smoke run) of 600 ms: about three minutes in all.
const options = httpOptions({ rounds: 10, timeMs: 600, quickRounds: 2, quickTimeMs: 300 });
const suite = new BenchSuite('http', options);

/** Per case, every run's result (the first is the harness's untimed warm-up when warmupMs > 0). */
const runs = new Map<string, LoadResult[]>();
const children: Child<ServerInfo>[] = [];

async function main(): Promise<void> {
  for (const framework of FRAMEWORKS) {
    for (const alg of ALGORITHMS) {
      const child = await forkServer<ServerInfo>(new URL('./server.ts', import.meta.url), [framework.id, alg]);
      children.push(child);
      const name = `${framework.name} · ${alg}`;
      const group = suite.group(name, 'bare');
      const headers = { authorization: `Bearer ${child.info.token}` };
      const expected = '{"sub":"user-1042"}';
      const caseName = (route: string): string => (route === 'peer' ? framework.peer : route);
      for (const [route, path] of Object.entries(child.info.routes)) {
        const key = `${name} › ${caseName(route)}`;
        runs.set(key, []);
        group.addMeasured(caseName(route), async () => {
          const result = await cannon({
            url: `${child.url}${path}`,
            connections: CONNECTIONS,
            durationMs: options.timeMs,
            serverPid: child.pid,
            // The same request everywhere: a bare route that got no Authorization header would parse fewer bytes.
            headers,
            // Every answer must be the guarded JSON: a guard that refused, or a route that skipped the check, cannot pass.
            expectBody: expected,
          });
          runs.get(key)!.push(result);
          return result.rps;
        });
      }
      for (const [route, reason] of Object.entries(child.info.missing)) group.note(`${caseName(route)}: ${reason}`);
      group.note(`${CONNECTIONS} connections, ${options.timeMs} ms per run; the same access token on every request (tokens are reusable).`);
      for (const t of TARGETS.filter((target) => target.alg === alg && target.versus === 'bare' && target.case in child.info.routes))
        suite.target({ group: name, case: t.case, atLeast: t.atLeast, label: `Tessera ≥ ${t.atLeast}× ${t.versus}` });
    }
  }

  const report = await suite.run();
  extend(report);
}

/**
 * A second view of the same runs: server CPU time per request (read from /proc around each run). It does not count time
 * the server sat descheduled, which on a shared 2-core machine is most of the noise. Printed and added to the report.
 */
function extend(report: SuiteReport): void {
  const rounds = options.rounds;
  const groups = report.groups.map((group) => {
    const base = runs.get(`${group.name} › ${group.baseline}`)!.slice(-rounds);
    return {
      name: group.name,
      cases: group.cases.map((c) => {
        const mine = runs.get(`${group.name} › ${c.name}`)!.slice(-rounds);
        const cpuPerRequest = mine.map((r) => (r.serverCpuSeconds ?? Number.NaN) / r.requests);
        const basePer = base.map((r) => (r.serverCpuSeconds ?? Number.NaN) / r.requests);
        return {
          name: c.name,
          rps: round(median(mine.map((r) => r.rps))),
          p99Ms: round(median(mine.map((r) => r.p99))),
          serverCpuMicrosPerRequest: round(median(cpuPerRequest) * 1e6),
          serverBusy: round(median(mine.map((r) => (r.serverCpuSeconds ?? Number.NaN) / r.seconds))),
          // Requests per server CPU-second, as a ratio to bare, paired by round.
          cpuRatio: round(median(cpuPerRequest.map((v, i) => basePer[i]! / v))),
        };
      }),
    };
  });
  console.log('\nServer CPU per request (from /proc; blind to time descheduled) — median over rounds:');
  const width = Math.max(22, ...groups.flatMap((group) => group.cases.map((c) => c.name.length)));
  for (const group of groups) {
    console.log(`\n${group.name}`);
    console.log(
      `  ${'case'.padEnd(width)}  ${'req/s'.padStart(8)}  ${'p99 ms'.padStart(7)}  ${'CPU µs/req'.padStart(10)}  ${'busy'.padStart(5)}  ${'CPU × bare'.padStart(10)}`,
    );
    for (const c of group.cases) {
      console.log(
        `  ${c.name.padEnd(width)}  ${Math.round(c.rps).toLocaleString('en-US').padStart(8)}  ${c.p99Ms.toFixed(2).padStart(7)}  ${c.serverCpuMicrosPerRequest.toFixed(1).padStart(10)}  ${c.serverBusy.toFixed(2).padStart(5)}  ${`${c.cpuRatio.toFixed(2)}×`.padStart(10)}`,
      );
    }
  }
  console.log('\n"busy" is server CPU seconds per second of the run: below ~0.9, the load generator (or the machine) held it back.');
  console.log('\nTargets on server CPU per request (the same runs; versus ÷ case, paired by round; wall clock beside):');
  const verdicts = report.groups.flatMap((group) =>
    TARGETS.filter((t) => group.name.endsWith(`· ${t.alg}`) && runs.has(`${group.name} › ${t.case}`)).map((t) => {
      const mine = runs.get(`${group.name} › ${t.case}`)?.slice(-rounds) ?? [];
      const versus = runs.get(`${group.name} › ${t.versus}`)?.slice(-rounds) ?? [];
      const measured = mine.length > 0 && mine.length === versus.length;
      const perRequest = (r: LoadResult): number => (r.serverCpuSeconds ?? Number.NaN) / r.requests;
      const cpuRatio = measured ? round(median(mine.map((r, i) => perRequest(versus[i]!) / perRequest(r)))) : undefined;
      const wallRatio = measured ? round(median(mine.map((r, i) => r.rps / versus[i]!.rps))) : undefined;
      const pass = cpuRatio !== undefined && cpuRatio >= t.atLeast;
      console.log(
        `  ${pass ? 'PASS' : 'MISS'}  ${group.name.padEnd(18)}  ${`${t.case} ≥ ${t.atLeast}× ${t.versus}`.padEnd(59)}  ${cpuRatio === undefined ? 'not measured' : `${cpuRatio.toFixed(2)}× CPU   ${wallRatio!.toFixed(2)}× wall`}`,
      );
      return { group: group.name, case: t.case, versus: t.versus, atLeast: t.atLeast, cpuRatio, wallRatio, pass };
    }),
  );
  addToReport('http', { serverCpu: groups, cpuTargets: verdicts, connections: CONNECTIONS });
}

try {
  await main();
} finally {
  await Promise.all(children.map((c) => c.stop()));
}
