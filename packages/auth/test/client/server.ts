// The real Tessera server on a random port of 127.0.0.1, over a SQLite file in a temporary folder.
// Its clock is the real one plus an offset the test can move: `advance` ages every token at once
// (the server sees them expired) without waiting, and a skewed server clock shows that the client
// times its refreshes by `expires_in` alone.
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../../../server/src/app.js';
import { createRuntime, type Runtime } from '../../../server/src/runtime.js';
import { loadConfig } from '../../../server/src/settings.js';

export interface TestServer {
  readonly url: string;
  readonly runtime: Runtime;
  /** Moves the server clock forward. */
  advance(ms: number): void;
  close(): Promise<void>;
}

export async function startServer(env: Record<string, string> = {}, options: { skewMs?: number } = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-client-'));
  let offset = options.skewMs ?? 0;
  const clock = { now: () => Date.now() + offset };
  const config = loadConfig({
    TESSERA_DATABASE_URL: `sqlite:${join(dir, 't.db')}`,
    TESSERA_LOG_LEVEL: 'silent',
    TESSERA_TRANSPORT: 'hybrid,cookie,bearer',
    TESSERA_LOGIN_LIMIT: '1000/1m',
    TESSERA_LOGIN_IP_LIMIT: '10000/1m',
    TESSERA_PURGE_INTERVAL: '0',
    ...env,
  });
  const runtime = await createRuntime(config, { clock, keyReloadMs: 0 });
  const app = await buildApp(runtime);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    runtime,
    advance: (ms) => {
      offset += ms;
    },
    close: async () => {
      await app.close();
      await runtime.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A fetch that counts what it sends, by path, and can be told to fail (no answer) or refuse (401) the next refreshes. */
export function countingFetch(): {
  fetch: (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
  count(path: string): number;
  statuses(path: string): number[];
  failRefreshes(n: number): void;
  refuseRefreshes(n: number): void;
} {
  const counts = new Map<string, number>();
  const seen = new Map<string, number[]>();
  let failing = 0;
  let refusing = 0;
  return {
    async fetch(input, init) {
      const url = new URL(input instanceof Request ? input.url : String(input));
      counts.set(url.pathname, (counts.get(url.pathname) ?? 0) + 1);
      if (url.pathname === '/auth/refresh' && failing > 0) {
        failing--;
        throw new TypeError('fetch failed');
      }
      if (url.pathname === '/auth/refresh' && refusing > 0) {
        refusing--;
        const body = JSON.stringify({ error: 'token_revoked', message: 'The session has ended' });
        return new Response(body, { status: 401, headers: { 'content-type': 'application/json' } });
      }
      const response = await fetch(input, init);
      seen.set(url.pathname, [...(seen.get(url.pathname) ?? []), response.status]);
      return response;
    },
    count: (path) => counts.get(path) ?? 0,
    statuses: (path) => seen.get(path) ?? [],
    failRefreshes: (n) => {
      failing = n;
    },
    refuseRefreshes: (n) => {
      refusing = n;
    },
  };
}

let counter = 0;
/** A fresh user name per test (the server throttles per account). */
export function uniqueName(prefix = 'user'): string {
  counter++;
  return `${prefix}${process.pid}x${counter}`;
}

export const PASSWORD = 'correct horse battery';

/** `localStorage` in memory. */
export class MemoryStorage {
  readonly items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
}
