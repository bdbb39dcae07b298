// The interactive /docs page (TESSERA_DOCS=interactive) in Debian's Chromium: it loads under the pages' CSP with no
// violation, every request it makes stays on the server's origin, a `url` or `configUrl` in its address cannot point
// it at another document, and a "try it" request leaves without the origin's cookies (the server sees none, while a
// plain fetch from the same page carries them). One browser, one page.
import { join } from 'node:path';
import { sqliteBackend } from '@tessera/test-kit';
import type { TestServer } from '@tessera/test-kit/server';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAGE_HEADERS } from '../../src/routes/operations.js';
import { call, startServer } from '../support/harness.js';
import { artifactsFolder, launchChromium, watchProblems } from './harness.js';

/** Runs in the page before its scripts: a CSP violation becomes a console error, which `watchProblems` collects. */
const REPORT_VIOLATIONS = `document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));`;

describe('the interactive /docs page', () => {
  const backend = sqliteBackend();
  /** Every request the server received: its path and Cookie header. */
  const received: { path: string; cookie: string | undefined }[] = [];
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    [server, browser] = await Promise.all([
      startServer(
        // Plain http on 127.0.0.1: cookies are not Secure, so the access cookie is the bare tessera-access.
        { ...backend.env, TESSERA_DOCS: 'interactive', TESSERA_COOKIE_SECURE: 'false' },
        {
          prepare: (app) =>
            app.addHook('onRequest', (request, _reply, done) => {
              received.push({ path: request.url, cookie: request.headers.cookie });
              done();
            }),
        },
      ),
      launchChromium(),
    ]);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await backend.cleanup();
  });

  it('is served under the page headers, with no inline script and only same-origin references', async () => {
    const reply = await call(server.url, 'GET', '/docs');
    expect(reply.status).toBe(200);
    for (const [name, value] of Object.entries(PAGE_HEADERS)) expect(reply.header(name), name).toBe(value);
    expect(reply.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const references = [...reply.text.matchAll(/\b(?:src|href)\s*=\s*"([^"]*)"/g)].map((m) => m[1] as string);
    expect(references.length).toBeGreaterThan(3);
    for (const reference of references) expect(new URL(reference, `${server.url}/docs`).origin, reference).toBe(server.origin);
  });

  it('loads with no CSP violation and no request off the origin, ignores url and configUrl, and tries requests without cookies', async () => {
    const context = await browser.newContext({ viewport: { width: 1200, height: 1000 } });
    try {
      await context.addCookies([{ name: 'tessera-access', value: 'probe', url: server.url }]);
      const requested: string[] = [];
      await context.route('**/*', (route) => {
        const url = route.request().url();
        requested.push(url);
        return new URL(url).origin === server.origin ? route.continue() : route.abort();
      });
      const page = await context.newPage();
      const problems = watchProblems(page);
      await page.addInitScript({ content: REPORT_VIOLATIONS });

      const elsewhere = encodeURIComponent('http://127.0.0.1:1/evil.json');
      await page.goto(`${server.url}/docs?url=${elsewhere}&configUrl=${elsewhere}`);
      // The server's own document, by its title and an operation of it.
      await page.locator('.information-container .title').filter({ hasText: 'Tessera' }).waitFor({ timeout: 15_000 });
      const me = page.locator('#operations-account-me');
      await me.waitFor();

      // "Try it" on GET /auth/me: the request reaches the server with no Cookie header.
      await me.locator('.opblock-summary').first().click();
      await me.getByRole('button', { name: 'Try it out' }).click();
      await me.getByRole('button', { name: 'Execute' }).click();
      await me.locator('.live-responses-table').waitFor();
      await page.screenshot({ path: join(artifactsFolder(), 'docs-interactive.png'), fullPage: false });
      const tried = received.filter((r) => r.path === '/auth/me');
      expect(tried.length).toBeGreaterThan(0);
      expect(tried.map((r) => r.cookie)).toEqual(tried.map(() => undefined));
      // The control: the page's own same-origin fetch does carry the cookie, so its absence above is the UI's doing.
      await page.evaluate('fetch("/auth/me").then((r) => r.status)');
      expect(received.filter((r) => r.path === '/auth/me').at(-1)?.cookie).toBe('tessera-access=probe');

      expect(requested.length).toBeGreaterThan(3);
      expect(requested.filter((url) => new URL(url).origin !== server.origin)).toEqual([]);
      expect(received.map((r) => r.path)).toContain('/docs/json');
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);
});
