// Request and response schemas: Fastify validates bodies with them, and the OpenAPI document at
// /openapi.json is generated from them, so the contract and the docs cannot drift apart.
// Fastify validates only `body` and `params`, and serialises with `response` only the probes' answers
// (every token and account answer is a JSON string already). The other keys — operationId, security,
// response descriptions and headers, DOCUMENTED_BODY — shape the document alone.
import { CSRF_HEADER, ERRORS, TRANSPORTS, type ErrorCode } from '@tessera/auth/protocol';
import { DOCUMENTED_BODY, SCHEMES } from '../docs/openapi.js';

const RETRY_AFTER = {
  'Retry-After': { type: 'integer', minimum: 1, description: 'Seconds to wait before trying again (`rate_limited`, `server_busy`).' },
} as const;
const WWW_AUTHENTICATE = {
  'WWW-Authenticate': {
    type: 'string',
    description: 'RFC 6750: bare `Bearer` when no token was sent, else `Bearer error="invalid_token", error_description="…"`.',
  },
} as const;
const NO_STORE = { 'Cache-Control': { type: 'string', enum: ['no-store'], description: 'Token and account answers are never cached.' } } as const;
const SET_COOKIE = {
  'Set-Cookie': {
    type: 'string',
    description:
      'Cookie transports: the HttpOnly refresh cookie (hybrid, cookie), the HttpOnly access cookie (cookie) and the readable CSRF cookie, ' +
      'named with `__Host-`/`__Secure-` when cookies are `Secure` (see the cookie security schemes). One header per cookie.',
  },
} as const;

/** `{error, message}` with the codes a route can answer at one status (an enum, so each is listed), and its headers. */
function refusal(status: number, codes: readonly ErrorCode[]) {
  const retry = codes.includes('rate_limited') || codes.includes('server_busy');
  const headers = { ...(status === 401 ? WWW_AUTHENTICATE : {}), ...(retry ? RETRY_AFTER : {}) };
  return {
    // The response's description (the codes and what they mean), not the schema's.
    'x-response-description': codes.map((code) => `\`${code}\`: ${ERRORS[code].message}.`).join(' '),
    type: 'object',
    required: ['error', 'message'],
    properties: {
      error: { type: 'string', enum: [...codes], description: 'Stable code.' },
      message: { type: 'string', description: 'A sentence for people; never a token or a secret.' },
    },
    ...(Object.keys(headers).length > 0 ? { headers } : {}),
  } as const;
}

/** The refusals of a route, each code under its status from the protocol's table (`ERRORS`). */
function refusals(...codes: ErrorCode[]): Record<number, ReturnType<typeof refusal>> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set(codes)) byStatus.set(ERRORS[code].status, [...(byStatus.get(ERRORS[code].status) ?? []), code]);
  return Object.fromEntries([...byStatus].sort(([a], [b]) => a - b).map(([status, list]) => [status, refusal(status, list)]));
}

// The refusals routes share (docs/architecture.md "The HTTP contract").
/** Any route: a request without exactly one Host header. */
const ANY: ErrorCode[] = ['invalid_request'];
/** A route that reads a body (POST, and DELETE when one is sent): malformed JSON, over 16 KiB, neither JSON nor a form. */
const BODY: ErrorCode[] = ['invalid_request', 'payload_too_large', 'unsupported_media_type'];
/** A token: two Authorization lines or a malformed one, two different tokens, and every reason to refuse one. */
const TOKEN: ErrorCode[] = ['invalid_request', 'token_conflict', 'token_missing', 'token_invalid', 'token_not_yet_valid', 'token_type_invalid'];
/** A guarded route: an access token that is live, of a live session, of an enabled user; the stores must answer. */
const ACCESS: ErrorCode[] = [...TOKEN, 'token_expired', 'token_revoked', 'user_invalid', 'store_unavailable'];
/** A state-changing request with cookie credentials: an allowed Origin and the CSRF header. */
const COOKIE_WRITE: ErrorCode[] = ['origin_refused', 'csrf_failed'];
/** Throttled attempts that hash a password. */
const ATTEMPT: ErrorCode[] = ['rate_limited', 'server_busy', 'store_unavailable'];

