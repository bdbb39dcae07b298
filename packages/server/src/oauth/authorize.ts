// GET and POST /oauth/authorize (RFC 6749 §4.1, RFC 7636, RFC 9207, RFC 9449 §10, RFC 9700): the one interactive
// grant. The GET checks the client and its redirect URI first; while either is in doubt nothing redirects (an
// error page instead: no open redirector, RFC 9700 §4.11.2). Other faults of the request go back to the redirect
// URI as `error`, `state` and `iss`. A good request gets a sign-in form without script; its POST must come from
// this origin with the form's one-time value, is throttled and checked exactly like /auth/login, and answers 303
// (never 307, which would repost the password: RFC 9700 §4.12) to the redirect URI with the code, `state` and
// `iss`. A client that is not first party gets a consent form first. There is no sign-in cookie: every
// authorization signs in.
import { InvalidRequestError, OriginRefusedError } from '@tessera/auth';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DOCUMENTED_BODY } from '../docs/openapi.js';
import { logFailure } from '../http-errors.js';
import type { Runtime } from '../runtime.js';
import { AuthorizeForms, type SignedInUser } from './authorize-csrf.js';
import { authorizePageHeaders, consentPage, errorPage, signInPage } from './authorize-page.js';
import type { OAuthClient } from './clients.js';
import { issueCode } from './codes.js';
import { SqlDpopReplayStore } from './dpop-replay-store.js';
import type { OAuthRuntime } from './oauth-runtime.js';
import { redirectUriMatches } from './redirect-uri.js';
import { PasswordSignIn } from '../users/password-sign-in.js';

const FORM = 'application/x-www-form-urlencoded';

/** The sign-in form is a handful of fields and a password of at most 1024 bytes (percent-encoded: 3 KiB). */
const FORM_BODY_LIMIT = 16 * 1024;

/** The parameters of an authorization request this server reads (RFC 6749 §4.1.1, RFC 7636 §4.3, RFC 9449 §10). */
const REQUEST_PARAMS = [
  'client_id',
  'redirect_uri',
  'response_type',
  'response_mode',
  'code_challenge',
  'code_challenge_method',
  'scope',
  'state',
  'dpop_jkt',
  'request',
  'request_uri',
] as const;

/** What the form adds to the request's parameters. */
const FORM_FIELDS = ['form_token', 'username', 'password', 'decision'] as const;

/** RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is 43 characters; RFC 7638 thumbprints (SHA-256) are too. */
const SHA256_B64U = /^[A-Za-z0-9_-]{43}$/;

/** RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ); tokens separated by one space. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/;
const MAX_SCOPE_TOKENS = 32;
const MAX_SCOPE_LENGTH = 1024;

/** RFC 6749 Appendix A.5: `state` is visible ASCII; longer than this is no nonce but a payload. */
const STATE = /^[\x20-\x7e]{1,1024}$/;

/** The error codes an authorization response carries (RFC 6749 §4.1.2.1); never a JSON body, so not the library's table. */
export type AuthorizeErrorCode =
  | 'invalid_request'
  | 'unauthorized_client'
  | 'access_denied'
  | 'unsupported_response_type'
  | 'invalid_scope'
  | 'server_error'
  | 'temporarily_unavailable';

/** A refusal the client hears about through its redirect URI (RFC 6749 §4.1.2.1). */
export class AuthorizeRedirectError extends Error {
  readonly code: AuthorizeErrorCode;

  constructor(code: AuthorizeErrorCode, message: string) {
    super(message);
    this.name = 'AuthorizeRedirectError';
    this.code = code;
  }
}

/**
 * A request whose client or redirect URI cannot be trusted: shown as a page, never redirected (RFC 6749 §4.1.2.1).
 * `code` is the stable code the page shows.
 */
export class AuthorizePageError extends Error {
  readonly code: string;
  readonly status: number;

  constructor(code: string, message: string, status = 400) {
    super(message);
    this.name = 'AuthorizePageError';
    this.code = code;
    this.status = status;
  }
}

/** A request's parameters, each name with every value it was sent with. */
type Params = ReadonlyMap<string, readonly string[]>;

