// The NestJS apps the adapter conformance suite (./adapter.ts) drives, on both Nest platforms: the routes
// listed at the top of adapter.ts, mounted by one controller built from data (Nest's decorators applied as
// functions, as the library applies them), each answer written as the HttpResult the suite names.
import {
  Catch,
  Controller,
  Get,
  HttpException,
  Inject,
  Module,
  Post,
  Req,
  Res,
  type ArgumentsHost,
  type ExceptionFilter,
  type ModuleMetadata,
  type Type,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter, type NestExpressApplication } from '@nestjs/platform-express';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { RunningApp } from '@tessera/test-kit';
import type { AddressInfo } from 'node:net';
import type { AdapterOptions, Identity } from '../../src/adapters/adapter-kit.js';
import { RespondingRefusal } from '../../src/adapters/nest/exception.js';
import { writeResult, type NestRequest } from '../../src/adapters/nest/http.js';
import {
  Auth,
  Authenticated,
  Fresh,
  OptionalAuth,
  RequireClaims,
  RequireRefreshToken,
  RequireScope,
  TesseraHttpException,
  TesseraModule,
  TesseraService,
  type TesseraDecorator,
} from '../../src/adapters/nest/index.js';
import { jsonResult, type HttpResult, type Tessera } from '../../src/index.js';
import {
  ADMIN_CLAIMS,
  BODY_LIMIT,
  bodyErrorResult,
  checkCredentials,
  HANDLED_BY,
  meBody,
  SCOPED,
  subBody,
  TRANSPORTS,
  type User,
} from './adapter.js';

/** A guarded route of the suite: its guard decorator, and the body it answers for the identity `@Auth()` gives. */
interface NestRoute {
  readonly method: 'get' | 'post';
  readonly path: string;
  readonly guard: TesseraDecorator;
  body(identity: Identity<unknown> | null): Record<string, unknown>;
}

/** The guarded routes listed at the top of adapter.ts (kept in step with that list and with apps.ts). */
const ROUTES: readonly NestRoute[] = [
  { method: 'get', path: '/me', guard: Authenticated(), body: (identity) => meBody(identity!) },
  { method: 'post', path: '/me', guard: Authenticated(), body: (identity) => meBody(identity!) },
  { method: 'get', path: '/optional', guard: OptionalAuth(), body: subBody },
  { method: 'post', path: '/fresh', guard: Fresh(), body: subBody },
  { method: 'get', path: '/admin', guard: RequireClaims(ADMIN_CLAIMS), body: subBody },
  { method: 'get', path: '/scoped', guard: RequireScope(SCOPED), body: subBody },
  { method: 'post', path: '/refresh-only', guard: RequireRefreshToken(), body: subBody },
];

/** A route of a controller built from data: its verb and path, decorators, parameter decorators, and body. */
export interface RouteSpec {
  readonly method: 'get' | 'post';
  readonly path: string;
  readonly decorators?: readonly MethodDecorator[];
  readonly params?: readonly ParameterDecorator[];
  /** The handler; `this.tessera` is the injected `TesseraService`. */
  run(this: { readonly tessera: TesseraService<User> }, ...args: never[]): unknown;
}

/**
 * A controller class built from data, as `@Controller() class { constructor(tessera: TesseraService) {} @Get(path)
 * @Guard() run(@Req() req…) {} }` would be: Nest's decorators applied as functions, in the order TypeScript applies them.
 */
export function controller(routes: readonly RouteSpec[], classDecorators: readonly ClassDecorator[] = []): Type {
  class BuiltController {
    constructor(readonly tessera: TesseraService<User>) {}
  }
  Inject(TesseraService)(BuiltController, undefined, 0);
  const prototype = BuiltController.prototype;
  routes.forEach((route, index) => {
    const name = `route${index}`;
    Object.defineProperty(prototype, name, { value: route.run, writable: true, configurable: true });
    const descriptor = Object.getOwnPropertyDescriptor(prototype, name)!;
    (route.params ?? []).forEach((param, at) => param(prototype, name, at));
    const verb = route.method === 'get' ? Get(route.path) : Post(route.path);
    for (const decorate of [...(route.decorators ?? []), verb].reverse()) decorate(prototype, name, descriptor);
  });
  for (const decorate of [...classDecorators, Controller()].reverse()) decorate(BuiltController);
  return BuiltController;
}

/** A module class with this metadata, as `@Module({...}) class AppModule {}` would be. */
export function nestModule(metadata: ModuleMetadata): Type {
  // eslint-disable-next-line @typescript-eslint/no-extraneous-class -- a Nest module is a class; its decorator holds its metadata.
  class BuiltModule {}
  Module(metadata)(BuiltModule);
  return BuiltModule;
}

