// Express 5 adapter: request → plain values → core → response. Nothing else happens here.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { AdapterKit, frameworkTessera, type AdapterOptions, type FrameworkTessera, type Identity } from './adapter-kit.js';
import { AdapterRequest, type AuthRequest, type RequestFacts } from '../core/transport/request.js';
import type { HttpResult } from '../core/transport/error-response.js';
import type { Tessera } from '../core/tessera.js';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- Express is typed through this global namespace.
  namespace Express {
    interface Request {
      /** Set by a Tessera guard: the verified caller, or null on an optional route without a token. */
      auth?: Identity<unknown> | null;
    }
  }
}

/** An Express request that passed a required Tessera guard. */
export type AuthedRequest<User = never> = Request & { auth: Identity<User> };

/** The guards and handlers of one `Tessera` for Express. */
export type ExpressTessera<User> = FrameworkTessera<RequestHandler, RequestHandler, Request, User>;

/**
 * Tessera for Express 5. Mount `express.json()` before the login, refresh and logout handlers.
 * @example
 * const t = tessera(auth);
 * app.get('/me', t.required(), (req, res) => res.json({ sub: t.identity(req).sub }));
 */
export function tessera<User = never>(auth: Tessera, options: AdapterOptions<User> = {}): ExpressTessera<User> {
  const kit = new AdapterKit<User>(auth, options);
  return frameworkTessera<RequestHandler, RequestHandler, Request, User>(kit, {
    guard: (kind, guardOptions) => {
      const check = kit.guard(kind, guardOptions);
      return async (req: Request, res: Response, next: NextFunction) => {
        try {
          const outcome = await check(toRequest(req));
          if (!outcome.ok) return write(res, outcome.result);
          req.auth = outcome.identity;
          if (outcome.setCookie.length > 0) res.append('set-cookie', [...outcome.setCookie]);
          next();
        } catch (err) {
          next(err);
        }
      };
    },
    handler: (run) => async (req: Request, res: Response, next: NextFunction) => {
      try {
        write(res, await run(toRequest(req)));
      } catch (err) {
        next(err);
      }
    },
    stored: (req) => req.auth,
  });
}

// Express works both out on every read (trust proxy): AdapterRequest reads them only when asked.
const FACTS: RequestFacts<Request> = { protocol: (req) => req.protocol, ip: (req) => req.ip };

function toRequest(req: Request): AuthRequest {
  return new AdapterRequest(req.method, req.rawHeaders, req.body as unknown, req, FACTS);
}

function write(res: Response, result: HttpResult): void {
  res.status(result.status);
  for (const [name, value] of Object.entries(result.headers)) {
    if (name === 'set-cookie') res.append(name, [...value]);
    else res.setHeader(name, value);
  }
  // end(), not send(): no ETag and no content-type guessing, so every adapter writes the same bytes.
  res.end(result.body);
}