/** The client and the redirect URI, once both are checked: from here on, refusals may redirect. */
interface Trusted {
  readonly client: OAuthClient;
  readonly redirectUri: string;
  /** Where the form may post and redirect to (`form-action`). */
  readonly formTarget: string;
  /** `state`, when it is well formed: echoed in every redirect. */
  readonly state: string | undefined;
}

/** A checked authorization request. */
interface AuthorizationRequest extends Trusted {
  readonly codeChallenge: string;
  readonly scope: string | undefined;
  readonly jkt: string | undefined;
  /** The request's parameters as the forms carry them (and their one-time values are bound to). */
  readonly fields: Readonly<Record<string, string>>;
}

/** Parses a query or form text keeping every value of a repeated name (URLSearchParams alone would hide them). */
function paramsOf(text: string): Params {
  const params = new Map<string, string[]>();
  for (const [name, value] of new URLSearchParams(text)) {
    // RFC 6749 §3.1: a parameter sent without a value is treated as omitted.
    if (value === '') continue;
    params.set(name, [...(params.get(name) ?? []), value]);
  }
  return params;
}

/** The one value of `name`, undefined when absent; a repeated parameter throws `onRepeat` (RFC 6749 §3.1). */
function single(params: Params, name: string, onRepeat: () => Error): string | undefined {
  const values = params.get(name);
  if (values === undefined) return undefined;
  if (values.length > 1) throw onRepeat();
  return values[0];
}

/** `form-action` source for a redirect URI: its origin, or its scheme for a private-use scheme (RFC 8252 §7.1). */
function formTargetOf(redirectUri: string): string {
  const url = new URL(redirectUri);
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : url.protocol;
}

/**
 * The redirect URI with the response's parameters appended to its own query, which is kept as it was
 * (RFC 6749 §3.1.2: "MUST retain the query component"); the URI never has a fragment.
 */
export function redirectWith(redirectUri: string, params: Readonly<Record<string, string | undefined>>): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined) query.append(name, value);
  return `${redirectUri}${redirectUri.includes('?') ? '&' : '?'}${query.toString()}`;
}

/** `scope` checked and normalised: tokens in order, repeats dropped; throws `invalid_scope`. */
function checkScope(scope: string | undefined): string | undefined {
  if (scope === undefined) return undefined;
  const bad = (why: string): never => {
    throw new AuthorizeRedirectError('invalid_scope', `The scope ${why} (RFC 6749 §3.3)`);
  };
  if (scope.length > MAX_SCOPE_LENGTH) bad(`is longer than ${MAX_SCOPE_LENGTH} characters`);
  const tokens = scope.split(' ');
  for (const token of tokens) if (!SCOPE_TOKEN.test(token)) bad('must be tokens of visible ASCII (no quote or backslash) separated by one space');
  const unique = [...new Set(tokens)];
  if (unique.length > MAX_SCOPE_TOKENS) bad(`has more than ${MAX_SCOPE_TOKENS} tokens`);
  return unique.join(' ');
}

/**
 * Checks the client and the redirect URI, the only parameters that decide whether a refusal may be sent back
 * by redirect; throws `AuthorizePageError` (a page) when either is in doubt.
 */
async function trust(oauth: OAuthRuntime, params: Params): Promise<Trusted> {
  const repeated = (name: string) => () => new AuthorizePageError('invalid_request', `The parameter ${name} was sent more than once.`);
  const clientId = single(params, 'client_id', repeated('client_id'));
  if (clientId === undefined) throw new AuthorizePageError('invalid_request', 'The request names no client (client_id is missing).');
  const client = clientId.length > 256 ? undefined : await oauth.clients.get(clientId);
  if (client === undefined) throw new AuthorizePageError('invalid_client', 'The application that sent you here is not registered with this server.');
  const redirectUri = single(params, 'redirect_uri', repeated('redirect_uri'));
  // Always required, even with one URI registered: the token request must then send the very same one (RFC 6749 §4.1.3).
  if (redirectUri === undefined) throw new AuthorizePageError('invalid_request', 'The request has no redirect_uri.');
  if (redirectUri.includes('#'))
    throw new AuthorizePageError('invalid_request', 'The redirect_uri has a fragment, which a redirect URI never has (RFC 6749 §3.1.2).');
  if (!client.redirectUris.some((registered) => redirectUriMatches(registered, redirectUri)))
    throw new AuthorizePageError('invalid_request', 'The redirect_uri is not one this application registered.');
  const state = params.get('state');
  return {
    client,
    redirectUri,
    formTarget: formTargetOf(redirectUri),
    state: state?.length === 1 && state[0] !== undefined && STATE.test(state[0]) ? state[0] : undefined,
  };
}

