/**
 * A request as plain values: what every adapter produces and the core reads. No framework
 * type crosses this line.
 */
export interface AuthRequest {
  /** The HTTP method, e.g. `'POST'`. */
  readonly method: string;
  /**
   * Every header as received, flat as Node's `rawHeaders`: `[name, value, name, value, …]`,
   * names in any case. The raw list matters: two `Authorization` lines are refused, never
   * resolved by picking one.
   */
  readonly headers: readonly string[];
  /** The parsed JSON (or form) body, when there is one. */
  readonly body?: unknown;
  /**
   * `'http'` or `'https'`: with `Host`, the request's own origin (the default public origin).
   * Read only by cookie checks: an adapter may make it a getter, so other requests never compute it.
   */
  readonly protocol?: string | undefined;
  /** The client address as the adapter determined it (socket, or a trusted proxy's header); recorded on the session. May be a getter too. */
  readonly ip?: string | undefined;
  /**
   * The request path without query (`/api/me`), as the client sent it: with the DPoP origin it makes the
   * URL a proof's `htu` must name (RFC 9449 §4.3). Read only by DPoP checks; may be a getter.
   */
  readonly path?: string | undefined;
}

/** How an adapter reads the two facts of its framework's request that few checks need. */
export interface RequestFacts<Source> {
  protocol(source: Source): string | undefined;
  ip(source: Source): string | undefined;
  /** The request path without query; optional, so an adapter without it still builds (DPoP then refuses). */
  path?(source: Source): string | undefined;
}

/**
 * An `AuthRequest` whose `protocol` and `ip` are read from the framework's request only when a
 * check asks (cookie checks, a login): frameworks work them out on every read (trust proxy, URL
 * parsing), and a guarded GET never needs them. A class, so a request costs one small object.
 */
export class AdapterRequest<Source> implements AuthRequest {
  readonly method: string;
  readonly headers: readonly string[];
  readonly body: unknown;
  readonly #source: Source;
  readonly #facts: RequestFacts<Source>;

  constructor(method: string, headers: readonly string[], body: unknown, source: Source, facts: RequestFacts<Source>) {
    this.method = method;
    this.headers = headers;
    this.body = body;
    this.#source = source;
    this.#facts = facts;
  }

  get protocol(): string | undefined {
    return this.#facts.protocol(this.#source);
  }

  get ip(): string | undefined {
    return this.#facts.ip(this.#source);
  }

  get path(): string | undefined {
    return this.#facts.path?.(this.#source);
  }
}

/**
 * The path of a request target without query or fragment (RFC 9112 §3.2): origin-form as it is, the
 * path of an absolute-form target; undefined for anything else (`*`, authority-form).
 * @example requestPath('/api/me?x=1') // '/api/me'
 */
export function requestPath(target: string | undefined): string | undefined {
  if (typeof target !== 'string' || target === '') return undefined;
  if (target.startsWith('/')) {
    const end = target.search(/[?#]/);
    return end < 0 ? target : target.slice(0, end);
  }
  // Only an http(s) absolute-form target has a path here: `host:port` (authority-form) would parse as a scheme.
  if (!/^https?:\/\//i.test(target)) return undefined;
  try {
    return new URL(target).pathname;
  } catch {
    return undefined;
  }
}

/** The headers Tessera reads, gathered in one pass over the raw list. */
export interface RequestHeaders {
  readonly authorization: string[];
  readonly cookie: string[];
  readonly csrf: string[];
  readonly origin: string[];
  readonly secFetchSite: string | undefined;
  readonly host: string | undefined;
}

/** Collects the headers Tessera reads; `csrfHeader` is the configured CSRF header name in lower case. */
export function readHeaders(headers: readonly string[], csrfHeader: string): RequestHeaders {
  const out = {
    authorization: [] as string[],
    cookie: [] as string[],
    csrf: [] as string[],
    origin: [] as string[],
    secFetchSite: undefined as string | undefined,
    host: undefined as string | undefined,
  };
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = (headers[i] as string).toLowerCase();
    const value = headers[i + 1] as string;
    if (name === 'authorization') out.authorization.push(value);
    else if (name === 'cookie') out.cookie.push(value);
    else if (name === csrfHeader) out.csrf.push(value);
    else if (name === 'origin') out.origin.push(value);
    else if (name === 'sec-fetch-site') out.secFetchSite = value.toLowerCase();
    else if (name === 'host' || name === ':authority') out.host ??= value;
  }
  return out;
}

/** Methods that never change state (RFC 9110 §9.2.1); every other method is checked for CSRF. */
export function isSafeMethod(method: string): boolean {
  const m = method.toUpperCase();
  return m === 'GET' || m === 'HEAD' || m === 'OPTIONS' || m === 'TRACE';
}

/** Reads one cookie by name from the `Cookie` header values; two different values for it are reported as `conflict`. */
export function readCookie(cookieHeaders: readonly string[], name: string): { value: string | undefined; conflict: boolean } {
  let value: string | undefined;
  let conflict = false;
  for (const header of cookieHeaders) {
    for (const part of header.split(';')) {
      const eq = part.indexOf('=');
      if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
      let v = part.slice(eq + 1).trim();
      if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
      if (v === '') continue;
      if (value !== undefined && value !== v) conflict = true;
      value ??= v;
    }
  }
  return { value, conflict };
}
