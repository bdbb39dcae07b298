// The README's quick-start walk against a running server (TESSERA_URL), over real HTTP: register, login,
// /auth/me, refresh, logout, and the ended session refused. Run by scripts/other-nodes.sh on each Node it tests.
import assert from 'node:assert/strict';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';

const base = process.env.TESSERA_URL;
assert.ok(base, 'TESSERA_URL must name the running server');

async function call(method, path, { json, token } = {}) {
  const headers = {};
  if (json !== undefined) headers['content-type'] = 'application/json';
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const response = await globalThis.fetch(`${base}${path}`, { method, headers, body: json === undefined ? undefined : JSON.stringify(json) });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
}

// Ready when /readyz answers 200 (the first start generates keys and creates the database; CI machines are busy).
const deadline = Date.now() + 90_000;
for (;;) {
  const ready = await globalThis.fetch(`${base}/readyz`).then(
    (r) => r.status === 200,
    () => false,
  );
  if (ready) break;
  assert.ok(Date.now() < deadline, `the server at ${base} was not ready within 90 s`);
  await sleep(200);
}

const account = { username: 'ada', password: 'correct horse' };
const registered = await call('POST', '/auth/register', { json: account });
assert.equal(registered.status, 201, JSON.stringify(registered.body));
const login = await call('POST', '/auth/login', { json: account });
assert.equal(login.status, 200, JSON.stringify(login.body));
const { access_token: access, refresh_token: refresh } = login.body;
const me = await call('GET', '/auth/me', { token: access });
assert.equal(me.status, 200);
assert.equal(me.body.username, 'ada');
const rotated = await call('POST', '/auth/refresh', { json: { refresh_token: refresh } });
assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
assert.notEqual(rotated.body.refresh_token, refresh);
assert.equal((await call('GET', '/auth/me', { token: rotated.body.access_token })).status, 200);
const logout = await call('POST', '/auth/logout', { json: { refresh_token: rotated.body.refresh_token } });
assert.equal(logout.status, 204);
const after = await call('GET', '/auth/me', { token: rotated.body.access_token });
assert.equal(after.status, 401);
assert.equal(after.body.error, 'token_revoked');
console.log(`quick start on Node ${process.versions.node}: register, login, me, refresh, logout: ok`);
