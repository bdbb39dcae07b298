// The baseline of bench/server (child process): bare Fastify 5 answering the JSON /auth/me answers, no auth, no hooks.
// Usage: node --import tsx bench/server/bare.ts
import Fastify from 'fastify';
import type { AddressInfo } from 'node:net';

export const BARE_BODY = { id: 'bench-user-id', username: 'meuser', roles: [] as string[] };

const app = Fastify({ logger: false });
app.get('/bare', async () => BARE_BODY);
await app.listen({ port: 0, host: '127.0.0.1' });
process.send?.({ ready: true, port: (app.server.address() as AddressInfo).port });
process.once('SIGTERM', () => process.exit(0));
