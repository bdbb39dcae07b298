// Request and response schemas: Fastify validates bodies with them, and the OpenAPI document at
// /openapi.json is generated from them, so the contract and the docs cannot drift apart.
import { TRANSPORTS } from '@tessera/auth/protocol';

const error = {
  type: 'object',
  required: ['error', 'message'],
  properties: { error: { type: 'string', description: 'Stable code, e.g. token_expired' }, message: { type: 'string' } },
} as const;

const tokens = {
  type: 'object',
  required: ['token_type', 'expires_in', 'refresh_expires_in'],
  description: 'bearer: both tokens; hybrid: access_token only (refresh in an HttpOnly cookie); cookie: no tokens (both in HttpOnly cookies).',
  properties: {
    access_token: { type: 'string' },
    refresh_token: { type: 'string' },
    token_type: { type: 'string', enum: ['Bearer'] },
    expires_in: { type: 'integer', description: 'Seconds until the access token expires.' },
    refresh_expires_in: { type: 'integer' },
    csrf_token: { type: 'string', description: 'Cookie transports: echo it in X-CSRF-Token on state-changing requests.' },
  },
} as const;

const credentials = {
  type: 'object',
  required: ['username', 'password'],
  properties: {
    username: { type: 'string', maxLength: 256 },
    password: { type: 'string', maxLength: 4096, description: '8 to 1024 bytes after NFKC normalisation.' },
  },
} as const;

const bearer = [{ bearer: [] }];
const refusals = { 400: error, 401: error, 403: error, 422: error, 429: error, 503: error };

export const schemas = {
  register: {
    tags: ['account'],
    summary: 'Create an account',
    body: credentials,
    response: { 201: { type: 'object', properties: { id: { type: 'string' }, username: { type: 'string' } } }, 409: error, ...refusals },
  },
  login: {
    tags: ['tokens'],
    summary: 'Log in: open a session and receive tokens',
    body: { ...credentials, properties: { ...credentials.properties, transport: { type: 'string', enum: [...TRANSPORTS] } } },
    response: { 200: tokens, ...refusals },
  },
  refresh: {
    tags: ['tokens'],
    summary: 'Rotate the refresh token (body refresh_token, Bearer, or cookie + X-CSRF-Token)',
    response: { 200: tokens, ...refusals },
  },
  logout: {
    tags: ['tokens'],
    summary: 'End the session of the refresh or access token; clears cookies',
    response: { 204: { type: 'null' }, ...refusals },
  },
  logoutAll: {
    tags: ['tokens'],
    summary: "End every session of the caller's account",
    security: bearer,
    response: { 204: { type: 'null' }, ...refusals },
  },
  me: {
    tags: ['account'],
    summary: 'The caller',
    security: bearer,
    response: {
      200: {
        type: 'object',
        properties: { id: { type: 'string' }, username: { type: 'string' }, roles: { type: 'array', items: { type: 'string' } } },
      },
      ...refusals,
    },
  },
  password: {
    tags: ['account'],
    summary: 'Change the password (fresh token); every earlier session ends and a new pair is returned',
    security: bearer,
    body: {
      type: 'object',
      required: ['current_password', 'new_password'],
      properties: { current_password: { type: 'string', maxLength: 4096 }, new_password: { type: 'string', maxLength: 4096 } },
    },
    response: { 200: tokens, ...refusals },
  },
  sessions: {
    tags: ['sessions'],
    summary: "The caller's live sessions",
    security: bearer,
    response: {
      200: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            current: { type: 'boolean' },
            created_at: { type: 'string', format: 'date-time' },
            last_used_at: { type: 'string', format: 'date-time' },
            expires_at: { type: 'string', format: 'date-time' },
            user_agent: { type: ['string', 'null'] },
            ip: { type: ['string', 'null'] },
          },
        },
      },
      ...refusals,
    },
  },
  revokeSession: {
    tags: ['sessions'],
    summary: "Revoke one of the caller's sessions (another user's id answers 404)",
    security: bearer,
    params: { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 64 } } },
    response: { 204: { type: 'null' }, 404: error, ...refusals },
  },
  jwks: {
    tags: ['keys'],
    summary: 'Public keys that verify access tokens',
    response: { 200: { type: 'object', properties: { keys: { type: 'array', items: { type: 'object', additionalProperties: true } } } } },
  },
  health: { tags: ['operations'], summary: 'Liveness', response: { 200: { type: 'object', properties: { status: { type: 'string' } } } } },
  ready: {
    tags: ['operations'],
    summary: 'Readiness: the stores answer',
    response: { 200: { type: 'object', additionalProperties: true }, 503: { type: 'object', additionalProperties: true } },
  },
} as const;
