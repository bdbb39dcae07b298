import { beforeAll, describe, expect, it } from 'vitest';
import { memoryBus, memoryStore } from '../../src/stores/memory.js';
import { fixedClock } from '../../src/core/clock.js';
import { handleLogin, handleLogout, handleRefresh, type LoginIdentity } from '../../src/core/flows.js';
import { generateKey, generateRefreshKey, type Key } from '../../src/core/keys/key.js';
import type { SessionStore } from '../../src/core/sessions/store.js';
import { createTessera, type Tessera } from '../../src/core/tessera.js';
import type { HttpResult } from '../../src/core/transport/error-response.js';
import type { AuthRequest } from '../../src/core/transport/request.js';
import type { SessionEvent } from '../../src/core/types.js';

const T0 = Date.UTC(2030, 0, 1);
let keys: Key;
let refreshKey: Key;
beforeAll(async () => {
  keys = await generateKey('EdDSA');
  refreshKey = await generateRefreshKey();
});

describe('handleLogout', () => {
  it('revokes the session of a valid refresh token even beside an expired access token as Bearer', async () => {
    const clock = fixedClock(T0);
    const auth = createTessera({ keys, refreshKey, clock, sessions: { store: memoryStore() } });
    const { access, refresh } = await auth.openSession({ sub: 'u' });
    clock.advance(16 * 60 * 1000); // the access token has expired, the refresh token has not
    const body = { refresh_token: refresh.token };
    const result = await handleLogout(auth, { method: 'POST', headers: ['Authorization', `Bearer ${access.token}`], body });
    expect(result.status).toBe(204);
    const after = await handleRefresh(auth, { method: 'POST', headers: [], body });
    expect(JSON.parse(after.body ?? '{}')).toMatchObject({ error: 'token_revoked' });
  });

  it('still refuses a forged Bearer token set aside beside a refresh token', async () => {
    const auth = createTessera({ keys, refreshKey, sessions: { store: memoryStore() } });
    const { refresh } = await auth.openSession({ sub: 'u' });
    const stranger = createTessera({ keys: await generateKey('EdDSA'), refreshKey });
    const forged = stranger.createAccessToken({ sub: 'u' }).token;
    const result = await handleRefresh(auth, {
      method: 'POST',
      headers: ['Authorization', `Bearer ${forged}`],
      body: { refresh_token: refresh.token },
    });
    expect(result.status).toBe(401);
    expect(JSON.parse(result.body ?? '{}')).toMatchObject({ error: 'token_invalid' });
  });

  it('answers expires_in in whole seconds left, rounded down', async () => {
    const auth = createTessera({ keys, refreshKey, clock: fixedClock(T0 + 900), accessTtl: 3 });
    const { expiresIn, claims } = auth.createAccessToken({ sub: 'u' });
    expect(claims.exp - claims.iat).toBe(3);
    expect(expiresIn).toBe(2);
  });
});

/** The body of an answer as JSON. */
function json(result: { body: string | undefined }): Record<string, unknown> {
  return JSON.parse(result.body ?? '{}') as Record<string, unknown>;
}

function setCookies(result: HttpResult): readonly string[] {
  const value = result.headers['set-cookie'];
  return value === undefined ? [] : typeof value === 'string' ? [value] : value;
}

const LOGIN: AuthRequest = { method: 'POST', headers: ['Content-Type', 'application/json'], body: { username: 'u' } };

/**
 * Two instances over one store and one bus, and an account whose credential version the "change"
 * (a password change, a disable, a logout-all) bumps before revoking every session of the user.
 * `beforeCreate` lets a test run the change while a login is between its check and its session.
 */
function world() {
  const store = memoryStore();
  const gate: { beforeCreate?: () => Promise<void> } = {};
  const shared: SessionStore = {
    ...store,
    async create(session) {
      await gate.beforeCreate?.();
      await store.create(session);
    },
  };
  const hub = memoryBus();
  const events: SessionEvent[] = [];
  const here = createTessera({ keys, refreshKey, sessions: { store: shared, bus: hub.connect(), onEvent: (e) => events.push(e) } });
  const there = createTessera({ keys, refreshKey, sessions: { store: shared, bus: hub.connect() } });
  const account = { version: 0 };
  const change = async (): Promise<void> => {
    account.version++; // committed first ...
    await there.revokeUserSessions('u', 'password_change'); // ... then every session of the user revoked
  };
  /** The credential check: reads the version with the (here implied) hash, and re-reads it later. */
  const check = (): LoginIdentity => {
    const seen = account.version;
    return { sub: 'u', stillValid: () => account.version === seen };
  };
  return { here, there, gate, events, account, change, check };
}

