// The demo page at `/`: static HTML, CSS and a module script that drives the Tessera client, which
// is served from the built library (`@tessera/auth/dist/client` and the `dist/protocol` it imports,
// browser ES modules). The page
// carries the page security headers; its CSP allows scripts from 'self' only, so nothing is inline.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { homePage } from '../pages.js';

const JS = 'text/javascript; charset=utf-8';
const ASSETS: Readonly<Record<string, string>> = { 'app.js': JS, 'style.css': 'text/css; charset=utf-8' };
const CLIENT_FILE = /^[a-z][a-z0-9-]*\.js$/;

/** The folder of the demo's files: beside this module (sources, or a build that copied them), else in the sources. */
function assetsFolder(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  return [join(here, 'assets'), join(here, '..', '..', 'src', 'demo', 'assets')].find((dir) => existsSync(join(dir, 'index.html')));
}

/** The browser modules the page loads, by file name within `folder` of the built library; empty when it has not been built. */
function builtModules(folder: 'client' | 'protocol'): Map<string, Buffer> {
  const modules = new Map<string, Buffer>();
  try {
    const dir = join(dirname(createRequire(import.meta.url).resolve('@tessera/auth/package.json')), 'dist', folder);
    for (const name of readdirSync(dir)) if (CLIENT_FILE.test(name)) modules.set(name, readFileSync(join(dir, name)));
  } catch {
    // Not built: the page says it cannot start, and the rest of the server works on.
  }
  return modules;
}

/**
 * Registers `/` (the page), `/demo/app.js`, `/demo/style.css`, `/demo/client/*.js` and `/demo/protocol/*.js`. Files are
 * read once here; a name that is not one of them is a 404, so no path reaches the file system.
 */
export function demoRoutes(app: FastifyInstance, pageHeaders: Readonly<Record<string, string>>): void {
  const folder = assetsFolder();
  const html = folder === undefined ? homePage() : readFileSync(join(folder, 'index.html'), 'utf8');
  const assets = new Map(folder === undefined ? [] : Object.keys(ASSETS).map((name) => [name, readFileSync(join(folder, name))] as const));
  const modules = { client: builtModules('client'), protocol: builtModules('protocol') };
  const file = (reply: FastifyReply, body: Buffer, type: string) =>
    reply.code(200).headers({ 'content-type': type, 'cache-control': 'no-cache', 'cross-origin-resource-policy': 'same-origin' }).send(body);

  app.get('/', { schema: { hide: true } }, async (_request, reply) =>
    reply
      .code(200)
      .headers({ ...pageHeaders, 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' })
      .send(html),
  );
  app.get<{ Params: { name: string } }>('/demo/:name', { schema: { hide: true } }, async (request, reply) => {
    const body = assets.get(request.params.name);
    return body === undefined ? reply.callNotFound() : file(reply, body, ASSETS[request.params.name] ?? JS);
  });
  for (const [folder, files] of Object.entries(modules)) {
    app.get<{ Params: { name: string } }>(`/demo/${folder}/:name`, { schema: { hide: true } }, async (request, reply) => {
      const body = files.get(request.params.name);
      return body === undefined ? reply.callNotFound() : file(reply, body, JS);
    });
  }
}
