// The pages of /oauth/authorize: the sign-in form, the consent form and the error page. Server-rendered, no
// script at all; the one inline style is allowed by its hash. Every value is escaped, and the CSP lets a form
// post only to this server and to the redirect URI the request was checked against (the 303 after the POST
// is a navigation that `form-action` governs).
import { createHash } from 'node:crypto';

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem;color:#1d2433}
h1{font-size:1.4rem}label{display:block;margin:.8rem 0 .2rem}input[type=text],input[type=password]{width:100%;padding:.45rem;box-sizing:border-box}
button{margin-top:1rem;padding:.5rem 1rem}.error{color:#a3120b}.client{font-weight:600}code{background:#f1f3f7;padding:.1rem .3rem}`;

const STYLE_HASH = `'sha256-${createHash('sha256').update(STYLE, 'utf8').digest('base64')}'`;

/** The hidden fields of a form: the authorization request's parameters, and the form's one-time value. */
export type HiddenFields = Readonly<Record<string, string>>;

const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** HTML-escapes text for element content and double-quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

/**
 * The headers of every authorize page: a CSP with no script source at all, no framing (`frame-ancestors 'none'`,
 * `X-Frame-Options`), forms posted to this origin and, when given, to `formTarget` (the validated redirect URI's
 * origin, or its scheme for a native app's private-use scheme, RFC 8252 §7.1); `no-store`, since the page holds
 * a one-time form value; and a referrer policy that sends the page's address (which holds the authorization
 * request) to this origin alone. `same-origin`, not `no-referrer`: under `no-referrer` a browser sends
 * `Origin: null` with the form's POST (Fetch, "serializing a request origin"), and the POST's Origin check is
 * the CSRF defence.
 */
export function authorizePageHeaders(formTarget?: string): Record<string, string> {
  const formAction = formTarget === undefined ? "'self'" : `'self' ${formTarget}`;
  return {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': `default-src 'none'; style-src ${STYLE_HASH}; frame-ancestors 'none'; base-uri 'none'; form-action ${formAction}`,
    'referrer-policy': 'same-origin',
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-store',
    pragma: 'no-cache',
  };
}

function layout(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>`;
}

function hidden(fields: HiddenFields): string {
  return Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('');
}

/** The scope asked for, in words. */
function scopeLine(scope: string | undefined): string {
  if (scope === undefined || scope === '') return '';
  const items = scope
    .split(' ')
    .map((token) => `<code>${escapeHtml(token)}</code>`)
    .join(' ');
  return `<p>It asks for: ${items}</p>`;
}

/** What the sign-in page shows. */
export interface SignInView {
  readonly clientId: string;
  /** Posted back with the form: the request's parameters and the one-time value. */
  readonly fields: HiddenFields;
  /** The username typed last time, shown again after a failure. */
  readonly username?: string;
  /** A failure to show above the form (generic: never says whether the account exists). */
  readonly message?: string;
}

/**
 * The sign-in form: username and password, posted to /oauth/authorize with the hidden fields. The client is
 * named as registered; the page says nothing a client could use to pass for another.
 * @example reply.headers(authorizePageHeaders(origin)).send(signInPage({ clientId, fields }));
 */
export function signInPage(view: SignInView): string {
  const message = view.message === undefined ? '' : `<p class="error" role="alert">${escapeHtml(view.message)}</p>`;
  return layout(
    'Sign in',
    `<h1>Sign in</h1><p>to continue to <span class="client">${escapeHtml(view.clientId)}</span></p>${message}` +
      `<form method="post" action="/oauth/authorize">${hidden(view.fields)}` +
      `<label for="username">Username</label><input type="text" id="username" name="username" autocomplete="username" required maxlength="256" value="${escapeHtml(view.username ?? '')}">` +
      `<label for="password">Password</label><input type="password" id="password" name="password" autocomplete="current-password" required maxlength="4096">` +
      `<button type="submit">Sign in</button></form>`,
  );
}

/** What the consent page shows. */
export interface ConsentView {
  readonly clientId: string;
  readonly username: string;
  readonly scope?: string | undefined;
  readonly fields: HiddenFields;
}

/**
 * The consent step for a client that is not first party: names the client and the scope; Allow or Deny, in one
 * form posted with its own one-time value.
 * @example reply.headers(authorizePageHeaders(origin)).send(consentPage({ clientId, username, scope, fields }));
 */
export function consentPage(view: ConsentView): string {
  return layout(
    'Allow access?',
    `<h1>Allow access?</h1><p><span class="client">${escapeHtml(view.clientId)}</span> wants to act for <strong>${escapeHtml(view.username)}</strong>.</p>` +
      `${scopeLine(view.scope)}<p>Allow only if you started this sign-in and trust this application.</p>` +
      `<form method="post" action="/oauth/authorize">${hidden(view.fields)}` +
      `<button type="submit" name="decision" value="allow">Allow</button> <button type="submit" name="decision" value="deny">Deny</button></form>`,
  );
}

/** What the error page shows: a stable code and a sentence. */
export interface ErrorView {
  readonly code: string;
  readonly message: string;
}

/**
 * The page shown instead of a redirect, when the client or the redirect URI cannot be trusted (RFC 6749 §4.1.2.1:
 * "MUST NOT automatically redirect the user-agent to the invalid redirection URI"), and for refusals of the form
 * itself. The stable code is in the page, for people and tests alike.
 * @example reply.code(400).headers(authorizePageHeaders()).send(errorPage({ code: 'invalid_request', message }));
 */
export function errorPage(view: ErrorView): string {
  return layout(
    'Sign-in error',
    `<h1>This sign-in cannot continue</h1><p class="error">${escapeHtml(view.message)}</p><p>Error code: <code id="error-code">${escapeHtml(view.code)}</code></p>` +
      '<p>Go back to the application you came from and start again.</p>',
  );
}
