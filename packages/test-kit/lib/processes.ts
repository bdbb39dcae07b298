// Child processes: `tessera serve` (waited for until it answers /healthz) and the `tessera` command line,
// each with an environment of the test's own (none of this process's TESSERA_* settings), and a process's
// resident memory.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, waitFor } from './wait.js';

/** The built command line of the server (`npm run build` makes it). */
export const CLI = join(import.meta.dirname, '..', '..', 'server', 'dist', 'cli.js');

/** This process's environment without its TESSERA_* settings, then `layers` in order. */
export function childEnv(...layers: readonly Readonly<Record<string, string>>[]): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('TESSERA_')) env[key] = value;
  return Object.assign(env, ...layers) as NodeJS.ProcessEnv;
}

export interface ServerProcess {
  readonly url: string;
  readonly port: number;
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** What it wrote to stdout and stderr so far. */
  output(): string;
  /** Resident set size in bytes, from /proc (Linux). */
  rss(): number;
  /** SIGTERM (unless it is gone already; SIGKILL after `graceMs` when given), then waits for the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

export interface SpawnOptions {
  /** Settings under `env` (e.g. a suite's quiet defaults). */
  base?: Readonly<Record<string, string>>;
  /** The port to listen on (default: a free one). */
  port?: number | undefined;
  /** How long to wait for /healthz (default 20 s). */
  readyMs?: number;
  /** Node options before the CLI (e.g. `--cpu-prof`). */
  nodeArgs?: readonly string[];
}

/**
 * Runs `tessera serve` (the built CLI) as its own process on 127.0.0.1, log level `warn` unless `env` says otherwise,
 * and waits until it answers /healthz.
 */
export async function spawnServer(env: Readonly<Record<string, string>>, options: SpawnOptions = {}): Promise<ServerProcess> {
  const port = options.port ?? (await freePort());
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), CLI, 'serve'], {
    env: childEnv(options.base ?? {}, { TESSERA_LOG_LEVEL: 'warn' }, env, { TESSERA_PORT: String(port) }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  let dead = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      dead = true;
      resolve({ code, signal });
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    `tessera serve on ${port}`,
    async () => {
      if (dead) throw new Error(`tessera serve exited early:\n${output}`);
      return fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
    },
    options.readyMs ?? 20_000,
    50,
  );
  return {
    url,
    port,
    child,
    exited,
    output: () => output,
    rss: () => processRss(child.pid ?? 0),
    async stop(graceMs) {
      if (!dead) child.kill('SIGTERM');
      const timer = graceMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), graceMs);
      const { code } = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the built `tessera` command line as a process, with `env` over `base` (and none of our TESSERA_*); killed after 20 s. */
export function runCli(
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
  options: { base?: Readonly<Record<string, string>>; stdin?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: childEnv(options.base ?? {}, env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.stdin ?? '');
  });
}

/** VmRSS of a process in bytes (Linux /proc); 0 when it is gone. */
export function processRss(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}
