// What the browser tests stand on: the real server on 127.0.0.1 (never `localhost`: another site
// for cookies) over a temporary SQLite file, and Debian's Chromium driven by playwright-core.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PASSWORD, sleep, sqliteBackend } from '@tessera/test-kit';
import { startServer, type Runtime } from '@tessera/test-kit/server';
import { chromium, type Browser, type Page } from 'playwright-core';
import { expect } from 'vitest';

export { PASSWORD };
/** test-artifacts/ at the repository root (gitignored): screenshots kept by CI. */
export const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'test-artifacts');

export interface DemoServer {
  /** http://127.0.0.1:port/ (the page's address). */
  readonly url: string;
  readonly runtime: Runtime;
  /** How many refreshes the server answered, by outcome (`rotated`, `grace_replay`). */
  refreshes(outcome: 'rotated' | 'grace_replay'): Promise<number>;
  liveSessions(username: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * Starts the server over a temporary SQLite file. `refreshDelayMs` holds every refresh request that long
 * before it is handled, so that two tabs refreshing "at the same moment" are certainly in flight together.
 */
export async function startDemoServer(env: Record<string, string>, options: { refreshDelayMs?: number } = {}): Promise<DemoServer> {
  const backend = sqliteBackend();
  const delay = options.refreshDelayMs ?? 0;
  const server = await startServer(
    { ...backend.env, TESSERA_LOG_LEVEL: 'silent', TESSERA_COOKIE_SECURE: 'true', TESSERA_PURGE_INTERVAL: '0', ...env },
    {
      prepare: (app) => {
        if (delay > 0)
          app.addHook('onRequest', async (request) => {
            if (request.url === '/auth/refresh') await sleep(delay);
          });
      },
    },
  );
  const { runtime } = server;
  return {
    url: `${server.url}/`,
    runtime,
    async refreshes(outcome) {
      const metric = await runtime.metrics.refreshes.get();
      return metric.values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
    },
    async liveSessions(username) {
      const user = await runtime.users.byUsername(username);
      return user === undefined ? 0 : (await runtime.auth.listSessions(user.id)).length;
    },
    async close() {
      await server.close();
      await backend.cleanup();
    },
  };
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** Collects what would show a broken page: uncaught errors and console errors (CSP violations among them). */
export function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    // Chromium logs every 4xx answer as a failed load: refusals the tests cause on purpose (a refused
    // transport at login, an expired token before its refresh, a missing CSRF header) are the API at work.
    if (message.type() === 'error' && !/status of 4\d\d/.test(message.text())) problems.push(`console: ${message.text()}`);
  });
  return problems;
}

/** Registers through the form (Register logs in as well) and waits for the signed-in view. */
export async function register(page: Page, username: string): Promise<void> {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Register' }).click();
  await page.getByText(`Signed in as ${username}`).waitFor();
}

/** Clicks "Call /auth/me" and answers the status line the page shows. */
export async function callMe(page: Page): Promise<string> {
  const answer = page.locator('#me-answer');
  const before = Number((await answer.getAttribute('data-call')) ?? 0);
  await page.getByRole('button', { name: 'Call /auth/me' }).click();
  await expect.poll(async () => Number((await answer.getAttribute('data-call')) ?? 0), { timeout: 10_000 }).toBeGreaterThan(before);
  return ((await answer.textContent()) ?? '').split('\n')[0] ?? '';
}

export async function refreshCount(page: Page): Promise<number> {
  return Number(await page.locator('#refresh-count').textContent());
}

export function artifactsFolder(): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return ARTIFACTS;
}
