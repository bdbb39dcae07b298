// What the module provides to the guard and the service: the framework-free kit and where refusals go.
import { AdapterKit, isAuthenticator, type AdapterOptions, type Authenticator } from '../adapter-kit.js';
import type { Tessera } from '../../core/tessera.js';
import type { HttpResult, Refusal } from '../../core/transport/error-response.js';
import { RespondingRefusal, TesseraHttpException } from './exception.js';

/** The injection token of the module's `NestKit`. */
export const TESSERA_KIT = Symbol('@tessera/auth/nest kit');

/** The adapter kit, and whether refusals go to the app's exception filters (`errors: 'throw'`). */
export interface NestKit {
  readonly kit: AdapterKit<unknown, object>;
  readonly throws: boolean;
}

/**
 * What `TesseraModule.forRoot` takes: the `Tessera` instance (or, for guards only, a remote verifier of
 * `@tessera/auth/remote`: then `TesseraService`'s login, refresh and logout throw) and the adapter options.
 */
export type TesseraModuleOptions<User = unknown, Claims extends object = object> = { auth: Tessera<Claims> | Authenticator<Claims> } & AdapterOptions<
  User,
  Claims
>;

/** Named in the refusal of a JSON body that reached a handler unparsed. */
const JSON_PARSER = "Nest's JSON body parser (NestFactory.create's bodyParser option, on by default)";

export function nestKit(options: TesseraModuleOptions<unknown, object>): NestKit {
  const { auth, ...adapterOptions } = options;
  if (!isAuthenticator(auth))
    throw new TypeError('TesseraModule.forRoot needs { auth }, where auth comes from createTessera() (or createRemoteVerifier() for guards only).');
  return { kit: new AdapterKit(auth, adapterOptions, { jsonParser: JSON_PARSER }), throws: adapterOptions.errors === 'throw' };
}

/** The exception for a refusal: answered by the route itself, or handed to the app's filters. */
export function refusalException(nest: NestKit, result: HttpResult, refusal: Refusal): TesseraHttpException {
  return nest.throws ? new TesseraHttpException(result, refusal) : new RespondingRefusal(result, refusal);
}
