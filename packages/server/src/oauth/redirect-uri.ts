// Redirect URIs: what `tessera clients add` registers, and whether the one an authorization request names is
// registered. Exact string comparison (RFC 9700 §2.1, RFC 6749 §3.1.2.3), except that the port of a loopback
// http URI is ignored, since a native app learns its port only when it listens (RFC 8252 §7.3).

/** Longer redirect URIs are refused: no client needs one, and they end up in logs and Location headers. */
const MAX_LENGTH = 2000;

/** A loopback http URI as written: the literal address (never `localhost`, RFC 8252 §8.3), an optional port, the rest. */
const LOOPBACK = /^http:\/\/(127\.0\.0\.1|\[::1\])(?::(\d{1,5}))?([/?][^#]*)?$/;

/** Schemes that run code or read local data where a browser follows them. */
const DANGEROUS = new Set(['javascript:', 'data:', 'vbscript:', 'file:', 'blob:', 'about:', 'filesystem:']);

/**
 * Why `uri` cannot be registered, as one sentence; undefined when it can. Allowed: `https` URIs, loopback `http`
 * URIs on the literal addresses (RFC 8252 §7.3), and private-use schemes in reverse-domain form (RFC 8252 §7.1).
 */
export function redirectUriProblem(uri: string): string | undefined {
  if (uri.length === 0 || uri.length > MAX_LENGTH) return `A redirect URI must be 1 to ${MAX_LENGTH} characters long.`;
  // Control characters, spaces and backslashes are read differently by URL parsers: never stored.
  if ([...uri].some((c) => c.charCodeAt(0) <= 0x20 || (c.charCodeAt(0) >= 0x7f && c.charCodeAt(0) <= 0x9f) || c === '\\'))
    return `The redirect URI ${JSON.stringify(uri)} contains a space, a control character or a backslash.`;
  if (uri.includes('*')) return `The redirect URI ${uri} contains a wildcard: register each URI exactly (RFC 9700 §2.1).`;
  if (uri.includes('#')) return `The redirect URI ${uri} has a fragment, which a redirect URI never has (RFC 6749 §3.1.2).`;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return `The redirect URI ${uri} is not an absolute URI.`;
  }
  if (DANGEROUS.has(url.protocol)) return `The redirect URI ${uri} uses the ${url.protocol} scheme, which a browser would run or read locally.`;
  if (url.username !== '' || url.password !== '') return `The redirect URI ${uri} carries credentials (user@host): register it without them.`;
  const host = url.hostname.toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost') || /^[a-z][a-z0-9+.-]*:\/\/localhost\.?(?:[:/?]|$)/i.test(uri))
    return `The redirect URI ${uri} names localhost: use http://127.0.0.1 or http://[::1], which no DNS or hosts file can change (RFC 8252 §8.3).`;
  if (url.protocol === 'https:') return uri.startsWith('https://') ? undefined : `The redirect URI ${uri} must be written with a lowercase https://.`;
  if (url.protocol === 'http:') {
    const loopback = LOOPBACK.exec(uri);
    if (loopback === null)
      return `The redirect URI ${uri} is plain http, allowed only for http://127.0.0.1 and http://[::1] (RFC 8252 §7.3): use https.`;
    if (loopback[2] !== undefined && Number(loopback[2]) > 65535) return `The redirect URI ${uri} has a port above 65535.`;
    return undefined;
  }
  // A private-use scheme of a native app (RFC 8252 §7.1): a reverse domain name it owns, such as com.example.app.
  const scheme = url.protocol.slice(0, -1);
  if (!scheme.includes('.'))
    return `The redirect URI ${uri} uses the scheme ${scheme}: use https, loopback http, or a reverse-domain private-use scheme such as com.example.app (RFC 8252 §7.1).`;
  return undefined;
}

/** `uri` without the port when it is a loopback http URI, else undefined. */
function withoutLoopbackPort(uri: string): string | undefined {
  const loopback = LOOPBACK.exec(uri);
  if (loopback === null) return undefined;
  if (loopback[2] !== undefined && Number(loopback[2]) > 65535) return undefined;
  return `http://${loopback[1]}${loopback[3] ?? ''}`;
}

/**
 * Whether the redirect URI `given` in an authorization request is the registered one: the same string, or, for a
 * loopback http URI, the same string once both ports are set aside (RFC 8252 §7.3). Nothing is normalised: a
 * different case, an added slash or query is another URI.
 */
export function redirectUriMatches(registered: string, given: string): boolean {
  if (registered === given) return true;
  const a = withoutLoopbackPort(registered);
  return a !== undefined && a === withoutLoopbackPort(given);
}
