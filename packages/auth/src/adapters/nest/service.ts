// What a Nest app injects: the login, refresh and logout handlers of one `Tessera`, for a controller.
import type { Identity } from '../adapter-kit.js';
import type { CredentialCheck, LoginOptions } from '../../core/flows.js';
import { refusalOf, type HttpResult } from '../../core/transport/error-response.js';
import type { Tessera } from '../../core/tessera.js';
import { toAuthRequest, writeResult, type NestRequest } from './http.js';
import { TesseraHttpException } from './exception.js';
import type { NestKit } from './kit.js';

/**
 * The handlers of one `Tessera` for Nest controllers, provided by `TesseraModule`. Each takes the
 * request and response Nest gives `@Req()` and `@Res()` (Express's or Fastify's) and writes the answer;
 * with `errors: 'throw'` a refusal is thrown as a `TesseraHttpException` instead.
 * @example
 * @Post('login')
 * login(@Req() req: Request, @Res() res: Response) {
 *   return this.tessera.login(req, res, checkPassword);
 * }
 */
export class TesseraService<User = unknown, Claims extends object = object> {
  readonly #nest: NestKit;

  constructor(nest: NestKit) {
    this.#nest = nest;
  }

  /** The `Tessera` instance given to `TesseraModule`. */
  get auth(): Tessera<Claims> {
    return this.#nest.kit.auth as Tessera<Claims>;
  }

  /** Your credential check, then Tessera's session and token answer. */
  async login(request: NestRequest, response: object, check: CredentialCheck, options: Omit<LoginOptions, 'errorFormat'> = {}): Promise<void> {
    this.#answer(response, await this.#nest.kit.login(toAuthRequest(request), check, options));
  }

  /** Rotates the refresh token (grace window, reuse detection) and answers the new pair. */
  async refresh(request: NestRequest, response: object): Promise<void> {
    this.#answer(response, await this.#nest.kit.refresh(toAuthRequest(request)));
  }

  /** Revokes the session and clears the cookies. */
  async logout(request: NestRequest, response: object): Promise<void> {
    this.#answer(response, await this.#nest.kit.logout(toAuthRequest(request)));
  }

  /** The caller `TesseraGuard` verified on this request, typed; throws if none did (or the route is optional without a token). */
  identity(request: NestRequest): Identity<User, Claims> {
    if (request.auth === undefined || request.auth === null)
      throw new TypeError('No Tessera guard verified this request: add @Authenticated(), @Fresh() or @RequireRefreshToken() to the route.');
    return request.auth as Identity<User, Claims>;
  }

  #answer(response: object, result: HttpResult): void {
    const refusal = this.#nest.throws ? refusalOf(result) : undefined;
    if (refusal !== undefined) throw new TesseraHttpException(result, refusal);
    writeResult(response, result);
  }
}
