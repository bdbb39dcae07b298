// TESSERA_PUBLIC_ORIGINS from a real browser (docs/architecture.md "Transports"): Debian's Chromium, with
// *.tessera.test and evil.test resolved to 127.0.0.1, runs a page on app.tessera.test against `tessera serve`
// on auth.tessera.test (same site: `.test` is no public suffix, so tessera.test is the site). The listed page
// logs in with the cookie transport and changes state with the CSRF header; a sibling that is not listed and
// a page on another site are refused 403 origin_refused. What Chromium sent as Sec-Fetch-Site is read from
// its own request log (DevTools' network events), so the test proves the browser calls these requests
// same-site and cross-site. Browsers send Fetch Metadata only to potentially trustworthy URLs (W3C Fetch
// Metadata, "Set the Sec-Fetch-Site header"), so the plain-http origins are marked secure, as HTTPS would make them.
import { createServer } from 'node:http';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, listen, PASSWORD, register, sqliteBackend, type RunningApp, type ServerProcess } from '@tessera/test-kit';
import { spawnServer } from '../support/harness.js';

/** A page with no script of its own: the test runs its requests in it, under no CSP but the browser's rules. */
const PAGE = '<!doctype html><html><head><meta charset="utf-8"><title>app</title></head><body>app</body></html>';

interface Outcome {
  readonly status: number;
  readonly body: unknown;
}

let browser: Browser;
let pages: RunningApp;
let auth: ServerProcess;
const backend = sqliteBackend();
/** http://auth.tessera.test:port: the server, by the name the browser uses. */
let AUTH: string;
/** The listed page's origin, and two that are not listed: a sibling subdomain and another site. */
let APP: string;
let SIBLING: string;
let EVIL: string;
/** Every request the browser made, by DevTools session and request id, with the headers it really sent. */
const sent = new Map<string, { url?: string; method?: string; origin?: string; site?: string }>();
let sessions = 0;

beforeAll(async () => {
  // The static pages: one tiny server answering every host name (app., other. and evil.).
  pages = await listen(
    createServer((request, response) => {
      if (request.url === '/') response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
      else response.writeHead(404).end();
    }),
  );
  const port = await freePort();
  AUTH = `http://auth.tessera.test:${port}`;
  APP = `http://app.tessera.test:${pages.port}`;
  SIBLING = `http://other.tessera.test:${pages.port}`;
  EVIL = `http://evil.test:${pages.port}`;
  auth = await spawnServer(
    {
      ...backend.env,
      // Plain http: no Secure, so the cookies are tessera-access, tessera-refresh and tessera-csrf, with no __Host- prefix.
      TESSERA_COOKIE_SECURE: 'false',
      TESSERA_TRANSPORT: 'bearer,cookie',
      TESSERA_PUBLIC_ORIGINS: `${APP},${AUTH}`,
      // Every public origin but the server's own needs CORS (loadConfig says so otherwise).
      TESSERA_CORS_ORIGINS: APP,
    },
    { port },
  );
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--host-resolver-rules=MAP *.tessera.test 127.0.0.1, MAP evil.test 127.0.0.1',
      `--unsafely-treat-insecure-origin-as-secure=${[APP, AUTH, SIBLING, EVIL].join(',')}`,
    ],
  });
});
afterAll(async () => {
  await browser?.close();
  await auth?.stop(5000);
  await pages?.close();
  await backend.cleanup();
});

/** A page on `origin` (in a fresh browser profile unless `context` is given), its requests logged. */
async function pageOn(origin: string, context?: BrowserContext): Promise<Page> {
  const page = await (context ?? (await browser.newContext())).newPage();
  const cdp = await page.context().newCDPSession(page);
  const session = ++sessions;
  const entry = (id: string): { url?: string; method?: string; origin?: string; site?: string } => {
    const key = `${session}:${id}`;
    const found = sent.get(key) ?? {};
    sent.set(key, found);
    return found;
  };
  // The request and the headers on the wire come as two events, in either order.
  cdp.on('Network.requestWillBeSent', (event) => Object.assign(entry(event.requestId), { url: event.request.url, method: event.request.method }));
  cdp.on('Network.requestWillBeSentExtraInfo', (event) => {
    const headers = Object.fromEntries(Object.entries(event.headers).map(([name, value]) => [name.toLowerCase(), String(value)]));
    Object.assign(entry(event.requestId), { origin: headers.origin, site: headers['sec-fetch-site'] });
  });
  await cdp.send('Network.enable');
  await page.goto(`${origin}/`);
  return page;
}

/** Runs fetch in the page; a fetch the browser itself refuses (CORS) answers status 0. */
function fetchIn(page: Page, url: string, init: { method: string; headers?: Record<string, string>; body?: string }): Promise<Outcome> {
  return page.evaluate(
    async ({ url, init }) => {
      try {
        const response = await fetch(url, { ...init, credentials: 'include' });
        const text = await response.text();
        return { status: response.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
      } catch {
        return { status: 0, body: undefined };
      }
    },
    { url, init },
  );
}

const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/**
 * Submits a form from the page's own origin to the auth server (the classic CSRF shape: a top-level POST needs
 * no preflight, so it reaches the server), and answers what the server answered, as the page then shows it.
 */
async function postForm(page: Page, path: string, fields: Record<string, string> = {}): Promise<Outcome> {
  const inputs = Object.entries(fields)
    .map(([name, value]) => `<input name="${escape(name)}" value="${escape(value)}">`)
    .join('');
  await page.setContent(`<form method="post" action="${AUTH}${path}">${inputs}<button>send</button></form>`);
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url() === `${AUTH}${path}` && r.request().method() === 'POST'),
    page.click('button'),
  ]);
  return { status: response.status(), body: await response.json() };
}