/**
 * A sentence as `error_description` may carry it: RFC 6749 §4.1.2.1 allows only %x20-21 / %x23-5B / %x5D-7E, so
 * `§` becomes `section` and anything else outside the set (quotes, backslashes, non-ASCII) is dropped.
 */
export function errorDescription(message: string): string {
  return message.replace(/§/g, 'section').replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, '');
}

/**
 * Checks the rest of the request, once the client and redirect URI are trusted; throws `AuthorizeRedirectError`.
 * `dpop` is false under TESSERA_DPOP=off: `dpop_jkt` is then an unknown parameter, ignored (RFC 6749 §3.1), since
 * the token endpoint ignores proofs and a code bound to a key could never be redeemed.
 */
function checkRequest(trusted: Trusted, params: Params, dpop: boolean): AuthorizationRequest {
  const invalid = (message: string): AuthorizeRedirectError => new AuthorizeRedirectError('invalid_request', message);
  const get = (name: string): string | undefined =>
    single(params, name, () => invalid(`The parameter ${name} was sent more than once (RFC 6749 §3.1).`));
  for (const name of REQUEST_PARAMS) get(name);
  const responseType = get('response_type');
  if (responseType === undefined) throw invalid('The request has no response_type; only response_type=code is supported.');
  // No implicit grant, no hybrid: the code is the only response type (RFC 9700 §2.1.2).
  if (responseType !== 'code')
    throw new AuthorizeRedirectError('unsupported_response_type', 'Only response_type=code is supported (RFC 9700 §2.1.2).');
  const mode = get('response_mode');
  if (mode !== undefined && mode !== 'query') throw invalid('Only response_mode=query is supported.');
  if (get('request') !== undefined || get('request_uri') !== undefined) throw invalid('Request objects (request, request_uri) are not supported.');
  const state = get('state');
  if (state !== undefined && trusted.state === undefined) throw invalid('The state must be at most 1024 visible ASCII characters.');
  const challenge = get('code_challenge');
  if (challenge === undefined) throw invalid('PKCE is required: send code_challenge with code_challenge_method=S256 (RFC 7636).');
  // `plain`, or no method (which means plain, RFC 7636 §4.3), protects nothing once the request is seen (RFC 9700 §2.1.1).
  if (get('code_challenge_method') !== 'S256') throw invalid('code_challenge_method must be S256; plain is not accepted (RFC 9700 §2.1.1).');
  if (!SHA256_B64U.test(challenge)) throw invalid('code_challenge must be the base64url SHA-256 of the verifier: 43 characters (RFC 7636 §4.2).');
  const jkt = dpop ? get('dpop_jkt') : undefined;
  if (jkt !== undefined && !SHA256_B64U.test(jkt))
    throw invalid('dpop_jkt must be a base64url SHA-256 JWK thumbprint: 43 characters (RFC 9449 §10).');
  const scope = checkScope(get('scope'));
  const fields: Record<string, string> = {
    client_id: trusted.client.id,
    redirect_uri: trusted.redirectUri,
    response_type: 'code',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  };
  if (scope !== undefined) fields.scope = scope;
  if (state !== undefined) fields.state = state;
  if (jkt !== undefined) fields.dpop_jkt = jkt;
  return { ...trusted, codeChallenge: challenge, scope, jkt, fields };
}

/** The page of a refusal (status, headers, the code shown); `formTarget` when the redirect URI is trusted. */
function sendPage(reply: FastifyReply, status: number, html: string, formTarget?: string): FastifyReply {
  return reply.code(status).headers(authorizePageHeaders(formTarget)).send(html);
}

