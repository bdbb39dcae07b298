// Spans for what the auth routes do: `tessera.login`, `tessera.refresh`, `tessera.logout`, and
// `tessera.verify` for every access-token guard. The Fastify plugin's verbs are wrapped once, when the
// app is built, so every route made from them is traced and the store calls they make nest under them.
import type { FastifyTessera } from '@tessera/auth/fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler, RouteHandlerMethod } from 'fastify';
import { SID_HASH, sidHash, startSpan, within } from './tracing.js';

const STATUS = 'http.response.status_code';

/**
 * Replaces the guard and handler factories of `app.tessera` with traced ones; call it after the plugin
 * is registered and before the routes are declared.
 * @example await app.register(tessera, { auth }); traceTessera(app.tessera);
 */
export function traceTessera<User>(verbs: FastifyTessera<User>): void {
  const { required, optional, fresh, refreshRequired, login, refresh, logout } = verbs;
  verbs.required = (options) => tracedGuard('tessera.verify', required(options));
  verbs.optional = (options) => tracedGuard('tessera.verify', optional(options));
  verbs.fresh = (options) => tracedGuard('tessera.verify', fresh(options));
  verbs.refreshRequired = (options) => tracedGuard('tessera.verify_refresh', refreshRequired(options));
  verbs.login = (check, options) => tracedHandler('tessera.login', login(check, options));
  verbs.refresh = () => tracedHandler('tessera.refresh', refresh());
  verbs.logout = () => tracedHandler('tessera.logout', logout());
}

/** A guard in a span that says whether it let the request through and, if so, names the session. */
function tracedGuard(name: string, guard: preHandlerAsyncHookHandler): preHandlerAsyncHookHandler {
  return function traced(this: FastifyInstance, request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const span = startSpan(name);
    // Untraced, the guard runs as it is: the hot path pays one non-recording span.
    if (span === undefined) return guard.call(this, request, reply);
    return within(span, async () => {
      // A refusal is a sent reply (awaiting a reply waits for it to be written: it is a thenable).
      const answered = await guard.call(this, request, reply);
      const caller = request.auth;
      if (reply.sent) {
        span.setAttribute('tessera.outcome', 'refused');
        span.setAttribute(STATUS, reply.statusCode);
      } else if (caller !== null) {
        span.setAttribute('tessera.outcome', 'allowed');
        span.setAttribute(SID_HASH, sidHash(caller.sid));
      } else {
        span.setAttribute('tessera.outcome', 'anonymous');
      }
      return answered;
    });
  };
}

/** A route handler in a span that records the status it answered; session events name the session on it. */
function tracedHandler(name: string, handler: RouteHandlerMethod): RouteHandlerMethod {
  return function traced(this: FastifyInstance, request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const span = startSpan(name);
    if (span === undefined) return Promise.resolve(handler.call(this, request, reply));
    return within(span, async () => {
      const answered: unknown = await handler.call(this, request, reply);
      span.setAttribute(STATUS, reply.statusCode);
      return answered;
    });
  };
}
