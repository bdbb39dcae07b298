// Sessions that record their OAuth client and DPoP key (docs/oauth.md): on the memory store with a frozen clock.
// Refusals of another client's token, or of a bound token without its key, come before any rotation and
// never revoke; the grace path is held to the same; nothing ever binds or rebinds a session.
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/core/clock.js';
import { ConfigError, InvalidDpopProofError, TesseraError } from '../../src/core/errors.js';
import { generateKey, generateRefreshKey, type Key } from '../../src/core/keys/key.js';
import type { SessionEvent } from '../../src/core/types.js';
import { createTessera } from '../../src/core/tessera.js';
import { tokenResult } from '../../src/core/transport/respond.js';
import type { TesseraOptions } from '../../src/core/config/config.js';
import { FIRST_PARTY_CLIENT } from '../../src/protocol/protocol.js';
import { memoryStore } from '../../src/stores/memory.js';

const T0 = Date.UTC(2030, 0, 1);
let keys: Key;
let refreshKey: Key;
beforeAll(async () => {
  keys = await generateKey('EdDSA');
  refreshKey = await generateRefreshKey();
});

/** A thumbprint: 32 random bytes in base64url, the shape of an RFC 7638 SHA-256 thumbprint. */
const thumbprint = (): string => randomBytes(32).toString('base64url');

function setup(options: Partial<TesseraOptions> = {}) {
  const clock = fixedClock(T0);
  const events: SessionEvent[] = [];
  const store = memoryStore();
  const auth = createTessera({ keys, refreshKey, clock, ...options, sessions: { store, onEvent: (e) => events.push(e) } });
  const revocations = () => events.filter((e) => e.type === 'session_revoked' || e.type === 'reuse_detected');
  return { auth, clock, events, store, revocations };
}

const bearerPost = (token: string) => ({ method: 'POST', headers: ['Authorization', `Bearer ${token}`] });

async function refusal(promise: Promise<unknown>): Promise<TesseraError | 'accepted'> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(TesseraError);
    return err as TesseraError;
  }
  return 'accepted';
}
const codeOf = async (promise: Promise<unknown>): Promise<string> => {
  const result = await refusal(promise);
  return result === 'accepted' ? result : result.code;
};

describe('sessions record their client', () => {
  it("opens first-party sessions by default: both tokens carry client_id 'tessera-web' and no cnf", async () => {
    const { auth } = setup();
    const opened = await auth.openSession({ sub: 'ada' });
    expect(FIRST_PARTY_CLIENT).toBe('tessera-web');
    expect(opened.session).toMatchObject({ clientId: 'tessera-web', jkt: null });
    for (const claims of [opened.access.claims, opened.refresh.claims]) {
      expect(claims.client_id).toBe('tessera-web');
      expect(claims).not.toHaveProperty('cnf');
    }
    expect(await auth.getSession(opened.sid)).toEqual(opened.session);
    expect(await auth.getSession('no-such-session')).toBeUndefined();
  });

  it("refuses another client's refresh token before rotating: token_invalid, and the session lives on", async () => {
    const { auth, store, revocations, clock } = setup();
    const opened = await auth.openSession({ sub: 'ada', clientId: 'cli-tool' });
    expect(opened.refresh.claims.client_id).toBe('cli-tool');
    // /auth/refresh is the first-party client's: a cli-tool token is refused there.
    const err = await refusal(auth.refresh(opened.refresh.token));
    expect(err).toMatchObject({ code: 'token_invalid', status: 401, message: 'The refresh token was issued to another client' });
    expect(await codeOf(auth.refresh(opened.refresh.token, { clientId: 'other-app' }))).toBe('token_invalid');
    expect(await store.get(opened.sid)).toMatchObject({ currentJti: opened.refresh.claims.jti, previousJti: null, revokedAt: null });

    const next = await auth.refresh(opened.refresh.token, { clientId: 'cli-tool' });
    expect(next.access.claims.client_id).toBe('cli-tool');
    // The previous token inside the grace window, and later as a reuse: another client changes nothing.
    expect(await codeOf(auth.refresh(opened.refresh.token))).toBe('token_invalid');
    clock.advance(60_000);
    expect(await codeOf(auth.refresh(opened.refresh.token))).toBe('token_invalid');
    expect(revocations()).toEqual([]);
    expect((await store.get(opened.sid))?.revokedAt).toBeNull();
    // The holder's reuse still revokes, as ever.
    expect(await codeOf(auth.refresh(opened.refresh.token, { clientId: 'cli-tool' }))).toBe('refresh_token_reused');
  });

  it('refuses in refreshRequest before the beforeRotate hook runs, and logoutRequest ends only its own client’s sessions', async () => {
    const { auth, store } = setup();
    const opened = await auth.openSession({ sub: 'ada', clientId: 'cli-tool' });
    let hooked = 0;
    const hook = { beforeRotate: () => void hooked++ };
    expect(await codeOf(auth.refreshRequest(bearerPost(opened.refresh.token), hook))).toBe('token_invalid');
    expect(hooked).toBe(0);
    const { tokens } = await auth.refreshRequest(bearerPost(opened.refresh.token), { ...hook, clientId: 'cli-tool' });
    expect(hooked).toBe(1);

    expect(await codeOf(auth.logoutRequest(bearerPost(tokens.refresh.token)))).toBe('token_invalid');
    expect(await codeOf(auth.logoutRequest(bearerPost(tokens.access.token)))).toBe('token_invalid');
    expect((await store.get(opened.sid))?.revokedAt).toBeNull();
    expect(await auth.logoutRequest(bearerPost(tokens.refresh.token), { clientId: 'cli-tool' })).toEqual({ sid: opened.sid, revoked: true });

    const web = await auth.openSession({ sub: 'ada' });
    expect(await codeOf(auth.logoutRequest(bearerPost(web.refresh.token), { clientId: 'cli-tool' }))).toBe('token_invalid');
    expect(await auth.logoutRequest(bearerPost(web.refresh.token))).toEqual({ sid: web.sid, revoked: true });
  });
});

