// The authorization code flow in a real browser: Debian's Chromium (playwright-core) signs in through the server's
// own page, driven by oauth4webapi as the client (authorization URL with PKCE S256 and `dpop_jkt`, then
// `validateAuthResponse` with its `iss` check, then the token request with a DPoP proof). The browser follows the
// 303 to a real callback server on a loopback port that was not registered (RFC 8252 §7.3), under the page's CSP
// (`form-action` must allow that redirect), and sends the Origin the POST's check requires. A client that is not
// first party gets the consent page; Deny comes back as `access_denied`.
import { createServer } from 'node:http';
import { calculateThumbprint } from 'dpop';
import * as oauth from 'oauth4webapi';
import { chromium, type Browser, type Page } from 'playwright-core';
import { listen, type RunningApp } from '@tessera/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addClient, registerUser, startOAuthServer, type OAuthServer } from '../support/oauth-server.js';

const insecure = { [oauth.allowInsecureRequests]: true } as const;
/** Registered without a port: the callback server listens wherever it can. */
const REGISTERED = 'http://127.0.0.1/callback';

describe('code + PKCE through the sign-in page, in Chromium', () => {
  let server: OAuthServer;
  let callbackApp: RunningApp;
  let redirectUri: string;
  let browser: Browser;
  let as: oauth.AuthorizationServer;
  let user: { id: string; username: string; password: string };

  beforeAll(async () => {
    server = await startOAuthServer();
    user = await registerUser(server);
    await addClient(server, { id: 'spa', public: true, firstParty: true, redirectUris: [REGISTERED] });
    await addClient(server, { id: 'partner', public: true, redirectUris: [REGISTERED] });
    callbackApp = await listen(
      createServer((request, response) => {
        response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>callback</title><p>back in the app</p>');
        request.resume();
      }),
    );
    redirectUri = `http://127.0.0.1:${callbackApp.port}/callback`;
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    const issuer = new URL(server.issuer);
    as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
  });
  afterAll(async () => {
    await browser?.close();
    await callbackApp?.close();
    await server?.close();
  });

  /** What would show a broken page: uncaught errors and console errors (CSP violations among them). */
  function watch(page: Page): { problems: string[]; origins: string[] } {
    const problems: string[] = [];
    const origins: string[] = [];
    page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    page.on('request', (request) => {
      if (request.method() === 'POST') void request.headerValue('origin').then((origin) => origins.push(origin ?? '(none)'));
    });
    return { problems, origins };
  }

  /** An authorization request built by oauth4webapi's helpers, and what redeems it. */
  async function authorization(clientId: string, extra: Record<string, string> = {}) {
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const url = new URL(as.authorization_endpoint as string);
    const params = {
      client_id: clientId,
      redirect_uri: redirectUri,
      response_type: 'code',
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      ...extra,
    };
    for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
    return { url, verifier, state };
  }

  async function signIn(page: Page, url: URL): Promise<void> {
    await page.goto(url.href);
    await page.getByLabel('Username').fill(user.username);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  it('signs in, comes back with a code oauth4webapi validates (iss included), and redeems it for DPoP-bound tokens', async () => {
    const client: oauth.Client = { client_id: 'spa' };
    const keyPair = await oauth.generateKeyPair('ES256');
    const jkt = await calculateThumbprint(keyPair.publicKey);
    const { url, verifier, state } = await authorization('spa', { scope: 'notes:read notes:write', dpop_jkt: jkt });
    const context = await browser.newContext();
    const page = await context.newPage();
    const { problems, origins } = watch(page);
    await signIn(page, url);
    await page.waitForURL((target) => target.pathname === '/callback');
    await page.getByText('back in the app').waitFor();
    const callback = new URL(page.url());
    expect(callback.origin).toBe(`http://127.0.0.1:${callbackApp.port}`);
    // The browser posted from the page with the issuer's Origin (the page's Referrer-Policy keeps it), and nothing broke.
    expect(origins).toEqual([server.url]);
    expect(problems).toEqual([]);
    // No sign-in cookie: the next authorization signs in again.
    expect(await context.cookies(server.url)).toEqual([]);
    await context.close();

    const params = oauth.validateAuthResponse(as, client, callback, state);
    expect(callback.searchParams.get('iss')).toBe(server.issuer);
    const DPoP = oauth.DPoP(client, keyPair);
    const redeem = async () =>
      oauth.processAuthorizationCodeResponse(
        as,
        client,
        await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, redirectUri, verifier, { DPoP, ...insecure }),
      );
    let tokens: oauth.TokenEndpointResponse;
    try {
      tokens = await redeem();
    } catch (err) {
      // RFC 9449 §8: the first proof may be sent back for a nonce; the code is not spent by that.
      if (!oauth.isDPoPNonceError(err)) throw err;
      tokens = await redeem();
    }
    expect(tokens.token_type.toLowerCase()).toBe('dpop');
    const claims = JSON.parse(Buffer.from(tokens.access_token.split('.')[1] as string, 'base64url').toString('utf8')) as Record<string, unknown>;
    expect(claims).toMatchObject({ sub: user.id, client_id: 'spa', scope: 'notes:read notes:write', cnf: { jkt } });
  });

  it('asks a client that is not first party for consent, naming it; Allow brings the code, Deny access_denied', async () => {
    for (const decision of ['Allow', 'Deny'] as const) {
      const { url, state } = await authorization('partner');
      const context = await browser.newContext();
      const page = await context.newPage();
      const { problems } = watch(page);
      await signIn(page, url);
      await page.getByText('partner wants to act for').waitFor();
      await page.getByRole('button', { name: decision }).click();
      await page.waitForURL((target) => target.pathname === '/callback');
      const callback = new URL(page.url());
      expect(problems).toEqual([]);
      await context.close();
      if (decision === 'Allow') {
        expect(oauth.validateAuthResponse(as, { client_id: 'partner' }, callback, state).get('code')).toMatch(/^[A-Za-z0-9_-]{43}$/);
      } else {
        expect(() => oauth.validateAuthResponse(as, { client_id: 'partner' }, callback, state)).toThrow(
          expect.objectContaining({ error: 'access_denied' }) as Error,
        );
      }
    }
  });

  it('shows a wrong password as the form again, with no redirect', async () => {
    const { url } = await authorization('spa');
    const context = await browser.newContext();
    const page = await context.newPage();
    const { problems } = watch(page);
    await page.goto(url.href);
    await page.getByLabel('Username').fill(user.username);
    await page.getByLabel('Password').fill('not the password at all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Invalid username or password.').waitFor();
    expect(new URL(page.url()).pathname).toBe('/oauth/authorize');
    expect(problems).toEqual([]);
    await context.close();
  });
});
