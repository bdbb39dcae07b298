// @tessera/auth/nest: Tessera for NestJS 11 and 12, on @nestjs/platform-express or @nestjs/platform-fastify.
export { TesseraModule, type TesseraModuleAsyncOptions } from './module.js';
export type { TesseraModuleOptions } from './kit.js';
export { TesseraService } from './service.js';
export { TesseraGuard } from './guard.js';
export {
  Auth,
  Authenticated,
  Fresh,
  OptionalAuth,
  Public,
  RequireClaims,
  RequireRefreshToken,
  RequireScope,
  type TesseraDecorator,
} from './decorators.js';
export { TesseraExceptionFilter, TesseraHttpException } from './exception.js';
export type { NestRequest } from './http.js';
export type { AdapterOptions, ErrorHandling, GuardOptions, Identity } from '../adapter-kit.js';