async function expectEnded(auth: Tessera, other: Tessera, refreshToken: string | undefined): Promise<void> {
  expect(await auth.listSessions('u')).toEqual([]);
  if (refreshToken === undefined) return;
  const refused = await handleRefresh(other, { method: 'POST', headers: [], body: { refresh_token: refreshToken } });
  expect(json(refused).error).toBe('token_revoked');
}

describe('handleLogin: stillValid, the re-check after the session is stored', () => {
  it('true: the login answers its tokens and the session lives', async () => {
    const w = world();
    const result = await handleLogin(w.here, LOGIN, w.check);
    expect(result.status).toBe(200);
    expect((await w.here.listSessions('u')).length).toBe(1);
  });

  it('false: the session it opened is revoked through revokeSession (bus and listeners see it) and the login is 401 invalid_credentials', async () => {
    const w = world();
    const result = await handleLogin(w.here, LOGIN, () => ({ sub: 'u', stillValid: async () => false }));
    expect(result.status).toBe(401);
    expect(json(result)).toEqual({ error: 'invalid_credentials', message: expect.any(String) });
    expect(result.body).not.toMatch(/eyJ/);
    expect(setCookies(result)).toEqual([]);
    const created = w.events.find((e) => e.type === 'session_created');
    expect(w.events.filter((e) => e.type === 'session_revoked')).toEqual([expect.objectContaining({ sid: created?.sid, reason: 'logout_all' })]);
    await expectEnded(w.here, w.there, undefined);
  });

  it('a check that throws ends the session too, and its error is the one answered', async () => {
    const w = world();
    const failing = (): LoginIdentity => ({
      sub: 'u',
      stillValid: () => {
        throw new Error('user database down');
      },
    });
    await expect(handleLogin(w.here, LOGIN, failing)).rejects.toThrow('user database down');
    await expectEnded(w.here, w.there, undefined);
  });

  it('stateless: false still refuses the login, with no token handed out', async () => {
    const auth = createTessera({ keys, refreshKey });
    const result = await handleLogin(auth, LOGIN, () => ({ sub: 'u', stillValid: () => false }));
    expect([result.status, json(result).error]).toEqual([401, 'invalid_credentials']);
  });

  // Whatever the interleaving of one login and one change, the login's session ends up revoked.
  it('a change that lands before the session is stored: the re-check ends it (the change could not see it)', async () => {
    const w = world();
    w.gate.beforeCreate = w.change;
    const result = await handleLogin(w.here, LOGIN, w.check);
    expect([result.status, json(result).error]).toEqual([401, 'invalid_credentials']);
    await expectEnded(w.here, w.there, undefined);
  });

  it('a change that lands between the store and the re-check: both see it, the session ends once', async () => {
    const w = world();
    const check = (): LoginIdentity => {
      const seen = w.account.version;
      return {
        sub: 'u',
        stillValid: async () => {
          await w.change();
          return w.account.version === seen;
        },
      };
    };
    const result = await handleLogin(w.here, LOGIN, check);
    expect([result.status, json(result).error]).toEqual([401, 'invalid_credentials']);
    await expectEnded(w.here, w.there, undefined);
    expect(w.events.filter((e) => e.type === 'session_revoked')).toHaveLength(0); // `there` revoked it; `here` found it ended
  });

  it('a change that lands after the re-check: its own revocation finds the stored session', async () => {
    const w = world();
    const result = await handleLogin(w.here, LOGIN, w.check);
    expect(result.status).toBe(200);
    await w.change();
    await expectEnded(w.here, w.there, json(result).refresh_token as string);
  });
});

describe('handleLogin: a login that is not a password entry', () => {
  it('fresh: false opens a session whose access token is not fresh, and stillValid learns its id', async () => {
    const w = world();
    const seen: string[] = [];
    const result = await handleLogin(w.here, LOGIN, () => ({ sub: 'u', fresh: false, stillValid: ({ sid }) => (seen.push(sid), true) }));
    expect(result.status).toBe(200);
    const claims = w.here.verifyAccessToken(json(result).access_token as string);
    expect(claims.fresh).toBe(false);
    expect(seen).toEqual([claims.sid]);
    expect((await w.here.listSessions('u')).map((s) => s.id)).toEqual([claims.sid]);
    // Without the field, a login stays fresh.
    expect(w.here.verifyAccessToken(json(await handleLogin(w.here, LOGIN, () => ({ sub: 'u' }))).access_token as string).fresh).toBe(true);
  });
});

