// How workerd runs the bundled runner: `workerd test` over a config whose worker is the runner bundled whole
// (workerd resolves no node_modules; the bundle is made from runner.mjs inside the scratch app, so the packed
// @tessera/auth is what it contains), with `nodejs_compat`, a socket bound to the worker itself on a free port
// (how the worker "listens", serve.ts), and network access to 127.0.0.1. Prepared synchronously by the command.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { buildSync } from 'esbuild';

/** The worker module: the runner's cases from the `test` handler, each request to the handler `serve` registered. */
const ENTRY = `import { runAll, setWorkerd, workerdFetch } from './runner.mjs';
export default {
  fetch: (request) => workerdFetch(request),
  async test(_controller, env) {
    setWorkerd({ url: env.SELF_URL, version: env.WORKERD_VERSION });
    if (!(await runAll('workerd', (line) => console.log(line)))) throw new Error('some cases failed');
  },
};
`;

/** A free port of 127.0.0.1, found by a child process (the command is synchronous). */
function freePortSync(): number {
  const script = "const s=require('node:net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})";
  return Number(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).trim());
}

/** Writes the worker bundle and its config beside `runner`; answers the config's path. */
export function prepareWorkerd(workerdBin: string, runner: string): string {
  const dir = dirname(runner);
  const entry = join(dir, 'workerd-entry.mjs');
  writeFileSync(entry, ENTRY);
  const bundle = join(dir, 'runner.workerd.mjs');
  buildSync({
    entryPoints: [entry],
    outfile: bundle,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    mainFields: ['module', 'main'],
    conditions: ['workerd', 'worker', 'import'],
    // Node built-ins come from nodejs_compat; the Node-only server package is never loaded there (serve.ts).
    external: ['node:*', '@hono/node-server'],
    logLevel: 'silent',
  });
  const port = freePortSync();
  const version = execFileSync(workerdBin, ['--version'], { encoding: 'utf8' }).trim();
  const config = join(dir, 'workerd.capnp');
  writeFileSync(
    config,
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "runner", worker = .runner), (name = "loopback", network = (allow = ["local", "private"])) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "runner") ],
);
const runner :Workerd.Worker = (
  modules = [ (name = "runner.workerd.mjs", esModule = embed "runner.workerd.mjs") ],
  compatibilityDate = "2025-09-01",
  compatibilityFlags = ["nodejs_compat"],
  globalOutbound = "loopback",
  bindings = [ (name = "SELF_URL", text = "http://127.0.0.1:${port}"), (name = "WORKERD_VERSION", text = ${JSON.stringify(version)}) ],
);
`,
  );
  return config;
}
