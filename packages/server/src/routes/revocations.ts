// `GET /revocations`: the revocation feed for resource servers (docs/resource-server.md), a Server-Sent
// Events stream outside `/auth` and outside the token guard, behind its own bearer token
// (TESSERA_REVOCATIONS_TOKEN); absent (404) when that is unset. It carries opaque ids only.
import { createHash, timingSafeEqual } from 'node:crypto';
import { errorResult, InvalidRequestError, TesseraError } from '@tessera/auth';
import type { FastifyInstance } from 'fastify';
import { send } from '../http-errors.js';
import { FeedHub, tooFull, type FeedStream } from '../revocations/feed-hub.js';
import type { Runtime } from '../runtime.js';

/** How long an ended stream may take to flush before its connection is cut. */
const END_GRACE_MS = 1000;

/** A cursor is an event id: digits, within a safe integer. */
const EVENT_ID = /^\d{1,15}$/;

export function revocationRoutes(app: FastifyInstance, runtime: Runtime): FeedHub | undefined {
  const { config, log } = runtime;
  const token = config.revocationsToken;
  if (token === undefined) return undefined;
  const hub = new FeedHub({
    store: runtime.database.store,
    db: runtime.database.db,
    clock: runtime.clock,
    log,
    tokenLife: config.accessTtl + config.leeway,
  });
  // The Redis bus announces revocations the moment they commit: read SQL at once rather than at the next poll.
  runtime.bus?.subscribe(() => hub.wake()).catch((err: unknown) => log.warn({ err: String(err) }, 'revocation feed: the bus did not subscribe'));
  // Draining: every stream gets a `retry:` hint and is closed, so a drain never waits on feed clients.
  runtime.onDrain(() => hub.close());
  app.addHook('preClose', async () => {
    hub.close();
  });
  // Compared as SHA-256 digests in constant time: equal lengths, so neither the token nor its length leaks.
  const expected = createHash('sha256').update(token).digest();

  app.get('/revocations', { schema: { hide: true } }, async (request, reply) => {
    // The scheme is case-insensitive (RFC 9110 §11.1); the token is compared exactly.
    const header = request.headers.authorization ?? '';
    const presented = /^bearer [^\s]/i.test(header) ? header.slice(7) : '';
    const given = createHash('sha256').update(presented).digest();
    if (!timingSafeEqual(given, expected))
      return send(
        reply,
        errorResult(new TesseraError('token_invalid', { message: 'The revocations token is missing or wrong', tokenPresented: false })),
      );
    const last = request.headers['last-event-id'];
    let lastEventId: number | undefined;
    if (last !== undefined) {
      if (typeof last !== 'string' || !EVENT_ID.test(last))
        return send(reply, errorResult(new InvalidRequestError({ message: 'Last-Event-ID must be an event id of this feed' })));
      lastEventId = Number(last);
    }
    if (runtime.draining)
      return send(
        reply,
        errorResult(new TesseraError('store_unavailable', { message: 'This instance is draining: reconnect to another one', retryAfter: 1 })),
      );

    // The response is written by hand from here: Fastify would wait for a payload that never ends.
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      // Proxies that buffer (nginx) would hold events back.
      'x-accel-buffering': 'no',
      // One stream per connection: once it ends, the connection goes too, so a drain has nothing left to wait for.
      connection: 'close',
    });
    const stream: FeedStream = {
      write: (text) => {
        if (raw.destroyed || raw.writableEnded) return true;
        raw.write(text);
        return !tooFull(raw.writableLength);
      },
      end: () => {
        raw.end();
        // A client that stopped reading would hold the connection (and a drain) open: cut it after a grace.
        setTimeout(() => raw.destroy(), END_GRACE_MS).unref();
      },
    };
    raw.once('close', () => hub.detach(stream));
    try {
      await hub.attach(stream, lastEventId);
    } catch (err) {
      // The database does not answer: the client reconnects from its cursor after the hint.
      log.warn({ err: String(err) }, 'revocation feed: a stream could not start');
      if (!raw.writableEnded) raw.end(`retry: 1000\n\n`);
    }
  });
  return hub;
}