/** 303 See Other to `location`: the browser follows it with a GET and never reposts the form (RFC 9700 §4.12). */
function seeOther(reply: FastifyReply, location: string): FastifyReply {
  return reply.code(303).headers({ location, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' }).send();
}

/**
 * Registers GET and POST /oauth/authorize in a scope of their own: form bodies only (at most 16 KiB, each
 * parameter once), and every refusal rendered as a page, since a person is reading.
 * @example authorizeRoutes(app, runtime, runtime.oauth);
 */
export function authorizeRoutes(app: FastifyInstance, runtime: Runtime, oauth: OAuthRuntime): void {
  const { clock } = runtime;
  const issuer = oauth.endpoints.issuer;
  const issuerOrigin = oauth.issuer.origin;
  const dpopOn = runtime.auth.config.dpop.mode !== 'off';
  const replay = new SqlDpopReplayStore(runtime.database.db);
  const forms = new AuthorizeForms(
    () => {
      const secret = runtime.auth.config.refreshKeys.signingKey.signingKey;
      if (secret === undefined) throw new Error('The current refresh-token key has no secret');
      return secret;
    },
    { claim: (namespace, nonce, expiresAt) => replay.claim(namespace, nonce, expiresAt) },
  );
  const signIn = new PasswordSignIn(runtime);

  /** A refusal of the request's own parameters, back to the client (RFC 6749 §4.1.2.1, RFC 9207 `iss`). */
  const refuseByRedirect = (reply: FastifyReply, trusted: Trusted, err: AuthorizeRedirectError): FastifyReply =>
    seeOther(
      reply,
      redirectWith(trusted.redirectUri, { error: err.code, error_description: errorDescription(err.message), state: trusted.state, iss: issuer }),
    );

  /** Stores a code for the signed-in user and sends the browser back with it. */
  const grant = async (reply: FastifyReply, request: AuthorizationRequest, user: SignedInUser): Promise<FastifyReply> => {
    // The cut-off of /auth/login (docs/security.md): a password change, a disable or a logout-all since the
    // sign-in was checked ends this authorization too; the token endpoint checks the version again.
    const current = await runtime.users.byId(user.id);
    if (current === undefined || current.disabledAt !== null || current.credentialVersion !== user.credentialVersion)
      return refuseByRedirect(reply, request, new AuthorizeRedirectError('access_denied', 'The account changed during the sign-in; sign in again.'));
    const code = await issueCode(
      runtime.database.db,
      {
        clientId: request.client.id,
        redirectUri: request.redirectUri,
        codeChallenge: request.codeChallenge,
        userId: user.id,
        scope: request.scope ?? null,
        jkt: request.jkt ?? null,
        credentialVersion: user.credentialVersion,
      },
      clock.now(),
    );
    return seeOther(reply, redirectWith(request.redirectUri, { code, state: request.state, iss: issuer }));
  };

  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(FORM, { parseAs: 'string', bodyLimit: FORM_BODY_LIMIT }, (_request, body, done) => {
      done(null, paramsOf(body as string));
    });
    scope.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
      if (err instanceof AuthorizePageError) return sendPage(reply, err.status, errorPage({ code: err.code, message: err.message }));
      const refusal = logFailure(err, request);
      if (refusal === undefined) return sendPage(reply, 500, errorPage({ code: 'internal_error', message: 'Something went wrong on our side.' }));
      if (refusal.retryAfter !== undefined) reply.header('retry-after', String(Math.max(1, Math.ceil(refusal.retryAfter))));
      // The table's sentence speaks of JSON bodies; this endpoint takes a form.
      const message = refusal.code === 'unsupported_media_type' ? 'Send the form as application/x-www-form-urlencoded.' : refusal.message;
      return sendPage(reply, refusal.status, errorPage({ code: refusal.code, message }));
    });

    // The schemas describe; they do not validate: a fault of the client or the redirect URI must be a page and any
    // other a redirect, which the handlers decide, not a JSON 422.
    const documentedOnly = { validatorCompiler: () => () => true };
    scope.get('/oauth/authorize', { schema: authorizeSchemas.get, ...documentedOnly }, async (request, reply) => {
      const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '';
      const params = paramsOf(query);
      const trusted = await trust(oauth, params);
      let checked: AuthorizationRequest;
      try {
        checked = checkRequest(trusted, params, dpopOn);
      } catch (err) {
        if (err instanceof AuthorizeRedirectError) return refuseByRedirect(reply, trusted, err);
        throw err;
      }
      const fields = { ...checked.fields, form_token: forms.issue('sign-in', checked.fields, clock.now()) };
      return sendPage(reply, 200, signInPage({ clientId: checked.client.id, fields }), checked.formTarget);
    });

    scope.post('/oauth/authorize', { schema: authorizeSchemas.post, ...documentedOnly }, async (request, reply) => {
      // Same origin only (RFC 6749 §10.12): the Origin a browser sends with every POST, and Fetch Metadata when
      // it sends it. A request without Origin is no form of ours (browsers always send it with a POST).
      const origin = request.headers.origin;
      if (origin !== issuerOrigin) throw new OriginRefusedError({ message: 'The form was not sent from this server’s own page.' });
      const site = request.headers['sec-fetch-site'];
      if (site !== undefined && site !== 'same-origin')
        throw new OriginRefusedError({ message: 'The form was not sent from this server’s own page.' });
      if (!(request.body instanceof Map)) throw new InvalidRequestError({ message: 'The form is empty.' });
      const body = request.body as Params;
      const repeated = (name: string) => () => new AuthorizePageError('invalid_request', `The field ${name} was sent more than once.`);
      for (const name of FORM_FIELDS) single(body, name, repeated(name));
      const trusted = await trust(oauth, body);
      let checked: AuthorizationRequest;
      try {
        checked = checkRequest(trusted, body, dpopOn);
      } catch (err) {
        // The form carries what the GET checked, bound by its one-time value: a request that fails now was altered.
        if (err instanceof AuthorizeRedirectError) throw new AuthorizePageError('invalid_request', err.message);
        throw err;
      }
      const field = (name: (typeof FORM_FIELDS)[number]): string | undefined => body.get(name)?.[0];
      const form = await forms.redeem(field('form_token'), checked.fields, clock.now());

      if (form.step === 'consent' && form.user !== undefined) {
        const decision = field('decision');
        if (decision === 'deny')
          return refuseByRedirect(reply, checked, new AuthorizeRedirectError('access_denied', 'The user did not allow access.'));
        if (decision !== 'allow') throw new AuthorizePageError('invalid_request', 'Choose Allow or Deny.');
        return grant(reply, checked, form.user);
      }

      const username = field('username');
      // Throttled before any work, like /auth/login: over a limit, a 429 page with Retry-After (the error handler).
      const user = await signIn.check(username, field('password'), request.ip);
      if (user === undefined) {
        // The same sentence for an unknown user, a wrong password and a disabled account (no enumeration), with a
        // fresh one-time value: the one just sent is spent.
        const fields = { ...checked.fields, form_token: forms.issue('sign-in', checked.fields, clock.now()) };
        return sendPage(
          reply,
          200,
          signInPage({ clientId: checked.client.id, fields, username: username ?? '', message: 'Invalid username or password.' }),
          checked.formTarget,
        );
      }
      if (checked.client.firstParty) return grant(reply, checked, user);
      const fields = {
        ...checked.fields,
        form_token: forms.issue('consent', checked.fields, clock.now(), { id: user.id, credentialVersion: user.credentialVersion }),
      };
      return sendPage(
        reply,
        200,
        consentPage({ clientId: checked.client.id, username: user.username, scope: checked.scope, fields }),
        checked.formTarget,
      );
    });
  });
}

