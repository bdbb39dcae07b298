// @tessera/auth/remote: the verify-only entry for resource servers. Tokens are checked against the
// issuer's published JWKS (and, optionally, its revocation feed) without its keys or its database.
// Loads on Node, Bun, Deno and workerd (nodejs_compat): no store, framework or driver is imported here.
import { RevocationFeed } from './revocation-feed.js';
import { RemoteVerifier } from './verifier.js';
import type { RemoteVerifierOptions } from './options.js';

/**
 * A verifier of access tokens against an issuer's JWKS; every adapter's guards take it in place of a `Tessera`.
 * @example
 * const verifier = createRemoteVerifier({ issuer: 'https://auth.example', audience: 'https://api.example', jwksUrl: 'https://auth.example/auth/jwks.json' });
 * const claims = await verifier.verify(token);
 */
export function createRemoteVerifier<Claims extends object = object>(options: RemoteVerifierOptions): RemoteVerifier<Claims> {
  return new RemoteVerifier<Claims>(
    options,
    (resolved) =>
      new RevocationFeed({
        url: resolved.revocationsUrl ?? '',
        token: resolved.revocationsToken ?? '',
        fetch: resolved.fetch,
        clock: resolved.clock,
        lostAfterMs: resolved.revocationsLostAfterMs,
        failClosedAfterMs: resolved.revocationsFailClosedAfterMs,
        expiryOnlyWhenFeedFails: resolved.expiryOnlyWhenFeedFails,
        // No token this verifier accepts lives longer past its session's revocation (plus a minute for clocks).
        maxTtlMs: (resolved.maxTokenLife + resolved.leeway) * 1000 + 60_000,
        log: resolved.log,
        onEvent: resolved.onEvent,
      }),
  );
}

export { RemoteVerifier, type RevocationCheck } from './verifier.js';
export type { RemoteDpopOptions, RemoteProfile, RemoteVerifierEvent, RemoteVerifierOptions, RemoteVerifierSettings } from './options.js';
export type { JwksEvent } from './jwks.js';
export type { RevocationFeedEvent, RevocationFeedState } from './revocation-feed.js';
export { nodeBackend, webCryptoBackend, type KeyBackend, type PublicJwk, type RemoteAlgorithm, type VerifyingKey } from './key-backend.js';
export type { Authenticator, VerifyOnlyAuthenticator } from '../core/transport/authenticator.js';
export type { AuthenticateOptions, AuthResult, ClaimsOf } from '../core/transport/guard.js';
export type { TokenClaims } from '../core/tokens/claims.js';
export type { AuthRequest } from '../core/transport/request.js';
export type { Clock } from '../core/clock.js';
export type { Duration } from '../core/config/duration.js';
export {
  ERRORS,
  InsufficientScopeError,
  JwksUnavailableError,
  RevocationsUnavailableError,
  TesseraError,
  TokenExpiredError,
  TokenInvalidError,
  TokenMissingError,
  TokenNotYetValidError,
  TokenRevokedError,
  TokenTypeError,
  type ErrorCode,
} from '../core/errors.js';
