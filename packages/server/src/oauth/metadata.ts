// GET /.well-known/oauth-authorization-server (RFC 8414): what an OAuth client discovers about this server.
// Every URL in it is built from TESSERA_ISSUER alone (oauth/issuer.ts); registered only while OAuth is on, so the
// route is a plain 404 otherwise.
import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../runtime.js';
import { metadataPaths } from './issuer.js';
import type { OAuthRuntime } from './oauth-runtime.js';

/** The metadata document (RFC 8414 §2, RFC 9449 §5.1, RFC 9207 §3). */
export function authorizationServerMetadata(runtime: Runtime, oauth: OAuthRuntime): Record<string, unknown> {
  const dpop = runtime.auth.config.dpop;
  return {
    ...oauth.endpoints,
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    // No implicit and no password grant (RFC 9700 §2.1.2, §2.4).
    grant_types_supported: ['authorization_code', 'refresh_token'],
    // A public client authenticates with `none`; a confidential one with its secret, in Basic or in the form.
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    // A public client revokes its own tokens by naming itself (RFC 7009 §2.1).
    revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    // Introspection is for confidential clients only (RFC 7662 §2.1).
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    // PKCE with S256 only: `plain` protects nothing once the request is seen (RFC 9700 §2.1.1).
    code_challenge_methods_supported: ['S256'],
    // Present only while DPoP is on: its presence says proofs are accepted (RFC 9449 §5.1).
    ...(dpop.mode === 'off' ? {} : { dpop_signing_alg_values_supported: [...dpop.algorithms] }),
    // Every authorization response carries `iss` (RFC 9207): a client can tell which server answered.
    authorization_response_iss_parameter_supported: true,
  };
}

/** A refusal as every route answers it: `{error, message}` with a stable code. */
function refusal(description: string, codes: readonly string[]) {
  return {
    'x-response-description': description,
    type: 'object',
    required: ['error', 'message'],
    properties: {
      error: { type: 'string', enum: [...codes], description: 'Stable code.' },
      message: { type: 'string', description: 'A sentence for people.' },
    },
  } as const;
}

/** OpenAPI description of the route (the document is built from the route schemas). */
const metadataSchema = {
  operationId: 'oauthMetadata',
  tags: ['oauth'],
  summary: 'OAuth 2 authorization server metadata (RFC 8414)',
  description: 'Answered only while TESSERA_ISSUER turns OAuth on; 404 `not_found` otherwise.',
  security: [],
  response: {
    200: {
      description: 'The metadata; every URL is built from TESSERA_ISSUER. Cacheable for TESSERA_JWKS_MAX_AGE.',
      type: 'object',
      required: ['issuer', 'authorization_endpoint', 'token_endpoint', 'jwks_uri', 'response_types_supported'],
      additionalProperties: true,
      properties: {
        issuer: { type: 'string', format: 'uri' },
        authorization_endpoint: { type: 'string', format: 'uri' },
        token_endpoint: { type: 'string', format: 'uri' },
        revocation_endpoint: { type: 'string', format: 'uri' },
        introspection_endpoint: { type: 'string', format: 'uri' },
        jwks_uri: { type: 'string', format: 'uri' },
        response_types_supported: { type: 'array', items: { type: 'string', enum: ['code'] } },
        grant_types_supported: { type: 'array', items: { type: 'string', enum: ['authorization_code', 'refresh_token'] } },
        code_challenge_methods_supported: { type: 'array', items: { type: 'string', enum: ['S256'] } },
        dpop_signing_alg_values_supported: { type: 'array', items: { type: 'string' } },
        authorization_response_iss_parameter_supported: { type: 'boolean', enum: [true] },
      },
      headers: { 'Cache-Control': { type: 'string', pattern: '^public, max-age=\\d+$' } },
    },
    400: refusal('`invalid_request`: a request without exactly one Host header.', ['invalid_request']),
    404: refusal('`not_found`: OAuth is off (TESSERA_ISSUER is not an https URL).', ['not_found']),
  },
} as const;

/** Registers the metadata route at the well-known path, and at the path RFC 8414 §3.1 builds for an issuer with a path. */
export function metadataRoutes(app: FastifyInstance, runtime: Runtime, oauth: OAuthRuntime): void {
  // Built once: the document changes only with the settings, which need a restart. Cached like the JWKS, which it points at.
  const body = JSON.stringify(authorizationServerMetadata(runtime, oauth));
  const cache = `public, max-age=${runtime.config.jwksMaxAge}`;
  for (const path of metadataPaths(oauth.issuer))
    app.get(path, { schema: metadataSchema }, async (_request, reply) =>
      reply.header('cache-control', cache).header('content-type', 'application/json; charset=utf-8').send(body),
    );
}
