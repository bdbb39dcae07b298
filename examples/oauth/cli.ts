// A command-line tool that signs its user in through the browser (RFC 8252, OAuth for native apps): the
// authorization code flow with PKCE, the redirect caught by a one-shot HTTP server on a loopback port the system
// picks (the server ignores the port of a registered `http://127.0.0.1/callback`, RFC 8252 §7.3), and tokens bound
// to a DPoP key that never leaves this process (RFC 9449), so a copied refresh token is useless elsewhere.
//
//   tessera clients add my-cli --public --redirect-uri http://127.0.0.1/callback
//   node --import tsx examples/oauth/cli.ts https://auth.example.com my-cli
//
// oauth4webapi (npm) does the protocol work: discovery, the PKCE values, `iss` and `state` checks, the token
// requests and DPoP proofs with their nonce challenges.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import * as oauth from 'oauth4webapi';

/** What a sign-in needs. */
export interface CliOptions {
  /** The issuer (TESSERA_ISSUER of the Tessera server). */
  readonly issuer: string;
  /** The public client registered with `tessera clients add <id> --public --redirect-uri http://127.0.0.1/callback`. */
  readonly clientId: string;
  /** Shows the user the sign-in page: open a browser on it, or print it. */
  open(url: URL): Promise<void> | void;
  /** How long to wait for the browser to come back (default five minutes). */
  readonly timeoutMs?: number;
}

/** A signed-in session of the tool. */
export interface CliSession {
  /** The latest token answer (`token_type` is `dpop`: the tokens are bound to this process's key). */
  readonly tokens: oauth.TokenEndpointResponse;
  /** Rotates the refresh token, with a proof by the same key. */
  refresh(): Promise<oauth.TokenEndpointResponse>;
  /** A request to a protected resource with the access token and a DPoP proof (nonce challenges answered). */
  fetch(url: string, method?: string): Promise<Response>;
  /** Signs out: revokes the refresh token, which ends the session on the server (RFC 7009). */
  signOut(): Promise<void>;
}

/** Plain http is allowed for a loopback issuer only (a local server, tests). */
function httpOptions(issuer: URL): { [oauth.allowInsecureRequests]?: boolean } {
  return issuer.protocol === 'http:' && ['127.0.0.1', '[::1]'].includes(issuer.hostname) ? { [oauth.allowInsecureRequests]: true } : {};
}

/** Runs `request` once more when the server answers with a DPoP nonce challenge: the handle keeps the nonce it sent. */
async function withNonceRetry<T>(request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (err) {
    if (!oauth.isDPoPNonceError(err)) throw err;
    return request();
  }
}

/** Waits for one request to `/callback` on a loopback port and answers the browser with a page saying it may close. */
async function loopbackRedirect(timeoutMs: number): Promise<{ redirectUri: string; callback: Promise<URL>; close(): void }> {
  let deliver!: (url: URL) => void;
  let fail!: (err: Error) => void;
  const callback = new Promise<URL>((resolve, reject) => {
    deliver = resolve;
    fail = reject;
  });
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    if (url.pathname !== '/callback') return void response.writeHead(404).end();
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    response.end(
      '<!doctype html><title>Signed in</title><link rel="icon" href="data:,"><p>You are signed in. You can close this tab and go back to the terminal.</p>',
    );
    deliver(url);
  });
  // Loopback only (RFC 8252 §8.3): nothing on the network can reach the code.
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const timer = setTimeout(() => fail(new Error('Nobody signed in within the time allowed.')), timeoutMs);
  const close = (): void => {
    clearTimeout(timer);
    server.close();
    server.closeAllConnections();
  };
  return { redirectUri: `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`, callback, close };
}

/** Signs in through the browser and answers the session. */
export async function signIn(options: CliOptions): Promise<CliSession> {
  const issuer = new URL(options.issuer);
  const http = httpOptions(issuer);
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...http }));
  const client: oauth.Client = { client_id: options.clientId };
  const clientAuth = oauth.None();
  // A non-extractable key made for this run: the tokens are worthless without it (RFC 9449 §2).
  const DPoP = oauth.DPoP(client, await oauth.generateKeyPair('ES256'));

  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const loopback = await loopbackRedirect(options.timeoutMs ?? 300_000);
  let callback: URL;
  try {
    const url = new URL(as.authorization_endpoint as string);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: client.client_id,
      redirect_uri: loopback.redirectUri,
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    }).toString();
    await options.open(url);
    callback = await loopback.callback;
  } finally {
    loopback.close();
  }
  // Checks `state` and `iss` (RFC 9207: the answer came from this issuer) and surfaces `error` as an exception.
  const params = oauth.validateAuthResponse(as, client, callback, state);
  let tokens = await withNonceRetry(async () =>
    oauth.processAuthorizationCodeResponse(
      as,
      client,
      await oauth.authorizationCodeGrantRequest(as, client, clientAuth, params, loopback.redirectUri, verifier, { DPoP, ...http }),
    ),
  );

  return {
    get tokens() {
      return tokens;
    },
    async refresh() {
      tokens = await withNonceRetry(async () =>
        oauth.processRefreshTokenResponse(
          as,
          client,
          await oauth.refreshTokenGrantRequest(as, client, clientAuth, tokens.refresh_token as string, { DPoP, ...http }),
        ),
      );
      return tokens;
    },
    async fetch(url, method = 'GET') {
      return withNonceRetry(() => oauth.protectedResourceRequest(tokens.access_token, method, new URL(url), undefined, undefined, { DPoP, ...http }));
    },
    async signOut() {
      await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, clientAuth, tokens.refresh_token as string, http));
    },
  };
}

/** `node --import tsx examples/oauth/cli.ts <issuer> <client_id>`: prints the sign-in URL, waits, says who signed in. */
async function main(): Promise<void> {
  const [issuer, clientId] = process.argv.slice(2);
  if (issuer === undefined || clientId === undefined) {
    console.error('Usage: node --import tsx examples/oauth/cli.ts <issuer> <client_id>');
    process.exitCode = 2;
    return;
  }
  const session = await signIn({ issuer, clientId, open: (url) => console.log(`Open this page to sign in:\n\n  ${url.href}\n`) });
  const claims = JSON.parse(Buffer.from(session.tokens.access_token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub: string };
  console.log(`Signed in as ${claims.sub}; token type ${session.tokens.token_type}, the access token expires in ${session.tokens.expires_in} s.`);
  const me = await session.fetch(new URL('/auth/me', issuer).href);
  if (me.ok) console.log(`/auth/me: ${await me.text()}`);
  await session.signOut();
  console.log('Signed out: the session is revoked.');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
