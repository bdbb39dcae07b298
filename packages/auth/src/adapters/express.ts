// Express 5 adapter: request → plain values → core → response. Nothing else happens here.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import {
  AdapterKit,
  frameworkTessera,
  NO_GUARD,
  TesseraHttpError,
  type AdapterOptions,
  type Authenticator,
  type VerifyOnlyAuthenticator,
  type FrameworkTessera,
  type Identity,
  type VerifyOnly,
} from './adapter-kit.js';
import { AdapterRequest, requestPath, type AuthRequest, type RequestFacts } from '../core/transport/request.js';
import type { HttpResult } from '../core/transport/error-response.js';
import type { Tessera } from '../core/tessera.js';

export { TesseraHttpError };

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- Express is typed through this global namespace.
  namespace Express {
    interface Request {
      /** Set by a Tessera guard: the verified caller, or null on an optional route without a token. */
      auth?: Identity<unknown> | null;
    }
  }
}

/** An Express request that passed a required Tessera guard: `auth` is set, with the user and claims typed. */
export type AuthedRequest<User = never, Claims extends object = object> = Request & { auth: Identity<User, Claims> };

/** A route handler behind a required guard, as `authed()` takes it. */
export type AuthedHandler<User = never, Claims extends object = object> = (
  req: AuthedRequest<User, Claims>,
  res: Response,
  next: NextFunction,
) => unknown;

/** The guards and handlers of one `Tessera` for Express. */
export type ExpressTessera<User, Claims extends object = object> = FrameworkTessera<RequestHandler, RequestHandler, Request, User, Claims> & {
  /**
   * A handler whose `req.auth` is typed as set (user and claims): put it after `required()`, `fresh()`
   * or `refreshRequired()`. Without a guard before it, it passes an error to `next`.
   * @example app.get('/me', t.required(), t.authed((req, res) => res.json({ sub: req.auth.sub })));
   */
  authed(handler: AuthedHandler<User, Claims>): RequestHandler;
};

/**
 * Tessera for Express 5. Mount `express.json()` before the login, refresh and logout handlers.
 * `User` is inferred from `lookupUser`, the claims type from `auth` (`createTessera<Claims>`).
 * @example
 * const t = tessera(auth);
 * app.get('/me', t.required(), (req, res) => res.json({ sub: t.identity(req).sub }));
 * // A resource server: the guards only, over a remote verifier (@tessera/auth/remote).
 * const api = tessera(createRemoteVerifier({ issuer, audience, jwksUrl }));
 */
export function tessera<User = never, Claims extends object = object>(
  auth: VerifyOnlyAuthenticator<Claims>,
  options?: AdapterOptions<User, Claims>,
): VerifyOnly<ExpressTessera<User, Claims>>;
export function tessera<User = never, Claims extends object = object>(
  auth: Tessera<Claims>,
  options?: AdapterOptions<User, Claims>,
): ExpressTessera<User, Claims>;
export function tessera<User = never, Claims extends object = object>(
  auth: Tessera<Claims> | Authenticator<Claims>,
  options: AdapterOptions<User, Claims> = {},
): ExpressTessera<User, Claims> {
  const kit = new AdapterKit<User, Claims>(auth, options, { jsonParser: 'express.json()' });
  const base = frameworkTessera<RequestHandler, RequestHandler, Request, User, Claims>(kit, {
    guard: (kind, guardOptions) => {
      const check = kit.guard(kind, guardOptions);
      return async (req: Request, res: Response, next: NextFunction) => {
        try {
          const pending = check(toRequest(req));
          const outcome = pending instanceof Promise ? await pending : pending;
          if (!outcome.ok) return answer(kit, res, next, outcome.result);
          req.auth = outcome.identity as Identity<unknown> | null;
          if (outcome.setCookie.length > 0) res.append('set-cookie', [...outcome.setCookie]);
          next();
        } catch (err) {
          next(err);
        }
      };
    },
    handler: (run) => async (req: Request, res: Response, next: NextFunction) => {
      try {
        answer(kit, res, next, await run(toRequest(req)));
      } catch (err) {
        next(err);
      }
    },
    stored: (req) => req.auth,
  });
  return {
    ...base,
    authed: (handler) => (req, res, next) => {
      if (req.auth === undefined || req.auth === null) return next(new TypeError(NO_GUARD));
      return handler(req as AuthedRequest<User, Claims>, res, next);
    },
  };
}

// Express works both out on every read (trust proxy): AdapterRequest reads them only when asked.
// The path is the original one (a router's mount point included), as the client named it in a DPoP proof's htu.
const FACTS: RequestFacts<Request> = { protocol: (req) => req.protocol, ip: (req) => req.ip, path: (req) => requestPath(req.originalUrl) };

function toRequest(req: Request): AuthRequest {
  return new AdapterRequest(req.method, req.rawHeaders, req.body as unknown, req, FACTS);
}

/** Writes the answer, or hands a refusal to Express's error handlers (`errors: 'throw'`). */
function answer<User, Claims extends object>(kit: AdapterKit<User, Claims>, res: Response, next: NextFunction, result: HttpResult): void {
  const error = kit.thrown(result);
  if (error !== undefined) return next(error);
  write(res, result);
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
