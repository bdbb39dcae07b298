// The Nest guard: reads the route's rule from its decorators, runs the framework-free guard, and
// either puts the caller on the request or throws the refusal for a Tessera filter to write.
import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { NEEDS_TESSERA, type GuardKind, type GuardOptions, type GuardOutcome } from '../adapter-kit.js';
import { Tessera } from '../../core/tessera.js';
import { requireClaims, type ClaimsRequirement } from '../../core/transport/guard.js';
import type { AuthRequest } from '../../core/transport/request.js';
import { addCookies, toAuthRequest, type NestRequest } from './http.js';
import { refusalException, TESSERA_KIT, type NestKit } from './kit.js';

type Scope = string | readonly string[];

/** One requirement that holds when each given one does, each refusing in its own words. */
function allOf(requirements: readonly (ClaimsRequirement | undefined)[]): ClaimsRequirement | undefined {
  const given = requirements.filter((r): r is ClaimsRequirement => r !== undefined);
  if (given.length <= 1) return given[0];
  return (claims) => {
    for (const requirement of given) requireClaims(claims, requirement);
    return true;
  };
}

/** Metadata key of a route's rule, set by `@Authenticated()`, `@OptionalAuth()`, `@Fresh()`, `@RequireRefreshToken()` and `@Public()`. */
export const RULE_KEY = 'tessera:rule';
/** Metadata key of `@RequireClaims()`: added to the route's rule. */
export const CLAIMS_KEY = 'tessera:claims';
/** Metadata key of `@RequireScope()`: added to the route's rule. */
export const SCOPE_KEY = 'tessera:scope';

/** A route's rule: a guard kind with its options, or `public` (no check). */
export type RouteRule = GuardedRule | 'public';
type GuardedRule = { readonly kind: GuardKind; readonly options: GuardOptions<never> };

type Check = (request: AuthRequest) => GuardOutcome<unknown, object> | Promise<GuardOutcome<unknown, object>>;

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
      const ownRule = own<RouteRule>(RULE_KEY);
      const rule = ownRule ?? inherited<RouteRule>(RULE_KEY) ?? REQUIRED;
      const claims = [inherited<ClaimsRequirement>(CLAIMS_KEY), own<ClaimsRequirement>(CLAIMS_KEY)];
      const scope = [inherited<Scope>(SCOPE_KEY), own<Scope>(SCOPE_KEY)];
      // A route's own @RequireClaims/@RequireScope asks for a caller: a @Public() or @OptionalAuth() controller
      // never undoes it (it needs an access token then); only the route's own @Public() or @OptionalAuth() does.
      const demands = ownRule === undefined && (own(CLAIMS_KEY) !== undefined || own(SCOPE_KEY) !== undefined);
      const open = ownRule === 'public' || (rule === 'public' && !demands);
      const base =
        rule === 'public' || (demands && rule.kind.optional === true)
          ? { kind: REQUIRED.kind, options: rule === 'public' ? {} : rule.options }
          : rule;
      // @RequireClaims/@RequireScope add up: a route's own never drop its controller's, nor the rule's own claims and scope.
      const options: GuardOptions<never> = { ...base.options };
      const allClaims = allOf([base.options.claims as ClaimsRequirement | undefined, ...claims]);
      const allScopes = [base.options.scope, ...scope].flatMap((s) => (s === undefined ? [] : typeof s === 'string' ? s.split(' ') : s));
      if (allClaims !== undefined) options.claims = allClaims;
      if (allScopes.length > 0) options.scope = [...new Set(allScopes.filter((s) => s !== ''))];
      check = open ? null : this.#nest.kit.guard(base.kind, options as GuardOptions);
      byHandler.set(handler, check);
    }
    return check;
  }
}
/**
 * At start-up, with a verify-only source (a remote verifier): a route that asks for a refresh token
 * (`@RequireRefreshToken()`) could only ever fail, with a 500 at its first request; refuse the app now.
 */
export function checkVerifyOnlyRoutes(
  modules: Iterable<{ readonly controllers: Map<unknown, { readonly metatype: unknown }> }>,
  nest: NestKit,
  reflector: Reflector,
): void {
  if (nest.kit.authenticator instanceof Tessera) return;
  for (const module of modules) {
    for (const { metatype } of module.controllers.values()) {
      if (typeof metatype !== 'function') continue;
      const targets: object[] = [metatype];
      for (let proto: unknown = metatype.prototype; proto !== null && proto !== Object.prototype; proto = Object.getPrototypeOf(proto))
        for (const name of Object.getOwnPropertyNames(proto)) {
          const value = Object.getOwnPropertyDescriptor(proto, name)?.value as unknown;
          if (name !== 'constructor' && typeof value === 'function') targets.push(value);
        }
      for (const target of targets) {
        const found = reflector.get<RouteRule | undefined>(RULE_KEY, target as never);
        if (found !== undefined && found !== 'public' && found.kind.token === 'refresh')
          throw new TypeError(`@RequireRefreshToken() on ${metatype.name} needs a full Tessera: ${NEEDS_TESSERA}`);
      }
    }
  }
}

Injectable()(TesseraGuard);
Inject(Reflector)(TesseraGuard, undefined, 0);
Inject(TESSERA_KIT)(TesseraGuard, undefined, 1);
