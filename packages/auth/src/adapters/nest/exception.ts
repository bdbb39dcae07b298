// A refusal as Nest's own kind of error, and the filters that write it exactly as the other adapters do.
import { Catch, HttpException, UseFilters, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { HttpResult, Refusal } from '../../core/transport/error-response.js';
import { writeResult } from './http.js';

/**
 * A Tessera refusal as an `HttpException`: the whole answer Tessera writes (`result`: status,
 * `WWW-Authenticate`, `Cache-Control`, cookies, body) and the stable `code` (`cause` is the `TesseraError`).
 * With the module option `errors: 'throw'` your exception filters see it; `TesseraExceptionFilter`, which
 * `TesseraModule` registers globally, writes `result` as it is for any that no filter of yours catches.
 */
export class TesseraHttpException extends HttpException {
  /** The stable code, e.g. `'token_expired'`. */
  readonly code: string;
  /** The answer Tessera writes for this refusal. */
  readonly result: HttpResult;

  constructor(result: HttpResult, refusal: Refusal) {
    // The parsed body, so that Nest's own filter, should it see this, answers the same JSON.
    super(JSON.parse(result.body ?? '{}') as Record<string, unknown>, result.status, refusal instanceof Error ? { cause: refusal } : {});
    this.name = 'TesseraHttpException';
    this.code = refusal.code;
    this.result = result;
  }
}

/** The refusal a guard answers itself (the default, `errors: 'respond'`): the route's own filter writes it. */
export class RespondingRefusal extends TesseraHttpException {}

/** Writes a `TesseraHttpException` on Express or Fastify: the same bytes as `@tessera/auth/express` and `/fastify`. */
export class TesseraExceptionFilter implements ExceptionFilter<TesseraHttpException> {
  catch(exception: TesseraHttpException, host: ArgumentsHost): void {
    writeResult(host.switchToHttp().getResponse<object>(), exception.result);
  }
}
Catch(TesseraHttpException)(TesseraExceptionFilter);

/**
 * On each guarded route: Nest asks a route's filters before the app's, so an app-wide catch-all filter
 * (`app.useGlobalFilters`) cannot turn a refusal into an answer without its challenge and cookies.
 */
export class RouteRefusalFilter extends TesseraExceptionFilter {}
Catch(RespondingRefusal)(RouteRefusalFilter);

/** The one instance every guarded route and controller shares. */
export const ROUTE_REFUSAL_FILTER = new RouteRefusalFilter();

const FILTERED = new WeakSet<object>();

/**
 * Puts the route filter on every controller of the app, once: under a global `TesseraGuard` a route may have
 * no Tessera decorator, and Nest asks filters from `app.useGlobalFilters` before the module's own, so a
 * catch-all of the app's would otherwise answer the refusal without its challenge. It catches only the
 * refusals `TesseraGuard` answers itself, so other errors reach the app's filters as before.
 */
export function filterEveryController(modules: Iterable<{ readonly controllers: Map<unknown, { readonly metatype: unknown }> }>): void {
  for (const module of modules) {
    for (const { metatype } of module.controllers.values()) {
      if (typeof metatype !== 'function' || FILTERED.has(metatype)) continue;
      FILTERED.add(metatype);
      UseFilters(ROUTE_REFUSAL_FILTER)(metatype);
    }
  }
}
