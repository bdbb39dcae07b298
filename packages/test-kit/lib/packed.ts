// The packages as a user gets them: `npm pack` of @tessera/auth and @tessera/server (from the built `dist`,
// `npm run build` first), both tarballs and a few extra packages installed with one `npm install` into a
// scratch app under the system's temp folder, far from the repository's node_modules. The app is made once per
// content of the tarballs and extras: every Vitest worker (and every later run) that asks for the same tarballs
// finds it ready, guarded by a lock folder. better-sqlite3's addon is the one thing not built again (~50 s of
// compiling on these machines): when the app gets the very version the repository has, it gets its addon too.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { sleep } from './wait.js';

const run = promisify(execFile);

/** The repository's root (its package.json pins the versions of the extra packages). */
export const REPO_ROOT = join(import.meta.dirname, '..', '..', '..');

/**
 * What the shared scratch app holds besides the two tarballs: the frameworks and runtimes the packaged tests and the
 * documentation samples use. Keep one list, so that the whole suite shares one install; `pg` and `redis` come in as
 * dependencies of @tessera/server.
 */
export const PACKED_EXTRAS: readonly string[] = [
  'express',
  'fastify',
  'fastify-plugin',
  'hono',
  '@hono/node-server',
  '@nestjs/common',
  '@nestjs/core',
  'reflect-metadata',
  'rxjs',
  // What a TypeScript app has, for type checks against the packed declarations.
  '@types/node',
  '@types/express',
];

export interface PackedApp {
  /** The scratch app: its package.json, node_modules with both packages installed from their tarballs. */
  readonly dir: string;
  /** The tarballs, as `npm pack` made them (they stay beside the app). */
  readonly tarballs: { readonly auth: string; readonly server: string };
  /** The extra packages installed beside them. */
  readonly extras: readonly string[];
  /** Seconds the install took when this process made it; null when it was ready already. */
  readonly installSeconds: number | null;
}

export interface PackedOptions {
  /** Extra packages to install (names; versions come from the repository's devDependencies). Default: PACKED_EXTRAS. */
  extras?: readonly string[];
  /** How long to wait for another process's install (default 10 minutes). */
  waitMs?: number;
}

const made = new Map<string, Promise<PackedApp>>();

/**
 * The scratch app with both tarballs and `extras` installed (see the module comment). Memoized in this process and,
 * through a folder keyed by the tarballs' SHA-256 and the extras, across processes.
 */
export function packedApp(options: PackedOptions = {}): Promise<PackedApp> {
  const extras = [...(options.extras ?? PACKED_EXTRAS)].sort();
  const key = extras.join(' ');
  let app = made.get(key);
  if (app === undefined) {
    app = makePackedApp(extras, options.waitMs ?? 600_000);
    made.set(key, app);
    app.catch(() => made.delete(key));
  }
  return app;
}

