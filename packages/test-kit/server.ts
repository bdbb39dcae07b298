// @tessera/test-kit/server: the Tessera server in this process, built from the server's sources (so that the
// server's own suites test the code as it is), and the suites' settings bound to every server they start.
import { runCli, spawnServer, type CliResult, type ServerProcess, type SpawnOptions } from './lib/processes.js';
import { startServer, type StartOptions, type TestServer } from './lib/tessera.js';

export { startServer, type Runtime, type StartOptions, type TestServer } from './lib/tessera.js';

/** `startServer`, `spawnServer` and `runCli` with a suite's own settings (`base`) under every test's. */
export function serversWith(base: Readonly<Record<string, string>>): {
  startServer(env: Readonly<Record<string, string>>, options?: Omit<StartOptions, 'base'>): Promise<TestServer>;
  spawnServer(env: Readonly<Record<string, string>>, options?: Omit<SpawnOptions, 'base'>): Promise<ServerProcess>;
  runCli(args: readonly string[], env?: Readonly<Record<string, string>>, options?: { stdin?: string }): Promise<CliResult>;
} {
  return {
    startServer: (env, options = {}) => startServer(env, { ...options, base }),
    spawnServer: (env, options = {}) => spawnServer(env, { ...options, base }),
    runCli: (args, env = {}, options = {}) => runCli(args, env, { ...options, base }),
  };
}
