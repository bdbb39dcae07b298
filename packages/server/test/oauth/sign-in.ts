// Getting an authorization code the way a person does, over plain HTTP: GET /oauth/authorize, post the sign-in form
// it shows (its hidden fields, the username and password, from the server's own Origin), allow the consent form when
// one follows, and read the 303's Location. No browser: the forms have no script, so their fields are all there is.
import { calculatePKCECodeChallenge, generateRandomCodeVerifier, generateRandomState } from 'oauth4webapi';
import { expect } from 'vitest';

/** The fields of the first `<form>` of a page: hidden inputs by name. */
function hiddenFields(html: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const match of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g))
    fields[unescape(match[1] as string)] = unescape(match[2] as string);
  return fields;
}

function unescape(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|#39);/g, (_m, entity: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[entity] ?? '');
}

/** Posts a form from the server's own page (Origin and Fetch Metadata as a browser sends them). */
async function postForm(base: string, fields: Record<string, string>): Promise<Response> {
  return fetch(`${base}/oauth/authorize`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base, 'sec-fetch-site': 'same-origin' },
    body: new URLSearchParams(fields).toString(),
  });
}

/**
 * Signs `user` in at `authorizeUrl` (a full /oauth/authorize URL) and answers the redirect the server sent: the
 * redirect URI with `code`, `state` and `iss`, or with `error`.
 */
export async function signInAt(base: string, authorizeUrl: URL, user: { username: string; password: string }): Promise<URL> {
  const page = await fetch(authorizeUrl, { redirect: 'manual' });
  const html = await page.text();
  expect(page.status, html).toBe(200);
  let answer = await postForm(base, { ...hiddenFields(html), username: user.username, password: user.password });
  if (answer.status === 200) {
    // The consent step of a client that is not first party.
    const consent = await answer.text();
    answer = await postForm(base, { ...hiddenFields(consent), decision: 'allow' });
  }
  expect(answer.status, await answer.clone().text()).toBe(303);
  return new URL(answer.headers.get('location') as string);
}

/** An authorization request's own values: PKCE verifier and challenge, and state. */
export interface Pkce {
  readonly verifier: string;
  readonly challenge: string;
  readonly state: string;
}

export async function newPkce(): Promise<Pkce> {
  const verifier = generateRandomCodeVerifier();
  return { verifier, challenge: await calculatePKCECodeChallenge(verifier), state: generateRandomState() };
}

/** The /oauth/authorize URL of a code + PKCE request. */
export function authorizeUrl(base: string, clientId: string, redirectUri: string, pkce: Pkce, extra: Record<string, string> = {}): URL {
  const url = new URL(`${base}/oauth/authorize`);
  const params = {
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri,
    code_challenge: pkce.challenge,
    code_challenge_method: 'S256',
    state: pkce.state,
    ...extra,
  };
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  return url;
}

/** Signs in for `clientId` and answers the code, with the verifier that redeems it. */
export async function codeFor(
  base: string,
  clientId: string,
  redirectUri: string,
  user: { username: string; password: string },
  extra: Record<string, string> = {},
): Promise<{ code: string; verifier: string; callback: URL; pkce: Pkce }> {
  const pkce = await newPkce();
  const callback = await signInAt(base, authorizeUrl(base, clientId, redirectUri, pkce, extra), user);
  const code = callback.searchParams.get('code');
  expect(code, callback.href).toBeTypeOf('string');
  return { code: code as string, verifier: pkce.verifier, callback, pkce };
}
