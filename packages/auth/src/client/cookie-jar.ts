// A small RFC 6265 cookie jar for runtimes whose `fetch` keeps no cookies (Node, Bun, Deno), so
// the cookie and hybrid transports work there as in a browser. It keeps what the client needs:
// host-only and Domain cookies, Path, Max-Age/Expires, deletion, Secure and the name prefixes
// (HttpOnly needs nothing: every cookie here is the client's own, never a page script's).

interface StoredCookie {
  readonly name: string;
  readonly value: string;
  /** Lower-case host; with `hostOnly` false, the Domain attribute (sub-domains match too). */
  readonly domain: string;
  readonly hostOnly: boolean;
  readonly path: string;
  readonly secure: boolean;
  /** Epoch ms, or undefined for a session cookie. */
  readonly expiresAt: number | undefined;
}

/** Options of a `CookieJar`. */
export interface CookieJarOptions {
  /** Epoch milliseconds; default `Date.now`. */
  now?: () => number;
}

/**
 * Cookies kept across requests by the Node client. Pass one jar to several clients to make them
 * share cookies, as the tabs of one browser do.
 * @example const jar = new CookieJar(); const client = createClient({ baseUrl, transport: 'cookie', cookieJar: jar });
 */
export class CookieJar {
  readonly #cookies = new Map<string, StoredCookie>();
  readonly #now: () => number;

  constructor(options: CookieJarOptions = {}) {
    this.#now = options.now ?? Date.now;
  }

  /**
   * Stores the `Set-Cookie` values of a response from `url`; a cookie with `Max-Age` ≤ 0 or an
   * `Expires` in the past deletes the stored one.
   * @example jar.store(url, response.headers.getSetCookie());
   */
  store(url: string | URL, setCookies: readonly string[]): void {
    const target = new URL(url);
    for (const line of setCookies) this.#storeOne(target, line);
  }

  /**
   * The `Cookie` header value for a request to `url`, or undefined when no cookie applies.
   * @example const cookie = jar.header(url);
   */
  header(url: string | URL): string | undefined {
    const pairs = this.#matching(new URL(url)).map((c) => `${c.name}=${c.value}`);
    return pairs.length > 0 ? pairs.join('; ') : undefined;
  }

  /**
   * The value of the cookie `name` that a request to `url` would carry.
   * @example const csrf = jar.get(baseUrl, '__Host-tessera-csrf');
   */
  get(url: string | URL, name: string): string | undefined {
    return this.#matching(new URL(url)).find((c) => c.name === name)?.value;
  }

  /** Forgets every cookie. */
  clear(): void {
    this.#cookies.clear();
  }

  #storeOne(url: URL, line: string): void {
    const [pair = '', ...attributes] = line.split(';');
    const eq = pair.indexOf('=');
    if (eq <= 0) return;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (name === '') return;
    const host = url.hostname; // the URL parser lower-cases it
    let path: string | undefined;
    let domain: string | undefined;
    let maxAge: number | undefined;
    let expires: number | undefined;
    let secure = false;
    for (const attribute of attributes) {
      const [rawKey = '', ...rest] = attribute.split('=');
      const key = rawKey.trim().toLowerCase();
      const val = rest.join('=').trim();
      if (key === 'path') path = val.startsWith('/') ? val : undefined;
      else if (key === 'domain') domain = val.replace(/^\./, '').toLowerCase() || undefined;
      else if (key === 'max-age' && /^-?\d+$/.test(val)) maxAge = Number(val);
      else if (key === 'expires') {
        const t = Date.parse(val);
        if (!Number.isNaN(t)) expires = t;
      } else if (key === 'secure') secure = true;
    }
    // RFC 6265 §5.3 step 6: a Domain that does not cover the host makes the whole cookie void.
    if (domain !== undefined && !domainMatches(host, domain)) return;
    // Browsers take Secure cookies only from a secure context (https, or the loopback host).
    if (secure && !isTrustworthy(url)) return;
    // Cookie name prefixes (RFC 6265bis §4.1.3): __Secure- needs Secure; __Host- also Path=/ and no Domain.
    if (name.startsWith('__Secure-') && !secure) return;
    if (name.startsWith('__Host-') && (!secure || domain !== undefined || path !== '/')) return;
    const cookiePath = path ?? defaultPath(url);
    const key = `${domain ?? host}\n${cookiePath}\n${name}`;
    const now = this.#now();
    // Max-Age wins over Expires (RFC 6265 §5.3 step 3).
    const expiresAt = maxAge !== undefined ? now + maxAge * 1000 : expires;
    if (expiresAt !== undefined && expiresAt <= now) {
      this.#cookies.delete(key);
      return;
    }
    this.#cookies.set(key, { name, value, domain: domain ?? host, hostOnly: domain === undefined, path: cookiePath, secure, expiresAt });
  }

  #matching(url: URL): StoredCookie[] {
    const host = url.hostname;
    const now = this.#now();
    const found: StoredCookie[] = [];
    for (const [key, cookie] of this.#cookies) {
      if (cookie.expiresAt !== undefined && cookie.expiresAt <= now) {
        this.#cookies.delete(key);
        continue;
      }
      if (cookie.hostOnly ? cookie.domain !== host : !domainMatches(host, cookie.domain)) continue;
      if (!pathMatches(url.pathname, cookie.path)) continue;
      if (cookie.secure && !isTrustworthy(url)) continue;
      found.push(cookie);
    }
    // Longer paths first (RFC 6265 §5.4 step 2), so the most specific cookie leads.
    return found.sort((a, b) => b.path.length - a.path.length);
  }
}

/** RFC 6265 §5.1.3. */
function domainMatches(host: string, domain: string): boolean {
  if (host === domain) return true;
  return host.endsWith(`.${domain}`) && !/^[\d.]+$/.test(host) && !host.includes(':');
}

/** RFC 6265 §5.1.4. */
function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath.charAt(cookiePath.length) === '/';
}

/** RFC 6265 §5.1.4: the directory of the request path (an http URL's path always starts with `/`). */
function defaultPath(url: URL): string {
  const path = url.pathname;
  return path.slice(0, path.lastIndexOf('/')) || '/';
}

/** https, or a loopback host: where browsers accept and send Secure cookies. */
function isTrustworthy(url: URL): boolean {
  if (url.protocol === 'https:') return true;
  const host = url.hostname;
  return host === 'localhost' || host.endsWith('.localhost') || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
