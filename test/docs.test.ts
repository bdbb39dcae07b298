// Docs that run: every TypeScript sample in README.md, docs/*.md and the packages' own READMEs is extracted and
// executed as its own module inside the scratch app of the packed packages (@tessera/test-kit's packedApp), so
// `@tessera/auth` is what a reader installs from the tarball, never the workspace, and a sample that drifts from
// the published API fails here.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packedApp, REPO_ROOT } from '@tessera/test-kit';

const run = promisify(execFile);
const files = [
  'README.md',
  'packages/auth/README.md',
  'packages/server/README.md',
  ...readdirSync(join(REPO_ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => join('docs', f)),
];
// tsx from the repository: the scratch app needs none, and it resolves the samples' imports from where they are.
const TSX = pathToFileURL(join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

function samples(file: string): { line: number; code: string }[] {
  const text = readFileSync(join(REPO_ROOT, file), 'utf8');
  const found: { line: number; code: string }[] = [];
  const fence = /^```ts\n([\s\S]*?)^```$/gm;
  for (let m = fence.exec(text); m !== null; m = fence.exec(text)) {
    found.push({ line: text.slice(0, m.index).split('\n').length, code: m[1] ?? '' });
  }
  return found;
}

let dir = '';
beforeAll(async () => {
  const app = await packedApp();
  dir = mkdtempSync(join(app.dir, 'samples-'));
}, 600_000);
afterAll(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

describe('documentation samples', () => {
  const all = files.flatMap((file) => samples(file).map((s) => ({ file, ...s })));

  it('finds samples to run, in the READMEs and the guide', () => {
    expect(all.length).toBeGreaterThan(5);
    for (const file of ['README.md', 'packages/auth/README.md', 'docs/library.md']) expect(all.map((s) => s.file)).toContain(file);
  });

  it('runs them against the packed package, not the workspace', async () => {
    const probe = join(dir, 'probe.ts');
    writeFileSync(probe, "console.log(import.meta.resolve('@tessera/auth'));\n");
    const { stdout } = await run(process.execPath, ['--import', TSX, probe], { cwd: dir });
    const resolved = realpathSync(new URL(stdout.trim()));
    expect(resolved.startsWith(realpathSync(join(dir, '..', 'node_modules', '@tessera', 'auth')))).toBe(true);
    expect(resolved.startsWith(REPO_ROOT)).toBe(false);
  });

  it('never shows a bare `npx tessera` (that npm name is an unrelated package: `npx --no-install tessera` or `npm exec -- tessera`)', () => {
    const bare = files.flatMap((file) =>
      readFileSync(join(REPO_ROOT, file), 'utf8')
        .split('\n')
        .flatMap((text, i) => (/\bnpx\s+(?:-y\s+|--yes\s+)?tessera\b/.test(text) ? [`${file}:${i + 1}: ${text}`] : [])),
    );
    expect(bare).toEqual([]);
  });

  it.concurrent.each(all)('$file:$line runs', async ({ file, line, code }) => {
    const path = join(dir, `${file.replace(/[/.]/g, '_')}_${line}.ts`);
    writeFileSync(path, code);
    const { stderr } = await run(process.execPath, ['--import', TSX, path], { cwd: dir, timeout: 60_000 });
    expect(stderr).toBe('');
  });
});
