// The public core API of @tessera/auth. Explicit named exports only; internals stay internal.
export { createTessera, Tessera, type LogoutOutcome, type RefreshRequestOptions } from './core/tessera.js';
export {
  relationProblems,
  resolveConfig,
  type ClaimsContext,
  type CookieNames,
  type DpopOptions,
  type ResolvedConfig,
  type ResolvedDpop,
  type SessionOptions,
  type TesseraOptions,
} from './core/config/config.js';
export { CHECKS, type Check, type CheckKind, type Checked, type CheckRefusal, type Relation } from './core/config/checks.js';
export { DEFAULTS, type OptionName, type OptionValue } from './core/config/defaults.js';
export { parseDuration, type Duration } from './core/config/duration.js';
export { DPOP_ALGORITHMS, type DpopAlgorithm, type DpopProof } from './core/dpop/proof.js';
export { jwkThumbprint } from './core/dpop/thumbprint.js';
export type { DpopReplayStore } from './core/dpop/replay.js';
export { fixedClock, systemClock, type Clock } from './core/clock.js';
export {
  ConfigError,
  CsrfError,
  ERRORS,
  FreshTokenRequiredError,
  HeadersTooLargeError,
  InsufficientScopeError,
  InvalidClientError,
  InvalidCredentialsError,
  InvalidDpopProofError,
  InvalidGrantError,
  InvalidScopeError,
  InvalidRequestError,
  JwksUnavailableError,
  LegacyCutoverEndedError,
  LegacyTokenReusedError,
  NotFoundError,
  OriginRefusedError,
  PayloadTooLargeError,
  RateLimitedError,
  RefreshTokenReusedError,
  RevocationsUnavailableError,
  ServerBusyError,
  StoreUnavailableError,
  TesseraError,
  TokenConflictError,
  TokenExpiredError,
  TokenInvalidError,
  TokenMissingError,
  TokenNotYetValidError,
  TokenRevokedError,
  TokenTypeError,
  UnauthorizedClientError,
  UnsupportedGrantTypeError,
  UseDpopNonceError,
  UnsupportedMediaTypeError,
  UserInvalidError,
  UsernameTakenError,
  ValidationError,
  type ErrorCode,
} from './core/errors.js';
export { ALGORITHMS, type Algorithm } from './core/keys/algorithms.js';
export {
  exportPrivateJwk,
  exportPublicJwk,
  generateKey,
  generateRefreshKey,
  importKey,
  importRefreshKey,
  Key,
  type KeyInput,
  type KeyOptions,
  type KeyPurpose,
} from './core/keys/key.js';
export { createKeyRing, KeyRing, type Jwks, type KeyRingInput } from './core/keys/key-ring.js';
export { clientIdOf, jktOf, RESERVED_CLAIMS, type TokenClaims } from './core/tokens/claims.js';
export type { AccessTokenInput, IssuedToken, TokenInput, TokenPair, TokenPairInput } from './core/tokens/issue.js';
export type { AuthRequest } from './core/transport/request.js';
export type { AuthenticateOptions, AuthResult, ClaimsOf, ClaimsRequirement } from './core/transport/guard.js';
export { accessCookie, clearedCookies, serializeCookie, tokenCookies, type CookieDescriptor } from './core/transport/cookies.js';
export {
  errorResponse,
  errorResult,
  refusalOf,
  wwwAuthenticate,
  type ErrorFormat,
  type ErrorResponse,
  type HttpResult,
  type Refusal,
} from './core/transport/error-response.js';
export type { OpenSessionInput, SessionTokens, TokenPresenter } from './core/sessions/sessions.js';
export type { SessionEvent, TokenKind, TokenLocation } from './core/types.js';
export {
  rotationRefusal,
  type BusMessage,
  type PurgeBatch,
  type PurgeOptions,
  type RevocationBus,
  type RevocationEvent,
  type RevocationSnapshot,
  type RevokeReason,
  type RotateResult,
  type RotationInput,
  type SessionRecord,
  type SessionStore,
} from './core/sessions/store.js';
export {
  AdapterKit,
  frameworkTessera,
  TesseraHttpError,
  type AdapterOptions,
  type ErrorHandling,
  type FrameworkBindings,
  type FrameworkFacts,
  type FrameworkTessera,
  type GuardKind,
  type GuardOptions,
  type GuardOutcome,
  type Identity,
} from './adapters/adapter-kit.js';
export {
  handleLogin,
  handleLogout,
  handleRefresh,
  type CredentialCheck,
  type LoginIdentity,
  type LoginOptions,
  type RefreshOptions,
} from './core/flows.js';
export { jsonResult, loggedOutResult, tokenResult, type TokenResponseBody } from './core/transport/respond.js';
export type { CookieTransport, Transport } from './protocol/protocol.js';
export { FIRST_PARTY_CLIENT } from './protocol/protocol.js';