/** The suite's controller: login, refresh and logout through `TesseraService`, then the guarded routes. */
function conformanceController(): Type {
  const handlers: RouteSpec[] = [
    {
      method: 'post',
      path: '/auth/login',
      params: [Req(), Res()],
      run(req: NestRequest, res: object) {
        return this.tessera.login(req, res, checkCredentials, { transports: TRANSPORTS });
      },
    },
    {
      method: 'post',
      path: '/auth/refresh',
      params: [Req(), Res()],
      run(req: NestRequest, res: object) {
        return this.tessera.refresh(req, res);
      },
    },
    {
      method: 'post',
      path: '/auth/logout',
      params: [Req(), Res()],
      run(req: NestRequest, res: object) {
        return this.tessera.logout(req, res);
      },
    },
  ];
  const guarded = ROUTES.map((route): RouteSpec => ({
    method: route.method,
    path: route.path,
    decorators: [route.guard],
    params: [Res(), Auth()],
    run: (res: object, identity: Identity<unknown> | null) => writeResult(res, jsonResult(200, route.body(identity))),
  }));
  return controller([...handlers, ...guarded]);
}

/**
 * The app's own error handling. With errors: 'throw', Tessera's refusals arrive here as TesseraHttpException:
 * the app writes their answer, marked as its own (HANDLED_BY). It also answers what the platform's body
 * parser refused (Express's body-parser errors, Fastify's FST_ERR_CTP_* errors, both as Nest hands them over).
 * Anything else is a defect: a 500 that fails the suite, and so is a refusal the route's own filter should
 * have written (the default, errors: 'respond').
 */
class AppErrorFilter implements ExceptionFilter {
  constructor(readonly options: AdapterOptions<User>) {}

  catch(err: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<object>();
    if (err instanceof TesseraHttpException && !(err instanceof RespondingRefusal)) {
      const mark = `app:${err.code}:${err.getStatus()}`;
      return writeResult(response, { ...err.result, headers: { ...err.result.headers, [HANDLED_BY]: mark } });
    }
    const status = err instanceof RespondingRefusal ? 0 : err instanceof HttpException ? err.getStatus() : statusOf(err);
    const kind = status === 400 ? 'invalid_json' : status === 413 ? 'too_large' : status === 415 ? 'unsupported_type' : undefined;
    writeResult(response, kind === undefined ? unexpected : bodyErrorResult(kind, this.options));
  }
}
Catch()(AppErrorFilter);

const unexpected: HttpResult = jsonResult(500, { error: 'internal', message: 'unexpected error' });

function statusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { status, statusCode } = err as { status?: unknown; statusCode?: unknown };
  const value = status ?? statusCode;
  return typeof value === 'number' ? value : undefined;
}

function appModule(auth: Tessera, options: AdapterOptions<User>): Type {
  return nestModule({ imports: [TesseraModule.forRoot<User>({ auth, ...options })], controllers: [conformanceController()] });
}

/** The two Nest platforms. */
export type NestPlatform = 'express' | 'fastify';

/**
 * Starts a Nest app of `module` on 127.0.0.1, answering JSON bodies only, through the platform's own parser
 * limited to BODY_LIMIT; `filters` become the app's global filters. Express's extras the other adapters do not
 * add (X-Powered-By, ETag) are off; Fastify takes no text/plain (docs/architecture.md "Platform notes").
 */
export async function startNest(platform: NestPlatform, module: Type, filters: readonly ExceptionFilter[] = []): Promise<RunningApp> {
  const settings = { bodyParser: false, logger: false, forceCloseConnections: true } as const;
  let app: NestExpressApplication | NestFastifyApplication;
  if (platform === 'express') {
    const express = await NestFactory.create<NestExpressApplication>(module, new ExpressAdapter(), settings);
    express.disable('x-powered-by');
    express.set('etag', false);
    express.useBodyParser('json', { limit: BODY_LIMIT });
    app = express;
  } else {
    const adapter = new FastifyAdapter({ bodyLimit: BODY_LIMIT });
    adapter.getInstance().removeContentTypeParser('text/plain');
    app = await NestFactory.create<NestFastifyApplication>(module, adapter, settings);
  }
  app.useGlobalFilters(...filters);
  await app.listen(0, '127.0.0.1');
  const { port } = (app.getHttpServer() as { address(): AddressInfo }).address();
  return { url: `http://127.0.0.1:${port}`, port, close: () => app.close() };
}

/** Nest on Express 5 with the suite's controller. */
export function makeNestExpress(auth: Tessera, options: AdapterOptions<User>): Promise<RunningApp> {
  return startNest('express', appModule(auth, options), [new AppErrorFilter(options)]);
}

/** Nest on Fastify 5 with the suite's controller. */
export function makeNestFastify(auth: Tessera, options: AdapterOptions<User>): Promise<RunningApp> {
  return startNest('fastify', appModule(auth, options), [new AppErrorFilter(options)]);
}
