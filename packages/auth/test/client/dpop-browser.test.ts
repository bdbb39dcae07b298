// The DPoP add-on in Debian's Chromium (playwright-core) against the real server: the key WebCrypto makes
// is non-extractable, IndexedDB keeps it across a reload so the hybrid session's bound refresh cookie keeps
// working, and the tabs of one origin share one key, even when they make it at the same moment. The page
// is a blank document of the server's origin (served by Playwright, so no other script runs in it) that
// imports the built client modules the server serves under /demo/client/ (run `npm run build` first).
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as DpopModule from '../../src/client/dpop.js';
import type * as ClientModule from '../../src/client/index.js';
import { PASSWORD, startServer, uniqueName, type TestServer } from './server.js';

let server: TestServer;
let browser: Browser;
let context: BrowserContext;
let blank: string;

beforeAll(async () => {
  server = await startServer({ TESSERA_COOKIE_SECURE: 'true', TESSERA_TRANSPORT: 'hybrid,bearer' });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  // One context: its tabs share cookies, IndexedDB and BroadcastChannel, as a browser's tabs do.
  context = await browser.newContext();
  blank = new URL('dpop-test-page', server.url).href;
  // The page's one script loads the built modules and hands them to the test (`page.evaluate` bodies go
  // through Vite, which would rewrite an `import()` written there).
  const script = "import * as c from '/demo/client/index.js'; import * as d from '/demo/client/dpop.js'; globalThis.lib = { ...c, ...d };";
  const body = `<!doctype html><title>dpop</title><script type="module">${script}</script>`;
  await context.route(blank, (route) => route.fulfill({ status: 200, contentType: 'text/html', body }));
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function openTab(): Promise<Page> {
  const page = await context.newPage();
  await page.goto(blank);
  await page.waitForFunction(() => 'lib' in globalThis);
  return page;
}

/** What the page reports about its client and key. */
interface Report {
  jkt: string;
  extractable: boolean;
  algorithm: string;
  exported: string;
  signedIn: boolean;
  transport: string | undefined;
  me: number;
  bound: unknown;
  stored: string | undefined;
}

/**
 * In the page: the add-on and a hybrid client on it; `login` signs up and in, else the session is
 * restored. Reports the key (read back from IndexedDB too), the session and a call to /auth/me.
 */
function inPage(page: Page, username: string | undefined): Promise<Report> {
  return page.evaluate(
    async ({ username, password }) => {
      const { createClient, createDpop } = (globalThis as unknown as { lib: typeof ClientModule & typeof DpopModule }).lib;
      const dpop = createDpop();
      const client = createClient({ baseUrl: '/', transport: 'hybrid', fetch: dpop.fetch });
      let bound: unknown;
      if (username !== undefined) {
        await client.register({ username, password });
        await client.login({ username, password });
      } else await client.restore();
      const token = await client.getAccessToken();
      if (token !== undefined) bound = (JSON.parse(atob((token.split('.')[1] ?? '').replace(/-/g, '+').replace(/_/g, '/'))) as { cnf?: unknown }).cnf;
      const { privateKey } = await dpop.keyPair();
      const exported = await crypto.subtle.exportKey('jwk', privateKey).then(
        () => 'exported',
        (err: Error) => err.name,
      );
      // The key as IndexedDB holds it: the same public key, so the same thumbprint.
      const idb = (globalThis as unknown as { indexedDB: { open(name: string): { result: unknown; onsuccess: () => void; onerror: () => void } } })
        .indexedDB;
      const stored = await new Promise<string | undefined>((resolve) => {
        const open = idb.open('tessera-dpop');
        open.onerror = () => resolve(undefined);
        open.onsuccess = () => {
          const db = open.result as {
            transaction(s: string): { objectStore(s: string): { get(k: string): { result: unknown; onsuccess: () => void } } };
          };
          const get = db.transaction('keys').objectStore('keys').get('default');
          get.onsuccess = async () => {
            const pair = get.result as { publicKey: Parameters<typeof crypto.subtle.exportKey>[1] } | undefined;
            if (pair === undefined) return resolve(undefined);
            const { crv, kty, x, y } = await crypto.subtle.exportKey('jwk', pair.publicKey);
            const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(JSON.stringify({ crv, kty, x, y })));
            resolve(
              btoa(String.fromCharCode(...new Uint8Array(digest)))
                .replace(/\+/g, '-')
                .replace(/\//g, '_')
                .replace(/=+$/, ''),
            );
          };
        };
      });
      const me = (await client.fetch('/auth/me')).status;
      const report = {
        jkt: await dpop.thumbprint(),
        extractable: privateKey.extractable,
        algorithm: privateKey.algorithm.name,
        exported,
        signedIn: client.session.signedIn,
        transport: client.session.transport,
        me,
        bound,
        stored,
      };
      client.close();
      return report;
    },
    { username, password: PASSWORD },
  );
}

describe('the DPoP add-on in Chromium', () => {
  it('a non-extractable key in IndexedDB: the binding and the session survive a reload, and a second tab uses the same key', async () => {
    const page = await openTab();
    const first = await inPage(page, uniqueName('dpop-browser'));
    expect(first).toMatchObject({
      extractable: false,
      algorithm: 'ECDSA',
      exported: 'InvalidAccessError',
      signedIn: true,
      transport: 'hybrid',
      me: 200,
    });
    expect(first.bound).toEqual({ jkt: first.jkt });
    expect(first.stored).toBe(first.jkt);

    // After a reload the key comes back from IndexedDB, and the hybrid refresh cookie, bound to it, still works.
    await page.reload();
    await page.waitForFunction(() => 'lib' in globalThis);
    const reloaded = await inPage(page, undefined);
    expect(reloaded).toMatchObject({ jkt: first.jkt, extractable: false, signedIn: true, me: 200 });
    expect(reloaded.bound).toEqual({ jkt: first.jkt });

    // Another tab of the origin: the same key, so the same session goes on there.
    const other = await openTab();
    const second = await inPage(other, undefined);
    expect(second).toMatchObject({ jkt: first.jkt, signedIn: true, me: 200 });
    await other.close();
    await page.close();
  });

  it('two tabs that make the key at the same moment end up with one; forget() deletes it', async () => {
    const [one, two] = await Promise.all([openTab(), openTab()]);
    const thumbprint = (page: Page) =>
      page.evaluate(async () => {
        const { createDpop } = (globalThis as unknown as { lib: typeof DpopModule }).lib;
        const dpop = createDpop({ name: 'race' });
        const jkt = await dpop.thumbprint();
        return { jkt, again: await createDpop({ name: 'race' }).thumbprint() };
      });
    const [a, b] = await Promise.all([thumbprint(one!), thumbprint(two!)]);
    expect(a.jkt).toBe(b.jkt);
    expect(a.again).toBe(a.jkt);
    // forget() deletes the stored key: the next binding of that name is a new key.
    const renewed = await one!.evaluate(async () => {
      const { createDpop } = (globalThis as unknown as { lib: typeof DpopModule }).lib;
      await createDpop({ name: 'race' }).forget();
      return createDpop({ name: 'race' }).thumbprint();
    });
    expect(renewed).not.toBe(a.jkt);
    await Promise.all([one!.close(), two!.close()]);
  });
});
