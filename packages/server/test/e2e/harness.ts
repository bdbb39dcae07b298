// What the browser tests stand on: the real server on 127.0.0.1 (never `localhost`: another site
// for cookies) over a temporary SQLite file, and Debian's Chromium driven by playwright-core.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { buildApp } from '../../src/app.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { loadConfig } from '../../src/settings.js';

export const PASSWORD = 'correct horse battery';
/** test-artifacts/ at the repository root (gitignored): screenshots kept by CI. */
export const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'test-artifacts');

export interface DemoServer {
  readonly url: string;
  readonly runtime: Runtime;
  /** How many refreshes the server answered, by outcome (`rotated`, `grace_replay`). */
  refreshes(outcome: 'rotated' | 'grace_replay'): Promise<number>;
  liveSessions(username: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * Starts the server. `refreshDelayMs` holds every refresh request that long before it is handled,
 * so that two tabs refreshing "at the same moment" are certainly in flight together.
 */
export async function startDemoServer(env: Record<string, string>, options: { refreshDelayMs?: number } = {}): Promise<DemoServer> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-e2e-'));
  const runtime = await createRuntime(
    loadConfig({
      TESSERA_DATABASE_URL: `sqlite:${join(dir, 't.db')}`,
      TESSERA_LOG_LEVEL: 'silent',
      TESSERA_COOKIE_SECURE: 'true',
      TESSERA_PURGE_INTERVAL: '0',
      ...env,
    }),
    { keyReloadMs: 0 },
  );
  const app = await buildApp(runtime);
  const delay = options.refreshDelayMs ?? 0;
  if (delay > 0)
    app.addHook('onRequest', async (request) => {
      if (request.url === '/auth/refresh') await new Promise((resolve) => setTimeout(resolve, delay));
    });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
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
      await app.close();
      await runtime.close();
      rmSync(dir, { recursive: true, force: true });
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
