// The real Tessera server (through the test kit) on a random port of 127.0.0.1, over a SQLite file in a
// temporary folder. Its clock is the real one plus an offset the test can move: `advance` ages every token
// at once (the server sees them expired) without waiting, and a skewed server clock shows that the client
// times its refreshes by `expires_in` alone.
import { sqliteBackend } from '@tessera/test-kit';
import { startServer as startTessera, type Runtime } from '@tessera/test-kit/server';

export { PASSWORD, uniqueName } from '@tessera/test-kit';

export interface TestServer {
  /** http://127.0.0.1:port/ */
  readonly url: string;
  readonly runtime: Runtime;
  /** Moves the server clock forward. */
  advance(ms: number): void;
  close(): Promise<void>;
}

export async function startServer(env: Record<string, string> = {}, options: { skewMs?: number } = {}): Promise<TestServer> {
  const backend = sqliteBackend();
  let offset = options.skewMs ?? 0;
  const server = await startTessera(
    {
      ...backend.env,
      TESSERA_LOG_LEVEL: 'silent',
      TESSERA_TRANSPORT: 'hybrid,cookie,bearer',
      TESSERA_LOGIN_LIMIT: '1000/1m',
      TESSERA_LOGIN_IP_LIMIT: '10000/1m',
      TESSERA_PURGE_INTERVAL: '0',
      ...env,
    },
    { clock: { now: () => Date.now() + offset } },
  );
  return {
    url: `${server.url}/`,
    runtime: server.runtime,
    advance: (ms) => {
      offset += ms;
    },
    close: async () => {
      await server.close();
      await backend.cleanup();
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
