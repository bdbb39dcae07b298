import { encodeBase64url } from '../../internal/base64url.js';
import { randomId } from '../../internal/random.js';
import { epochSeconds } from '../clock.js';
import type { ResolvedConfig } from '../config/config.js';
import type { CookieTransport, TokenKind } from '../types.js';
import { parseDuration, type Duration } from '../config/duration.js';
import type { Key } from '../keys/key.js';
import { TokenExpiredError } from '../errors.js';
import { RESERVED_CLAIMS, TOKEN_TYP, type TokenClaims } from './claims.js';
import { FIRST_PARTY_CLIENT } from '../../protocol/protocol.js';
import { signInput } from './jws.js';

/** Browsers drop cookies over 4096 bytes; tokens stay below that with room for the cookie's name and attributes. */
export const MAX_ISSUED_TOKEN_LENGTH = 3800;

/** What every token is minted from. */
export interface TokenInput {
  /** The identity; numbers are turned into strings, since `sub` is always a string. */
  sub: string | number;
  /** The session id; a new random one (128 bits) when absent. */
  sid?: string;
  /** The session's CSRF value (cookie transport); `true` makes a new one. */
  csrf?: string | boolean;
  /** Refresh tokens only: the cookie transport the session uses (written as the `transport` claim). */
  transport?: CookieTransport | undefined;
  /** A lifetime for this token, no longer than the configured one. */
  ttl?: Duration;
  /** Extra claims for this token; reserved claims are refused. */
  claims?: Record<string, unknown>;
  /** The OAuth client the token is issued to (the `client_id` claim, RFC 9068 §2.2); default `'tessera-web'`. */
  clientId?: string;
  /** The RFC 7638 thumbprint of the DPoP key the token is bound to (`cnf.jkt`, RFC 9449 §6.1); unbound when absent. */
  jkt?: string | undefined;
}

/** Input of `createAccessToken`. */
export interface AccessTokenInput extends TokenInput {
  /** True when the token comes straight from a login (fresh-required routes). Default false. */
  fresh?: boolean;
}

/** A minted token with what a response needs to describe it. */
export interface IssuedToken {
  readonly token: string;
  readonly claims: TokenClaims;
  /** Seconds until it expires, as sent in `expires_in`. */
  readonly expiresIn: number;
}

/** An access token and a refresh token of one session. */
export interface TokenPair {
  readonly access: IssuedToken;
  readonly refresh: IssuedToken;
  readonly sid: string;
  readonly csrf: string | undefined;
}

/** Input of `createTokenPair`. */
export interface TokenPairInput extends Omit<TokenInput, 'ttl'> {
  fresh?: boolean;
  accessTtl?: Duration;
  refreshTtl?: Duration;
}

/**
 * What sessions fix themselves (internal): the refresh token of a session is minted with the
 * session's `jti`, `iat` and `exp` (so a grace replay yields the same claims), and no token
 * outlives the session's absolute end (`notAfter`, epoch seconds).
 */
export interface MintOverrides {
  /** Custom claims carried over from the token being rotated; the hook and per-call claims win over them. */
  inherited?: Readonly<Record<string, unknown>> | undefined;
  jti?: string;
  iat?: number;
  exp?: number;
  notAfter?: number;
}

/** Mints tokens with the configured keys; header text is prepared once per key. */
export class TokenIssuer {
  readonly #config: ResolvedConfig;
  readonly #headers = new WeakMap<Key, string>();

  constructor(config: ResolvedConfig) {
    this.#config = config;
  }

  access(input: AccessTokenInput, overrides: MintOverrides = {}): IssuedToken {
    return this.#mint('access', input, input.fresh === true, overrides);
  }

  refresh(input: TokenInput, overrides: MintOverrides = {}): IssuedToken {
    return this.#mint('refresh', input, undefined, overrides);
  }

  pair(input: TokenPairInput): TokenPair {
    const sid = input.sid ?? randomId();
    const csrf = input.csrf === true ? randomId() : input.csrf === false ? undefined : input.csrf;
    const shared = {
      sub: input.sub,
      sid,
      ...(csrf === undefined ? {} : { csrf }),
      ...(input.claims === undefined ? {} : { claims: input.claims }),
      ...(input.clientId === undefined ? {} : { clientId: input.clientId }),
      ...(input.jkt === undefined ? {} : { jkt: input.jkt }),
    };
    const access = this.access({ ...shared, fresh: input.fresh === true, ...ttl(input.accessTtl) });
    const refresh = this.refresh({ ...shared, transport: input.transport, ...ttl(input.refreshTtl) });
    return { access, refresh, sid, csrf };
  }

