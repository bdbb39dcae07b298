import { randomId } from '../../internal/random.js';
import type { ResolvedConfig, ResolvedSessions } from '../config/config.js';
import {
  InvalidDpopProofError,
  RefreshTokenReusedError,
  StoreUnavailableError,
  TesseraError,
  TokenExpiredError,
  TokenInvalidError,
  TokenRevokedError,
} from '../errors.js';
import { FIRST_PARTY_CLIENT } from '../../protocol/protocol.js';
import { clientIdOf, customClaims, jktOf, type TokenClaims } from '../tokens/claims.js';
import type { CookieTransport, SessionEvent, Transport } from '../types.js';
import type { AccessTokenInput, IssuedToken, TokenIssuer, TokenPair } from '../tokens/issue.js';
import { LivenessCache } from './liveness.js';
import type { BusMessage, RevocationBus, PurgeOptions, RevokeReason, SessionRecord, SessionStore } from './store.js';

/** What opening a session needs besides the identity. */
export interface OpenSessionInput {
  sub: string | number;
  /** Default true: a login yields a fresh access token. */
  fresh?: boolean;
  /** How the tokens travel; default `'bearer'`. Cookie transports get a CSRF value that survives rotation. */
  transport?: Transport;
  claims?: Record<string, unknown>;
  userAgent?: string | undefined;
  ip?: string | undefined;
  /** The OAuth client the session is issued to; default `'tessera-web'` (the first-party client). */
  clientId?: string;
  /**
   * The RFC 7638 thumbprint of the DPoP key the login proved (RFC 9449 §5): the session and all its
   * tokens are bound to it for good (`cnf.jkt`), and every refresh must prove the same key.
   */
  jkt?: string | undefined;
}

/** Who presents a refresh token: the client, and the DPoP key its proof was made with. */
export interface TokenPresenter {
  /** Default `'tessera-web'`, the first-party client of `/auth/*`. */
  clientId?: string | undefined;
  /** The RFC 7638 thumbprint of the key of the request's verified DPoP proof, if one came. */
  jkt?: string | undefined;
}

/**
 * Refuses a refresh token presented by anyone but its holder, before anything rotates, so a refusal
 * never revokes the session (docs/oauth.md: another client's token is refused, its session untouched):
 * a token of another client is `token_invalid`; a token bound to a DPoP key (`cnf.jkt`) needs a
 * proof by that key, else `invalid_dpop_proof` (RFC 9449 §5, §7.1: 400 at a token endpoint).
 * A token without `client_id`, minted before sessions recorded one, is the first-party client's.
 */
export function assertPresenter(claims: TokenClaims, presenter: TokenPresenter = {}): void {
  if (clientIdOf(claims) !== (presenter.clientId ?? FIRST_PARTY_CLIENT))
    throw new TokenInvalidError({ message: 'The refresh token was issued to another client' });
  const bound = jktOf(claims);
  if (bound === undefined) {
    // A cnf without a string jkt is never read as "unbound" (the guard refuses it the same way).
    if (Object.hasOwn(claims, 'cnf')) throw new TokenInvalidError({ message: 'The token has a cnf claim without a jkt' });
    return;
  }
  if (presenter.jkt === undefined)
    throw new InvalidDpopProofError({ status: 400, message: 'The refresh token is bound to a DPoP key: send a DPoP proof made with that key' });
  if (presenter.jkt !== bound)
    throw new InvalidDpopProofError({ status: 400, message: 'The DPoP proof was made with another key than the one the token is bound to' });
}

/**
 * The new tokens take the client and key from the session record: a store that lost them (one written
 * before `0002_clients` answers neither) must not turn a bound or another client's session into an
 * unbound first-party one, so it fails closed. A record without `clientId` counts as the first party's,
 * as a token without `client_id` does, so such a store's unbound first-party sessions keep working.
 */
function assertSameBinding(session: SessionRecord, claims: TokenClaims): void {
  const clientId = typeof session.clientId === 'string' ? session.clientId : FIRST_PARTY_CLIENT;
  const jkt = typeof session.jkt === 'string' ? session.jkt : undefined;
  if (clientId !== clientIdOf(claims) || jkt !== jktOf(claims))
    throw new StoreUnavailableError({
      message: 'The session store answered the session without its client or DPoP key: it must keep clientId and jkt',
    });
}

/** Tokens of a session, with the session record when a store keeps one. */
export interface SessionTokens extends TokenPair {
  readonly session: SessionRecord | undefined;
}

const MAX_META = 512;
/** Revoked ids kept to publish while the bus is down. */
const MAX_UNPUBLISHED = 10_000;
const PUBLISH_RETRY_MS = 500;