// Who may call (OpenAPI security requirements: any one entry; every scheme of an entry together).
const accessToken = [{ [SCHEMES.access]: [] }, { [SCHEMES.accessCookie]: [] }];
const accessTokenWrite = [{ [SCHEMES.access]: [] }, { [SCHEMES.accessCookie]: [], [SCHEMES.csrf]: [] }];
/** The refresh token in the body (`{}`: no scheme), as Bearer, or in its cookie with the CSRF header. */
const refreshToken = [{ [SCHEMES.refresh]: [] }, { [SCHEMES.refreshCookie]: [], [SCHEMES.csrf]: [] }, {}];
const anyone: [] = [];

const tokens = {
  type: 'object',
  required: ['token_type', 'expires_in', 'refresh_expires_in'],
  description: 'bearer: both tokens; hybrid: access_token only (refresh in an HttpOnly cookie); cookie: no tokens (both in HttpOnly cookies).',
  properties: {
    access_token: { type: 'string', description: 'bearer and hybrid transports.' },
    refresh_token: { type: 'string', description: 'bearer transport.' },
    token_type: {
      type: 'string',
      enum: ['Bearer', 'DPoP'],
      description: '`DPoP` when the request carried a DPoP proof: the tokens are bound to its key (RFC 9449 §5).',
    },
    expires_in: { type: 'integer', description: 'Seconds until the access token expires.' },
    refresh_expires_in: { type: 'integer', description: 'Seconds until the refresh token expires.' },
    csrf_token: { type: 'string', description: `Cookie transports: echo it in ${CSRF_HEADER} on state-changing requests.` },
  },
  headers: { ...NO_STORE, ...SET_COOKIE },
} as const;

const credentials = {
  type: 'object',
  required: ['username', 'password'],
  properties: {
    username: { type: 'string', maxLength: 256, description: 'NFKC-normalised and case-folded; 3 to 64 characters.' },
    password: { type: 'string', maxLength: 4096, description: '8 to 1024 bytes after NFKC normalisation.' },
  },
} as const;

/** The optional body of refresh and logout, documented only (see DOCUMENTED_BODY): Fastify validates no body there. */
const refreshTokenBody = {
  required: false,
  description:
    'Optional. The bearer transport sends its refresh token here (or as Bearer). An absent body, or an empty or null `refresh_token`, ' +
    'means the token is in Authorization or the refresh cookie; a `refresh_token` that is not a string is 400 `invalid_request`.',
  content: {
    'application/json': {
      schema: { type: 'object', properties: { refresh_token: { type: 'string', description: 'A refresh token (JWT).' } } },
    },
  },
} as const;

const noContent = (description: string) => ({ type: 'null', description }) as const;
const noStoreNoContent = (description: string) => ({ ...noContent(description), headers: { ...NO_STORE, ...SET_COOKIE } }) as const;