describe('handleLogout: which tokens end a session', () => {
  const DAY = 24 * 3600 * 1000;

  function counted() {
    const store = memoryStore();
    const calls = { revoke: 0 };
    const counting: SessionStore = {
      ...store,
      async revoke(id, reason, at) {
        calls.revoke++;
        return store.revoke(id, reason, at);
      },
    };
    const clock = fixedClock(T0);
    const events: SessionEvent[] = [];
    const auth = createTessera({ keys, refreshKey, clock, sessions: { store: counting, onEvent: (e) => events.push(e) } });
    return { auth, clock, calls, events };
  }

  const bearer = (token: string): AuthRequest => ({ method: 'POST', headers: ['Authorization', `Bearer ${token}`] });

  it('an expired access token or an expired refresh token ends its session: 204, cookies cleared', async () => {
    for (const kind of ['access', 'refresh'] as const) {
      const { auth, clock, events } = counted();
      const { access, refresh, sid } = await auth.openSession({ sub: 'u' });
      clock.advance(8 * DAY);
      const token = kind === 'access' ? access.token : refresh.token;
      expect(await auth.logoutRequest(bearer(token))).toEqual({ sid, revoked: true });
      expect(events.at(-1)).toMatchObject({ type: 'session_revoked', sid, reason: 'logout' });
    }
    const { auth, clock } = counted();
    const { access } = await auth.openSession({ sub: 'u' });
    clock.advance(DAY);
    const result = await handleLogout(auth, bearer(access.token));
    expect(result.status).toBe(204);
    expect(setCookies(result)).toHaveLength(3);
    expect(await auth.listSessions('u')).toEqual([]);
  });

  it('a session that had already ended: 204, revoked false', async () => {
    const { auth } = counted();
    const { access, sid } = await auth.openSession({ sub: 'u' });
    await auth.revokeSession(sid);
    expect(await auth.logoutRequest(bearer(access.token))).toEqual({ sid, revoked: false });
    expect((await handleLogout(auth, bearer(access.token))).status).toBe(204);
  });

  it('a token issued longer than sessionMaxAge ago: 204 and the store is not touched', async () => {
    const { auth, clock, calls } = counted();
    const { access, refresh, sid } = await auth.openSession({ sub: 'u' });
    clock.advance(auth.config.sessionMaxAge * 1000 + 1000);
    for (const token of [access.token, refresh.token]) {
      expect(await auth.logoutRequest(bearer(token))).toEqual({ sid, revoked: false });
      expect((await handleLogout(auth, bearer(token))).status).toBe(204);
    }
    expect(calls.revoke).toBe(0);
  });

  it('a token that does not verify: 401 token_invalid with the cookies cleared, nothing revoked', async () => {
    const { auth, calls } = counted();
    const { access } = await auth.openSession({ sub: 'u' });
    const stranger = createTessera({ keys: await generateKey('EdDSA'), refreshKey }).createAccessToken({ sub: 'u' }).token;
    const otherIssuer = createTessera({ keys, refreshKey, issuer: 'urn:other' }).createAccessToken({ sub: 'u' }).token;
    for (const token of ['abc.def.ghi', stranger, otherIssuer, `${access.token}x`]) {
      const result = await handleLogout(auth, bearer(token));
      expect([result.status, json(result).error]).toEqual([401, 'token_invalid']);
      expect(setCookies(result)).toHaveLength(3);
    }
    expect(calls.revoke).toBe(0);
    expect(await auth.listSessions('u')).toHaveLength(1);
  });

  it('no token: 401 token_missing with the cookies cleared', async () => {
    const { auth } = counted();
    const result = await handleLogout(auth, { method: 'POST', headers: [] });
    expect([result.status, json(result).error, setCookies(result).length]).toEqual([401, 'token_missing', 3]);
  });

  it('stateless: a good token is 204 (nothing to revoke), a bad one 401', async () => {
    const auth = createTessera({ keys, refreshKey });
    const { access } = await auth.openSession({ sub: 'u' });
    expect((await handleLogout(auth, bearer(access.token))).status).toBe(204);
    expect((await handleLogout(auth, bearer('abc.def.ghi'))).status).toBe(401);
  });
});
