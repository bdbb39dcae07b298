// Docs that run: every TypeScript sample in README.md, docs/*.md and the packages' own READMEs is extracted and
// executed as its own module inside the scratch app of the packed packages (@tessera/test-kit's packedApp), so
// `@tessera/auth` is what a reader installs from the tarball, never the workspace, and a sample that drifts from
// the published API fails here.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
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
  // The client's guide ships in the tarball (src/client) and docs/library.md links it.
  'packages/auth/src/client/README.md',
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
        .flatMap((text, i) =>
          /\b(?:npx|bunx|pnpm\s+dlx|yarn\s+dlx)\s+(?:-y\s+|--yes\s+)?tessera\b/.test(text) ? [`${file}:${i + 1}: ${text}`] : [],
        ),
    );
    expect(bare).toEqual([]);
  });

  // tsx strips types without checking them: a sample whose types drifted (an option renamed, a return shape changed)
  // can still run. Strict TypeScript over every sample, against the packed declarations, sees that.
  it('type-check against the packed declarations (strict)', async () => {
    const checked = mkdtempSync(join(dir, 'tsc-'));
    const names = all.map(({ file, line, code }) => {
      const name = `${file.replace(/[/.]/g, '_')}_${line}.ts`;
      writeFileSync(join(checked, name), code);
      return name;
    });
    const compilerOptions = {
      strict: true,
      module: 'nodenext',
      moduleResolution: 'nodenext',
      target: 'es2022',
      noEmit: true,
      skipLibCheck: true,
      types: ['node'],
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
    };
    writeFileSync(join(checked, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: names }));
    const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: checked }).catch((error: { stdout?: string }) => ({
      stdout: error.stdout ?? 'tsc failed',
    }));
    expect(result.stdout).toBe('');
  }, 120_000);

  it.concurrent.each(all)('$file:$line runs', async ({ file, line, code }) => {
    const path = join(dir, `${file.replace(/[/.]/g, '_')}_${line}.ts`);
    writeFileSync(path, code);
    const { stderr } = await run(process.execPath, ['--import', TSX, path], { cwd: dir, timeout: 60_000 });
    expect(stderr).toBe('');
  });
});

// docs/architecture.md's layout tables are the map of the source: every module is named there (by its path, or its
// folder's row), and every path a table names exists, so a file moved or added without its row fails here.
describe('the layout tables of docs/architecture.md', () => {
  const text = readFileSync(join(REPO_ROOT, 'docs', 'architecture.md'), 'utf8');
  const named = new Set([...text.matchAll(/`([^`\s]+)`/g)].map((m) => m[1] ?? ''));
  const AUTH = join(REPO_ROOT, 'packages', 'auth', 'src');
  const SERVER = join(REPO_ROOT, 'packages', 'server', 'src');
  const modules = (dir: string): string[] =>
    readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .map((f) => f.split('\\').join('/'))
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .sort();

  it('name every module of the library and the server', () => {
    const auth = modules(AUTH);
    const server = modules(SERVER);
    expect(auth.length).toBeGreaterThan(50);
    expect(server.length).toBeGreaterThan(40);
    const missing = [
      ...auth
        .filter((f) => {
          const parts = f.split('/');
          // Folders below a layer (`adapters/nest/`): a layer's own folder is named in the layers table, not as a row.
          const folders = parts.slice(1, -1).map((_, i) => `${parts.slice(0, i + 2).join('/')}/`);
          const inCore = parts[0] === 'core' && named.has(parts.slice(1).join('/'));
          const inClient = parts[0] === 'client' && parts.length === 2 && named.has(parts[1] ?? '');
          return !(named.has(f) || inCore || inClient || (f === 'index.ts' && named.has('../index.ts')) || folders.some((d) => named.has(d)));
        })
        .map((f) => `packages/auth/src/${f}`),
      ...server
        .filter((f) => {
          const parts = f.split('/');
          // A top-level module by its name; a module of a folder by its name or one of its subfolders in that folder's row.
          if (parts.length === 1) return !named.has(f);
          return !(named.has(f) || named.has(parts.at(-1) ?? '') || parts.slice(1, -1).some((d) => named.has(`${d}/`)));
        })
        .map((f) => `packages/server/src/${f}`),
    ];
    expect(missing).toEqual([]);
  });

  it('name only paths that exist', () => {
    const roots = [AUTH, join(AUTH, 'core'), join(AUTH, 'client'), SERVER];
    const rows = text.split('\n').filter((line) => /^\| `[^`]+(\.ts|\/)` /.test(line));
    expect(rows.length).toBeGreaterThan(80);
    const stale = rows.map((row) => /^\| `([^`]+)`/.exec(row)?.[1] ?? '').filter((path) => !roots.some((root) => existsSync(join(root, path))));
    expect(stale).toEqual([]);
  });
});
