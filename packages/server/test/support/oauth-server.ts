// The server with OAuth on, for the OAuth suites: the real app in this process, listening on a port picked first so
// that TESSERA_ISSUER can name it (http://127.0.0.1:<port>, the one plain-http issuer OAuth allows), SQLite in a
// temporary directory unless a backend is given, and helpers to register a user (over HTTP) and a client (through
// the client store, or the real `tessera clients add` command line).
import type { Clock } from '@tessera/auth';
import { freePort, register, sqliteBackend, type Backend } from '@tessera/test-kit';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { buildApp } from '../../src/app.js';
import type { NewClient, OAuthClient } from '../../src/oauth/clients.js';
import type { OAuthRuntime } from '../../src/oauth/oauth-runtime.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { loadConfig } from '../../src/settings.js';
import { BASE_ENV, runCli } from './harness.js';

export interface OAuthServer {
  /** http://127.0.0.1:<port>: the base URL, and the issuer. */
  readonly url: string;
  readonly issuer: string;
  readonly port: number;
  readonly runtime: Runtime;
  readonly oauth: OAuthRuntime;
  readonly app: FastifyInstance;
  /** The settings it runs with (the backend's included): for `tessera` commands on the same database. */
  readonly env: Readonly<Record<string, string>>;
  close(): Promise<void>;
}

export interface OAuthServerOptions {
  /** Where the data lives (default: a fresh SQLite file, removed on close). */
  backend?: Backend;
  clock?: Clock;
  /** Replaces parts of the runtime before the app is built. */
  patch?: (runtime: Runtime) => Runtime;
}

/**
 * Starts the server with `TESSERA_ISSUER=http://127.0.0.1:<port>` over `env` (and the suites' quiet settings),
 * listening on that port. A port taken between the pick and the listen is picked again.
 */
export async function startOAuthServer(env: Readonly<Record<string, string>> = {}, options: OAuthServerOptions = {}): Promise<OAuthServer> {
  const backend = options.backend ?? sqliteBackend();
  const owned = options.backend === undefined;
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    const settings = { ...BASE_ENV, ...backend.env, TESSERA_ISSUER: issuer, ...env };
    const runtime = await createRuntime(loadConfig(settings), {
      log: pino({ level: 'silent' }),
      keyReloadMs: 0,
      ...(options.clock === undefined ? {} : { clock: options.clock }),
    });
    const used = options.patch === undefined ? runtime : options.patch(runtime);
    const app = await buildApp(used);
    try {
      await app.listen({ port, host: '127.0.0.1' });
    } catch (err) {
      await app.close();
      await runtime.close();
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 5) continue;
      if (owned) await backend.cleanup();
      throw err;
    }
    const oauth = used.oauth;
    if (oauth === undefined) {
      await app.close();
      await runtime.close();
      if (owned) await backend.cleanup();
      throw new Error(`OAuth is off with TESSERA_ISSUER=${settings.TESSERA_ISSUER}`);
    }
    return {
      url: issuer,
      issuer: oauth.endpoints.issuer,
      port,
      runtime: used,
      oauth,
      app,
      env: settings,
      async close() {
        await app.close();
        await runtime.close();
        if (owned) await backend.cleanup();
      },
    };
  }
}

/** A user registered over the server's HTTP API (`POST /auth/register`), with its password. */
export function registerUser(server: { url: string }, username?: string): Promise<{ id: string; username: string; password: string }> {
  return register(server.url, username);
}

/** Registers a client through the server's client store (the same code `tessera clients add` runs). */
export function addClient(server: OAuthServer, input: Omit<NewClient, 'now'>): Promise<{ client: OAuthClient; secret?: string }> {
  return server.oauth.clients.add({ ...input, now: Date.now() });
}

/**
 * Runs `tessera clients <args>` (the built command line, `npm run build` first) on the server's database and
 * answers its exit code and output; for `add` of a confidential client, the secret it printed.
 */
export async function clientsCli(
  server: { env: Readonly<Record<string, string>> },
  args: readonly string[],
): Promise<{ code: number | null; stdout: string; stderr: string; secret: string | undefined }> {
  const result = await runCli(['clients', ...args], server.env);
  const secret = /^client_secret: ([A-Za-z0-9_-]{43})$/m.exec(result.stdout)?.[1];
  return { ...result, secret };
}
