// Stopping an HTTP server well (docs/operations.md "Start and stop"): stop accepting, let the
// requests in flight finish, close idle keep-alive connections at once rather than after their
// 72-second timeout, and cut whatever is left when the drain time is up.
import type { Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** What a drain did: how long it took and how many connections it had to cut. */
export interface Drained {
  readonly ms: number;
  readonly cut: number;
}

export interface Drainable {
  /** Requests being answered now. */
  readonly inFlight: number;
  /** Stops accepting and ends every connection within `timeoutMs`; `onStep` hears each step. */
  drain(timeoutMs: number, onStep: (step: string, detail: Record<string, number>) => void): Promise<Drained>;
}

/**
 * Watches `server` from now on (call it before it listens): counts the requests in flight and, once
 * draining, answers every request with `Connection: close` so no connection outlives its last answer.
 */
export function drainable(server: Server): Drainable {
  const sockets = new Set<Socket>();
  const responses = new Set<ServerResponse>();
  let draining = false;
  const closeAfter = (response: ServerResponse): void => {
    if (!response.headersSent) response.setHeader('connection', 'close');
  };
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // Before the app's own listener, so the header is set before any answer can be written.
  server.prependListener('request', (_request, response) => {
    responses.add(response);
    if (draining) closeAfter(response);
    response.once('close', () => {
      responses.delete(response);
      // An answer whose headers left before the drain began kept its connection alive: close it now it is idle.
      if (draining) setImmediate(() => server.closeIdleConnections());
    });
  });
  return {
    get inFlight() {
      return responses.size;
    },
    async drain(timeoutMs, onStep) {
      const start = Date.now();
      draining = true;
      for (const response of responses) closeAfter(response);
      // Answers not yet started will close their connection; idle connections close now.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const idle = [...sockets].filter((socket) => socket.destroyed).length;
      onStep('stopped accepting connections; idle keep-alive connections closed', { idle, inFlight: responses.size, open: sockets.size - idle });
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        closed.then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs))),
      ]);
      clearTimeout(timer);
      let cut = 0;
      if (timedOut) {
        cut = sockets.size;
        onStep('drain time is up: cutting the connections left', { connections: cut, inFlight: responses.size });
        server.closeAllConnections();
        await closed;
      }
      return { ms: Date.now() - start, cut };
    },
  };
}
