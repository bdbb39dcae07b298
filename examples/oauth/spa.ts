// Serves the single-page app of examples/oauth/spa/ (static files, no build step) with its settings at
// /config.json and oauth4webapi as a browser module at /vendor/oauth4webapi.js. The app signs in on a Tessera
// server with code + PKCE + DPoP; the server must list this app's origin in TESSERA_CORS_ORIGINS (its token,
// revocation and /auth/me requests are cross-origin) and know the app as a public client:
//
//   tessera clients add my-spa --public --redirect-uri http://127.0.0.1:5173/
//   TESSERA_ISSUER=https://auth.example.com TESSERA_CORS_ORIGINS=http://127.0.0.1:5173 tessera serve
//   node --import tsx examples/oauth/spa.ts https://auth.example.com my-spa     # PORT=5173 by default
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The files the app is made of, by path. */
function files(): Map<string, { type: string; body: Buffer }> {
  const here = join(import.meta.dirname, 'spa');
  const oauth4webapi = createRequire(import.meta.url).resolve('oauth4webapi');
  const js = 'text/javascript; charset=utf-8';
  return new Map([
    ['/', { type: 'text/html; charset=utf-8', body: readFileSync(join(here, 'index.html')) }],
    ['/app.js', { type: js, body: readFileSync(join(here, 'app.js')) }],
    ['/vendor/oauth4webapi.js', { type: js, body: readFileSync(oauth4webapi) }],
  ]);
}

/** Starts the app on `port` of 127.0.0.1 (0: any free one) for `issuer` and the public client `clientId`. */
export async function start(port: number, settings: { issuer: string; clientId: string }): Promise<{ url: string; close(): Promise<void> }> {
  const served = files();
  served.set('/config.json', { type: 'application/json', body: Buffer.from(JSON.stringify(settings)) });
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    const file = served.get(path);
    if (request.method !== 'GET' || file === undefined) return void response.writeHead(404).end();
    response.writeHead(200, {
      'content-type': file.type,
      'cache-control': 'no-store',
      // Scripts from this origin only; the app talks to the issuer and nothing else; never framed.
      'content-security-policy': `default-src 'none'; script-src 'self'; img-src data:; connect-src 'self' ${new URL(settings.issuer).origin}; frame-ancestors 'none'; base-uri 'none'; form-action 'none'`,
      'referrer-policy': 'no-referrer',
    });
    response.end(file.body);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [issuer, clientId] = process.argv.slice(2);
  if (issuer === undefined || clientId === undefined) {
    console.error('Usage: node --import tsx examples/oauth/spa.ts <issuer> <client_id>');
    process.exitCode = 2;
  } else {
    const app = await start(Number(process.env.PORT ?? 5173), { issuer, clientId });
    console.log(`The app is at ${app.url}/ (redirect URI ${app.url}/)`);
  }
}
