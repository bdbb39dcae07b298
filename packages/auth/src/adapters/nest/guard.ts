// The Nest guard: reads the route's rule from its decorators, runs the framework-free guard, and
// either puts the caller on the request or throws the refusal for a Tessera filter to write.
import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { GuardKind, GuardOptions, GuardOutcome } from '../adapter-kit.js';
import type { AuthRequest } from '../../core/transport/request.js';
import { addCookies, toAuthRequest, type NestRequest } from './http.js';
import { refusalException, TESSERA_KIT, type NestKit } from './kit.js';

/** Metadata key of a route's rule, set by `@Authenticated()`, `@OptionalAuth()`, `@Fresh()`, `@RequireRefreshToken()` and `@Public()`. */
export const RULE_KEY = 'tessera:rule';
/** Metadata key of `@RequireClaims()`: added to the route's rule. */
export const CLAIMS_KEY = 'tessera:claims';
/** Metadata key of `@RequireScope()`: added to the route's rule. */
export const SCOPE_KEY = 'tessera:scope';

/** A route's rule: a guard kind with its options, or `public` (no check). */
export type RouteRule = GuardedRule | 'public';
type GuardedRule = { readonly kind: GuardKind; readonly options: GuardOptions<never> };

type Check = (request: AuthRequest) => Promise<GuardOutcome<unknown, object>>;

/** Routes without a rule (under a global guard, or a bare `@UseGuards(TesseraGuard)`) need an access token. */
const REQUIRED: GuardedRule = { kind: { token: 'access' }, options: {} };

/** Requests already checked, so a route guarded twice (globally and by a decorator: two guard instances) is checked once. */
const CHECKED = new WeakSet<object>();

/**
 * Checks the token of a route by its decorators' rule; with no rule, an access token is required.
 * The decorators apply it for you; to guard every route, provide it as `APP_GUARD` and mark open
 * routes `@Public()`.
 */
export class TesseraGuard implements CanActivate {
  readonly #reflector: Reflector;
  readonly #nest: NestKit;
  /** Each route's check, prepared once (AdapterKit.guard merges its options when a route is declared). */
  readonly #checks = new WeakMap<object, WeakMap<object, Check | null>>();

  constructor(reflector: Reflector, nest: NestKit) {
    this.#reflector = reflector;
    this.#nest = nest;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const check = this.#checkOf(context);
    if (check === null) return true;
    // Fail closed: an RPC or WebSocket call under a global guard has no HTTP token to check.
    if (context.getType() !== 'http') return false;
    const http = context.switchToHttp();
    const request = http.getRequest<NestRequest>();
    if (CHECKED.has(request)) return true;
    const outcome = await check(toAuthRequest(request));
    if (!outcome.ok) throw refusalException(this.#nest, outcome.result, outcome.error);
    CHECKED.add(request);
    request.auth = outcome.identity;
    if (outcome.setCookie.length > 0) addCookies(http.getResponse<object>(), outcome.setCookie);
    return true;
  }

  #checkOf(context: ExecutionContext): Check | null {
    const owner = context.getClass();
    const handler = context.getHandler();
    let byHandler = this.#checks.get(owner);
    if (byHandler === undefined) this.#checks.set(owner, (byHandler = new WeakMap()));
    let check = byHandler.get(handler);
    if (check === undefined) {
      const own = <T>(key: string) => this.#reflector.get<T | undefined>(key, handler);
      const inherited = <T>(key: string) => this.#reflector.get<T | undefined>(key, owner);
      const rule = own<RouteRule>(RULE_KEY) ?? inherited<RouteRule>(RULE_KEY) ?? REQUIRED;
      const claims = own<GuardOptions<never>['claims']>(CLAIMS_KEY) ?? inherited<GuardOptions<never>['claims']>(CLAIMS_KEY);
      const scope = own<GuardOptions<never>['scope']>(SCOPE_KEY) ?? inherited<GuardOptions<never>['scope']>(SCOPE_KEY);
      // A route's own @Public() wins; a @Public() controller never undoes a route's own @RequireClaims/@RequireScope.
      const open = own(RULE_KEY) === 'public' || (rule === 'public' && own(CLAIMS_KEY) === undefined && own(SCOPE_KEY) === undefined);
      const base = rule === 'public' ? REQUIRED : rule;
      const options: GuardOptions<never> = { ...base.options };
      if (claims !== undefined) options.claims = claims;
      if (scope !== undefined) options.scope = scope;
      check = open ? null : this.#nest.kit.guard(base.kind, options as GuardOptions);
      byHandler.set(handler, check);
    }
    return check;
  }
}
Injectable()(TesseraGuard);
Inject(Reflector)(TesseraGuard, undefined, 0);
Inject(TESSERA_KIT)(TesseraGuard, undefined, 1);
