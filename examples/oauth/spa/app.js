// A single-page app signing in on a Tessera server with the authorization code flow, PKCE (RFC 7636) and DPoP
// (RFC 9449), as a public client. oauth4webapi does the protocol: discovery, the `iss` and `state` checks, the
// token requests and the DPoP proofs with their nonce challenges. The DPoP key is a non-extractable WebCrypto key
// kept in IndexedDB, so it survives the trip to the sign-in page and no script can copy it out: a stolen token is
// useless without it. Tokens live in this page's memory only.
/* global document, window, location, sessionStorage, indexedDB, history, fetch, URLSearchParams */
import * as oauth from '/vendor/oauth4webapi.js';

const config = await (await fetch('/config.json')).json();
const issuer = new URL(config.issuer);
// Plain http only for a loopback issuer (a local server, tests).
const http = issuer.protocol === 'http:' ? { [oauth.allowInsecureRequests]: true } : {};
const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...http }));
const client = { client_id: config.clientId };
const clientAuth = oauth.None();
const redirectUri = `${location.origin}/`;

/** @type {oauth.TokenEndpointResponse | undefined} */
let tokens;
let refreshes = 0;

const $ = (id) => document.getElementById(id);
const show = (id, text) => ($(id).textContent = text);

/** The DPoP key pair: made once (non-extractable), then read back from IndexedDB, where CryptoKeys keep their protection. */
async function dpopKeys() {
  const db = await new Promise((resolve, reject) => {
    const open = indexedDB.open('oauth-spa', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('keys');
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  const request = (mode, run) =>
    new Promise((resolve, reject) => {
      const r = run(db.transaction('keys', mode).objectStore('keys'));
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
  let keys = await request('readonly', (store) => store.get('dpop'));
  if (keys === undefined) {
    keys = await oauth.generateKeyPair('ES256');
    await request('readwrite', (store) => store.put(keys, 'dpop'));
  }
  return keys;
}
const DPoP = oauth.DPoP(client, await dpopKeys());

/** Runs `request` once more when the server answers with a DPoP nonce challenge (the handle keeps the nonce). */
async function withNonceRetry(request) {
  try {
    return await request();
  } catch (err) {
    if (!oauth.isDPoPNonceError(err)) throw err;
    return request();
  }
}

function render() {
  show('status', tokens === undefined ? 'Signed out' : `Signed in as ${claimsOf(tokens.access_token).sub}`);
  show('token-type', tokens?.token_type ?? '—');
  show('jkt', tokens === undefined ? '—' : (claimsOf(tokens.access_token).cnf?.jkt ?? 'not bound'));
  show('refreshes', String(refreshes));
}

/** The claims of a JWT, for display only (the resource server verifies them). */
function claimsOf(jwt) {
  const part = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
  return JSON.parse(window.atob(part));
}

function failed(err) {
  show('error', err instanceof oauth.ResponseBodyError ? `${err.error}: ${err.error_description ?? ''}` : String(err?.message ?? err));
}

async function signIn() {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  // Kept for the way back from the sign-in page; the verifier is useless without the code.
  sessionStorage.setItem('oauth', JSON.stringify({ verifier, state }));
  const url = new URL(as.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: redirectUri,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  }).toString();
  location.assign(url.href);
}

/** Back from the sign-in page: `?code=…&state=…&iss=…` (or `?error=…`). */
async function finishSignIn() {
  const saved = JSON.parse(sessionStorage.getItem('oauth') ?? 'null');
  sessionStorage.removeItem('oauth');
  const current = new URL(location.href);
  history.replaceState(null, '', '/');
  if (saved === null) throw new Error('No sign-in was started in this tab');
  const params = oauth.validateAuthResponse(as, client, current, saved.state);
  tokens = await withNonceRetry(async () =>
    oauth.processAuthorizationCodeResponse(
      as,
      client,
      await oauth.authorizationCodeGrantRequest(as, client, clientAuth, params, redirectUri, saved.verifier, { DPoP, ...http }),
    ),
  );
}

async function refresh() {
  tokens = await withNonceRetry(async () =>
    oauth.processRefreshTokenResponse(
      as,
      client,
      await oauth.refreshTokenGrantRequest(as, client, clientAuth, tokens.refresh_token, { DPoP, ...http }),
    ),
  );
  refreshes++;
}

async function callApi() {
  const response = await withNonceRetry(() =>
    oauth.protectedResourceRequest(tokens.access_token, 'GET', new URL('/auth/me', issuer), undefined, undefined, { DPoP, ...http }),
  );
  show('me', response.ok ? (await response.json()).username : `${response.status}`);
}

async function signOut() {
  // RFC 7009: the server ends the session; the tokens kept here for the demo's "Refresh" are dead from now on.
  await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, clientAuth, tokens.refresh_token, http));
  show('status', 'Signed out');
}

const action = (run) => async () => {
  show('error', '');
  try {
    await run();
    if ($('status').textContent !== 'Signed out') render();
  } catch (err) {
    failed(err);
  }
};
$('sign-in').addEventListener('click', action(signIn));
$('refresh').addEventListener('click', action(refresh));
$('call-api').addEventListener('click', action(callApi));
$('sign-out').addEventListener('click', action(signOut));

try {
  if (location.search.includes('code=') || location.search.includes('error=')) await finishSignIn();
  render();
} catch (err) {
  render();
  failed(err);
}
