// The packages as a user installs them: the tarballs `npm pack` makes, installed with one `npm install` in an
// empty app (see @tessera/test-kit's packedApp). What ships, the linters of the npm ecosystem, CommonJS callers
// (`require()` and a TypeScript project with NestJS's default compiler settings), one driver per store entry,
// and the server's `tessera` command run through `npx --no-install`.
import { execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, packedApp, REPO_ROOT, waitFor, type PackedApp } from '@tessera/test-kit';

const run = promisify(execFile);
const TSC = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const ATTW = join(REPO_ROOT, 'node_modules', '@arethetypeswrong', 'cli', 'dist', 'index.js');

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  license?: string;
  keywords?: string[];
  homepage?: string;
  bugs?: { url?: string };
  repository?: { type?: string; url?: string; directory?: string };
  exports: Record<string, string | { types: string; default: string }>;
  typesVersions?: Record<string, Record<string, string[]>>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  bin?: Record<string, string>;
}

let app: PackedApp;
/** Each tarball unpacked (its `package/` folder). */
const unpacked: Record<'auth' | 'server', string> = { auth: '', server: '' };
const scratch = mkdtempSync(join(tmpdir(), 'tessera-packaging-'));
/** This file's folders inside the shared scratch app (see workdir). */
const made: string[] = [];
afterAll(async () => {
  await Promise.all([scratch, ...made].map((dir) => rm(dir, { recursive: true, force: true })));
}, 120_000);

beforeAll(async () => {
  app = await packedApp();
  for (const name of ['auth', 'server'] as const) {
    const dir = join(scratch, name);
    mkdirSync(dir);
    await run('tar', ['-xzf', app.tarballs[name], '-C', dir]);
    unpacked[name] = join(dir, 'package');
  }
}, 600_000);

const manifest = (name: 'auth' | 'server'): Manifest => JSON.parse(readFileSync(join(unpacked[name], 'package.json'), 'utf8')) as Manifest;

/** Every file under `dir`, relative to it, with `/` separators. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => statSync(join(dir, f)).isFile())
    .map((f) => f.split('\\').join('/'))
    .sort();
}

/** The public entries of @tessera/auth as specifiers ('@tessera/auth', '@tessera/auth/express', …), package.json left out. */
function authEntries(): string[] {
  return Object.keys(manifest('auth').exports)
    .filter((key) => key !== './package.json')
    .map((key) => (key === '.' ? '@tessera/auth' : `@tessera/auth/${key.slice(2)}`));
}

/** A folder of the scratch app's own for one check: bare imports there resolve to the app's node_modules. */
function workdir(name: string): string {
  const dir = mkdtempSync(join(app.dir, `${name}-`));
  made.push(dir);
  return dir;
}