async function makePackedApp(extras: readonly string[], waitMs: number): Promise<PackedApp> {
  const packs = await packBoth();
  const hash = createHash('sha256');
  for (const file of [packs.auth, packs.server]) hash.update(readFileSync(file));
  // The layout of the scratch folder is part of the key too.
  hash.update(`layout 2\n${extras.map(specOf).join(' ')}\n${JSON.stringify(rootManifest().overrides ?? {})}`);
  const home = join(tmpdir(), `tessera-packed-${hash.digest('hex').slice(0, 16)}`);
  const tarballs = { auth: join(home, 'tarballs', basename(packs.auth)), server: join(home, 'tarballs', basename(packs.server)) };
  const dir = join(home, 'app');
  const ready = join(home, 'ready.json');
  const lock = `${home}.lock`;
  const deadline = Date.now() + waitMs;
  let installSeconds: number | null = null;
  for (;;) {
    if (existsSync(ready)) break;
    if (tryLock(lock)) {
      try {
        if (!existsSync(ready)) {
          pruneOld(home);
          rmSync(home, { recursive: true, force: true });
          mkdirSync(join(home, 'tarballs'), { recursive: true });
          cpSync(packs.auth, tarballs.auth);
          cpSync(packs.server, tarballs.server);
          const start = performance.now();
          // Start from the node_modules of the newest app made before: npm then replaces what changed (our two
          // packages, usually), prunes the rest and builds better-sqlite3 again only when its version changed.
          const deps = dependencyKey(extras);
          const seed = newestApp(home);
          // Only what npm reads: the seed app also holds other test files' working folders, which may be going away.
          if (seed !== undefined) {
            mkdirSync(dir, { recursive: true });
            cpSync(join(seed, 'node_modules'), join(dir, 'node_modules'), { recursive: true, verbatimSymlinks: true });
            if (existsSync(join(seed, 'package-lock.json'))) cpSync(join(seed, 'package-lock.json'), join(dir, 'package-lock.json'));
          }
          await install(dir, tarballs, extras);
          installSeconds = (performance.now() - start) / 1000;
          writeFileSync(ready, JSON.stringify({ installSeconds, extras, deps, seeded: seed !== undefined }));
        }
      } finally {
        rmSync(lock, { recursive: true, force: true });
      }
      break;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for the packed app in ${home} (lock ${lock})`);
    await sleep(250);
  }
  rmSync(packs.dir, { recursive: true, force: true });
  return { dir, tarballs, extras, installSeconds };
}

/** What decides the third-party part of node_modules: the extras and the packages' own dependency lists. */
function dependencyKey(extras: readonly string[]): string {
  const hash = createHash('sha256').update(`${extras.map(specOf).join(' ')}\n${JSON.stringify(rootManifest().overrides ?? {})}`);
  for (const name of ['auth', 'server']) {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'packages', name, 'package.json'), 'utf8')) as Record<string, unknown>;
    hash.update(JSON.stringify([pkg.dependencies, pkg.peerDependencies, pkg.optionalDependencies]));
  }
  return hash.digest('hex');
}

/** The app folder of the newest ready scratch app, if any. */
function newestApp(home: string): string | undefined {
  const parent = join(home, '..');
  let best: { dir: string; at: number } | undefined;
  for (const name of readdirSync(parent)) {
    if (!/^tessera-packed-[0-9a-f]{16}$/.test(name) || join(parent, name) === home) continue;
    try {
      const at = statSync(join(parent, name, 'ready.json')).mtimeMs;
      if (best === undefined || at > best.at) best = { dir: join(parent, name, 'app'), at };
    } catch {
      // Not ready, or being pruned.
    }
  }
  return best?.dir;
}

/** `npm pack` of both packages into a folder of this process's own. */
async function packBoth(): Promise<{ dir: string; auth: string; server: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-pack-'));
  const { stdout } = await run('npm', ['pack', '--json', '--silent', '-w', '@tessera/auth', '-w', '@tessera/server', '--pack-destination', dir], {
    cwd: REPO_ROOT,
    maxBuffer: 64 * 1024 * 1024,
  });
  const packed = JSON.parse(stdout) as { name: string; filename: string }[];
  const file = (name: string): string => {
    const found = packed.find((p) => p.name === name);
    if (found === undefined) throw new Error(`npm pack made no tarball of ${name}`);
    return join(dir, found.filename);
  };
  return { dir, auth: file('@tessera/auth'), server: file('@tessera/server') };
}

function rootManifest(): { devDependencies?: Record<string, string>; overrides?: Record<string, string> } {
  return JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
    devDependencies?: Record<string, string>;
    overrides?: Record<string, string>;
  };
}

/** `name@range` with the range of the repository's devDependencies (so the scratch app runs the versions we test). */
function specOf(name: string): string {
  const range = rootManifest().devDependencies?.[name];
  return range === undefined ? name : `${name}@${range}`;
}

/** One `npm install` of both tarballs and the extras, as a user would run it in an empty folder. */
async function install(dir: string, tarballs: { auth: string; server: string }, extras: readonly string[]): Promise<void> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'package.json'),
    `${JSON.stringify(
      // npm 11 runs an install script only when the project approves it: better-sqlite3 builds its addon there.
      {
        name: 'tessera-packed-app',
        version: '0.0.0',
        private: true,
        type: 'module',
        allowScripts: { 'better-sqlite3': true },
        // The repository's pins of transitive versions (e.g. one whose newer release needs Node 22).
        overrides: rootManifest().overrides ?? {},
      },
      null,
      2,
    )}\n`,
  );
  // This machine's npm config says engine-strict; a user's default does not.
  writeFileSync(join(dir, '.npmrc'), 'engine-strict=false\naudit=false\nfund=false\n');
  try {
    // --ignore-scripts: every install script is rerun below where it matters (better-sqlite3's, the only one).
    await run(
      'npm',
      ['install', '--no-audit', '--no-fund', '--engine-strict=false', '--ignore-scripts', tarballs.auth, tarballs.server, ...extras.map(specOf)],
      {
        cwd: dir,
        // Not the npm_config_* of an `npm run`/`npx` that started these tests: they would override the app's .npmrc.
        env: Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_'))),
        maxBuffer: 64 * 1024 * 1024,
        timeout: 540_000,
      },
    );
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`npm install in ${dir} failed:\n${stdout ?? ''}\n${stderr ?? ''}`, { cause: error });
  }
  await addSqliteAddon(dir);
  // The addon must really be there and load, not just "installed" with its script skipped.
  await run(process.execPath, ['-e', "new (require('better-sqlite3'))(':memory:').prepare('select 1').get()"], { cwd: dir });
}

/**
 * better-sqlite3's addon in the app: the repository's own build when the versions match (the same sources, compiler
 * and Node made it), else its install script, run as npm would for a project that approves it.
 */
async function addSqliteAddon(dir: string): Promise<void> {
  const version = (root: string): string | undefined => {
    try {
      return (JSON.parse(readFileSync(join(root, 'node_modules', 'better-sqlite3', 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      return undefined;
    }
  };
  const installed = version(dir);
  if (installed === undefined) return;
  const built = join(REPO_ROOT, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node');
  if (installed === version(REPO_ROOT) && existsSync(built)) {
    const target = join(dir, 'node_modules', 'better-sqlite3', 'build', 'Release');
    mkdirSync(target, { recursive: true });
    cpSync(built, join(target, 'better_sqlite3.node'));
    return;
  }
  await run('npm', ['rebuild', 'better-sqlite3', '--foreground-scripts'], {
    cwd: dir,
    env: Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_'))),
    maxBuffer: 64 * 1024 * 1024,
    timeout: 540_000,
  });
}

/** Takes the lock folder, or clears it when the process that took it is gone. */
function tryLock(lock: string): boolean {
  try {
    mkdirSync(lock);
    writeFileSync(join(lock, 'pid'), String(process.pid));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    let pid = 0;
    try {
      pid = Number(readFileSync(join(lock, 'pid'), 'utf8'));
    } catch {
      // Just made, pid not written yet: its owner is alive.
      return false;
    }
    if (pid > 0 && !alive(pid)) rmSync(lock, { recursive: true, force: true });
    return false;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes scratch apps of older tarballs (made a day ago) and failed ones (10 minutes) so that the temp folder does not fill up. */
function pruneOld(home: string): void {
  const parent = join(home, '..');
  const dayAgo = Date.now() - 24 * 3600_000;
  const failedAgo = Date.now() - 10 * 60_000;
  for (const name of readdirSync(parent)) {
    if (!/^tessera-packed-[0-9a-f]{16}$/.test(name) || join(parent, name) === home) continue;
    const path = join(parent, name);
    try {
      const made = statSync(path).mtimeMs;
      const failed = !existsSync(join(path, 'ready.json'));
      if (!existsSync(`${path}.lock`) && made < (failed ? failedAgo : dayAgo)) rmSync(path, { recursive: true, force: true });
    } catch {
      // Another process pruned it first.
    }
  }
}