/**
 * The refresh-token life cycle over a store (docs/architecture.md "Sessions"): open, rotate with a reuse
 * grace window and reuse detection, revoke by session, and the liveness check every access token
 * passes. Store failures become `store_unavailable`, never an accept.
 */
export class SessionManager {
  readonly #config: ResolvedConfig;
  readonly #settings: ResolvedSessions;
  readonly #store: SessionStore;
  readonly #bus: RevocationBus | undefined;
  readonly #issuer: TokenIssuer;
  readonly #live: LivenessCache;
  readonly #onEvent: ((event: SessionEvent) => void) | undefined;
  #subscribed: Promise<void> | undefined;
  /** Revoked ids whose message could not be published (the bus was down): sent again with the next message, or when the bus is back. */
  readonly #unpublished = new Set<string>();
  /** A retry of those, while the bus delivers but publishing still fails (its two connections come back apart). */
  #retry: ReturnType<typeof setTimeout> | undefined;

  constructor(config: ResolvedConfig, issuer: TokenIssuer) {
    const sessions = config.sessions;
    if (sessions === undefined) throw new TypeError('SessionManager needs config.sessions');
    this.#config = config;
    this.#settings = sessions;
    this.#store = sessions.store;
    this.#bus = sessions.bus;
    this.#issuer = issuer;
    this.#onEvent = sessions.onEvent;
    this.#live = new LivenessCache(sessions.livenessCacheSize, config.clock);
  }

