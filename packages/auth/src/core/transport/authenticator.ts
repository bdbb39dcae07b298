import type { TokenKind, TokenLocation } from '../types.js';
import type { AuthenticateOptions, AuthResult } from './guard.js';
import type { AuthRequest } from './request.js';

/**
 * What a guard needs of its verifier: find and check a request's token. A `Tessera` is one (with
 * its session check), a `RemoteVerifier` of `@tessera/auth/remote` another (JWKS and revocation
 * feed); login, refresh and logout handlers need a full `Tessera`.
 */
export interface Authenticator<Claims extends object = object> {
  /** Where each kind of token is looked for when a route names no locations. */
  readonly config: { readonly locations: Readonly<Record<TokenKind, readonly TokenLocation[]>> };
  authenticate(request: AuthRequest, options: AuthenticateOptions<Claims> & { optional: true }): Promise<AuthResult<Claims> | null>;
  authenticate(request: AuthRequest, options?: AuthenticateOptions<Claims>): Promise<AuthResult<Claims>>;
}

/** An `Authenticator` that only verifies (a remote verifier): adapters give it guards, never handlers. */
export interface VerifyOnlyAuthenticator<Claims extends object = object> extends Authenticator<Claims> {
  /** Marks a source without keys or sessions of its own, so the types offer it no login, refresh or logout. */
  readonly verifyOnly: true;
}

/**
 * A `Tessera`'s guard call, kept off the public surface: `authenticate` as a value when no session
 * store takes part (the token check is synchronous), so a stateless guard costs no promise.
 */
export const AUTHENTICATE_NOW: unique symbol = Symbol('tessera.authenticateNow');
