// The OAuth issuer (RFC 8414 §2): OAuth is on only when TESSERA_ISSUER is a URL a client can fetch the
// metadata from and compare byte for byte. Every endpoint in the metadata, and the URL DPoP `htu` is checked
// against, is built from it; never from Host or X-Forwarded-* (docs/oauth.md "Turning it on").

/** The endpoints of an issuer, as the metadata names them (RFC 8414 §2). */
export interface OAuthEndpoints {
  readonly issuer: string;
  readonly authorization_endpoint: string;
  readonly token_endpoint: string;
  readonly revocation_endpoint: string;
  readonly introspection_endpoint: string;
  readonly jwks_uri: string;
}

/** Loopback hosts a test or a local tool may use over plain http (RFC 8252 §8.3: literal addresses, not `localhost`). */
const LOOPBACK = new Set(['127.0.0.1', '[::1]']);

/**
 * The issuer text OAuth would use for `url`: its href without a trailing slash, path kept. Tokens carry the
 * configured text as `iss` and clients compare the metadata's `issuer` with it exactly (RFC 8414 §3.3,
 * RFC 9068 §4), so the configured text must already be in this form.
 */
export function canonicalIssuer(url: URL): string {
  return url.href.endsWith('/') ? url.href.slice(0, -1) : url.href;
}

/**
 * Why `issuer` does not turn OAuth on, as one sentence for operators; undefined when it does. OAuth is on for an
 * https URL without query, fragment or credentials (RFC 8414 §2), or for `http://127.0.0.1:<port>` and
 * `http://[::1]:<port>` (tests and local tools), written in canonical form (no trailing slash).
 */
export function issuerProblem(issuer: string): string | undefined {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    return `TESSERA_ISSUER (${issuer}) is not a URL`;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `TESSERA_ISSUER (${issuer}) is not an https URL`;
  if (url.username !== '' || url.password !== '') return 'TESSERA_ISSUER carries credentials, which an issuer never does';
  if (issuer.includes('?') || issuer.includes('#'))
    return `TESSERA_ISSUER (${issuer}) has a query or a fragment, which an issuer never has (RFC 8414 §2)`;
  if (url.protocol === 'http:') {
    if (!LOOPBACK.has(url.hostname))
      return `TESSERA_ISSUER (${issuer}) is plain http, allowed only for http://127.0.0.1:<port> and http://[::1]:<port>`;
    if (url.port === '') return `TESSERA_ISSUER (${issuer}) is a loopback http URL without a port`;
  }
  const canonical = canonicalIssuer(url);
  if (canonical !== issuer) return `TESSERA_ISSUER (${issuer}) is not written as ${canonical}, the exact text clients compare`;
  return undefined;
}

/** The issuer as a URL when `issuer` turns OAuth on, else undefined (see `issuerProblem`). */
export function oauthIssuer(issuer: string): URL | undefined {
  return issuerProblem(issuer) === undefined ? new URL(issuer) : undefined;
}

/** The one line `tessera serve` prints when OAuth is off, saying why and how to turn it on. */
export function oauthOffLine(issuer: string): string {
  const why = issuerProblem(issuer) ?? 'TESSERA_ISSUER is not an https URL';
  return `OAuth is off: ${why}; set TESSERA_ISSUER to this server's https URL (such as https://auth.example.com) to serve /oauth/* and /.well-known/oauth-authorization-server.`;
}

/** Every endpoint URL of `issuer`: the issuer text without a trailing slash, path kept, then the server's path. */
export function oauthEndpoints(issuer: URL): OAuthEndpoints {
  const base = canonicalIssuer(issuer);
  return {
    issuer: base,
    authorization_endpoint: `${base}/oauth/authorize`,
    token_endpoint: `${base}/oauth/token`,
    revocation_endpoint: `${base}/oauth/revoke`,
    introspection_endpoint: `${base}/oauth/introspect`,
    jwks_uri: `${base}/.well-known/jwks.json`,
  };
}

/**
 * Where the metadata is served (RFC 8414 §3.1): the well-known path inserted between the host and the issuer's
 * path, so `https://a.example/tenant` is described at `/.well-known/oauth-authorization-server/tenant`.
 */
export function metadataPaths(issuer: URL): string[] {
  const path = new URL(canonicalIssuer(issuer)).pathname.replace(/\/$/, '');
  const wellKnown = '/.well-known/oauth-authorization-server';
  return path === '' ? [wellKnown] : [`${wellKnown}${path}`, wellKnown];
}
