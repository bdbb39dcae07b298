// The Next.js app of the adapter conformance suite (./adapter.ts), without running Next.js: a node:http
// server that does what `next start` does for App Router route handlers (Node's parsed headers into a Web
// Request, the handler's Response written back) and a table of route.ts exports, one per path and method.
// One difference, on purpose: the server joins a repeated Authorization line (joinDuplicateHeaders) where
// Node by default, and so `next start`, keeps only the first; docs/library.md "Next.js" says so.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { listen, type RunningApp } from '@tessera/test-kit';
import type { AdapterOptions, Identity } from '../../src/adapters/adapter-kit.js';
import { tessera, TesseraHttpError, type RouteHandler } from '../../src/adapters/next/index.js';
import { toWebResponse as toResponse } from '../../src/adapters/web.js';
import { jsonResult, type Tessera } from '../../src/index.js';
import { ADMIN_CLAIMS, bodyErrorResult, checkCredentials, HANDLED_BY, meBody, SCOPED, subBody, TRANSPORTS, type User } from './adapter.js';

/** The route.ts files of the app: path → method → exported handler. */
type Routes = Readonly<Record<string, Readonly<Record<string, RouteHandler<{ params: Promise<object> }>>>>>;

/** The routes listed at the top of adapter.ts, as the route.ts exports of a Next.js app. */
function nextRoutes(auth: Tessera, options: AdapterOptions<User>): Routes {
  const t = tessera<User>(auth, options);
  const answer = (body: (identity: Identity<User>) => Record<string, unknown>) => (_request: Request, context: { auth: Identity<User> }) =>
    toResponse(jsonResult(200, body(context.auth)));
  /**
   * The app's own JSON check ahead of a guarded route, as express.json() is the Express app's: an access
   * guard leaves the body to the route (its token is never there), so a malformed one is the app's to refuse.
   */
  const json =
    (route: RouteHandler<{ params: Promise<object> }>): RouteHandler<{ params: Promise<object> }> =>
    async (request, context) => {
      if (/^application\/json/i.test(request.headers.get('content-type') ?? '')) {
        const text = await request.clone().text();
        try {
          if (text !== '') JSON.parse(text);
        } catch {
          return toResponse(bodyErrorResult('invalid_json', options));
        }
      }
      return route(request, context);
    };
  return {
    '/auth/login': { POST: t.login(checkCredentials, { transports: TRANSPORTS }) },
    '/auth/refresh': { POST: t.refresh() },
    '/auth/logout': { POST: t.logout() },
    '/me': { GET: t.required(answer(meBody)), POST: json(t.required(answer(meBody))) },
    '/optional': { GET: t.optional((_request, { auth }) => toResponse(jsonResult(200, subBody(auth)))) },
    '/fresh': { POST: json(t.fresh(answer(subBody))) },
    '/admin': { GET: t.required(answer(subBody), { claims: ADMIN_CLAIMS }) },
    '/scoped': { GET: t.required(answer(subBody), { scope: SCOPED }) },
    '/refresh-only': { POST: t.refreshRequired(answer(subBody)) },
  };
}

/** Node's request as the Web Request a route handler receives: Node's parsed headers, the body as a stream. */
function webRequest(req: IncomingMessage): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    for (const item of Array.isArray(value) ? value : [value]) if (item !== undefined) headers.append(name, item);
  }
  const method = req.method ?? 'GET';
  const body = method === 'GET' || method === 'HEAD' ? null : (Readable.toWeb(req) as ReadableStream<Uint8Array>);
  return new Request(`http://${req.headers.host ?? '127.0.0.1'}${req.url ?? '/'}`, { method, headers, body, duplex: 'half' } as RequestInit);
}

/**
 * What the app does with a thrown error. Next.js has no error hook for route handlers that can answer, so an app
 * with errors: 'throw' catches around its handlers: Tessera's refusals are written as Tessera built them, marked
 * as the app's; anything else is a defect, a bare 500 that fails the suite, as it would be in Next.js.
 */
function caught(err: unknown): Response {
  if (!(err instanceof TesseraHttpError)) return new Response(null, { status: 500 });
  const response = toResponse({ status: err.status, headers: err.headers, body: err.body });
  response.headers.set(HANDLED_BY, `app:${err.code}:${err.statusCode}`);
  return response;
}

async function write(res: ServerResponse, response: Response): Promise<void> {
  res.statusCode = response.status;
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') res.setHeader(name, value);
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) res.setHeader('set-cookie', cookies);
  res.end(Buffer.from(await response.arrayBuffer()));
}

export async function makeNext(auth: Tessera, options: AdapterOptions<User>): Promise<RunningApp> {
  const routes = nextRoutes(auth, options);
  const server = createServer({ joinDuplicateHeaders: true }, (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const route = routes[path]?.[req.method ?? 'GET'];
    const request = webRequest(req);
    const answered = route === undefined ? Promise.resolve(new Response(null, { status: 404 })) : route(request, { params: Promise.resolve({}) });
    answered.then(
      (response) => write(res, response),
      (err: unknown) => write(res, caught(err)),
    );
  });
  return listen(server);
}
