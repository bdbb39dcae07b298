// A TCP proxy in front of a real service (Postgres, Redis) that a test can cut and restore, to
// simulate an outage without ever stopping the shared service (docs/architecture.md "Platform notes").
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  /** The port to connect to instead of the service's. */
  readonly port: number;
  /** Drops every open connection and refuses new ones until `restore`. */
  cut(): void;
  /** Lets connections through again. */
  restore(): void;
  /** Stops forwarding data on open connections without closing them (a hung network). */
  stall(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let down = false;
  let stalled = false;
  const server: Server = createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = createConnection({ port: targetPort, host: targetHost });
    sockets.add(client);
    sockets.add(upstream);
    const forward = (from: Socket, to: Socket): void => {
      from.on('data', (chunk) => {
        if (!stalled) to.write(chunk);
      });
    };
    forward(client, upstream);
    forward(upstream, client);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy did not get a port');
  const cut = (): void => {
    down = true;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };
  return {
    port: address.port,
    cut,
    restore() {
      down = false;
      stalled = false;
    },
    stall() {
      stalled = true;
    },
    async close() {
      cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
