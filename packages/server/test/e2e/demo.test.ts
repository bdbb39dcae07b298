// The demo page in Debian's Chromium against the real server, with 3-second access tokens: staying
// signed in through many expiries, two tabs refreshing at once, reload, logout seen by the other
// tab, logging in through the form, catching up when a hidden tab becomes visible, and the cookie
// transport with its CSRF header.
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  artifactsFolder,
  callMe,
  launchChromium,
  PASSWORD,
  refreshCount,
  register,
  startDemoServer,
  watchProblems,
  type DemoServer,
} from './harness.js';

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

async function newContext(): Promise<BrowserContext> {
  return browser.newContext({ viewport: { width: 1100, height: 900 }, colorScheme: 'light' });
}

/** Calls the API through the page every `every` ms for `ms`, and answers the status lines. */
async function keepCalling(page: Page, ms: number, every = 400): Promise<string[]> {
  const lines: string[] = [];
  const end = Date.now() + ms;
  while (Date.now() < end) {
    lines.push(await callMe(page));
    await page.waitForTimeout(every);
  }
  return lines;
}

/** Makes the page hidden or visible as far as its script can tell, and says so with `visibilitychange`. */
async function setVisibility(page: Page, state: 'hidden' | 'visible'): Promise<void> {
  await page.evaluate((value) => {
    // Runs in the page; the tests are type-checked without DOM types.
    const doc = (globalThis as unknown as { document: EventTarget }).document;
    Object.defineProperty(doc, 'visibilityState', { configurable: true, get: () => value });
    Object.defineProperty(doc, 'hidden', { configurable: true, get: () => value === 'hidden' });
    doc.dispatchEvent(new Event('visibilitychange'));
  }, state);
}