  #mint(kind: TokenKind, input: TokenInput, fresh: boolean | undefined, overrides: MintOverrides): IssuedToken {
    const config = this.#config;
    const key = kind === 'access' ? config.keys.signingKey : config.refreshKeys.signingKey;
    const maxTtl = kind === 'access' ? config.accessTtl : config.refreshTtl;
    const lifetime = input.ttl === undefined ? maxTtl : parseDuration(input.ttl);
    if (lifetime === undefined || lifetime < 1 || lifetime > maxTtl) {
      throw new TypeError(`A ${kind} token lifetime must be from 1 s to the configured ${maxTtl} s (got ${JSON.stringify(input.ttl)}).`);
    }
    const sub = typeof input.sub === 'number' && Number.isFinite(input.sub) ? String(input.sub) : input.sub;
    if (typeof sub !== 'string' || sub.length === 0 || sub.length > 256)
      throw new TypeError('sub must be a non-empty string (or a number) of at most 256 characters.');
    const sid = input.sid ?? randomId();
    const csrf = input.csrf === true ? randomId() : input.csrf === false ? undefined : input.csrf;
    checkText('sid', sid);
    checkText('csrf', csrf);
    const clientId = input.clientId ?? FIRST_PARTY_CLIENT;
    if (typeof clientId !== 'string' || clientId.length === 0 || clientId.length > 256)
      throw new TypeError('clientId must be a non-empty string of at most 256 characters.');
    // A SHA-256 thumbprint is 32 bytes: 43 base64url characters (RFC 7638 §3, RFC 9449 §6.1).
    if (input.jkt !== undefined && (typeof input.jkt !== 'string' || !JKT.test(input.jkt)))
      throw new TypeError('jkt must be the base64url SHA-256 thumbprint of a JWK (43 characters).');

    const iat = overrides.iat ?? epochSeconds(config.clock);
    const exp = overrides.exp ?? Math.min(iat + lifetime, overrides.notAfter ?? Number.POSITIVE_INFINITY);
    if (exp <= iat) throw new TokenExpiredError({ message: 'The session has expired' });
    // Hook and per-call claims first, so that reserved claims written after them always win; both are refused outright.
    // Copied source by source (later ones win), with no merged object in between: this runs twice per refresh.
    const claims: Record<string, unknown> = {};
    copyCustomClaims(claims, overrides.inherited);
    copyCustomClaims(claims, config.additionalClaims?.({ kind, sub, sid }));
    copyCustomClaims(claims, input.claims);
    claims.iss = config.issuer;
    claims.aud = kind === 'access' ? config.audience : config.issuer;
    claims.sub = sub;
    claims.iat = iat;
    claims.nbf = iat;
    claims.exp = exp;
    claims.jti = overrides.jti ?? randomId();
    claims.sid = sid;
    claims.type = kind;
    // RFC 9068 §2.2 on access tokens; on refresh tokens too, so a refresh is checked against its client before anything rotates.
    claims.client_id = clientId;
    if (input.jkt !== undefined) claims.cnf = { jkt: input.jkt };
    if (fresh !== undefined) claims.fresh = fresh;
    if (csrf !== undefined) claims.csrf = csrf;
    if (kind === 'refresh' && input.transport !== undefined) claims.transport = input.transport;

    const input64 = `${this.#header(key, kind)}.${encodeBase64url(JSON.stringify(claims))}`;
    const token = `${input64}.${signInput(key, input64).toString('base64url')}`;
    if (token.length > MAX_ISSUED_TOKEN_LENGTH)
      throw new TypeError(
        `The ${kind} token would be ${token.length} bytes; keep claims small so tokens stay under ${MAX_ISSUED_TOKEN_LENGTH} (browsers drop cookies over 4 KB).`,
      );
    // Whole seconds left, rounded down: a token minted at 100.9 s with exp 103 lives 2.1 s, not 3.
    return { token, claims: Object.freeze(claims) as TokenClaims, expiresIn: Math.max(0, Math.floor(exp - config.clock.now() / 1000)) };
  }

  #header(key: Key, kind: TokenKind): string {
    let text = this.#headers.get(key);
    if (text === undefined) {
      text = encodeBase64url(JSON.stringify({ alg: key.alg, typ: TOKEN_TYP[kind], kid: key.kid }));
      this.#headers.set(key, text);
    }
    return text;
  }
}

const JKT = /^[A-Za-z0-9_-]{43}$/;

function checkText(name: 'sid' | 'csrf', value: unknown): void {
  if (value !== undefined && (typeof value !== 'string' || value.length === 0 || value.length > 256))
    throw new TypeError(`${name} must be a non-empty string of at most 256 characters.`);
}

/** Copies custom claims into `claims`; a reserved name (or `__proto__`) is refused outright. */
function copyCustomClaims(claims: Record<string, unknown>, source: Readonly<Record<string, unknown>> | null | undefined): void {
  // A hook that answers null adds nothing, as spreading it did.
  if (source === undefined || source === null) return;
  for (const name of Object.keys(source)) {
    if (RESERVED_CLAIMS.has(name) || name === '__proto__')
      throw new TypeError(`The claim "${name}" is reserved and cannot be set by a hook or per call.`);
    claims[name] = source[name];
  }
}

function ttl(value: Duration | undefined): { ttl?: Duration } {
  return value === undefined ? {} : { ttl: value };
}