/** The Sec-Fetch-Site values the browser sent on its POSTs to `path` from `origin`. */
async function fetchSite(origin: string, path: string): Promise<string[]> {
  const posts = (): { site?: string }[] => [...sent.values()].filter((r) => r.origin === origin && r.url === `${AUTH}${path}` && r.method === 'POST');
  await expect.poll(() => posts().length).toBeGreaterThan(0);
  return [...new Set(posts().map((r) => r.site ?? '(none)'))];
}

describe('public origins from a real browser (Chromium, two same-site origins)', () => {
  it('the listed same-site page logs in with cookies, refreshes and logs out with the CSRF header', async () => {
    const user = await register(auth.url);
    const page = await pageOn(APP);
    const login = await fetchIn(page, `${AUTH}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: user.username, password: PASSWORD, transport: 'cookie' }),
    });
    expect(login.status, JSON.stringify(login.body)).toBe(200);
    const csrf = (login.body as { csrf_token?: string }).csrf_token;
    expect(typeof csrf).toBe('string');
    // The browser holds the cookies for auth.tessera.test, unprefixed and without Secure on plain http.
    const cookies = await page.context().cookies(`${AUTH}/auth/refresh`);
    expect(cookies.map((c) => c.name).sort()).toEqual(['tessera-access', 'tessera-csrf', 'tessera-refresh']);
    for (const cookie of cookies) expect(cookie.sameSite).toBe('Lax');

    const me = await fetchIn(page, `${AUTH}/auth/me`, { method: 'GET' });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ username: user.username });

    const refreshed = await fetchIn(page, `${AUTH}/auth/refresh`, { method: 'POST', headers: { 'x-csrf-token': csrf as string } });
    expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
    // Without the CSRF header the same-site page is still refused: the Origin check does not replace it.
    const noCsrf = await fetchIn(page, `${AUTH}/auth/refresh`, { method: 'POST' });
    expect(noCsrf).toMatchObject({ status: 403, body: { error: 'csrf_failed' } });

    const logout = await fetchIn(page, `${AUTH}/auth/logout`, { method: 'POST', headers: { 'x-csrf-token': csrf as string } });
    expect(logout.status).toBe(204);
    expect((await fetchIn(page, `${AUTH}/auth/me`, { method: 'GET' })).status).toBe(401);

    // Chromium called all of it same-site: the case TESSERA_PUBLIC_ORIGINS exists for.
    expect(await fetchSite(APP, '/auth/login')).toEqual(['same-site']);
    expect(await fetchSite(APP, '/auth/refresh')).toEqual(['same-site']);
    await page.context().close();
  });

  it('a same-site sibling that is not listed is refused 403 origin_refused, even with the session cookies', async () => {
    const user = await register(auth.url);
    // The user signs in on the listed page; the sibling's page then sends the browser's cookies along.
    const app = await pageOn(APP);
    const login = await fetchIn(app, `${AUTH}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: user.username, password: PASSWORD, transport: 'cookie' }),
    });
    expect(login.status).toBe(200);
    const sibling = await pageOn(SIBLING, app.context());
    // A form post needs no preflight, so it reaches the server, with the refresh cookie (same site: Lax sends it).
    const refused = await postForm(sibling, '/auth/refresh');
    expect(refused).toMatchObject({ status: 403, body: { error: 'origin_refused' } });
    expect(await fetchSite(SIBLING, '/auth/refresh')).toEqual(['same-site']);
    // The refusal changed nothing: the listed page still refreshes.
    const csrf = (login.body as { csrf_token: string }).csrf_token;
    expect((await fetchIn(app, `${AUTH}/auth/refresh`, { method: 'POST', headers: { 'x-csrf-token': csrf } })).status).toBe(200);
    await app.context().close();
  });

  it('a page on another site is refused 403 origin_refused (login CSRF by a form post)', async () => {
    const user = await register(auth.url);
    const page = await pageOn(EVIL);
    // JSON needs a preflight, and evil.test is not in TESSERA_CORS_ORIGINS: the browser never sends the login.
    const json = await fetchIn(page, `${AUTH}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: user.username, password: PASSWORD, transport: 'cookie' }),
    });
    expect(json.status).toBe(0);
    // A form reaches the server: refused before the credentials are even checked.
    const refused = await postForm(page, '/auth/login', { username: user.username, password: PASSWORD, transport: 'cookie' });
    expect(refused).toMatchObject({ status: 403, body: { error: 'origin_refused' } });
    expect(await fetchSite(EVIL, '/auth/login')).toEqual(['cross-site']);
    expect(await page.context().cookies(`${AUTH}/auth/refresh`)).toEqual([]);
    await page.context().close();
  });
});
