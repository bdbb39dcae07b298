import { CSRF_HEADER } from '../../protocol/protocol.js';

/**
 * The one table of defaults. Config resolution reads it, and the documentation table is
 * generated from it, so the two cannot drift apart.
 */
export const DEFAULTS = {
  issuer: { value: 'urn:tessera', doc: 'The `iss` claim written and required; a fixed string, never derived from a host.' },
  audience: { value: 'urn:tessera:api', doc: 'The `aud` value written in access tokens and required on verification.' },
  accessTtl: { value: '15m', doc: 'Access-token lifetime.' },
  refreshTtl: { value: '7d', doc: 'Refresh-token lifetime (each rotation issues a new one, capped by `sessionMaxAge`).' },
  sessionMaxAge: { value: '30d', doc: 'Absolute session lifetime; rotation never extends a session past it.' },
  leeway: { value: '0s', doc: 'Clock skew tolerated on `exp`, `nbf` and `iat`; at most 60 s and below the access lifetime.' },
  reuseGrace: { value: '10s', doc: 'How long the previous refresh token still answers with the current one (two tabs refreshing at once).' },
  maxTokenLength: { value: 8192, doc: 'Longest token string looked at; longer ones are refused before any parsing.' },
  verifiedCacheSize: { value: 4096, doc: 'Entries in the verified access-token cache (0 turns it off).' },
  locations: {
    value: { access: ['header', 'cookie'], refresh: ['header', 'cookie', 'body'] },
    doc: 'Where tokens are looked for, in order, per kind.',
  },
  'cookies.secure': { value: true, doc: 'Mark cookies `Secure` and use the `__Host-`/`__Secure-` name prefixes; turn off only for local http.' },
  'cookies.sameSite': { value: 'Lax', doc: '`SameSite` of the token cookies: `Lax` or `Strict`.' },
  'cookies.refreshPath': { value: '/auth', doc: '`Path` of the refresh cookie, so it travels only to the auth routes.' },
  csrfHeader: { value: CSRF_HEADER, doc: 'Header that must echo the session CSRF value on state-changing cookie requests.' },
  publicOrigins: {
    value: [] as readonly string[],
    doc: 'Origins allowed to make cookie-authenticated state changes; empty means the request’s own origin.',
  },
  'sessions.livenessTtl': {
    value: '60s',
    doc: 'How long an instance trusts a "live" session answer while a revocation bus is connected (without one: 1 s).',
  },
  'sessions.livenessCacheSize': { value: 10000, doc: 'Sessions whose liveness an instance remembers.' },
  'sessions.maxPerUser': { value: 0, doc: 'Live sessions a user may hold; the oldest is revoked past it (0: no limit).' },
  'sessions.retention': {
    value: '7d',
    doc: 'How long revoked and ended sessions are kept (for the sessions list and audit) before `purge` deletes them.',
  },
} as const;
