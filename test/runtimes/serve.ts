// How each runtime serves a fetch handler on 127.0.0.1 and a free port, the way its own users serve Hono:
// @hono/node-server on Node, Bun.serve, Deno.serve. A runtime's entry here is all the runner needs of it.

/** A fetch handler as Hono's `app.fetch` is one. */
export type FetchHandler = (request: Request) => Response | Promise<Response>;

/** A listening server: its base URL and how to stop it. */
export interface Served {
  readonly url: string;
  close(): Promise<void>;
}

/** The part of Bun's global that is used here (no @types/bun in the repository). */
interface BunGlobal {
  readonly version: string;
  serve(options: { hostname: string; port: number; fetch: FetchHandler }): { readonly port: number; stop(closeActive?: boolean): unknown };
}

/** The part of Deno's global that is used here. */
interface DenoGlobal {
  readonly version: { readonly deno: string };
  serve(
    options: { hostname: string; port: number; onListen?: () => void },
    handler: FetchHandler,
  ): { readonly addr: { readonly port: number }; shutdown(): Promise<void> };
}

const runtimeGlobals = globalThis as { Bun?: BunGlobal; Deno?: DenoGlobal; navigator?: { userAgent?: unknown } };

/** Whether this is Cloudflare's workerd (its navigator says so; it has no other global of its own). */
export function onWorkerd(): boolean {
  return runtimeGlobals.navigator?.userAgent === 'Cloudflare-Workers';
}

/**
 * workerd cannot listen from inside a worker: its config binds a socket to the worker itself (workerd.ts), and
 * the worker's fetch handler passes each request to the handler `serve` registered. The worker's test handler
 * sets the socket's URL and the version first.
 */
const workerd: { url: string; version: string; handler: FetchHandler | undefined } = { url: '', version: '', handler: undefined };

/** Set by the worker's test handler before the cases run. */
export function setWorkerd(facts: { url: string; version: string }): void {
  workerd.url = facts.url;
  workerd.version = facts.version;
}

/** The worker's fetch handler: the handler `serve` registered, or 503. */
export function workerdFetch(request: Request): Response | Promise<Response> {
  return workerd.handler === undefined ? new Response('nothing served', { status: 503 }) : workerd.handler(request);
}

/** One runtime: how to tell it is the one running, its version, and how it serves. */
export interface RuntimeHost {
  readonly detect: () => boolean;
  readonly version: () => string;
  readonly serve: (fetch: FetchHandler) => Promise<Served>;
}

function bun(): BunGlobal {
  if (runtimeGlobals.Bun === undefined) throw new TypeError('not running on Bun');
  return runtimeGlobals.Bun;
}

function deno(): DenoGlobal {
  if (runtimeGlobals.Deno === undefined) throw new TypeError('not running on Deno');
  return runtimeGlobals.Deno;
}

/** The runtimes the runner knows, by the name the driver passes it. */
export const HOSTS = {
  node: {
    detect: () => runtimeGlobals.Bun === undefined && runtimeGlobals.Deno === undefined && !onWorkerd(),
    version: () => process.versions.node,
    serve: async (fetch) => {
      const { serve } = await import('@hono/node-server');
      return new Promise<Served>((resolve, reject) => {
        const server = serve({ fetch, hostname: '127.0.0.1', port: 0 }, (info) =>
          resolve({
            url: `http://127.0.0.1:${info.port}`,
            close: () => new Promise<void>((done) => server.close(() => done())),
          }),
        );
        server.once('error', reject);
      });
    },
  },
  bun: {
    detect: () => runtimeGlobals.Bun !== undefined,
    version: () => bun().version,
    serve: async (fetch) => {
      const server = bun().serve({ hostname: '127.0.0.1', port: 0, fetch });
      return {
        url: `http://127.0.0.1:${server.port}`,
        close: async () => {
          await server.stop(true);
        },
      };
    },
  },
  deno: {
    detect: () => runtimeGlobals.Deno !== undefined,
    version: () => deno().version.deno,
    serve: async (fetch) => {
      const server = deno().serve({ hostname: '127.0.0.1', port: 0, onListen: () => undefined }, fetch);
      return { url: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() };
    },
  },
  workerd: {
    detect: onWorkerd,
    version: () => workerd.version,
    serve: async (fetch) => {
      if (workerd.handler !== undefined) throw new TypeError('workerd serves one handler at a time');
      workerd.handler = fetch;
      return {
        url: workerd.url,
        close: async () => {
          workerd.handler = undefined;
        },
      };
    },
  },
} satisfies Record<string, RuntimeHost>;

export type HostName = keyof typeof HOSTS;

export function isHostName(name: string | undefined): name is HostName {
  return name !== undefined && Object.hasOwn(HOSTS, name);
}