describe('DPoP-bound sessions', () => {
  it('binds both tokens and the session to the key; the answer says token_type DPoP', async () => {
    const { auth } = setup();
    const jkt = thumbprint();
    const opened = await auth.openSession({ sub: 'ada', jkt });
    expect(opened.session).toMatchObject({ clientId: 'tessera-web', jkt });
    expect(opened.access.claims.cnf).toEqual({ jkt });
    expect(opened.refresh.claims.cnf).toEqual({ jkt });
    expect(JSON.parse(tokenResult(auth.config, opened, 'bearer').body as string)).toMatchObject({ token_type: 'DPoP' });
    const plain = await auth.openSession({ sub: 'ada' });
    expect(JSON.parse(tokenResult(auth.config, plain, 'bearer').body as string)).toMatchObject({ token_type: 'Bearer' });
  });

  it('rotates only with a proof by the same key: none or another is invalid_dpop_proof (400), and revokes nothing', async () => {
    const { auth, store, revocations } = setup();
    const jkt = thumbprint();
    const opened = await auth.openSession({ sub: 'ada', jkt });
    const none = await refusal(auth.refresh(opened.refresh.token));
    expect(none).toBeInstanceOf(InvalidDpopProofError);
    expect(none).toMatchObject({ code: 'invalid_dpop_proof', status: 400 });
    expect(await refusal(auth.refresh(opened.refresh.token, { jkt: thumbprint() }))).toMatchObject({ code: 'invalid_dpop_proof', status: 400 });
    expect(await codeOf(auth.refreshRequest(bearerPost(opened.refresh.token)))).toBe('invalid_dpop_proof');
    expect(await store.get(opened.sid)).toMatchObject({ currentJti: opened.refresh.claims.jti, revokedAt: null });
    expect(revocations()).toEqual([]);

    const next = await auth.refresh(opened.refresh.token, { jkt });
    expect(next.refresh.claims.cnf).toEqual({ jkt });
    expect(next.access.claims.cnf).toEqual({ jkt });
    expect(next.session).toMatchObject({ jkt, previousJti: opened.refresh.claims.jti });
  });

  it('holds the grace path to the same key: a stolen previous token without the key gets nothing', async () => {
    const { auth, events, revocations } = setup();
    const jkt = thumbprint();
    const opened = await auth.openSession({ sub: 'ada', jkt });
    const rotated = await auth.refresh(opened.refresh.token, { jkt });
    // Inside the grace window the previous token would get the current one back: not without the key.
    expect(await codeOf(auth.refresh(opened.refresh.token))).toBe('invalid_dpop_proof');
    expect(await codeOf(auth.refresh(opened.refresh.token, { jkt: thumbprint() }))).toBe('invalid_dpop_proof');
    expect(events.filter((e) => e.type === 'grace_replay')).toEqual([]);
    expect(revocations()).toEqual([]);
    const replay = await auth.refresh(opened.refresh.token, { jkt });
    expect(events.filter((e) => e.type === 'grace_replay')).toHaveLength(1);
    expect(replay.refresh.token).toBe(rotated.refresh.token);
    expect(replay.access.claims.cnf).toEqual({ jkt });
  });

  it('never binds an unbound session, nor rebinds a bound one', async () => {
    const { auth, store } = setup();
    const plain = await auth.openSession({ sub: 'ada' });
    const next = await auth.refresh(plain.refresh.token, { jkt: thumbprint() });
    expect(next.refresh.claims).not.toHaveProperty('cnf');
    expect(next.access.claims).not.toHaveProperty('cnf');
    expect((await store.get(plain.sid))?.jkt).toBeNull();
    expect(JSON.parse(tokenResult(auth.config, next, 'bearer').body as string)).toMatchObject({ token_type: 'Bearer' });

    const jkt = thumbprint();
    const bound = await auth.openSession({ sub: 'ada', jkt });
    const again = await auth.refresh(bound.refresh.token, { jkt });
    expect(again.access.claims.cnf).toEqual({ jkt });
    expect((await store.get(bound.sid))?.jkt).toBe(jkt);
  });

  // A SessionStore written before `0002_clients` answers records without clientId and jkt. The new tokens take
  // the binding from the session: such a store must not turn a bound (or another client's) session into an
  // unbound first-party one on refresh, while its unbound first-party sessions keep working.
  it('fails closed when the store lost the binding: never unbinds, never moves a session to the first-party client', async () => {
    const inner = memoryStore();
    const strip = (record: unknown) => {
      if (typeof record !== 'object' || record === null) return record;
      const rest: Record<string, unknown> = { ...record };
      delete rest.jkt;
      delete rest.clientId;
      return rest;
    };
    const store: typeof inner = {
      ...inner,
      get: async (id) => strip(await inner.get(id)) as Awaited<ReturnType<typeof inner.get>>,
      rotate: async (...args) => {
        const result = await inner.rotate(...args);
        return ('session' in result ? { ...result, session: strip(result.session) } : result) as typeof result;
      },
    };
    const auth = createTessera({ keys, refreshKey, clock: fixedClock(T0), sessions: { store } });
    const jkt = thumbprint();
    const bound = await auth.openSession({ sub: 'ada', jkt });
    const boundErr = await refusal(auth.refresh(bound.refresh.token, { jkt }));
    expect(boundErr).toMatchObject({ code: 'store_unavailable', status: 503 });
    const other = await auth.openSession({ sub: 'ada', clientId: 'cli-tool' });
    expect(await codeOf(auth.refresh(other.refresh.token, { clientId: 'cli-tool' }))).toBe('store_unavailable');
    const plain = await auth.openSession({ sub: 'ada' });
    expect((await auth.refresh(plain.refresh.token)).refresh.claims).toMatchObject({ client_id: FIRST_PARTY_CLIENT });
  });

  it('keeps client_id and cnf on an access token re-issued for implicit refresh', async () => {
    const { auth } = setup();
    const jkt = thumbprint();
    const opened = await auth.openSession({ sub: 'ada', clientId: 'cli-tool', jkt });
    const reissued = await auth.reissueAccessToken(opened.access);
    expect(reissued.claims).toMatchObject({ client_id: 'cli-tool', cnf: { jkt }, fresh: false, sid: opened.sid });
  });
});

