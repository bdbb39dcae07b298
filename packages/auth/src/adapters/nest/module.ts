// The Nest module: configured once with the `Tessera` instance, it provides the service, the kit the
// guard uses, and the app-wide filter that writes refusals no filter of the app's own catches.
import { Module, type DynamicModule, type FactoryProvider, type ModuleMetadata, type Provider } from '@nestjs/common';
import { APP_FILTER, ModulesContainer, Reflector } from '@nestjs/core';
import { filterEveryController, TesseraExceptionFilter } from './exception.js';
import { checkVerifyOnlyRoutes } from './guard.js';
import { nestKit, TESSERA_KIT, type NestKit, type TesseraModuleOptions } from './kit.js';
import { TesseraService } from './service.js';

/** `TesseraModule.forRootAsync`: the options from a factory, with the providers it is given. */
export interface TesseraModuleAsyncOptions<User = unknown, Claims extends object = object> {
  imports?: ModuleMetadata['imports'];
  inject?: FactoryProvider['inject'];
  useFactory: (...args: never[]) => TesseraModuleOptions<User, Claims> | Promise<TesseraModuleOptions<User, Claims>>;
}

const OPTIONS = Symbol('@tessera/auth/nest options');
const ROUTE_FILTERS = Symbol('@tessera/auth/nest route filters');
const ROUTE_CHECK = Symbol('@tessera/auth/nest verify-only route check');

/**
 * Tessera for NestJS (on Express or Fastify), global once imported: provides `TesseraService` (login,
 * refresh, logout) and what `TesseraGuard` needs, and writes every refusal as the other adapters do.
 * @example
 * @Module({ imports: [TesseraModule.forRoot({ auth })], controllers: [AuthController] })
 * export class AppModule {}
 */
// eslint-disable-next-line @typescript-eslint/no-extraneous-class -- a Nest module is a class; its configuration is static.
export class TesseraModule {
  static forRoot<User = unknown, Claims extends object = object>(options: TesseraModuleOptions<User, Claims>): DynamicModule {
    return TesseraModule.#module([{ provide: OPTIONS, useValue: options }]);
  }

  static forRootAsync<User = unknown, Claims extends object = object>(options: TesseraModuleAsyncOptions<User, Claims>): DynamicModule {
    const factory: Provider = { provide: OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] };
    return { ...TesseraModule.#module([factory]), imports: options.imports ?? [] };
  }

  static #module(options: Provider[]): DynamicModule {
    return {
      module: TesseraModule,
      global: true,
      providers: [
        ...options,
        { provide: TESSERA_KIT, useFactory: nestKit, inject: [OPTIONS] },
        { provide: TesseraService, useFactory: (nest: NestKit) => new TesseraService(nest), inject: [TESSERA_KIT] },
        { provide: APP_FILTER, useClass: TesseraExceptionFilter },
        // Made with the app, before its routes are: their filters are read when Nest registers them.
        { provide: ROUTE_FILTERS, useFactory: (modules: ModulesContainer) => filterEveryController(modules.values()), inject: [ModulesContainer] },
        // A remote verifier cannot serve @RequireRefreshToken(): the app fails to start, not its first request.
        {
          provide: ROUTE_CHECK,
          useFactory: (modules: ModulesContainer, nest: NestKit) => checkVerifyOnlyRoutes(modules.values(), nest, new Reflector()),
          inject: [ModulesContainer, TESSERA_KIT],
        },
      ],
      exports: [TESSERA_KIT, TesseraService],
    };
  }
}
Module({})(TesseraModule);
