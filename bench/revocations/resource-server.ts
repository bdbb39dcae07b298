// bench/revocations' resource server, in a process of its own: a plain node:http server whose one route
// verifies the bearer token with `@tessera/auth/remote` (the issuer's JWKS and its revocation feed).
// Answers 200 or the refusal's status; tells its parent over IPC once the feed is live.
import { createServer } from 'node:http';
import { createRemoteVerifier } from '@tessera/auth/remote';

const [jwksBase, feedBase, token] = process.argv.slice(2) as [string, string, string];
const verifier = createRemoteVerifier({
  issuer: 'urn:tessera',
  audience: 'urn:tessera:api',
  jwksUrl: `${jwksBase}/.well-known/jwks.json`,
  revocationsUrl: `${feedBase}/revocations`,
  revocationsToken: token,
});

const server = createServer((request, response) => {
  const header = request.headers.authorization ?? '';
  verifier.verify(header.startsWith('Bearer ') ? header.slice(7) : '').then(
    () => response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'),
    (err: unknown) => {
      const status =
        typeof err === 'object' && err !== null && typeof (err as { status?: unknown }).status === 'number'
          ? (err as { status: number }).status
          : 500;
      const code = (err as { code?: unknown }).code;
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: code }));
    },
  );
});

server.listen(0, '127.0.0.1', () => {
  const wait = setInterval(() => {
    if (verifier.revocationState !== 'live') return;
    clearInterval(wait);
    const address = server.address();
    process.send?.({ ready: true, port: typeof address === 'object' && address !== null ? address.port : 0 });
  }, 20);
});

process.on('SIGTERM', () => {
  void verifier.close().finally(() => server.close(() => process.exit(0)));
});