describe('stateless tokens', () => {
  it('check the client and the key the same way, and carry both to the new access token', async () => {
    const auth = createTessera({ keys, refreshKey, clock: fixedClock(T0) });
    const jkt = thumbprint();
    const opened = await auth.openSession({ sub: 'ada', clientId: 'cli-tool', jkt });
    expect(opened.refresh.claims).toMatchObject({ client_id: 'cli-tool', cnf: { jkt } });
    expect(await codeOf(auth.refresh(opened.refresh.token, { jkt }))).toBe('token_invalid');
    expect(await codeOf(auth.refresh(opened.refresh.token, { clientId: 'cli-tool' }))).toBe('invalid_dpop_proof');
    const next = await auth.refresh(opened.refresh.token, { clientId: 'cli-tool', jkt });
    expect(next.access.claims).toMatchObject({ client_id: 'cli-tool', cnf: { jkt } });
    expect(next.refresh.token).toBe(opened.refresh.token);
    await expect(auth.getSession(opened.sid)).rejects.toBeInstanceOf(ConfigError);
  });
});

describe('getSession', () => {
  it('is 503 store_unavailable when the store fails', async () => {
    const { auth, store } = setup();
    const opened = await auth.openSession({ sub: 'ada' });
    await store.close();
    expect(await refusal(auth.getSession(opened.sid))).toMatchObject({ code: 'store_unavailable', status: 503 });
  });
});
