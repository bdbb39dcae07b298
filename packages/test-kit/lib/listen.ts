// Apps on a free port of 127.0.0.1 (never `localhost`: another site for cookies), answered as { url, close }.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A running app: its base URL (http://127.0.0.1:port, no trailing slash) and how to stop it. */
export interface RunningApp {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Closes a Node server and its idle keep-alive sockets (fetch keeps them open). */
export function closeServer(server: { close(callback: (err?: Error) => void): unknown; closeAllConnections?(): void }): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections?.();
  });
}

/** Listens on an ephemeral port of 127.0.0.1; `close` also drops kept-alive connections. */
export async function listen(server: Server): Promise<RunningApp> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, port, close: () => closeServer(server) };
}

/** What `listenFastify` needs of a Fastify instance. */
export interface Listening {
  listen(options: { port: number; host: string }): Promise<string>;
  readonly server: { address(): AddressInfo | string | null };
  close(): PromiseLike<unknown>;
}

/** Starts a Fastify app on a free port of 127.0.0.1; `close` closes the app. */
export async function listenFastify(app: Listening): Promise<RunningApp> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new TypeError('Fastify is not listening on a TCP port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    port: address.port,
    close: async () => {
      await app.close();
    },
  };
}
