// The baseline of bench/server (child process): bare Fastify 5, no auth, no hooks. `/bare` answers the JSON /auth/me
// answers; `/bare-me` answers the same bytes /auth/me does (a 16-character id as users get, and /auth/me's headers:
// JSON type, no-store, no-cache, nosniff), so that only the server's own work differs.
// Usage: node --import tsx bench/server/bare.ts
import Fastify from 'fastify';
import type { AddressInfo } from 'node:net';

export const BARE_BODY = { id: 'bench-user-id', username: 'meuser', roles: [] as string[] };
const ME_BODY = JSON.stringify({ id: 'bench-user-id-16', username: 'meuser', roles: [] });

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
await app.listen({ port: 0, host: '127.0.0.1' });
process.send?.({ ready: true, port: (app.server.address() as AddressInfo).port });
process.once('SIGTERM', () => process.exit(0));