export const schemas = {
  register: {
    operationId: 'register',
    tags: ['account'],
    summary: 'Create an account',
    security: anyone,
    body: credentials,
    response: {
      201: {
        description: 'The account was created.',
        type: 'object',
        required: ['id', 'username'],
        properties: { id: { type: 'string' }, username: { type: 'string', description: 'As stored: normalised and case-folded.' } },
        headers: NO_STORE,
      },
      ...refusals(...BODY, 'validation_failed', 'username_taken', ...ATTEMPT),
    },
  },
  login: {
    operationId: 'login',
    tags: ['tokens'],
    summary: 'Log in: open a session and receive tokens',
    description:
      'A login that sets cookies (`transport` hybrid or cookie) must send JSON and come from an allowed Origin; a bearer login may send a form. ' +
      'A wrong password, an unknown user and a disabled account all answer 401 `invalid_credentials`.',
    security: anyone,
    consumes: ['application/json', 'application/x-www-form-urlencoded'],
    body: {
      ...credentials,
      properties: {
        ...credentials.properties,
        transport: { type: 'string', enum: [...TRANSPORTS], description: "How the tokens travel; the server's first allowed transport by default." },
      },
    },
    response: {
      200: { ...tokens, description: 'A session was opened.' },
      ...refusals(...BODY, 'validation_failed', 'invalid_credentials', 'origin_refused', ...ATTEMPT),
    },
  },
  refresh: {
    operationId: 'refresh',
    tags: ['tokens'],
    summary: 'Rotate the refresh token (body refresh_token, Bearer, or cookie + X-CSRF-Token)',
    description:
      'Answers a new pair in the transport of the session. A refresh token used twice (past the short grace of two tabs refreshing together) ' +
      'is 401 `refresh_token_reused`, and the whole session is revoked. A refusal on a dead refresh cookie clears the cookies.',
    security: refreshToken,
    [DOCUMENTED_BODY]: refreshTokenBody,
    response: {
      200: { ...tokens, description: 'The rotated pair.' },
      ...refusals(...BODY, ...TOKEN, 'token_expired', 'token_revoked', 'refresh_token_reused', 'user_invalid', ...COOKIE_WRITE, 'store_unavailable'),
    },
  },
  exchange: {
    operationId: 'exchangeLegacyToken',
    tags: ['tokens'],
    summary: 'Exchange a refresh token of the replaced stack for a session (during a cut-over only)',
    description:
      "Present while TESSERA_LEGACY_FORMAT is set. The token must verify by that stack's rules (its type claim says refresh; `exp` and `jti` present; " +
      'the configured algorithm) and name an imported user by `legacy_id`. The session opened is not fresh. Each token is exchanged once: ' +
      'a second exchange is 401 `legacy_token_reused` and ends the session of the first. Tokens the old stack revoked, users disabled or changed here, ' +
      'and anything after TESSERA_LEGACY_UNTIL (401 `legacy_cutover_ended`) are refused. Transports and their Origin and JSON rules are those of login.',
    security: anyone,
    consumes: ['application/json', 'application/x-www-form-urlencoded'],
    body: {
      type: 'object',
      required: ['refresh_token'],
      properties: {
        refresh_token: { type: 'string', minLength: 1, maxLength: 8192, description: 'A refresh token of the replaced stack (JWT).' },
        transport: { type: 'string', enum: [...TRANSPORTS], description: "How the tokens travel; the server's first allowed transport by default." },
      },
    },
    response: {
      200: { ...tokens, description: 'A session was opened.' },
      ...refusals(
        ...BODY,
        'validation_failed',
        'token_invalid',
        'token_expired',
        'token_not_yet_valid',
        'token_type_invalid',
        'token_revoked',
        'user_invalid',
        'legacy_token_reused',
        'legacy_cutover_ended',
        'origin_refused',
        'store_unavailable',
      ),
    },
  },
  logout: {
    operationId: 'logout',
    tags: ['tokens'],
    summary: 'End the session of the refresh or access token; clears cookies',
    description:
      'The refresh token (body, Bearer or cookie) names the session, or else the access token (Bearer or cookie); an expired one still does. ' +
      'Cookie credentials need the CSRF header. A 204 and a 401 clear every Tessera cookie.',
    security: [{ [SCHEMES.access]: [] }, { [SCHEMES.accessCookie]: [], [SCHEMES.csrf]: [] }, ...refreshToken],
    [DOCUMENTED_BODY]: refreshTokenBody,
    response: {
      204: noStoreNoContent('The session has ended (or had ended already); the cookies are cleared.'),
      ...refusals(...BODY, ...TOKEN, ...COOKIE_WRITE, 'store_unavailable'),
    },
  },
  logoutAll: {
    operationId: 'logoutAll',
    tags: ['tokens'],
    summary: "End every session of the caller's account",
    security: accessTokenWrite,
    response: {
      204: noStoreNoContent("Every session of the caller's account has ended; the cookies are cleared."),
      ...refusals(...BODY, ...ACCESS, ...COOKIE_WRITE),
    },
  },
  me: {
    operationId: 'me',
    tags: ['account'],
    summary: 'The caller',
    security: accessToken,
    response: {
      200: {
        description: 'The account of the access token.',
        type: 'object',
        required: ['id', 'username', 'roles'],
        properties: {
          id: { type: 'string' },
          username: { type: 'string' },
          roles: { type: 'array', items: { type: 'string' } },
          password_change_required: {
            type: 'boolean',
            const: true,
            description: 'Present when the account must choose a new password (an imported password that the password policy refuses).',
          },
        },
        headers: NO_STORE,
      },
      // A legacy access token past TESSERA_LEGACY_UNTIL (only while a cut-over is configured).
      ...refusals(...ACCESS, 'legacy_cutover_ended'),
    },
  },
  password: {
    operationId: 'changePassword',
    tags: ['account'],
    summary: 'Change the password (fresh token); every earlier session ends and a new pair is returned',
    description:
      'Needs a fresh access token (straight from a login): else 401 `fresh_token_required`. A wrong current password is 401 `invalid_credentials`; ' +
      "a new password that breaks the rules is 422 `validation_failed`. The new pair travels in the transport of the caller's session.",
    security: accessTokenWrite,
    body: {
      type: 'object',
      required: ['current_password', 'new_password'],
      properties: {
        current_password: { type: 'string', maxLength: 4096 },
        new_password: { type: 'string', maxLength: 4096, description: '8 to 1024 bytes after NFKC normalisation; not a common or related password.' },
      },
    },
    response: {
      200: { ...tokens, description: 'The password was changed: a pair for a new session.' },
      ...refusals(...BODY, ...ACCESS, ...COOKIE_WRITE, 'fresh_token_required', 'invalid_credentials', 'validation_failed', ...ATTEMPT),
    },
  },
  sessions: {
    operationId: 'listSessions',
    tags: ['sessions'],
    summary: "The caller's live sessions",
    security: accessToken,
    response: {
      200: {
        description: 'Live sessions, the current one marked.',
        type: 'array',
        items: {
          type: 'object',
          required: ['id', 'current', 'created_at', 'last_used_at', 'expires_at', 'user_agent', 'ip'],
          properties: {
            id: { type: 'string' },
            current: { type: 'boolean', description: "The session of this request's token." },
            created_at: { type: 'string', format: 'date-time' },
            last_used_at: { type: 'string', format: 'date-time' },
            expires_at: { type: 'string', format: 'date-time' },
            user_agent: { type: ['string', 'null'] },
            ip: { type: ['string', 'null'] },
          },
        },
        headers: NO_STORE,
      },
      ...refusals(...ACCESS),
    },
  },
  revokeSession: {
    operationId: 'revokeSession',
    tags: ['sessions'],
    summary: "Revoke one of the caller's sessions (another user's id answers 404)",
    security: accessTokenWrite,
    params: {
      type: 'object',
      required: ['id'],
      properties: { id: { type: 'string', maxLength: 64, description: 'A session id from GET /auth/sessions.' } },
    },
    response: {
      204: { ...noContent('The session has ended.'), headers: NO_STORE },
      ...refusals(...BODY, ...ACCESS, ...COOKIE_WRITE, 'validation_failed', 'not_found'),
    },
  },
  jwks: {
    operationId: 'jwks',
    tags: ['keys'],
    summary: 'Public keys that verify access tokens',
    security: anyone,
    response: {
      200: {
        description: 'A JWK Set; cacheable for TESSERA_JWKS_MAX_AGE, five minutes by default (a rotation publishes the next key before it signs).',
        type: 'object',
        required: ['keys'],
        properties: { keys: { type: 'array', items: { type: 'object', additionalProperties: true } } },
        headers: { 'Cache-Control': { type: 'string', pattern: '^public, max-age=\\d+$' } },
      },
      ...refusals(...ANY),
    },
  },
  health: {
    operationId: 'health',
    tags: ['operations'],
    summary: 'Liveness',
    security: anyone,
    response: {
      200: { description: 'The process answers.', type: 'object', required: ['status'], properties: { status: { type: 'string', enum: ['ok'] } } },
      ...refusals(...ANY),
    },
  },
  ready: {
    operationId: 'ready',
    tags: ['operations'],
    summary: 'Readiness: the stores answer',
    security: anyone,
    response: {
      200: { description: 'The database answers; Redis, where configured, may be down (`degraded` lists it).', ...readiness('ready') },
      ...refusals(...ANY),
      503: {
        description: 'The database does not answer, or the instance is draining (`detail` says `draining`).',
        ...readiness('unavailable'),
      },
    },
  },
} as const;

/** The readiness answer; `additionalProperties` so that the serialiser keeps every check. */
function readiness(status: 'ready' | 'unavailable') {
  return {
    type: 'object',
    required: ['status', 'checks'],
    additionalProperties: true,
    properties: {
      status: { type: 'string', enum: [status] },
      checks: {
        type: 'object',
        description: 'Each store and whether it answers: `database`, and `redis` where configured.',
        additionalProperties: { type: 'boolean' },
      },
      degraded: {
        type: 'array',
        description: 'Present while a store the instance can do without is down: `redis` (sessions checked in SQL, throttling in memory).',
        items: { type: 'string', enum: ['redis'] },
      },
    },
  } as const;
}
