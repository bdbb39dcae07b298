// The OpenAPI description of the token, revocation and introspection endpoints. Their form bodies are parsed and
// checked by the endpoints themselves (duplicates refused, RFC 6749 §3.2), so each body is documented only
// (DOCUMENTED_BODY), never validated by Fastify. Refusals are the OAuth shape `{error, error_description}`, with
// codes and statuses from the library's table.
import { ERRORS, type ErrorCode } from '@tessera/auth/protocol';
import { DOCUMENTED_BODY, SCHEMES } from '../docs/openapi.js';

const OAUTH_NO_STORE = {
  'Cache-Control': { type: 'string', enum: ['no-store'], description: 'OAuth answers are never cached (RFC 6749 §5.1).' },
  Pragma: { type: 'string', enum: ['no-cache'], description: 'For HTTP/1.0 caches (RFC 6749 §5.1).' },
} as const;
const BASIC_CHALLENGE = {
  'WWW-Authenticate': { type: 'string', description: '`Basic realm="<issuer>"` when the client authenticated with HTTP Basic (RFC 6749 §5.2).' },
} as const;
const RETRY_AFTER = { 'Retry-After': { type: 'integer', minimum: 1, description: 'Seconds to wait before trying again.' } } as const;
const DPOP_NONCE = { 'DPoP-Nonce': { type: 'string', description: '`use_dpop_nonce`: the nonce to put in the next proof (RFC 9449 §8).' } } as const;

/** `{error, error_description}` with the codes of one status, and that status's headers. */
function refusal(status: number, codes: readonly ErrorCode[]) {
  const headers = {
    ...OAUTH_NO_STORE,
    ...(status === 401 ? BASIC_CHALLENGE : {}),
    ...(codes.includes('use_dpop_nonce') ? DPOP_NONCE : {}),
    ...(codes.includes('rate_limited') ? RETRY_AFTER : {}),
  };
  return {
    'x-response-description': codes.map((code) => `\`${code}\`: ${ERRORS[code].message}.`).join(' '),
    type: 'object',
    required: ['error', 'error_description'],
    properties: {
      error: { type: 'string', enum: [...codes], description: 'The OAuth error code (RFC 6749 §5.2).' },
      error_description: { type: 'string', description: 'A sentence for people; never a token or a secret.' },
    },
    headers,
  } as const;
}

/** The refusals of an endpoint, each code under its status from the protocol's table (`ERRORS`). */
function refusals(...codes: ErrorCode[]): Record<number, ReturnType<typeof refusal>> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set(codes)) byStatus.set(ERRORS[code].status, [...(byStatus.get(ERRORS[code].status) ?? []), code]);
  return Object.fromEntries([...byStatus].sort(([a], [b]) => a - b).map(([status, list]) => [status, refusal(status, list)]));
}

/** Every form endpoint: a malformed or duplicated parameter, a body that is not a form or over 8 KiB; the client's authentication. */
const FORM: ErrorCode[] = ['invalid_request', 'invalid_client', 'store_unavailable'];

/** A form body, documented only. */
function formBody(
  description: string,
  required: readonly string[],
  properties: Record<string, { type: 'string'; description: string; enum?: readonly string[] }>,
) {
  return {
    required: true,
    description: `${description} Each parameter at most once (RFC 6749 §3.2); at most 8 KiB.`,
    content: { 'application/x-www-form-urlencoded': { schema: { type: 'object', required: [...required], properties } } },
  } as const;
}

const clientCredentials = {
  client_id: {
    type: 'string',
    description: 'The client: public clients (`none`), or with client_secret (`client_secret_post`); absent or equal with HTTP Basic.',
  },
  client_secret: { type: 'string', description: '`client_secret_post`: the secret of a confidential client. Never together with HTTP Basic.' },
} as const;

/** Client authentication (RFC 6749 §2.3): HTTP Basic of the form-urlencoded id and secret, or the form (`client_secret_post`, `none`). */
const clientAuth = [{ [SCHEMES.oauthClient]: [] }, {}];

