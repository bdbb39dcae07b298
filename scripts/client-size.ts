// The browser client's size as an app pays for it: each `@tessera/auth/client` entry of the package's
// `exports`, bundled by esbuild (minified ESM, as `npx esbuild … --bundle --minify --format=esm`) and
// gzipped by `gzip -9` (GNU gzip's deflate answers some 40 bytes more than zlib's at the same level, so
// the figure is the one the command line gives). The base client must stay within CLIENT_BUDGET
// (checked by test/client-size.test.ts); an add-on entry is reported alone and by what it adds to an
// app that has the base client already.
// Run: node --import tsx scripts/client-size.ts
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

/** 6 KB min+gzip: the base client's budget. */
export const CLIENT_BUDGET = 6 * 1024;
/** 2 KB min+gzip: what an add-on entry may cost on its own (the DPoP add-on, WebCrypto and IndexedDB included, is the largest). */
export const ADD_ON_BUDGET = 2 * 1024;

const AUTH = join(import.meta.dirname, '..', 'packages', 'auth');

export interface EntrySize {
  /** The export's subpath, e.g. `./client` or `./client/legacy`. */
  readonly entry: string;
  /** The TypeScript source the export is built from. */
  readonly source: string;
  /** Bytes of the entry bundled alone, minified and gzipped. */
  readonly alone: number;
  /** Add-ons: bytes it adds to a bundle that holds the base client too (undefined for the base). */
  readonly added: number | undefined;
}

/** The client entries of `packages/auth/package.json`: `./client` and every `./client/*`, with their sources. */
export function clientEntries(): { entry: string; source: string }[] {
  const manifest = JSON.parse(readFileSync(join(AUTH, 'package.json'), 'utf8')) as { exports: Record<string, string | { default: string }> };
  return Object.entries(manifest.exports)
    .filter(([entry]) => entry === './client' || entry.startsWith('./client/'))
    .map(([entry, target]) => {
      const built = typeof target === 'string' ? target : target.default;
      // dist/client/x.js is compiled from src/client/x.ts (tsconfig.build.json: rootDir src, outDir dist).
      return { entry, source: join(AUTH, built.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts')) };
    });
}

/** Minified and gzipped (level 9) size of `code` bundled as an ES module, resolved from the client's folder. */
async function bundledSize(code: string): Promise<number> {
  const result = await build({
    stdin: { contents: code, resolveDir: join(AUTH, 'src', 'client'), loader: 'ts' },
    bundle: true,
    minify: true,
    format: 'esm',
    write: false,
    logLevel: 'silent',
  });
  const output = result.outputFiles[0];
  if (output === undefined) throw new Error('esbuild wrote no output');
  return gzip9(output.contents);
}

/** Bytes of `gzip -9` of `data`. */
function gzip9(data: Uint8Array): number {
  try {
    return execFileSync('gzip', ['-9', '-n', '-c'], { input: data, maxBuffer: 64 << 20 }).length;
  } catch (err) {
    throw new Error('The client size is measured with `gzip -9` (GNU gzip), which could not be run', { cause: err });
  }
}

/** Every client entry's size; the base (`./client`) first. */
export async function measureClient(): Promise<EntrySize[]> {
  const entries = clientEntries();
  const base = entries.find((e) => e.entry === './client');
  if (base === undefined) throw new Error('packages/auth/package.json exports no ./client');
  const spec = (source: string) => JSON.stringify(`./${relative(join(AUTH, 'src', 'client'), source)}`);
  const baseSize = await bundledSize(`export * from ${spec(base.source)};`);
  const sizes: EntrySize[] = [{ ...base, alone: baseSize, added: undefined }];
  for (const addOn of entries.filter((e) => e !== base)) {
    const alone = await bundledSize(`export * from ${spec(addOn.source)};`);
    // Both entries in one bundle: the add-on's code, less what it shares with the base.
    const both = await bundledSize(`export * from ${spec(base.source)};\nexport * from ${spec(addOn.source)};`);
    sizes.push({ ...addOn, alone, added: both - baseSize });
  }
  return sizes;
}

/** One line per entry, for logs. */
export function formatSizes(sizes: readonly EntrySize[]): string {
  return sizes
    .map((s) =>
      s.added === undefined
        ? `@tessera/auth${s.entry.slice(1)}: ${s.alone} B min+gzip (budget ${CLIENT_BUDGET} B, ${CLIENT_BUDGET - s.alone} B left)`
        : `@tessera/auth${s.entry.slice(1)}: adds ${s.added} B to the base client (${s.alone} B bundled alone, budget ${ADD_ON_BUDGET} B)`,
    )
    .join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(formatSizes(await measureClient()));
}
