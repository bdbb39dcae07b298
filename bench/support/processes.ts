// Servers in child processes for the benchmarks, so that the load generator in this process never shares an event
// loop with them: a TypeScript server script forked through tsx (bench/http, bench/server's bare Fastify), and the
// real auth server, `tessera serve` from the build (bench/server, bench/soak); their CPU time read from /proc.
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { spawnServer, type ServerProcess } from '@tessera/test-kit';

/** `--cpu-prof` for the child servers when BENCH_CPU_PROF names a directory (profiles land there, one per process). */
export function profileArgs(): string[] {
  const dir = process.env.BENCH_CPU_PROF;
  return dir === undefined || dir === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${dir}`];
}

/** CPU time (user + system) a process has used so far, in seconds, from /proc; undefined where there is no /proc. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'; utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** USER_HZ: 100 on every Linux this runs on. */
const CLOCK_TICKS = 100;

/** A benchmark server in a child process. */
export interface Child<Info> {
  readonly url: string;
  readonly pid: number;
  /** What the child reported when it was ready (its port, tokens it minted). */
  readonly info: Info;
  stop(): Promise<void>;
}

/**
 * Forks a TypeScript server script (through tsx) that sends `{ ready: true, port, ...info }` over IPC once listening.
 * @example const child = await forkServer<{ token: string }>(new URL('./server.ts', import.meta.url), ['express', 'HS256']);
 */
export async function forkServer<Info>(script: URL, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Child<Info>> {
  const child = fork(script, [...args], {
    execArgv: ['--import', 'tsx', ...profileArgs()],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ready = await new Promise<{ port: number } & Info>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`Benchmark server ${script.pathname} ${args.join(' ')} exited (${code}) before it was ready.`)));
    child.on('message', (message: unknown) => {
      if (typeof message === 'object' && message !== null && (message as { ready?: unknown }).ready === true)
        resolve(message as { port: number } & Info);
    });
  });
  child.removeAllListeners('exit');
  return { url: `http://127.0.0.1:${ready.port}`, pid: child.pid!, info: ready, stop: () => stopChild(child) };
}

/** SIGTERM, then SIGKILL if it has not exited within `graceMs` (a profile needs the clean exit to be written). */
export async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Starts `tessera serve` (the built CLI, through the test kit; with `--cpu-prof` under BENCH_CPU_PROF) on a free port
 * of 127.0.0.1 with `env` and none of this process's TESSERA_* settings, and waits until it answers /healthz.
 */
export function startTessera(env: Readonly<Record<string, string>>): Promise<ServerProcess> {
  return spawnServer(env, { nodeArgs: profileArgs(), readyMs: 30_000 });
}