export const oauthSchemas = {
  token: {
    operationId: 'oauthToken',
    tags: ['oauth'],
    summary: 'OAuth token endpoint: redeem an authorization code (PKCE) or rotate a refresh token',
    description:
      'grant_type `authorization_code` (with `code_verifier`, RFC 7636) or `refresh_token` (the same rotation as /auth/refresh: a reused token revokes ' +
      'the session). With a `DPoP` proof header the tokens are bound to its key (`token_type: DPoP`, RFC 9449); a bound refresh token needs a proof ' +
      'by the same key. Another client’s token is `invalid_grant` and its session is left alone.',
    security: clientAuth,
    [DOCUMENTED_BODY]: formBody('The grant.', ['grant_type'], {
      grant_type: { type: 'string', enum: ['authorization_code', 'refresh_token'], description: 'No password or implicit grant (RFC 9700 §2.4).' },
      code: { type: 'string', description: 'authorization_code: the code from the redirect.' },
      redirect_uri: { type: 'string', description: 'authorization_code: exactly the redirect URI of the authorization request.' },
      code_verifier: { type: 'string', description: 'authorization_code: the PKCE verifier, 43 to 128 unreserved characters.' },
      refresh_token: { type: 'string', description: 'refresh_token: the current refresh token of the session.' },
      scope: { type: 'string', description: 'refresh_token: the scope granted (a refresh never widens or narrows it).' },
      ...clientCredentials,
    }),
    response: {
      200: {
        description: 'Tokens (RFC 6749 §5.1).',
        type: 'object',
        required: ['access_token', 'token_type', 'expires_in', 'refresh_token'],
        properties: {
          access_token: { type: 'string', description: 'An RFC 9068 access token (JWT).' },
          token_type: { type: 'string', enum: ['Bearer', 'DPoP'], description: '`DPoP` when the tokens are bound to the proof’s key.' },
          expires_in: { type: 'integer', description: 'Seconds until the access token expires.' },
          refresh_token: { type: 'string', description: 'The next refresh token; the one presented is spent.' },
          scope: { type: 'string', description: 'The scope granted, when one was.' },
        },
        headers: OAUTH_NO_STORE,
      },
      ...refusals(...FORM, 'invalid_grant', 'unsupported_grant_type', 'unauthorized_client', 'invalid_scope', 'invalid_dpop_proof', 'use_dpop_nonce'),
    },
  },
  revoke: {
    operationId: 'oauthRevoke',
    tags: ['oauth'],
    summary: 'OAuth token revocation (RFC 7009): end the session of one of the client’s tokens',
    description:
      'A refresh or access token issued to the calling client ends its session (the same ending as /auth/logout). Any other token — another ' +
      'client’s, unknown, malformed, expired or already revoked — answers 200 all the same and changes nothing (RFC 7009 §2.2).',
    security: clientAuth,
    [DOCUMENTED_BODY]: formBody('The token to revoke.', ['token'], {
      token: { type: 'string', description: 'A refresh or access token.' },
      token_type_hint: { type: 'string', description: '`refresh_token` or `access_token`: tried first; the other kind is tried too.' },
      ...clientCredentials,
    }),
    response: {
      200: { description: 'Revoked, or nothing to revoke (RFC 7009 §2.2); the body is empty.', type: 'null', headers: OAUTH_NO_STORE },
      ...refusals(...FORM),
    },
  },
  introspect: {
    operationId: 'oauthIntrospect',
    tags: ['oauth'],
    summary: 'OAuth token introspection (RFC 7662), for confidential clients registered for an audience',
    description:
      '`active: true` only for a live access token (session live, user enabled) whose `aud` names an audience the caller is registered for ' +
      '(`tessera clients add --audience`); anything else is `{"active": false}` and nothing more. Public clients are refused; calls are throttled per client.',
    security: clientAuth,
    [DOCUMENTED_BODY]: formBody('The token to look at.', ['token'], {
      token: { type: 'string', description: 'An access token.' },
      token_type_hint: { type: 'string', description: 'Ignored beyond a hint: only access tokens are ever active here.' },
      ...clientCredentials,
    }),
    response: {
      200: {
        description: 'The token’s state (RFC 7662 §2.2).',
        type: 'object',
        required: ['active'],
        properties: {
          active: { type: 'boolean' },
          scope: { type: 'string' },
          client_id: { type: 'string' },
          sub: { type: 'string' },
          exp: { type: 'integer' },
          iat: { type: 'integer' },
          iss: { type: 'string' },
          aud: { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
          token_type: { type: 'string', enum: ['Bearer', 'DPoP'] },
          cnf: { type: 'object', properties: { jkt: { type: 'string' } }, description: 'DPoP-bound tokens: the key thumbprint (RFC 9449 §6.2).' },
        },
        headers: OAUTH_NO_STORE,
      },
      ...refusals(...FORM, 'rate_limited'),
    },
  },
} as const;