const PAGE_HEADERS_DOC = {
  'Content-Security-Policy': {
    type: 'string',
    description: "`default-src 'none'`, no script, `frame-ancestors 'none'`, `base-uri 'none'`, `form-action 'self'` and the redirect URI's origin.",
  },
  'Cache-Control': { type: 'string', enum: ['no-store'] },
  'Referrer-Policy': { type: 'string', enum: ['same-origin'] },
} as const;

const htmlPage = (description: string) =>
  ({ description, content: { 'text/html': { schema: { type: 'string' } } }, headers: PAGE_HEADERS_DOC }) as const;

const seeOtherDoc = {
  description:
    'Back to the redirect URI: with `code`, `state` and `iss` (RFC 9207) on success, or with `error` (`invalid_request`, `unsupported_response_type`, ' +
    '`invalid_scope`, `access_denied`), `error_description`, `state` and `iss`.',
  content: { 'text/plain': { schema: { type: 'string', maxLength: 0 } } },
  headers: { Location: { type: 'string', format: 'uri', description: 'The redirect URI with the response parameters in its query.' } },
} as const;

const requestParameters = {
  client_id: { type: 'string', description: 'A registered client (`tessera clients add`).' },
  redirect_uri: {
    type: 'string',
    description: 'Required; exactly a registered redirect URI (the port of a loopback http URI aside, RFC 8252 §7.3).',
  },
  response_type: { type: 'string', enum: ['code'], description: 'Only `code` (RFC 9700 §2.1.2).' },
  code_challenge: { type: 'string', description: 'PKCE (RFC 7636): BASE64URL(SHA256(code_verifier)), 43 characters. Required.' },
  code_challenge_method: { type: 'string', enum: ['S256'], description: 'Required; `plain` is refused.' },
  scope: { type: 'string', description: 'Space-separated scope tokens (RFC 6749 §3.3); carried into the access token as `scope`.' },
  state: { type: 'string', description: 'Returned unchanged in the redirect; at most 1024 visible ASCII characters.' },
  dpop_jkt: { type: 'string', description: 'RFC 9449 §10: the JWK thumbprint of the DPoP key the code will be redeemed with.' },
} as const;

