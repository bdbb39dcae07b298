// The baselines of bench/server (child process): bare Fastify 5, no auth, no hooks. `/bare` answers the JSON /auth/me
// answers; `/bare-me` answers the same bytes /auth/me does (a 16-character id as users get, and /auth/me's headers:
// JSON type, no-store, no-cache, nosniff), so that only the server's own work differs; `POST /bare/refresh` parses a
// JSON body and answers a body of a refresh answer's shape and size (the do-nothing twin of /auth/refresh).
// Usage: node --import tsx bench/server/bare.ts
import Fastify from 'fastify';
import type { AddressInfo } from 'node:net';

export const BARE_BODY = { id: 'bench-user-id', username: 'meuser', roles: [] as string[] };
const ME_BODY = JSON.stringify({ id: 'bench-user-id-16', username: 'meuser', roles: [] });

/** Shaped and sized as the server's refresh answer (an EdDSA access token; the HS256 refresh token is the one sent, echoed). */
const BARE_REFRESH_BODY = { token_type: 'Bearer', expires_in: 899, refresh_expires_in: 604799, access_token: 'a'.repeat(520) };

const app = Fastify({ logger: false });
app.get('/bare', async () => BARE_BODY);
app.get('/bare-me', async (_request, reply) =>
  reply
    .header('content-type', 'application/json; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('pragma', 'no-cache')
    .header('x-content-type-options', 'nosniff')
    .send(ME_BODY),
);
// The token sent comes back (as long as a real one), so that the load client's chains go on as they do against the server.
app.post('/bare/refresh', async (request) => ({ ...BARE_REFRESH_BODY, refresh_token: (request.body as { refresh_token: string }).refresh_token }));
await app.listen({ port: 0, host: '127.0.0.1' });
process.send?.({ ready: true, port: (app.server.address() as AddressInfo).port });
process.once('SIGTERM', () => process.exit(0));
