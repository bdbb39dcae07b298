// A route's guard (AdapterKit.guard) answers at once when nothing asynchronous takes part (a stateless
// Tessera, no user lookup), and as a promise otherwise; the checks and refusals are the same either way.
import { beforeAll, describe, expect, it } from 'vitest';
import { AdapterKit, type GuardOutcome } from '../../src/adapters/adapter-kit.js';
import { generateKey, generateRefreshKey, type Key } from '../../src/core/keys/key.js';
import { createTessera } from '../../src/core/tessera.js';
import { memoryStore } from '../../src/stores/memory.js';

let keys: Key;
let refreshKey: Key;
beforeAll(async () => {
  [keys, refreshKey] = await Promise.all([generateKey('EdDSA'), generateRefreshKey()]);
});

const bearer = (token: string) => ({ method: 'GET', headers: ['Host', 'api.test', 'Authorization', `Bearer ${token}`] });

function settled<User>(outcome: GuardOutcome<User> | Promise<GuardOutcome<User>>): GuardOutcome<User> {
  if (outcome instanceof Promise) throw new Error('expected an outcome at once, got a promise');
  return outcome;
}

describe('AdapterKit.guard with a stateless Tessera', () => {
  it('lets a valid token through at once, with the identity', () => {
    const auth = createTessera({ keys, refreshKey });
    const check = new AdapterKit(auth).guard({ token: 'access' });
    const { token } = auth.createAccessToken({ sub: 'alice' });
    const outcome = settled(check(bearer(token)));
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.identity).toMatchObject({ sub: 'alice', token, location: 'header', kind: 'access', user: undefined });
    expect(outcome.setCookie).toEqual([]);
  });

  it('refuses at once, with the same answer as before: a forged token, no token, a missing claim', async () => {
    const auth = createTessera({ keys, refreshKey });
    const stranger = createTessera({ keys: await generateKey('EdDSA'), refreshKey });
    const kit = new AdapterKit(auth);
    const forged = settled(kit.guard({ token: 'access' })(bearer(stranger.createAccessToken({ sub: 'alice' }).token)));
    expect(forged.ok === false && [forged.result.status, forged.error.code]).toEqual([401, 'token_invalid']);
    const missing = settled(kit.guard({ token: 'access' })({ method: 'GET', headers: ['Host', 'api.test'] }));
    expect(missing.ok === false && missing.error.code).toBe('token_missing');
    const scope = settled(kit.guard({ token: 'access' }, { scope: 'docs:write' })(bearer(auth.createAccessToken({ sub: 'alice' }).token)));
    expect(scope.ok === false && [scope.result.status, scope.error.code]).toEqual([403, 'insufficient_scope']);
  });

  it('answers an optional route without a token with a null identity', () => {
    const auth = createTessera({ keys, refreshKey });
    const outcome = settled(new AdapterKit(auth).guard({ token: 'access', optional: true })({ method: 'GET', headers: [] }));
    expect(outcome).toEqual({ ok: true, identity: null, setCookie: [] });
  });

  it('throws what is no refusal (a predicate that fails), as the adapters hand it to the framework', () => {
    const auth = createTessera({ keys, refreshKey });
    const check = new AdapterKit(auth).guard(
      { token: 'access' },
      {
        claims: () => {
          throw new Error('predicate bug');
        },
      },
    );
    expect(() => check(bearer(auth.createAccessToken({ sub: 'alice' }).token))).toThrow('predicate bug');
  });

  it('answers with a promise when a user lookup takes part, and refuses an unknown user', async () => {
    const auth = createTessera({ keys, refreshKey });
    const users = new Map([['alice', { name: 'Alice' }]]);
    const check = new AdapterKit(auth, { lookupUser: async (claims) => users.get(claims.sub) }).guard({ token: 'access' });
    const found = check(bearer(auth.createAccessToken({ sub: 'alice' }).token));
    expect(found).toBeInstanceOf(Promise);
    expect(await found).toMatchObject({ ok: true, identity: { sub: 'alice', user: { name: 'Alice' } } });
    const unknown = await check(bearer(auth.createAccessToken({ sub: 'bob' }).token));
    expect(unknown.ok === false && unknown.error.code).toBe('user_invalid');
  });
});

describe('AdapterKit.guard with a session store', () => {
  it('checks the session on every request: a promise, and a revoked session is refused', async () => {
    const auth = createTessera({ keys, refreshKey, sessions: { store: memoryStore() } });
    const check = new AdapterKit(auth).guard({ token: 'access' });
    const { access, sid } = await auth.openSession({ sub: 'alice' });
    const live = check(bearer(access.token));
    expect(live).toBeInstanceOf(Promise);
    expect((await live).ok).toBe(true);
    await auth.revokeSession(sid);
    const revoked = await check(bearer(access.token));
    expect(revoked.ok === false && revoked.error.code).toBe('token_revoked');
  });
});
