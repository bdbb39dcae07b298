// The browser client's budget: `@tessera/auth/client` stays within 6 KB minified and gzipped, measured
// as `npx esbuild packages/auth/src/client/index.ts --bundle --minify --format=esm | gzip -9 | wc -c`;
// features only some apps need ship as `@tessera/auth/client/*` add-on entries, each reported here.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ADD_ON_BUDGET, CLIENT_BUDGET, clientEntries, formatSizes, measureClient } from '../scripts/client-size.js';

describe('client size', () => {
  it(`the base client is at most ${CLIENT_BUDGET} bytes min+gzip; each add-on entry is reported`, async () => {
    const sizes = await measureClient();
    console.log(formatSizes(sizes));
    const [base, ...addOns] = sizes;
    expect(base?.entry).toBe('./client');
    // Not vacuous: the client is several kilobytes, and the measure is the command line's.
    expect(base!.alone).toBeGreaterThan(3000);
    expect(base!.alone).toBeLessThanOrEqual(CLIENT_BUDGET);
    expect(addOns.map((a) => a.entry)).toEqual(expect.arrayContaining(['./client/legacy', './client/dpop']));
    for (const addOn of addOns) {
      expect(addOn.alone, addOn.entry).toBeGreaterThan(0);
      expect(addOn.added, addOn.entry).toBeGreaterThan(0);
      expect(addOn.alone, addOn.entry).toBeLessThanOrEqual(ADD_ON_BUDGET);
    }
  });

  it('measures what the command line measures', async () => {
    const base = join(import.meta.dirname, '..', 'packages', 'auth', 'src', 'client', 'index.ts');
    const esbuild = join(import.meta.dirname, '..', 'node_modules', '.bin', 'esbuild');
    const minified = execFileSync(esbuild, [base, '--bundle', '--minify', '--format=esm'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const gzipped = execFileSync('gzip', ['-9'], { input: minified });
    const [measured] = await measureClient();
    expect(measured?.alone).toBe(gzipped.length);
  });

  it('every client entry of the package is built from a source in src/client', () => {
    const entries = clientEntries();
    expect(entries.map((e) => e.entry)).toContain('./client');
    for (const { entry, source } of entries) expect(existsSync(source), `${entry} → ${source}`).toBe(true);
  });
});
