// The interactive /docs page (TESSERA_DOCS=interactive): Swagger UI from @fastify/swagger-ui, whose assets ship
// inside the package (no CDN). Every script is a file of this origin, the initialiser too, so the pages' CSP
// (PAGE_HEADERS: `script-src 'self'`, no inline script, no eval, no hash or nonce needed) holds as it is. Its
// `style-src 'unsafe-inline'` is the pages' own (the static pages use a <style> element); Swagger UI loads without
// a violation when it is taken away.
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyPluginAsync } from 'fastify';

/**
 * Swagger UI's request interceptor, serialised into the initialiser with `toString()`: it runs in the page, so it is
 * plain JavaScript once types are stripped. "Try it" requests (and the document's own load) leave without this
 * origin's cookies: a page script on the auth origin must never act with a signed-in user's cookie session.
 */
function omitCredentials(request: { credentials?: string }): { credentials?: string } {
  request.credentials = 'omit';
  return request;
}

/** Swagger UI's settings (`queryConfigEnabled` is missing from the plugin's types; false is also Swagger UI's default). */
const UI_CONFIG = {
  layout: 'BaseLayout',
  queryConfigEnabled: false,
  withCredentials: false,
  persistAuthorization: false,
  displayOperationId: true,
  defaultModelsExpandDepth: 0,
  requestInterceptor: omitCredentials as never,
};

/**
 * Swagger UI at /docs, loading this server's own document only: Swagger UI reads no `url` or `configUrl` from the
 * address (`queryConfigEnabled: false`), the plugin fixes `url` to its copy of the document, and the base layout has
 * no "Explore" box to type another one into. A plugin of its own (not `fastify-plugin`): its hook stays in its scope.
 */
export const interactiveDocs: FastifyPluginAsync<{ pageHeaders: Readonly<Record<string, string>> }> = async (scope, { pageHeaders }) => {
  // The page's address without its query: Swagger UI ignores `url` and `configUrl` there (queryConfigEnabled: false),
  // but the plugin's initialiser builds the document's address from the page's, query and all, and would fail to load it.
  scope.addHook('onRequest', (request, reply, done) => {
    const [path, query] = request.url.split('?', 2);
    if (query !== undefined && (path === '/docs' || path === '/docs/'))
      reply.redirect('/docs'); // answered: no done()
    else done();
  });
  // The page, its initialiser and its assets get the page headers (CSP, no framing, no referrer).
  scope.addHook('onSend', (_request, reply, payload, done) => {
    reply.headers({ ...pageHeaders, 'cache-control': 'no-cache' });
    done(null, payload);
  });
  await scope.register(swaggerUi, {
    routePrefix: '/docs',
    validatorUrl: false,
    theme: { title: 'Tessera API' },
    uiConfig: UI_CONFIG,
  });
};
