// The few platform objects the client uses, reached through `globalThis` and typed by shape, so the
// library needs no DOM types and runs unchanged in browsers, Node, Bun and Deno.

/** A `BroadcastChannel` as far as the client uses one. */
export interface ChannelLike {
  postMessage(message: unknown): void;
  close(): void;
  onmessage: ((event: { data: unknown }) => void) | null;
  /** Node only: lets the process exit while the channel is open. */
  unref?: () => void;
}

/** `localStorage`/`sessionStorage`, or anything with the same three methods (React Native's AsyncStorage is async: wrap it). */
export interface TokenStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

type Listen = (type: string, listener: (event: { type: string }) => void) => void;

interface EventSource {
  addEventListener?: Listen;
  removeEventListener?: Listen;
}

interface DocumentLike extends EventSource {
  cookie: string;
  visibilityState?: string;
}

const scope = globalThis as unknown as {
  document?: DocumentLike;
  window?: EventSource;
  location?: { href: string };
  localStorage?: TokenStorage;
  BroadcastChannel?: new (name: string) => ChannelLike;
};

/** The page's document, in a browser. */
export function pageDocument(): DocumentLike | undefined {
  return typeof scope.document === 'object' && scope.document !== null ? scope.document : undefined;
}

/** True in a browser page (a document with cookies), false in Node, Bun, Deno and workers. */
export function inBrowser(): boolean {
  return typeof pageDocument()?.cookie === 'string';
}

/** The page address, to resolve a relative `baseUrl` against. */
export function pageUrl(): string | undefined {
  return scope.location?.href;
}

/** A readable cookie of the page (the CSRF cookie); undefined outside a browser or when absent. */
export function pageCookie(name: string): string | undefined {
  const cookies = pageDocument()?.cookie;
  if (typeof cookies !== 'string') return undefined;
  for (const part of cookies.split(';')) {
    const [key = '', ...value] = part.split('=');
    if (key.trim() === name) return value.join('=').trim() || undefined;
  }
  return undefined;
}

/** Opens a `BroadcastChannel` where the platform has one. */
export function openChannel(name: string): ChannelLike | undefined {
  const Channel = scope.BroadcastChannel;
  if (typeof Channel !== 'function') return undefined;
  try {
    const channel = new Channel(name);
    channel.unref?.();
    return channel;
  } catch {
    return undefined;
  }
}

/** `localStorage` where it exists and may be used (it throws in some sandboxed frames). */
export function defaultStorage(): TokenStorage | undefined {
  try {
    const storage = scope.localStorage;
    return storage !== undefined && typeof storage.getItem === 'function' ? storage : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Calls `wake` when a sleeping or hidden page may have missed its timer: the tab became
 * visible, the window got focus, the network came back, or the page left the back-forward cache.
 * Answers a function that removes the listeners.
 */
export function onWake(wake: (cause: string) => void): () => void {
  const doc = pageDocument();
  const win = scope.window;
  const visible = () => {
    if ((doc?.visibilityState ?? 'visible') === 'visible') wake('visible');
  };
  // One listener for the window's events; the event's type is the cause.
  const woken = (event: { type: string }) => wake(event.type);
  const listen = (method: 'addEventListener' | 'removeEventListener') => {
    doc?.[method]?.('visibilitychange', visible);
    for (const type of ['focus', 'online', 'pageshow']) win?.[method]?.(type, woken);
  };
  listen('addEventListener');
  return () => listen('removeEventListener');
}

/** A timer that does not keep a Node process alive. */
export function startTimer(run: () => void, ms: number): ReturnType<typeof setTimeout> {
  // setTimeout overflows past 2^31-1 ms and would fire at once.
  const timer = setTimeout(run, Math.max(0, Math.min(ms, 2_147_483_647)));
  (timer as { unref?: () => void }).unref?.();
  return timer;
}

/** The unverified payload of a JWT, for reading `sid` only; never trusted for anything else. */
export function peekClaims(token: string): { sid?: unknown; sub?: unknown } | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    // atob reads unpadded base64; bytes above ASCII come out as Latin-1 characters, which garbles
    // non-ASCII claim values but never the JSON around them, and `sid` is ASCII.
    const parsed: unknown = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/')));
    return typeof parsed === 'object' && parsed !== null ? (parsed as { sid?: unknown; sub?: unknown }) : undefined;
  } catch {
    return undefined;
  }
}
