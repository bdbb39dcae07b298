// The HTTP side of the client: builds the auth API's requests (register, login, me, refresh, logout;
// logout-all goes through the authenticated fetch) from the protocol module, sends them with the
// cookie jar, attaches credentials to the app's own requests and reads the token answers.
import { CSRF_HEADER, type AUTH_PATHS, type COOKIE_NAMES, type ErrorCode, type SECURE_COOKIE_PREFIX, type Transport } from '../protocol/protocol.js';
import type { CookieJar } from './cookie-jar.js';
import { ClientError, networkError } from './errors.js';
import type { FetchLike } from './options.js';
import { pageCookie } from './platform.js';
import { text } from './text.js';

/** Credentials for `login` and `register`. */
export interface Credentials {
  username: string;
  password: string;
}

/** A token answer (login or refresh), read. */
export interface TokenBody {
  readonly expiresIn: number;
  readonly access: string | undefined;
  readonly refresh: string | undefined;
  readonly csrf: string | undefined;
}

/** What the requests need of the session held: the credentials to send. */
export interface Held {
  readonly signedIn: boolean;
  readonly transport: Transport | undefined;
  readonly access: string | undefined;
  readonly refresh: string | undefined;
  /** The CSRF value of the last answer, used when no CSRF cookie can be read. */
  readonly csrf: string | undefined;
}

const JSON_HEADERS = { accept: 'application/json', 'content-type': 'application/json' } as const;
/**
 * An auth endpoint, by its path under `auth/`: derived from the protocol's `AUTH_PATHS` by type, so
 * the client carries only the names it calls and a renamed path fails to compile here.
 */
type Endpoint = (typeof AUTH_PATHS)[keyof typeof AUTH_PATHS] extends `/auth/${infer E}` ? E : never;
/** The CSRF cookie's name (the protocol's, checked by type, without importing its tables). */
const CSRF_COOKIE: typeof COOKIE_NAMES.csrf = 'tessera-csrf';
const HOST_PREFIX: typeof SECURE_COOKIE_PREFIX.csrf = '__Host-';
/** The CSRF cookie under both its names: `__Host-` when the server sets Secure cookies, bare otherwise. */
const CSRF_COOKIES = [HOST_PREFIX + CSRF_COOKIE, CSRF_COOKIE];
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);
/** A 401 with one of these codes means the session itself is over: refreshing cannot help. */
export const SESSION_OVER: ReadonlySet<string> = new Set<ErrorCode>(['token_revoked', 'user_invalid', 'refresh_token_reused']);

/** The auth server's API, as seen from the client. */
export class AuthApi {
  readonly #base: URL;
  readonly #fetch: FetchLike;
  readonly #jar: CookieJar | undefined;

  constructor(base: URL, fetch: FetchLike, jar: CookieJar | undefined) {
    this.#base = base;
    this.#fetch = fetch;
    this.#jar = jar;
  }

  /** The URL of an auth endpoint. The base ends in `/` and may have a path, so the path is read relative to it. */
  url(name: Endpoint): URL {
    return new URL(`auth/${name}`, this.#base);
  }

  /** `register`, or `login` with the transport asked for. */
  signIn(name: 'register' | 'login', { username, password }: Credentials, transport?: Transport): Promise<Response> {
    return this.send(this.url(name), { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ username, password, transport }) });
  }

  me(): Promise<Response> {
    return this.send(this.url('me'), { headers: { accept: 'application/json' } });
  }

  /**
   * `refresh` or `logout` of the session held: the refresh token in the body (bearer), else (a
   * logout in bearer without one) the access token, else the refresh cookie with its CSRF header.
   */
  session(name: 'refresh' | 'logout', held: Held): Promise<Response> {
    const headers = new Headers({ accept: 'application/json' });
    let body: string | null = null;
    if (held.refresh !== undefined) {
      headers.set('content-type', 'application/json');
      body = JSON.stringify({ refresh_token: held.refresh });
    } else if (name === 'logout' && held.transport === 'bearer' && held.access !== undefined) headers.set('authorization', `Bearer ${held.access}`);
    // The refresh cookie names the session. No Authorization header: an expired access token
    // beside it would make the server judge that one and revoke nothing.
    else this.#csrfHeader(headers, held.csrf);
    return this.send(this.url(name), { method: 'POST', headers, body });
  }

  /** Access token or CSRF header on a request of the app's, unless the caller set them. */
  decorate(headers: Headers, method: string, held: Held): void {
    if (!held.signedIn) return;
    if (held.access !== undefined && !headers.has('authorization')) headers.set('authorization', `Bearer ${held.access}`);
    if (held.transport === 'cookie' && !SAFE_METHODS.has(method) && !headers.has(CSRF_HEADER)) this.#csrfHeader(headers, held.csrf);
  }

  /** The CSRF value: the readable cookie first (it follows logins in other tabs), else `fallback`, the last answer's. */
  csrf(fallback: string | undefined): string | undefined {
    for (const name of CSRF_COOKIES) {
      const value = pageCookie(name) ?? this.#jar?.get(this.#base, name);
      if (value !== undefined) return value;
    }
    return fallback;
  }

  #csrfHeader(headers: Headers, fallback: string | undefined): void {
    const csrf = this.csrf(fallback);
    if (csrf !== undefined) headers.set(CSRF_HEADER, csrf);
  }

  /** The platform fetch to a trusted origin: credentials included, the jar read and written. */
  async send(target: URL | Request, init: RequestInit): Promise<Response> {
    const url = target instanceof URL ? target : new URL(target.url);
    const headers = new Headers(init.headers ?? (target instanceof URL ? undefined : target.headers));
    const cookie = this.#jar?.header(url);
    if (cookie !== undefined && !headers.has('cookie')) headers.set('cookie', cookie);
    let response: Response;
    try {
      response = await this.#fetch(target instanceof URL ? target.href : target, { credentials: 'include', ...init, headers });
    } catch (err) {
      throw networkError(err);
    }
    const setCookies = (response.headers as { getSetCookie?: () => string[] }).getSetCookie?.() ?? [];
    if (this.#jar !== undefined && setCookies.length > 0) this.#jar.store(url, setCookies);
    return response;
  }
}

/** Reads a token answer (login or refresh); rejects with `invalid_response` when it is not one. */
export async function readTokens(response: Response): Promise<TokenBody> {
  const v = ((await response.json().catch(() => undefined)) ?? {}) as Record<string, unknown>;
  if (typeof v.expires_in !== 'number' || !Number.isFinite(v.expires_in))
    throw new ClientError('invalid_response', 'Not a token response', { status: response.status });
  return {
    expiresIn: Math.max(0, v.expires_in),
    access: text(v.access_token),
    refresh: text(v.refresh_token),
    csrf: text(v.csrf_token),
  };
}

/** The transport an answer was given in: bearer has both tokens in the body, hybrid the access token only, cookie none. */
export function transportOf(body: TokenBody): Transport {
  return body.refresh !== undefined ? 'bearer' : body.access !== undefined ? 'hybrid' : 'cookie';
}
