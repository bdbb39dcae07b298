// The route and parameter decorators of the Nest adapter. Plain functions of Nest's own helpers, so
// the library needs no decorator compiler settings; apps use them with the usual `@` syntax.
import { applyDecorators, createParamDecorator, SetMetadata, UseFilters, UseGuards, type ExecutionContext } from '@nestjs/common';
import type { GuardKind, GuardOptions } from '../adapter-kit.js';
import type { ClaimsRequirement } from '../../core/transport/guard.js';
import { ROUTE_REFUSAL_FILTER } from './exception.js';
import { CLAIMS_KEY, RULE_KEY, SCOPE_KEY, TesseraGuard, type RouteRule } from './guard.js';
import type { NestRequest } from './http.js';

/** What the route decorators return: usable on a controller class or on one route. */
export type TesseraDecorator = ReturnType<typeof applyDecorators>;

/** The guard and the filter that writes its refusals, with one piece of the route's rule. */
function guarded(key: string, value: unknown): TesseraDecorator {
  return applyDecorators(SetMetadata(key, value), UseGuards(TesseraGuard), UseFilters(ROUTE_REFUSAL_FILTER));
}

function rule(kind: GuardKind, options: GuardOptions<never>): TesseraDecorator {
  return guarded(RULE_KEY, { kind, options } satisfies RouteRule);
}

/**
 * An access token is required; `@Auth()` is the caller. `options` may require claims or scopes.
 * @example
 * @Get('me') @Authenticated()
 * me(@Auth() auth: Identity<User>) { return { sub: auth.sub }; }
 */
export function Authenticated<Claims extends object = object>(options: GuardOptions<Claims> = {}): TesseraDecorator {
  return rule({ token: 'access' }, options);
}

/** No token is fine (`@Auth()` is then null); a bad token is still refused. */
export function OptionalAuth<Claims extends object = object>(options: GuardOptions<Claims> = {}): TesseraDecorator {
  return rule({ token: 'access', optional: true }, options);
}

/** A fresh access token, straight from a login, is required (for a password change, say). */
export function Fresh<Claims extends object = object>(options: GuardOptions<Claims> = {}): TesseraDecorator {
  return rule({ token: 'access', fresh: true }, options);
}

/** A refresh token is required, instead of an access token. */
export function RequireRefreshToken<Claims extends object = object>(options: GuardOptions<Claims> = {}): TesseraDecorator {
  return rule({ token: 'refresh' }, options);
}

/**
 * The token must carry these claims (an array claim must contain the value) or pass this predicate,
 * else 403 `insufficient_scope`. Alone, or under a `@Public()` or `@OptionalAuth()` controller, it requires an
 * access token; beside `@Fresh()` or under a guarded controller it adds to that rule. A route's own
 * requirement adds to its controller's (both must hold), never replacing it.
 * @example
 * @Get('admin') @RequireClaims({ roles: 'admin' })
 */
export function RequireClaims<Claims extends object = object>(claims: ClaimsRequirement<Claims>): TesseraDecorator {
  return guarded(CLAIMS_KEY, claims);
}

/**
 * The token's `scope` claim must hold every one of these scopes, else 403 `insufficient_scope` with
 * `scope="…"` in `WWW-Authenticate` (RFC 6750 §3). Combines as `@RequireClaims()` does.
 * @example
 * @Post('docs') @RequireScope('docs:write')
 */
export function RequireScope(scope: string | readonly string[]): TesseraDecorator {
  return guarded(SCOPE_KEY, scope);
}

/** No token is checked on this route, under a global `TesseraGuard` or a guarded controller. */
export function Public(): TesseraDecorator {
  return SetMetadata(RULE_KEY, 'public' satisfies RouteRule);
}

/**
 * The caller the guard verified (`Identity<User, Claims>`), or null on an `@OptionalAuth()` route
 * without a token. Throws where no Tessera guard ran, so a forgotten guard is a 500, never an anonymous caller.
 * @example
 * me(@Auth() auth: Identity<User>) { return auth.user; }
 */
export const Auth: () => ParameterDecorator = createParamDecorator((_data: unknown, context: ExecutionContext) => {
  const auth = context.switchToHttp().getRequest<NestRequest>().auth;
  if (auth === undefined)
    throw new TypeError(
      'No Tessera guard verified this request: add @Authenticated(), @OptionalAuth(), @Fresh() or @RequireRefreshToken() to the route.',
    );
  return auth;
});