describe('what the tarballs hold', () => {
  it.each(['auth', 'server'] as const)('@tessera/%s: LICENSE (MIT), its own README, the metadata a registry page shows', (name) => {
    const files = filesUnder(unpacked[name]);
    expect(files).toContain('LICENSE');
    expect(files).toContain('README.md');
    expect(readFileSync(join(unpacked[name], 'LICENSE'), 'utf8')).toMatch(/^MIT License\n\nCopyright \(c\) 2026 The Tessera authors\n/);
    const readme = readFileSync(join(unpacked[name], 'README.md'), 'utf8');
    expect(readme).toMatch(new RegExp(`^# @tessera/${name}\\n`));
    expect(readme).toMatch(/## Install\n\n```sh\nnpm install @tessera\//);
    if (name === 'auth') for (const entry of authEntries()) expect(readme, entry).toContain(`| \`${entry}\``);
    const pkg = manifest(name);
    expect(pkg.private).toBeUndefined();
    expect(pkg.license).toBe('MIT');
    expect(pkg.repository).toEqual({ type: 'git', url: 'git+https://github.com/tessera-auth/tessera.git', directory: `packages/${name}` });
    expect(pkg.homepage).toBe(`https://github.com/tessera-auth/tessera/tree/main/packages/${name}#readme`);
    expect(pkg.bugs).toEqual({ url: 'https://github.com/tessera-auth/tessera/issues' });
    expect(pkg.keywords?.length).toBeGreaterThanOrEqual(5);
  });

  it.each(['auth', 'server'] as const)('@tessera/%s: nothing from tests, no build output without its source', (name) => {
    const files = filesUnder(unpacked[name]);
    expect(files.filter((f) => /(^|\/)(test|tests|__tests__|fixtures)\/|\.test\.|\.spec\./.test(f))).toEqual([]);
    expect(files.filter((f) => !/^(dist|src)\/|^(LICENSE|README\.md|package\.json)$/.test(f))).toEqual([]);
    // A module left in dist by an older build (its source gone) would ship and could even be imported.
    const built = files.filter((f) => f.startsWith('dist/') && f.endsWith('.js'));
    expect(built.length).toBeGreaterThan(10);
    expect(built.filter((f) => !files.includes(f.replace(/^dist\//, 'src/').replace(/\.js$/, '.ts')))).toEqual([]);
  });

  it.each(['auth', 'server'] as const)('@tessera/%s: every source map points at sources that ship', (name) => {
    const files = filesUnder(unpacked[name]);
    const maps = files.filter((f) => f.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(10);
    const missing: string[] = [];
    for (const map of maps) {
      const { sources, sourceRoot } = JSON.parse(readFileSync(join(unpacked[name], map), 'utf8')) as { sources: string[]; sourceRoot?: string };
      expect(sources.length).toBeGreaterThan(0);
      for (const source of sources) {
        const path = resolve(dirname(join(unpacked[name], map)), sourceRoot ?? '', source);
        if (!existsSync(path)) missing.push(`${map} → ${relative(unpacked[name], path)}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('sizes: each tarball under 1 MB packed (reported)', () => {
    for (const name of ['auth', 'server'] as const) {
      const files = filesUnder(unpacked[name]);
      const packed = statSync(app.tarballs[name]).size;
      const unpackedSize = files.reduce((sum, f) => sum + statSync(join(unpacked[name], f)).size, 0);
      console.log(
        `@tessera/${name}: ${(packed / 1024).toFixed(1)} KB packed, ${(unpackedSize / 1024).toFixed(1)} KB unpacked, ${files.length} files`,
      );
      expect(packed).toBeLessThan(1024 * 1024);
    }
  });

  it('@tessera/auth: drivers and frameworks are optional peers, and every entry has types for old resolvers', () => {
    const pkg = manifest('auth');
    for (const peer of ['better-sqlite3', 'pg', 'redis', 'express', 'fastify', 'fastify-plugin', 'hono']) {
      expect(pkg.peerDependencies?.[peer], peer).toBeDefined();
      expect(pkg.peerDependenciesMeta?.[peer], peer).toEqual({ optional: true });
    }
    expect(Object.keys(pkg.peerDependencies ?? {}).sort()).toEqual(Object.keys(pkg.peerDependenciesMeta ?? {}).sort());
    expect(Object.keys(pkg.dependencies ?? {})).not.toContain('fastify-plugin');
    // moduleResolution "node" (NestJS's default) reads typesVersions, not exports: one line per entry.
    const mapped = pkg.typesVersions?.['*'] ?? {};
    for (const [key, target] of Object.entries(pkg.exports)) {
      if (key === '.' || key === './package.json' || typeof target === 'string') continue;
      expect(mapped[key.slice(2)], key).toEqual([target.types]);
    }
    expect(Object.keys(mapped).length).toBe(Object.keys(pkg.exports).length - 2);
  });

  it('@tessera/server: a package of its own with the `tessera` bin, depending on a range of @tessera/auth that this auth satisfies', () => {
    const pkg = manifest('server');
    expect(pkg.bin).toEqual({ tessera: './dist/cli.js' });
    expect(readFileSync(join(unpacked.server, 'dist', 'cli.js'), 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/);
    const range = pkg.dependencies?.['@tessera/auth'];
    expect(range).toBe(`^${manifest('auth').version}`);
  });

  it.each(['auth', 'server'] as const)('@tessera/%s: publint finds nothing', async (name) => {
    const tarball = readFileSync(app.tarballs[name]);
    const { messages, pkg } = await publint({
      pack: { tarball: tarball.buffer.slice(tarball.byteOffset, tarball.byteOffset + tarball.byteLength) },
      level: 'suggestion',
    });
    expect(messages.map((m) => formatMessage(m, pkg, { color: false }) ?? m.code)).toEqual([]);
  });

  it.each(['auth', 'server'] as const)('@tessera/%s: arethetypeswrong finds no problem for ESM callers (node16, bundler)', async (name) => {
    const { stdout } = await run(process.execPath, [ATTW, app.tarballs[name], '--profile', 'esm-only', '--format', 'json'], {
      maxBuffer: 64 * 1024 * 1024,
    }).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
    const report = JSON.parse(stdout) as { analysis: { problems: { kind: string; resolutionKind?: string; entrypoint?: string }[] } };
    const esm = report.analysis.problems.filter((p) => p.resolutionKind === undefined || ['node16-esm', 'bundler'].includes(p.resolutionKind));
    expect(esm).toEqual([]);
    // node10 resolves every entry (typesVersions). For CommonJS callers under node16 attw can only say "ESM (dynamic
    // import only)": Node >= 20.19 does require() it, and TypeScript >= 5.8 types it under nodenext (tested below).
    expect([...new Set(report.analysis.problems.map((p) => p.kind))].filter((k) => k !== 'CJSResolvesToESM')).toEqual([]);
  });
});

describe('CommonJS callers', () => {
  it('require() of every entry gives what import() gives (no top-level await anywhere in their graphs)', async () => {
    const dir = workdir('require');
    const entries = authEntries();
    expect(entries).toEqual(expect.arrayContaining(['@tessera/auth', '@tessera/auth/stores/sqlite', '@tessera/auth/stores/postgres']));
    writeFileSync(
      join(dir, 'check.cjs'),
      `const out = {};
      (async () => {
        for (const entry of ${JSON.stringify([...entries, '@tessera/server'])}) {
          out[entry] = { required: Object.keys(require(entry)).sort(), imported: Object.keys(await import(entry)).sort() };
        }
        console.log(JSON.stringify(out));
      })();`,
    );
    const { stdout, stderr } = await run(process.execPath, ['check.cjs'], { cwd: dir });
    expect(stderr).toBe('');
    const out = JSON.parse(stdout) as Record<string, { required: string[]; imported: string[] }>;
    for (const [entry, { required, imported }] of Object.entries(out)) {
      expect(required.length, entry).toBeGreaterThan(0);
      expect(required, entry).toEqual(imported.filter((k) => k !== 'module.exports'));
    }
  });

  // NestJS's default project: CommonJS output, moduleResolution "node" (typesVersions, not exports), decorators.
  const NEST_DEFAULT = {
    module: 'commonjs',
    moduleResolution: 'node',
    target: 'ES2023',
    declaration: true,
    removeComments: true,
    emitDecoratorMetadata: true,
    experimentalDecorators: true,
    allowSyntheticDefaultImports: true,
    esModuleInterop: true,
    sourceMap: true,
    outDir: './dist',
    skipLibCheck: true,
    strictNullChecks: true,
    noImplicitAny: false,
    strictBindCallApply: false,
    noFallthroughCasesInSwitch: false,
  };

  it.each([
    ['NestJS default (strict off)', NEST_DEFAULT],
    ['NestJS default with strict', { ...NEST_DEFAULT, strict: true, noImplicitAny: true, strictBindCallApply: true }],
    ['module nodenext (require of ESM in TypeScript 5.8+)', { ...NEST_DEFAULT, module: 'nodenext', moduleResolution: 'nodenext' }],
  ])('a TypeScript project (%s) type-checks every entry, compiles to require() and runs', async (_name, compilerOptions) => {
    const dir = workdir('tsc');
    const entries = authEntries();
    const lines = entries.map((entry, i) => `import * as entry${i} from '${entry}';`);
    writeFileSync(
      join(dir, 'main.ts'),
      `${lines.join('\n')}
import { createTessera, generateKey, generateRefreshKey, type Tessera } from '@tessera/auth';
import { sqliteStore } from '@tessera/auth/stores/sqlite';
import { tessera } from '@tessera/auth/express';

async function main(): Promise<void> {
  const store = sqliteStore({ filename: ':memory:' });
  await store.migrate();
  const auth: Tessera = createTessera({ keys: await generateKey('EdDSA'), refreshKey: await generateRefreshKey(), sessions: { store } });
  const pair = auth.createTokenPair({ sub: 'ada' });
  const claims = auth.verifyAccessToken(pair.access.token);
  const sub: string = claims.sub;
  // @ts-expect-error the types are real, not any: a token is no number
  const wrong: number = pair.access.token;
  const adapter = tessera(auth);
  console.log(JSON.stringify({ sub, wrong: typeof wrong, guard: typeof adapter.required, entries: [${entries.map((_, i) => `Object.keys(entry${i}).length`).join(', ')}] }));
  await auth.close();
}
main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
`,
    );
    // Where `strict` is off the emitted files stay CommonJS: the folder has no "type": "module".
    writeFileSync(join(dir, 'package.json'), '{ "private": true, "type": "commonjs" }\n');
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['main.ts'] }, null, 2));
    const compiled = await run(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: dir }).catch((error: { stdout?: string }) => error);
    expect('stdout' in compiled ? compiled.stdout : '').toBe('');
    const emitted = readFileSync(join(dir, 'dist', 'main.js'), 'utf8');
    expect(emitted).toContain('require("@tessera/auth/stores/sqlite")');
    const { stdout, stderr } = await run(process.execPath, ['dist/main.js'], { cwd: dir });
    expect(stderr).toBe('');
    const result = JSON.parse(stdout) as { sub: string; wrong: string; guard: string; entries: number[] };
    expect(result).toMatchObject({ sub: 'ada', wrong: 'string', guard: 'function' });
    expect(result.entries).toHaveLength(entries.length);
    expect(result.entries.every((n) => n > 0)).toBe(true);
  });
});

describe('one driver per store entry', () => {
  /** A second app holding only these packages and their dependencies, copied from the scratch app (so no pg). */
  function appWith(name: string, packages: readonly string[]): string {
    const dir = join(scratch, name);
    const from = join(app.dir, 'node_modules');
    const seen = new Set<string>();
    const copy = (pkg: string): void => {
      if (seen.has(pkg)) return;
      seen.add(pkg);
      cpSync(join(from, pkg), join(dir, 'node_modules', pkg), { recursive: true, verbatimSymlinks: true });
      const manifest = JSON.parse(readFileSync(join(from, pkg, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
      for (const dep of Object.keys(manifest.dependencies ?? {})) copy(dep);
    };
    for (const pkg of packages) copy(pkg);
    writeFileSync(join(dir, 'package.json'), '{ "private": true, "type": "module" }\n');
    return dir;
  }

  async function runIn(dir: string, code: string): Promise<{ stdout: string; stderr: string }> {
    writeFileSync(join(dir, 'check.mjs'), code);
    return run(process.execPath, ['check.mjs'], { cwd: dir });
  }

  it('with better-sqlite3 and without pg: the SQLite entry works; the Postgres entry loads and says to install pg', async () => {
    const dir = appWith('sqlite-only', ['@tessera/auth', 'better-sqlite3']);
    expect(existsSync(join(dir, 'node_modules', 'pg'))).toBe(false);
    const { stdout, stderr } = await runIn(
      dir,
      `import { createRequire } from 'node:module';
      import { sqliteStore } from '@tessera/auth/stores/sqlite';
      import { postgresStore } from '@tessera/auth/stores/postgres';
      const out = {};
      try { createRequire(import.meta.url).resolve('pg'); out.pg = 'found'; } catch (e) { out.pg = e.code; }
      const store = sqliteStore({ filename: 'sessions.db' });
      await store.migrate();
      out.ping = await store.ping().then(() => 'ok', (e) => e.message);
      await store.close();
      try { postgresStore({ connectionString: 'postgres://127.0.0.1/app' }); } catch (e) { out.postgres = { name: e.name, code: e.code, message: e.message }; }
      console.log(JSON.stringify(out));`,
    );
    expect(stderr).toBe('');
    expect(JSON.parse(stdout)).toEqual({
      pg: 'MODULE_NOT_FOUND',
      ping: 'ok',
      postgres: {
        name: 'ConfigError',
        code: 'config_invalid',
        message: '`postgresStore` needs the `pg` package: install it with `npm install pg`.',
      },
    });
    expect(existsSync(join(dir, 'sessions.db'))).toBe(true);
  });

  it('with no driver at all: every store entry imports, and each store says which package to install (leaving no file behind)', async () => {
    const dir = appWith('no-driver', ['@tessera/auth']);
    expect(existsSync(join(dir, 'node_modules', 'redis'))).toBe(false);
    const { stdout, stderr } = await runIn(
      dir,
      `import { sqliteStore } from '@tessera/auth/stores/sqlite';
      import { postgresStore } from '@tessera/auth/stores/postgres';
      import { redisBus, redisThrottle } from '@tessera/auth/stores/redis';
      const out = {};
      try { sqliteStore({ filename: 'data/sessions.db' }); } catch (e) { out.sqlite = e.message; }
      try { postgresStore({ connectionString: 'postgres://127.0.0.1/app' }); } catch (e) { out.postgres = e.message; }
      try { redisBus({ url: 'redis://127.0.0.1:6379' }); } catch (e) { out.redisBus = e.message; }
      try { redisThrottle(); } catch (e) { out.redisThrottle = e.message; }
      console.log(JSON.stringify(out));`,
    );
    expect(stderr).toBe('');
    expect(JSON.parse(stdout)).toEqual({
      sqlite: '`sqliteStore` needs the `better-sqlite3` package: install it with `npm install better-sqlite3`.',
      postgres: '`postgresStore` needs the `pg` package: install it with `npm install pg`.',
      redisBus: '`redisBus` needs the `redis` package: install it with `npm install redis`.',
      redisThrottle: '`redisThrottle` needs the `redis` package: install it with `npm install redis`.',
    });
    expect(existsSync(join(dir, 'data'))).toBe(false);
  });
});

describe('the server as a package: npx --no-install tessera', () => {
  const childEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('TESSERA_') && !key.startsWith('npm_')) env[key] = value;
    return { ...env, ...extra };
  };
  const npx = (args: readonly string[], cwd: string) =>
    run('npx', ['--no-install', 'tessera', ...args], { cwd, env: childEnv(), timeout: 60_000 }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (error: { code?: number; stdout?: string; stderr?: string }) => ({
        code: error.code ?? -1,
        stdout: error.stdout ?? '',
        stderr: error.stderr ?? '',
      }),
    );

  // Nine npx runs, each a process start through npx, side by side (none writes anything): more than the default 30 s
  // on a busy machine all the same.
  it('--help lists the commands; no command, an unknown one or a stray argument prints the usage and fails', async () => {
    const dir = workdir('cli');
    const [[help, none, unknown, flag], bare] = await Promise.all([
      Promise.all([
        npx(['--help'], dir),
        npx([], dir),
        npx(['frobnicate'], dir),
        // Settings are TESSERA_* variables: an argument to serve is refused, not ignored.
        npx(['serve', '--port', '9000'], dir),
      ]),
      // A command group without its subcommand does nothing, so it says what it takes and fails.
      Promise.all(['keys', 'users', 'sessions', 'token', 'db'].map(async (group) => ({ group, ...(await npx([group], dir)) }))),
    ]);
    expect(help.code).toBe(0);
    for (const command of ['serve', 'keys', 'users', 'sessions', 'token decode', 'db migrate', 'purge']) expect(help.stdout).toContain(command);
    expect(none.code).not.toBe(0);
    expect(none.stdout + none.stderr).toContain('Usage: tessera <command>');
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('Unknown command "frobnicate"');
    expect(flag.code).not.toBe(0);
    expect(flag.stderr).toContain('Usage: tessera serve');
    for (const { group, code, stderr } of bare) {
      expect(code, group).not.toBe(0);
      expect(stderr, group).toContain(`Usage: tessera ${group}`);
    }
  }, 120_000);

  it('serve starts on SQLite in the current folder, says where it listens, and answers a real login', async () => {
    const dir = workdir('serve');
    const port = await freePort();
    const child = spawn('npx', ['--no-install', 'tessera', 'serve'], {
      cwd: dir,
      env: childEnv({ TESSERA_PORT: String(port) }),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    try {
      await waitFor('the listening line', () => output.includes(`http://127.0.0.1:${port}`) || child.exitCode !== null, 60_000, 50);
      expect(child.exitCode, output).toBeNull();
      const base = `http://127.0.0.1:${port}`;
      const body = JSON.stringify({ username: 'ada', password: 'correct horse battery' });
      const registered = await fetch(`${base}/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect(registered.status, await registered.clone().text()).toBe(201);
      const login = await fetch(`${base}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect(login.status).toBe(200);
      const { access_token } = (await login.json()) as { access_token: string };
      const me = await fetch(`${base}/auth/me`, { headers: { authorization: `Bearer ${access_token}` } });
      expect(await me.json()).toMatchObject({ username: 'ada' });
      expect(existsSync(join(dir, 'data', 'tessera.db'))).toBe(true);
    } finally {
      if (child.exitCode === null && child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
      await exited;
    }
  });
});
