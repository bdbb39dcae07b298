// runner.ts and the test-kit modules it uses as one plain ES module, which Node, Bun and Deno all run as is.
// The library, Hono and @hono/node-server stay imports: they resolve in the scratch app, to the packed tarball.
import { build } from 'esbuild';
import { join } from 'node:path';

/** Packages the bundle imports instead of containing: what a user's app installs. */
const INSTALLED = ['@tessera/auth', '@tessera/auth/*', 'hono', 'hono/*', '@hono/node-server'];

/** Writes the runner bundle to `outfile` (an .mjs path inside the scratch app). */
export async function bundleRunner(outfile: string): Promise<void> {
  await build({
    entryPoints: [join(import.meta.dirname, 'runner.ts')],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'es2022',
    external: INSTALLED,
    logLevel: 'silent',
  });
}
