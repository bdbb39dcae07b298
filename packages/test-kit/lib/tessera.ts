// The Tessera server in this process, on a free port of 127.0.0.1: loadConfig, createRuntime and buildApp
// of the server's sources (so that the server's own suites test the code as it is, unbuilt), with a clock
// and parts of the runtime a test can replace.
import type { Clock } from '@tessera/auth';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { buildApp } from '../../server/src/app.js';
import { createRuntime, type Runtime } from '../../server/src/runtime.js';
import { loadConfig } from '../../server/src/settings.js';
import { listenFastify } from './listen.js';

export type { Runtime };

export interface TestServer {
  /** http://127.0.0.1:port, no trailing slash. */
  readonly url: string;
  readonly origin: string;
  readonly port: number;
  readonly runtime: Runtime;
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Settings under `env` (e.g. a suite's quiet defaults). */
  base?: Readonly<Record<string, string>>;
  clock?: Clock;
  /** How often the runtime reloads keys (default 0: never). */
  keyReloadMs?: number;
  /** Replaces parts of the runtime before the app is built (e.g. a hasher with no queue). */
  patch?: (runtime: Runtime) => Runtime;
  /** Runs on the app before it listens (e.g. a hook). */
  prepare?: (app: FastifyInstance) => void;
}

/** Builds the app on a runtime from `env` (over `base`), with a silent logger, and listens on a free port of 127.0.0.1. */
export async function startServer(env: Readonly<Record<string, string>>, options: StartOptions = {}): Promise<TestServer> {
  const config = loadConfig({ ...options.base, ...env });
  const runtime = await createRuntime(config, {
    log: pino({ level: 'silent' }),
    keyReloadMs: options.keyReloadMs ?? 0,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  const used = options.patch === undefined ? runtime : options.patch(runtime);
  const app = await buildApp(used);
  options.prepare?.(app);
  const { url, port } = await listenFastify(app);
  return {
    url,
    origin: url,
    port,
    runtime: used,
    app,
    async close() {
      await app.close();
      // The runtime closes the session store, which owns the database connection.
      await runtime.close();
    },
  };
}
