// The server's DPoP wiring across instances: two servers on one database derive the same nonce key from the
// refresh-token key (HKDF-SHA256), so a nonce one hands out is good at the other; and a proof accepted by one is
// refused by the other, whose own memory never saw it, because the first recorded it in `tessera_dpop_proofs`.
// Proofs come from the `dpop` package, as a client library would make them.
import * as DPoP from 'dpop';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, register, sqliteBackend } from '@tessera/test-kit';
import type { TestServer } from '@tessera/test-kit/server';
import { call, runCli, startServer } from '../support/harness.js';

const ISSUER = 'https://auth.example.com';

/**
 * Two servers on one SQLite file, started before the describe's tests and closed after. Both describe
 * themselves by the issuer, whatever port they are reached on: `htu` is built from it.
 */
function twoInstances(): { env: Readonly<Record<string, string>>; a: () => TestServer; b: () => TestServer } {
  const backend = sqliteBackend();
  let a: TestServer | undefined;
  let b: TestServer | undefined;
  beforeAll(async () => {
    a = await startServer({ ...backend.env, TESSERA_ISSUER: ISSUER });
    b = await startServer({ ...backend.env, TESSERA_ISSUER: ISSUER });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await backend.cleanup();
  });
  return { env: backend.env, a: () => a!, b: () => b! };
}

describe('DPoP across two instances sharing one database', () => {
  const servers = twoInstances();

  it('agree on nonces, and refuse at one instance a proof the other accepted', async () => {
    const [a, b] = [servers.a(), servers.b()];
    const user = await register(a.url);
    const keys = await DPoP.generateKeyPair('ES256');
    const htu = `${ISSUER}/auth/login`;
    const login = (server: TestServer, proof: string) =>
      call(server.url, 'POST', '/auth/login', { json: { username: user.username, password: PASSWORD }, headers: { dpop: proof } });

    // No nonce yet: 400 use_dpop_nonce with one to use (RFC 9449 §8).
    const challenge = await login(a, await DPoP.generateProof(keys, htu, 'POST'));
    expect(challenge.status).toBe(400);
    expect(challenge.code).toBe('use_dpop_nonce');
    const nonce = challenge.header('dpop-nonce');
    expect(nonce).toBeTruthy();

    // A's nonce is good at B: both derived the nonce key from the refresh key they share.
    const proof = await DPoP.generateProof(keys, htu, 'POST', nonce!);
    const first = await login(b, proof);
    expect(first.status, first.text).toBe(200);
    expect(first.json.token_type).toBe('DPoP');

    // The same proof at A, whose memory never saw it: refused, from the shared store.
    const replayed = await login(a, proof);
    expect(replayed.status).toBe(400);
    expect(replayed.code).toBe('invalid_dpop_proof');

    const rows = await a.runtime.database.db.selectFrom('tessera_dpop_proofs').selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(Number(rows[0]!.expires_at)).toBeGreaterThan(Date.now());
  });
});

describe('DPoP nonces across two instances after the refresh key is withdrawn', () => {
  const servers = twoInstances();

  it('move to the new key on reload, without a restart: a nonce from A is good at B, and one made before stays good', async () => {
    const [a, b] = [servers.a(), servers.b()];
    const user = await register(a.url);
    const keys = await DPoP.generateKeyPair('ES256');
    const htu = `${ISSUER}/auth/login`;
    const login = async (server: TestServer, nonce?: string) =>
      call(server.url, 'POST', '/auth/login', {
        json: { username: user.username, password: PASSWORD },
        headers: { dpop: await DPoP.generateProof(keys, htu, 'POST', nonce) },
      });
    const nonceFrom = async (server: TestServer): Promise<string> => {
      const challenge = await login(server);
      expect(challenge.code).toBe('use_dpop_nonce');
      return challenge.header('dpop-nonce')!;
    };
    const before = await nonceFrom(a);

    // The real withdrawal path: `tessera keys revoke` of the current refresh key, which puts a fresh key in its place.
    const refreshKid = async () =>
      (
        await a.runtime.database.db
          .selectFrom('tessera_keys')
          .select('kid')
          .where('purpose', '=', 'refresh')
          .where('status', '=', 'current')
          .executeTakeFirstOrThrow()
      ).kid;
    const old = await refreshKid();
    const revoked = await runCli(['keys', 'revoke', old], servers.env);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(await refreshKid()).not.toBe(old);
    // What the 2-second reload does on each instance, run now rather than waited for.
    await Promise.all([a.runtime.reloadKeys(), b.runtime.reloadKeys()]);

    // A hands out a nonce of the new secret, and B, reloaded, accepts it.
    const after = await nonceFrom(a);
    expect(after).not.toBe(before);
    expect(await nonceFrom(b)).toBe(after);
    const fresh = await login(b, after);
    expect(fresh.status, fresh.text).toBe(200);
    expect(fresh.json.token_type).toBe('DPoP');
    // And an instance started after the withdrawal (which derives from the new key at startup) agrees with both:
    // before, A and B kept the old secret until restarted, and refused its nonces.
    const c = await startServer({ ...servers.env, TESSERA_ISSUER: ISSUER });
    try {
      expect(await nonceFrom(c)).toBe(after);
      expect((await login(a, await nonceFrom(c))).status).toBe(200);
    } finally {
      await c.close();
    }
    // A nonce made before the change is still inside its window: a client mid-flight is not refused.
    const midFlight = await login(a, before);
    expect(midFlight.status, midFlight.text).toBe(200);
    // A forged nonce still is.
    const forged = await login(b, 'A'.repeat(after.length));
    expect(forged.status).toBe(400);
    expect(forged.code).toBe('use_dpop_nonce');
  });
});

describe('TESSERA_DPOP reaches the library', () => {
  it('required: a login without a proof is 400 invalid_dpop_proof; off: a proof is ignored and the tokens are Bearer', async () => {
    const backend = sqliteBackend();
    try {
      const required = await startServer({ ...backend.env, TESSERA_ISSUER: ISSUER, TESSERA_DPOP: 'required' });
      let username = '';
      try {
        username = (await register(required.url)).username;
        const bare = await call(required.url, 'POST', '/auth/login', { json: { username, password: PASSWORD } });
        expect(bare.status).toBe(400);
        expect(bare.code).toBe('invalid_dpop_proof');
      } finally {
        await required.close();
      }
      const off = await startServer({ ...backend.env, TESSERA_ISSUER: ISSUER, TESSERA_DPOP: 'off' });
      try {
        const keys = await DPoP.generateKeyPair('ES256');
        const proof = await DPoP.generateProof(keys, `${ISSUER}/auth/login`, 'POST');
        const answer = await call(off.url, 'POST', '/auth/login', { json: { username, password: PASSWORD }, headers: { dpop: proof } });
        expect(answer.status, answer.text).toBe(200);
        expect(answer.json.token_type).toBe('Bearer');
      } finally {
        await off.close();
      }
    } finally {
      await backend.cleanup();
    }
  });
});
