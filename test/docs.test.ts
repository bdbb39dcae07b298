// Docs that run: every TypeScript sample in README.md and docs/*.md is extracted and executed as
// its own module against the built package, so a sample that drifts from the API fails here.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');
const files = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => join('docs', f)),
];

function samples(file: string): { line: number; code: string }[] {
  const text = readFileSync(join(root, file), 'utf8');
  const found: { line: number; code: string }[] = [];
  const fence = /^```ts\n([\s\S]*?)^```$/gm;
  for (let m = fence.exec(text); m !== null; m = fence.exec(text)) {
    found.push({ line: text.slice(0, m.index).split('\n').length, code: m[1] ?? '' });
  }
  return found;
}

// Inside the repository, so that `@tessera/auth` resolves through node_modules like a user's install.
const dir = mkdtempSync(join(root, 'test', '.samples-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('documentation samples', () => {
  const all = files.flatMap((file) => samples(file).map((s) => ({ file, ...s })));

  it('finds samples to run', () => {
    expect(all.length).toBeGreaterThan(0);
  });

  it.concurrent.each(all)('$file:$line runs', async ({ file, line, code }) => {
    const path = join(dir, `${file.replace(/[/.]/g, '_')}_${line}.ts`);
    writeFileSync(path, code);
    const { stderr } = await run(process.execPath, ['--import', 'tsx', path], { cwd: root, timeout: 60_000 });
    expect(stderr).toBe('');
  });
});