/** The OpenAPI description of the two operations (the document is built from route schemas; nothing here is validated by Fastify). */
const authorizeSchemas = {
  get: {
    operationId: 'oauthAuthorize',
    tags: ['oauth'],
    summary: 'OAuth authorization endpoint: the sign-in page of the authorization code grant with PKCE',
    description:
      'Checks `client_id` and `redirect_uri` first: if either is unknown, missing, repeated or has a fragment, an error page (400) and never a redirect. ' +
      'Any other fault goes back to the redirect URI with `error` and `iss`. A good request gets a sign-in form (no script).',
    security: [],
    querystring: {
      type: 'object',
      required: ['client_id', 'redirect_uri', 'response_type', 'code_challenge', 'code_challenge_method'],
      properties: requestParameters,
    },
    response: {
      200: htmlPage('The sign-in form.'),
      303: seeOtherDoc,
      400: htmlPage('An error page: the client or the redirect URI cannot be trusted, so nothing redirects. The stable code is in `#error-code`.'),
    },
  },
  post: {
    operationId: 'oauthAuthorizeForm',
    tags: ['oauth'],
    summary: 'The sign-in and consent forms of the authorization endpoint (same origin only)',
    description:
      'Posted by the forms of GET /oauth/authorize, from this origin only (`Origin` checked; missing is refused), with their one-time `form_token`. ' +
      'Throttled and checked like POST /auth/login. Success: 303 to the redirect URI with `code`, `state` and `iss`; a client that is not first ' +
      'party first gets a consent form. A wrong password shows the form again with one sentence for every cause.',
    security: [],
    [DOCUMENTED_BODY]: {
      required: true,
      description: 'The fields of the form the page holds; at most 16 KiB, each field once.',
      content: {
        [FORM]: {
          schema: {
            type: 'object',
            required: ['client_id', 'redirect_uri', 'response_type', 'code_challenge', 'code_challenge_method', 'form_token'],
            properties: {
              ...requestParameters,
              form_token: {
                type: 'string',
                description: 'The one-time value of this form, bound to the request above; it serves once, for ten minutes.',
              },
              username: { type: 'string', description: 'The sign-in form.' },
              password: { type: 'string', description: 'The sign-in form.' },
              decision: { type: 'string', enum: ['allow', 'deny'], description: 'The consent form.' },
            },
          },
        },
      },
    },
    response: {
      200: htmlPage('The sign-in form again (wrong username or password), or the consent form.'),
      303: seeOtherDoc,
      400: htmlPage('An error page: `invalid_request` or `invalid_client`.'),
      403: htmlPage('An error page: `origin_refused` (not sent from this origin) or `csrf_failed` (a missing, used, expired or foreign form value).'),
      413: htmlPage('An error page: `payload_too_large`.'),
      415: htmlPage('An error page: `unsupported_media_type`.'),
      429: { ...htmlPage('An error page: `rate_limited`.'), headers: { ...PAGE_HEADERS_DOC, 'Retry-After': { type: 'integer', minimum: 1 } } },
      503: htmlPage('An error page: `store_unavailable` or `server_busy`.'),
    },
  },
} as const;
