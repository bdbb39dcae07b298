// The OAuth examples against the real server, as a user runs them: `tessera serve` (the built CLI, `npm run build`
// first) with TESSERA_ISSUER on a loopback port, clients registered with `tessera clients add`, and Debian's
// Chromium (playwright-core) as the person signing in. The CLI tool catches the redirect on its own loopback port;
// the single-page app signs in with code + PKCE + DPoP, calls /auth/me with a proof, refreshes and signs out.
import { freePort, register, sqliteBackend } from '@tessera/test-kit';
import { serversWith } from '@tessera/test-kit/server';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signIn } from './cli.js';
import { start as startSpa } from './spa.js';

const { spawnServer, runCli } = serversWith({});
type ServerProcess = Awaited<ReturnType<typeof spawnServer>>;

describe('examples/oauth: a CLI tool and a single-page app signing in on Tessera', () => {
  const backend = sqliteBackend();
  let server: ServerProcess;
  let spa: { url: string; close(): Promise<void> };
  let browser: Browser;
  let issuer: string;
  let env: Record<string, string>;
  let user: { username: string; password: string };

  beforeAll(async () => {
    const port = await freePort();
    issuer = `http://127.0.0.1:${port}`;
    // The app first: its origin goes into the server's CORS list.
    spa = await startSpa(0, { issuer, clientId: 'example-spa' });
    env = { ...backend.env, TESSERA_ISSUER: issuer, TESSERA_CORS_ORIGINS: spa.url, TESSERA_LOG_LEVEL: 'warn', TESSERA_PURGE_INTERVAL: '0' };
    server = await spawnServer(env, { port });
    for (const args of [
      ['clients', 'add', 'example-cli', '--public', '--first-party', '--redirect-uri', 'http://127.0.0.1/callback'],
      ['clients', 'add', 'example-spa', '--public', '--first-party', '--redirect-uri', `${spa.url}/`],
    ]) {
      const added = await runCli(args, env);
      expect(added.code, added.stderr).toBe(0);
    }
    user = await register(server.url);
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await spa?.close();
    await server?.stop();
    await backend.cleanup();
  });

  /** What would show a broken page: uncaught errors and console errors (CSP and CORS refusals among them). */
  function watch(page: Page): string[] {
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    return problems;
  }

  /** The person at the sign-in page: username, password, submit. */
  async function signInOnPage(page: Page): Promise<void> {
    await page.waitForURL((url) => url.pathname === '/oauth/authorize');
    await page.fill('#username', user.username);
    await page.fill('#password', user.password);
    await page.click('button[type=submit]');
  }

  it('the CLI tool signs in through the browser and a loopback redirect, gets DPoP-bound tokens, refreshes and signs out', async () => {
    const page = await browser.newPage();
    const problems = watch(page);
    const session = await signIn({
      issuer,
      clientId: 'example-cli',
      open: async (url) => {
        await page.goto(url.href);
        await signInOnPage(page);
      },
    });
    await expect.poll(() => page.textContent('body')).toContain('You are signed in');
    expect(session.tokens.token_type).toBe('dpop');

    const me = await session.fetch(`${issuer}/auth/me`);
    expect(me.status).toBe(200);
    expect(((await me.json()) as { username: string }).username).toBe(user.username);

    const first = session.tokens.refresh_token;
    expect((await session.refresh()).refresh_token).not.toBe(first);
    await session.signOut();
    await expect(session.refresh()).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('the single-page app signs in with code + PKCE + DPoP, calls /auth/me with a proof, refreshes and signs out', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems = watch(page);
    await page.goto(`${spa.url}/`);
    await expect.poll(() => page.textContent('#status')).toBe('Signed out');

    await page.click('#sign-in');
    await signInOnPage(page);
    await page.waitForURL(`${spa.url}/`);
    await expect.poll(() => page.textContent('#status')).toMatch(/^Signed in as /);
    expect(await page.textContent('#token-type')).toBe('dpop');
    expect(await page.textContent('#jkt')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await page.textContent('#error')).toBe('');

    await page.click('#call-api');
    await expect.poll(() => page.textContent('#me')).toBe(user.username);

    await page.click('#refresh');
    await expect.poll(() => page.textContent('#refreshes')).toBe('1');
    expect(await page.textContent('#error')).toBe('');

    await page.click('#sign-out');
    await expect.poll(() => page.textContent('#status')).toBe('Signed out');
    // The session is over on the server: the refresh token it still holds is refused.
    await page.click('#refresh');
    await expect.poll(() => page.textContent('#error')).toMatch(/^invalid_grant/);
    // The refused refresh token answer is the only error the page logged.
    expect(problems.filter((p) => !p.includes('400'))).toEqual([]);
    await context.close();
  });
});
