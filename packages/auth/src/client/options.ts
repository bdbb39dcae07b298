// The options of `createClient` and their defaults: one function per option that needs more than
// `??`, each reading the option and the platform, so the client's constructor stays a list.
import { isTransport, type Transport } from '../protocol/protocol.js';
import { CookieJar } from './cookie-jar.js';
import { defaultStorage, pageUrl, type TokenStorage } from './platform.js';

/** The platform `fetch`, or anything with its signature. */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** The client's own request to its auth server, handed to add-ons: `path` is read against `baseUrl`. */
export type AuthSend = (path: string | URL, init?: RequestInit) => Promise<Response>;

/** Options of `createClient`. Only `baseUrl` is required. */
export interface ClientOptions {
  /** The auth server, e.g. `'https://auth.example.com/'`; in a page, a path such as `'/'` is read against the page address. */
  baseUrl: string | URL;
  /**
   * The transport to ask for at login, or several in order of preference: when the server refuses
   * one (400), the next is tried. Default `['hybrid', 'cookie', 'bearer']`.
   */
  transport?: Transport | readonly Transport[];
  /** Other origins whose APIs accept these tokens; `fetch` sends credentials to the auth server's origin and these only. */
  apiOrigins?: readonly string[];
  /** Refresh shortly before the access token expires (default true); a refused token is refreshed and retried either way. */
  autoRefresh?: boolean;
  /** The BroadcastChannel that keeps tabs in step, or false. Default: one per auth server in a page; none elsewhere. */
  channel?: string | false;
  /** Where cookies are kept where `fetch` keeps none. Default: a new jar in Node, Bun and Deno; the browser's own in a page. */
  cookieJar?: CookieJar | false;
  /**
   * Bearer only: keep the tokens across page loads in this storage (e.g. `sessionStorage`). Off by
   * default, because any script that runs in the page (an XSS) can read storage and take the
   * refresh token with it; the hybrid transport keeps the refresh token in an HttpOnly cookie instead.
   */
  storage?: TokenStorage;
  /**
   * Where to remember the transport of the last login (its name only, never a token), so a reload
   * knows whether to refresh (hybrid) or ask `/auth/me` (cookie). Default `localStorage` in a page.
   */
  remember?: TokenStorage | false;
  /** The `fetch` to call (default the platform's). */
  fetch?: FetchLike;
  /** The clock, in milliseconds (default `Date.now`); only differences between its readings matter. */
  now?: () => number;
}

const DEFAULT_TRANSPORTS: readonly Transport[] = ['hybrid', 'cookie', 'bearer'];

/** The auth server's URL, ending in `/` so that the auth API's paths are read relative to it. */
export function baseOf(options: ClientOptions): URL {
  const base = new URL(String(options.baseUrl), pageUrl());
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  return base;
}

/** The transports to try at login, in order; throws a `TypeError` for an unknown one. */
export function transportsOf(options: ClientOptions): Transport[] {
  const { transport } = options;
  const transports = transport === undefined ? DEFAULT_TRANSPORTS : typeof transport === 'string' ? [transport] : transport;
  if (transports.length === 0 || !transports.every(isTransport))
    throw new TypeError(`transport must be bearer, cookie or hybrid, or a list of them (got ${JSON.stringify(transport)}).`);
  return [...transports];
}

/** The `fetch` to call; throws a `TypeError` where the platform has none and none was given. */
export function fetchOf(options: ClientOptions): FetchLike {
  if (options.fetch === undefined && typeof globalThis.fetch !== 'function') throw new TypeError('No fetch on this platform: pass options.fetch.');
  return options.fetch ?? ((input, init) => globalThis.fetch(input, init));
}

/** The cookie jar: the given one, none, or in Node, Bun and Deno (not in a page) a new one. */
export function jarOf(options: ClientOptions, browser: boolean, now: () => number): CookieJar | undefined {
  return options.cookieJar === false ? undefined : (options.cookieJar ?? (browser ? undefined : new CookieJar({ now })));
}

/** Where to remember the last transport: the given storage, none, or in a page `localStorage`. */
export function rememberOf(options: ClientOptions, browser: boolean): TokenStorage | undefined {
  return options.remember === false ? undefined : (options.remember ?? (browser ? defaultStorage() : undefined));
}

/** The tab channel's name: the given one, none, or in a page `key` (one channel per auth server). */
export function channelOf(options: ClientOptions, browser: boolean, key: string): string | undefined {
  const channel = options.channel ?? (browser ? key : false);
  return channel === false ? undefined : channel;
}
