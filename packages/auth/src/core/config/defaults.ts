import { CSRF_HEADER } from '../../protocol/protocol.js';
import type { TokenLocation } from '../types.js';
import { DPOP_ALGORITHMS } from '../dpop/proof.js';
import { boolean, duration, integer, oneOf, origins, relation, someOf, text, type Check } from './checks.js';

const LOCATIONS: readonly TokenLocation[] = ['header', 'cookie', 'body'];

/**
 * The one table of options (docs/architecture.md "Configuration"): per option its default, its
 * sentence of documentation and its check. `resolveConfig` reads it, the documentation table is
 * generated from it, and the server's settings take their checks and sentences from it, so none of
 * them can drift apart. A `relation` joins an option to another one's value.
 */
export const DEFAULTS = {
  issuer: {
    value: 'urn:tessera',
    doc: 'The `iss` of every token; fixed, so every instance agrees.',
    check: text({ max: 512 }),
  },
  audience: {
    value: 'urn:tessera:api',
    doc: 'The `aud` of access tokens, always issued and checked.',
    check: text({ max: 512 }),
  },
  // A bare number past a day is most likely milliseconds (900000 for 15 minutes): refused with the units spelled out.
  accessTtl: { value: '15m', doc: 'Access-token lifetime.', check: duration(1, { bare: 86400 }) },
  refreshTtl: {
    value: '7d',
    doc: 'Refresh-token lifetime.',
    check: duration(1),
    relation: relation('sessionMaxAge', 'cannot exceed', (refreshTtl, sessionMaxAge) => refreshTtl > sessionMaxAge),
  },
  sessionMaxAge: { value: '30d', doc: 'Absolute session lifetime; refreshing never extends it.', check: duration(1) },
  leeway: {
    value: '0s',
    doc: 'Clock skew tolerated on token times (at most 60 s).',
    check: duration(0, { seconds: 60 }),
    relation: relation('accessTtl', 'must be smaller than', (leeway, accessTtl) => leeway >= accessTtl),
  },
  reuseGrace: {
    value: '10s',
    doc: 'How long the previous refresh token still answers (two tabs refreshing at once); 0 allowed.',
    check: duration(0, { seconds: 300, why: 'a long grace lets a stolen token live on' }),
  },
  maxTokenLength: { value: 8192, doc: 'Longest token string looked at; longer ones are refused before any parsing.', check: integer(1024, 65536) },
  verifiedCacheSize: { value: 4096, doc: 'Entries in the verified access-token cache (0 turns it off).', check: integer(0, 1_000_000) },
  locations: {
    value: { access: ['header', 'cookie'], refresh: ['header', 'cookie', 'body'] },
    doc: 'Where tokens are looked for, in order, per kind.',
    /** Checks the list of one kind. */
    check: someOf(LOCATIONS),
  },
  'cookies.secure': {
    value: true,
    doc: 'Mark cookies Secure (turn off only for plain http that is not localhost).',
    check: boolean,
  },
  'cookies.sameSite': {
    value: 'Lax',
    doc: '`SameSite` of the token cookies: `Lax` or `Strict`.',
    check: oneOf(['Lax', 'Strict'], "'None' would send tokens on cross-site requests"),
  },
  'cookies.refreshPath': {
    value: '/auth',
    doc: '`Path` of the refresh cookie, so it travels only to the auth routes.',
    check: text({ pattern: /^\/[\x21-\x3a\x3c-\x7e]*$/, expected: 'a path starting with /' }),
  },
  csrfHeader: {
    value: CSRF_HEADER,
    doc: 'Header that must echo the session CSRF value on state-changing cookie requests.',
    check: text({ pattern: /^[a-z0-9-]+$/i, expected: 'a header name' }),
  },
  publicOrigins: {
    value: [] as readonly string[],
    doc: 'Origins allowed to make cookie-authenticated state changes; empty means the request’s own origin.',
    check: origins,
  },
  'sessions.livenessTtl': {
    value: '60s',
    doc: 'How long an instance trusts a "live" session answer while a revocation bus is connected (without one: 1 s).',
    check: duration(1, { bare: 86400 }),
  },
  'sessions.livenessCacheSize': { value: 10000, doc: 'Sessions whose liveness an instance remembers.', check: integer(0, 10_000_000) },
  'sessions.maxPerUser': {
    value: 0,
    doc: 'Live sessions per user; the oldest is revoked past it (0: no limit).',
    check: integer(0, 100_000),
  },
  'sessions.retention': {
    value: '7d',
    doc: 'How long revoked and ended sessions are kept (for the sessions list and audit) before `purge` deletes them.',
    check: duration(0),
  },
  'dpop.mode': {
    value: 'allowed',
    doc: 'DPoP at token requests (RFC 9449): `off` ignores proofs, `allowed` binds tokens when a proof is sent, `required` refuses requests without one.',
    check: oneOf(['off', 'allowed', 'required']),
  },
  'dpop.algorithms': {
    value: DPOP_ALGORITHMS as readonly (typeof DPOP_ALGORITHMS)[number][],
    doc: 'Algorithms a DPoP proof may be signed with (asymmetric only).',
    check: someOf(DPOP_ALGORITHMS),
  },
  'dpop.resourceNonce': {
    value: false,
    doc: 'Also require the server nonce in proofs at guarded routes (needs `dpop.nonceSecret`).',
    check: boolean,
  },
} as const;

/** The name of an option in the table. */
export type OptionName = keyof typeof DEFAULTS;

/** The type of an option's value once checked (durations in seconds). */
export type OptionValue<N extends OptionName> = (typeof DEFAULTS)[N]['check'] extends Check<infer T> ? T : never;