  /** Subscribes to the revocation bus once; the first session call waits for it. */
  ready(): Promise<void> {
    if (this.#subscribed === undefined && this.#bus !== undefined) {
      // A failed subscription is tried again on the next call, not remembered until a restart.
      const onMessage = (message: BusMessage): void => {
        this.#live.apply(message);
        // Delivery is back after an outage: what this instance revoked meanwhile goes out now.
        if (message.type === 'reset') void this.#publishPending();
      };
      this.#subscribed = guard(this.#bus.subscribe(onMessage)).catch((err: unknown) => {
        this.#subscribed = undefined;
        throw err;
      });
    }
    return this.#subscribed ?? Promise.resolve();
  }

  async open(input: OpenSessionInput): Promise<SessionTokens> {
    await this.ready();
    const config = this.#config;
    const now = config.clock.now();
    const sub = String(input.sub);
    const absoluteExpiresAt = now + config.sessionMaxAge * 1000;
    const session: SessionRecord = {
      id: randomId(),
      userId: sub,
      currentJti: randomId(),
      previousJti: null,
      rotatedAt: now,
      expiresAt: Math.min(now + config.refreshTtl * 1000, absoluteExpiresAt),
      absoluteExpiresAt,
      revokedAt: null,
      reason: null,
      createdAt: now,
      lastUsedAt: now,
      userAgent: clip(input.userAgent),
      ip: clip(input.ip),
      clientId: input.clientId ?? FIRST_PARTY_CLIENT,
      jkt: input.jkt ?? null,
    };
    // Mint before storing, so a mistake in the claims cannot leave a session without tokens.
    const transport = cookieTransport(input.transport);
    const csrf = transport === undefined ? undefined : randomId();
    const tokens = this.#mint(session, { fresh: input.fresh ?? true, csrf, transport, claims: input.claims });
    await guard(this.#store.create(session));
    this.#emit('session_created', session.id, sub);
    await this.#enforceLimit(sub, session.id, now);
    return { ...tokens, session };
  }

  /**
   * Exchanges a verified refresh token: the current one rotates (one compare-and-set); the previous
   * one inside the grace window gets the current one back; anything else revokes the session.
   * The one rotation of every endpoint (`/auth/refresh`, `/oauth/token`): the presenter is checked
   * first, so a token of another client or without its DPoP key changes nothing. The new tokens
   * take the client and key from the session, never from the request: nothing rebinds a session.
   */
  async refresh(claims: TokenClaims, presenter: TokenPresenter = {}): Promise<SessionTokens> {
    assertPresenter(claims, presenter);
    // Without a bus there is nothing to wait for: no await, one tick less on every refresh.
    if (this.#bus !== undefined) await this.ready();
    const config = this.#config;
    const now = config.clock.now();
    const next = { jti: randomId(), rotatedAt: now, expiresAt: now + config.refreshTtl * 1000, now };
    const result = await guard(this.#store.rotate(claims.sid, claims.jti, next));
    const extra = { csrf: claims.csrf, transport: claims.transport, claims: undefined, inherited: customClaims(claims) };
    if (result.ok) {
      assertSameBinding(result.session, claims);
      this.#emit('rotated', claims.sid, claims.sub);
      return { ...this.#mint(result.session, { ...extra, fresh: false }), session: result.session };
    }
    if (result.reason === 'not_found' || result.reason === 'revoked') {
      this.#live.markRevoked(claims.sid);
      throw new TokenRevokedError({ message: 'The session has ended' });
    }
    if (result.reason === 'expired') throw new TokenExpiredError({ message: 'The session has expired' });
    const session = result.session;
    const grace = config.reuseGrace * 1000;
    if (grace > 0 && session.previousJti === claims.jti && now - session.rotatedAt <= grace) {
      assertSameBinding(session, claims);
      // Two tabs refreshing at once: both end on the one current token (same jti and claims).
      this.#emit('grace_replay', claims.sid, claims.sub);
      return { ...this.#mint(session, { ...extra, fresh: false }), session };
    }
    await this.#revoke([claims.sid], 'reuse', claims.sub);
    this.#emit('reuse_detected', claims.sid, claims.sub);
    throw new RefreshTokenReusedError();
  }

  /** Throws `token_revoked` unless the session is live; usually answered from memory. */
  async assertLive(sid: string): Promise<void> {
    const cached = this.#live.lookup(sid, this.#trustMs());
    if (cached === true) return;
    if (cached === false) throw new TokenRevokedError();
    await this.ready();
    const generation = this.#live.generation;
    if (await this.#busSaysRevoked(sid)) {
      this.#live.markRevoked(sid);
      throw new TokenRevokedError();
    }
    const session = await guard(this.#store.get(sid));
    const now = this.#config.clock.now();
    if (session === undefined || session.revokedAt !== null || session.absoluteExpiresAt <= now) {
      if (session?.revokedAt != null) this.#live.markRevoked(sid);
      throw new TokenRevokedError();
    }
    this.#live.markLive(sid, generation);
  }

  /** The session's absolute end in epoch seconds, or `token_revoked` when it is not live. */
  async endOf(sid: string): Promise<number> {
    const session = await guard(this.#store.get(sid));
    if (session === undefined || session.revokedAt !== null || session.absoluteExpiresAt <= this.#config.clock.now()) {
      if (session?.revokedAt != null) this.#live.markRevoked(sid);
      throw new TokenRevokedError();
    }
    return Math.floor(session.absoluteExpiresAt / 1000);
  }

  /**
   * The bus's shared memory of revocations, when it answers. It is a shortcut beside the store, never
   * the truth (docs/architecture.md "Scaling out"): a bus that fails means "ask the store", so losing
   * Redis costs a database read, not a refusal. Only the store failing too refuses.
   */
  async #busSaysRevoked(sid: string): Promise<boolean> {
    const bus = this.#bus;
    if (bus?.isRevoked === undefined) return false;
    try {
      return await bus.isRevoked(sid);
    } catch {
      return false;
    }
  }

  /** How long a cached "live" answer holds: while no bus delivers revocations, one second only (docs/architecture.md). */
  #trustMs(): number {
    const ttl = this.#settings.livenessTtl * 1000;
    return this.#bus?.connected === true ? ttl : Math.min(1000, ttl);
  }

  /** Revokes one session; answers whether it was live. */
  async revoke(sid: string, reason: RevokeReason = 'logout'): Promise<boolean> {
    await this.ready();
    const revoked = await guard(this.#store.revoke(sid, reason, this.#config.clock.now()));
    // Publish even when it was already revoked: a retry after a lost message must reach the others.
    await this.#announce([sid]);
    if (revoked) this.#emit('session_revoked', sid, undefined, reason);
    return revoked;
  }

  /** Revokes every session of a user, except `except`; answers the ids revoked. */
  async revokeUser(sub: string, reason: RevokeReason, except?: string): Promise<string[]> {
    await this.ready();
    const ids = await guard(this.#store.revokeUser(sub, reason, this.#config.clock.now(), except));
    await this.#announce(ids);
    for (const id of ids) this.#emit('session_revoked', id, sub, reason);
    return ids;
  }

  /** The session, revoked or not, as the store has it. */
  async get(sid: string): Promise<SessionRecord | undefined> {
    return guard(this.#store.get(sid));
  }

  /** The user's live sessions, newest first. */
  async list(sub: string): Promise<SessionRecord[]> {
    return guard(this.#store.listByUser(sub, this.#config.clock.now()));
  }

  /** Deletes ended sessions; revoked ones are kept for `retention` seconds for audit. */
  async purge(options?: PurgeOptions): Promise<number> {
    const now = this.#config.clock.now();
    return guard(this.#store.purge(now, now - this.#settings.retention * 1000, options));
  }

  async close(): Promise<void> {
    clearTimeout(this.#retry);
    await Promise.allSettled([this.#bus?.close(), this.#store.close()]);
  }

  async #revoke(ids: string[], reason: RevokeReason, sub: string): Promise<void> {
    const now = this.#config.clock.now();
    const done: string[] = [];
    for (const id of ids) if (await guard(this.#store.revoke(id, reason, now))) done.push(id);
    await this.#announce(ids);
    for (const id of done) this.#emit('session_revoked', id, sub, reason);
  }

  /**
   * Marks the ids revoked here and tells the other instances. The revocation is already durable in
   * the store, so a bus that cannot publish does not fail it: the other instances trust their cached
   * "live" answers for one second while their bus is down, drop them all when it comes back, and get
   * these ids with the next message this instance sends.
   */
  async #announce(ids: readonly string[]): Promise<void> {
    for (const id of ids) this.#live.markRevoked(id);
    if (ids.length === 0 || this.#bus === undefined) return;
    for (const id of ids) this.#remember(id);
    await this.#publishPending();
  }

  /** Keeps an id to publish; bounded, the oldest go first (their access tokens expire anyway). */
  #remember(id: string): void {
    this.#unpublished.delete(id);
    if (this.#unpublished.size >= MAX_UNPUBLISHED) {
      const oldest = this.#unpublished.values().next();
      if (oldest.done !== true) this.#unpublished.delete(oldest.value);
    }
    this.#unpublished.add(id);
  }

  /** Publishes every id not yet sent; they stay for the next try when the bus fails. */
  async #publishPending(): Promise<void> {
    const bus = this.#bus;
    if (bus === undefined || this.#unpublished.size === 0) return;
    const ids = [...this.#unpublished];
    try {
      await bus.publish(ids);
      for (const id of ids) this.#unpublished.delete(id);
    } catch {
      // Kept: sent again with the next revocation, when the bus reconnects (a reset), or shortly while it is connected.
      if (bus.connected && this.#retry === undefined) {
        this.#retry = setTimeout(() => {
          this.#retry = undefined;
          void this.#publishPending();
        }, PUBLISH_RETRY_MS);
        (this.#retry as { unref?: () => void }).unref?.();
      }
    }
  }

  async #enforceLimit(sub: string, keep: string, now: number): Promise<void> {
    const limit = this.#settings.maxPerUser;
    if (limit === 0) return;
    const live = await guard(this.#store.listByUser(sub, now));
    const excess = live.filter((s) => s.id !== keep).slice(Math.max(0, limit - 1));
    if (excess.length > 0)
      await this.#revoke(
        excess.map((s) => s.id),
        'session_limit',
        sub,
      );
  }

  /** The current refresh token of `session` and a new access token, neither outliving the session. */
  #mint(
    session: SessionRecord,
    options: {
      fresh: boolean;
      csrf: string | undefined;
      transport: CookieTransport | undefined;
      claims: Record<string, unknown> | undefined;
      inherited?: Record<string, unknown>;
    },
  ): TokenPair {
    const end = Math.floor(session.absoluteExpiresAt / 1000);
    // One input for both tokens (this runs on every refresh): the issuer reads `transport` for refresh tokens only, `fresh` for access tokens only.
    const input: AccessTokenInput = {
      sub: session.userId,
      sid: session.id,
      clientId: session.clientId,
      transport: options.transport,
      fresh: options.fresh,
    };
    if (session.jkt !== null) input.jkt = session.jkt;
    if (options.csrf !== undefined) input.csrf = options.csrf;
    if (options.claims !== undefined) input.claims = options.claims;
    const inherited = options.inherited;
    const refresh: IssuedToken = this.#issuer.refresh(input, {
      inherited,
      jti: session.currentJti,
      iat: Math.floor(session.rotatedAt / 1000),
      exp: Math.floor(session.expiresAt / 1000),
    });
    const access = this.#issuer.access(input, { inherited, notAfter: end });
    return { access, refresh, sid: session.id, csrf: options.csrf };
  }

  #emit(type: SessionEvent['type'], sid: string, sub: string | undefined, reason?: RevokeReason): void {
    if (this.#onEvent === undefined) return;
    try {
      this.#onEvent({ type, sid, sub, at: this.#config.clock.now(), ...(reason === undefined ? {} : { reason }) });
    } catch {
      // A failing listener must not turn a completed rotation or revocation into an error.
    }
  }
}

/** The cookie transport named, or undefined for bearer; anything else is a programming error. */
export function cookieTransport(transport: Transport | undefined): CookieTransport | undefined {
  if (transport === undefined || transport === 'bearer') return undefined;
  if (transport === 'cookie' || transport === 'hybrid') return transport;
  throw new TypeError(`transport must be 'bearer', 'cookie' or 'hybrid' (got ${JSON.stringify(transport)}).`);
}

/** Runs a store call; anything it throws that is not ours becomes `store_unavailable` (503). */
async function guard<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (cause) {
    if (cause instanceof TesseraError) throw cause;
    throw new StoreUnavailableError({ cause });
  }
}

function clip(value: string | undefined): string | null {
  return value === undefined || value === '' ? null : value.slice(0, MAX_META);
}