describe('hybrid (the default), access tokens of 3 s', () => {
  let server: DemoServer;
  beforeAll(async () => {
    // Every refresh is held 300 ms, so that two tabs refreshing together are truly in flight together.
    server = await startDemoServer({ TESSERA_ACCESS_TTL: '3s', TESSERA_TRANSPORT: 'bearer,hybrid' }, { refreshDelayMs: 300 });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('serves the page under the page security headers, with no inline script', async () => {
    const response = await fetch(server.url);
    expect(response.status).toBe(200);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("'unsafe-inline' 'unsafe-eval'");
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await response.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const client = await fetch(new URL('/demo/client/index.js', server.url));
    expect(client.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect((await fetch(new URL('/demo/client/..%2f..%2fpackage.json', server.url))).status).toBe(404);
  });

  it('stays signed in through several expiries while calling the API, and refreshes', async () => {
    const context = await newContext();
    const page = await context.newPage();
    const problems = watchProblems(page);
    await page.goto(server.url);
    await page.getByText('Signed out').waitFor();
    await register(page, 'ada');
    await expect.poll(() => page.locator('#transport').textContent(), { timeout: 5_000 }).toBe('hybrid');

    const lines = await keepCalling(page, 10_000);
    expect(lines.length).toBeGreaterThan(10);
    expect(lines.filter((l) => !l.startsWith('200 OK'))).toEqual([]);
    // Three-second tokens over ten seconds: at least four refreshes, and the page never left.
    expect(await refreshCount(page)).toBeGreaterThanOrEqual(4);
    expect(await page.getByText('Signed in as ada').isVisible()).toBe(true);
    expect(await page.locator('#status').textContent()).toBe('');
    expect(await server.liveSessions('ada')).toBe(1);

    // The countdown is live.
    const first = await page.locator('#countdown').textContent();
    await page.waitForTimeout(300);
    expect(await page.locator('#countdown').textContent()).not.toBe(first);

    await page.screenshot({ path: join(artifactsFolder(), 'demo-signed-in.png'), fullPage: true });
    expect(problems).toEqual([]);
    await context.close();
  });

  it('two tabs refreshing at the same moment both stay signed in, on one session; reload restores it; a logout reaches the other tab', async () => {
    const context = await newContext();
    const one = await context.newPage();
    const problems = [...watchProblems(one)];
    await one.goto(server.url);
    await one.getByText('Signed out').waitFor();
    await register(one, 'grace');

    // The second tab of the same browser finds the session through the refresh cookie.
    const two = await context.newPage();
    const twoProblems = watchProblems(two);
    await two.goto(server.url);
    await two.getByText('Signed in as grace').waitFor();
    expect(await server.liveSessions('grace')).toBe(1);

    // Both press "Refresh now" at one agreed instant.
    const replaysBefore = await server.refreshes('grace_replay');
    const at = Date.now() + 500;
    const click = `setTimeout(() => document.getElementById('refresh-now').click(), ${at} - Date.now())`;
    await Promise.all([one.evaluate(click), two.evaluate(click)]);
    await one.waitForTimeout(1_500);
    // One rotated, the other came in with the same (previous) token inside the grace window.
    expect(await server.refreshes('grace_replay')).toBeGreaterThan(replaysBefore);
    for (const page of [one, two]) {
      expect(await page.getByText('Signed in as grace').isVisible()).toBe(true);
      expect(await callMe(page)).toMatch(/^200 OK/);
    }
    expect(await server.liveSessions('grace')).toBe(1);

    // Both keep going through more expiries, refreshing (or adopting the other's refresh).
    const [linesOne, linesTwo] = await Promise.all([keepCalling(one, 5_000, 500), keepCalling(two, 5_000, 500)]);
    expect([...linesOne, ...linesTwo].filter((l) => !l.startsWith('200 OK'))).toEqual([]);
    expect(await server.liveSessions('grace')).toBe(1);

    // A reload takes the session up again with one refresh through the cookie.
    await two.reload();
    await two.getByText('Signed in as grace').waitFor();
    expect(await callMe(two)).toMatch(/^200 OK/);
    expect(await server.liveSessions('grace')).toBe(1);
    await expect.poll(() => two.locator('#sessions tr').count(), { timeout: 5_000 }).toBe(1);

    // Log out in one tab: the other notices at once.
    await one.getByRole('button', { name: 'Log out', exact: true }).click();
    await one.getByText('Signed out').waitFor();
    await two.getByText('Signed out').waitFor({ timeout: 5_000 });
    expect(await server.liveSessions('grace')).toBe(0);
    // And the reloaded page stays signed out: the cookie went with the session.
    await two.reload();
    await two.getByText('Signed out').waitFor();
    expect(await two.getByText('Signed in as grace').isVisible()).toBe(false);

    expect([...problems, ...twoProblems]).toEqual([]);
    await context.close();
  });

  it('logs in through the form: a wrong password is refused and stays signed out, the right one signs in', async () => {
    // The account is made (and signed out of) in one browser, then used from a fresh one.
    const first = await newContext();
    const setup = await first.newPage();
    await setup.goto(server.url);
    await setup.getByText('Signed out').waitFor();
    await register(setup, 'hedy');
    await setup.getByRole('button', { name: 'Log out', exact: true }).click();
    await setup.getByText('Signed out').waitFor();
    await first.close();
    expect(await server.liveSessions('hedy')).toBe(0);

    const context = await newContext();
    const page = await context.newPage();
    const problems = watchProblems(page);
    await page.goto(server.url);
    await page.getByText('Signed out').waitFor();

    await page.getByLabel('Username').fill('hedy');
    await page.getByLabel('Password').fill(`${PASSWORD}!`);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').getByText('Wrong username or password.').waitFor();
    expect(await page.locator('#status').textContent()).toBe('Signed out');
    expect(await page.locator('#signed-in').isHidden()).toBe(true);
    expect(await server.liveSessions('hedy')).toBe(0);

    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByText('Signed in as hedy').waitFor();
    expect(await page.locator('#transport').textContent()).toBe('hybrid');
    expect(await callMe(page)).toMatch(/^200 OK/);
    expect(await server.liveSessions('hedy')).toBe(1);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('a tab that was hidden while its token lapsed refreshes as soon as it is visible again', async () => {
    const context = await newContext();
    const page = await context.newPage();
    const problems = watchProblems(page);
    // The page's clock is Playwright's: pausing it stands for a tab whose timers do not run
    // (throttled, or the machine asleep), and setting the wall clock without running timers for waking up.
    await page.clock.install();
    await page.goto(server.url);
    await page.getByText('Signed out').waitFor();
    await register(page, 'joan');

    // A fresh token (expires_in 2 s): its proactive refresh is now ~1.6 s of timer time away.
    const before = await refreshCount(page);
    await page.getByRole('button', { name: 'Refresh now' }).click();
    await expect.poll(() => refreshCount(page), { timeout: 5_000 }).toBe(before + 1);

    // Hidden; no timer runs while the token lapses on the server too.
    await setVisibility(page, 'hidden');
    await page.clock.pauseAt(Date.now() + 10);
    await page.waitForTimeout(3_500);
    await page.clock.setSystemTime(Date.now());
    // Awake, still hidden (and hidden again, say minimised): the timer has not come due, and a hidden
    // tab does not catch up, so nothing refreshes.
    await setVisibility(page, 'hidden');
    await page.clock.runFor(50);
    await page.waitForTimeout(800);
    expect(await refreshCount(page)).toBe(before + 1);

    // Visible: the client sees the token has lapsed and refreshes at once (timers still paused
    // but for the 50 ms run below, far short of the stale timer).
    await setVisibility(page, 'visible');
    await page.clock.runFor(50);
    await expect.poll(() => refreshCount(page), { timeout: 3_000 }).toBe(before + 2);

    await page.clock.resume();
    expect(await page.getByText('Signed in as joan').isVisible()).toBe(true);
    expect(await callMe(page)).toMatch(/^200 OK/);
    expect(await refreshCount(page)).toBe(before + 2);
    expect(await server.liveSessions('joan')).toBe(1);
    expect(problems).toEqual([]);
    await context.close();
  });
});

describe('cookie transport (the server allows no other), access tokens of 3 s', () => {
  let server: DemoServer;
  beforeAll(async () => {
    server = await startDemoServer({ TESSERA_ACCESS_TTL: '3s', TESSERA_TRANSPORT: 'cookie' });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('falls back to cookies, sends the CSRF header on changes (and is refused without it), and survives reloads and expiries', async () => {
    const context = await newContext();
    const page = await context.newPage();
    const problems = watchProblems(page);
    await page.goto(server.url);
    await page.getByText('Signed out').waitFor();
    await register(page, 'lin');
    await expect.poll(() => page.locator('#transport').textContent(), { timeout: 5_000 }).toBe('cookie');

    // No token is readable by the page; the access cookie is HttpOnly.
    const cookies = await context.cookies();
    expect(cookies.find((c) => c.name === '__Host-tessera-access')).toMatchObject({ httpOnly: true, secure: true, path: '/' });
    expect(cookies.find((c) => c.name === '__Secure-tessera-refresh')).toMatchObject({ httpOnly: true, path: '/auth' });
    expect(cookies.find((c) => c.name === '__Host-tessera-csrf')).toMatchObject({ httpOnly: false });

    const lines = await keepCalling(page, 7_000);
    expect(lines.filter((l) => !l.startsWith('200 OK'))).toEqual([]);
    expect(await refreshCount(page)).toBeGreaterThanOrEqual(2);

    // A state-changing call from the page without the header is refused, and changes nothing.
    const bare = await page.evaluate(async () => {
      const response = await fetch('/auth/logout-all', { method: 'POST' });
      return { status: response.status, body: (await response.json()) as { error: string } };
    });
    expect(bare).toEqual({ status: 403, body: { error: 'csrf_failed', message: expect.any(String) } });
    expect(await server.liveSessions('lin')).toBe(1);

    // Another device signs in; this page revokes it with DELETE (CSRF header added by the client).
    const other = await fetch(new URL('/auth/login', server.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'lin', password: PASSWORD }),
    });
    expect(other.status).toBe(200);
    await page.getByRole('button', { name: 'Reload' }).click();
    await expect.poll(() => page.locator('#sessions tr').count(), { timeout: 5_000 }).toBe(2);
    const row = page.locator('#sessions tr', { hasNot: page.getByText('this tab') });
    await row.getByRole('button', { name: 'Revoke' }).click();
    await expect.poll(() => page.locator('#sessions tr').count(), { timeout: 5_000 }).toBe(1);
    expect(await server.liveSessions('lin')).toBe(1);

    // Reload: the cookie session is still there (the client asks /auth/me).
    await page.reload();
    await page.getByText('Signed in as lin').waitFor();
    expect(await callMe(page)).toMatch(/^200 OK/);

    await page.getByRole('button', { name: 'Log out everywhere' }).click();
    await page.getByText('Signed out').waitFor();
    expect(await server.liveSessions('lin')).toBe(0);
    expect(problems).toEqual([]);
    await context.close();
  });
});
