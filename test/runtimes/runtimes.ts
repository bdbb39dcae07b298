// The runtimes the conformance runner runs on: one entry each. An entry says how to start the bundled
// runner (runner.ts) with the scratch app's node_modules; serve.ts says how that runtime listens.
import { join } from 'node:path';
import type { HostName } from './serve.js';
import { prepareWorkerd } from './workerd.js';

/** The repository's node_modules/.bin, where the runtimes' npm packages put their binaries. */
const BIN = join(import.meta.dirname, '..', '..', 'node_modules', '.bin');

export interface RuntimeEntry {
  /** The runner's name for it (a key of serve.ts's HOSTS). */
  readonly name: HostName;
  /** The command line that runs `runner` (an absolute .mjs path inside `app`, the scratch app's folder). */
  readonly command: (runner: string, app: string) => readonly string[];
}

export const RUNTIMES: readonly RuntimeEntry[] = [
  { name: 'node', command: (runner) => [process.execPath, runner, 'node'] },
  // --no-install: never fetch a missing package; the app's node_modules is all there is.
  { name: 'bun', command: (runner) => [join(BIN, 'bun'), 'run', '--no-install', runner, 'bun'] },
  {
    name: 'deno',
    // npm packages from the app's own node_modules ("manual": no download), reads inside the app only,
    // network to 127.0.0.1 only; a permission it was not given fails the run instead of prompting.
    command: (runner, app) => [
      join(BIN, 'deno'),
      'run',
      '--node-modules-dir=manual',
      '--no-prompt',
      `--allow-read=${app}`,
      '--allow-net=127.0.0.1',
      runner,
      'deno',
    ],
  },
  // `workerd test` over a config of the runner bundled whole (workerd.ts); it prints what the test handler logs.
  { name: 'workerd', command: (runner) => [join(BIN, 'workerd'), 'test', prepareWorkerd(join(BIN, 'workerd'), runner)] },
];
