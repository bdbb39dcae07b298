// A key rotation under load (docs/architecture.md "Keys", "Scaling out"): two `tessera serve` processes on
// one Postgres schema and Redis prefix, `tessera keys rotate` run from the command line with a short
// publish delay, and a loop of guarded requests on both instances with tokens minted before, during and
// after the switch. No live token is ever refused, and exactly one instance promotes the new key.
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt, loginTokens as login, postgresBackend, register, tokens, type Backend, type ServerProcess } from '@tessera/test-kit';
import { call, runCli, spawnServer } from './support/harness.js';

/** Redis logical database of this file (each server test file has its own). */
const REDIS_DB = 3;

describe('a key rotation under load on two instances', () => {
  let backend: Backend;
  let a: ServerProcess;
  let b: ServerProcess;
  let env: Record<string, string>;

  beforeAll(async () => {
    backend = await postgresBackend('rotload', REDIS_DB);
    // Published 4 s before it signs, the JWKS cacheable for 2 s (at most half the delay); every login
    // of the loop keeps its session (no session limit), so any refusal is the rotation's.
    env = { ...backend.env, TESSERA_KEY_PUBLISH_DELAY: '4s', TESSERA_JWKS_MAX_AGE: '2s', TESSERA_MAX_SESSIONS: '0' };
    [a, b] = await Promise.all([spawnServer(env), spawnServer(env)]);
  }, 30_000);

  afterAll(async () => {
    const codes = await Promise.all([a?.stop(), b?.stop()]);
    await backend?.cleanup();
    expect(codes).toEqual([0, 0]);
  });

  it('refuses no live token, minted before, during or after the switch, on either instance', async () => {
    const urls = [a.url, b.url];
    const users = await Promise.all(urls.map((url) => register(url)));
    const held: string[] = [];
    const refresh: string[] = [];
    for (const [i, user] of users.entries()) {
      const pair = await login(urls[i]!, user.username);
      held.push(pair.access_token!);
      refresh.push(pair.refresh_token!);
    }
    const oldKid = decodeJwt(held[0]!).header.kid as string;
    // A resource server beside them, verifying with the JWKS alone and caching it as the header says.
    const jwks = createRemoteJWKSet(new URL(`${a.url}/.well-known/jwks.json`), { cacheMaxAge: 2000 });
    const verifyRemotely = async (token: string): Promise<void> => {
      await jwtVerify(token, jwks, { issuer: 'urn:tessera', audience: 'urn:tessera:api' }).catch((err: unknown) =>
        refused.push(`the JWKS verifier refused a token of ${String(decodeJwt(token).header.kid)}: ${String(err)}`),
      );
    };
    const refused: string[] = [];
    await Promise.all(held.map(verifyRemotely));

    const rotated = await runCli(['keys', 'rotate'], env);
    expect(rotated).toMatchObject({ code: 0, stderr: '' });
    const newKid = /^Published (\S+) \(EdDSA\) in the JWKS; instances sign with it from /.exec(rotated.stdout)?.[1];
    expect(newKid).toBeDefined();

    let requests = 0;
    const started = Date.now();
    let round = 0;
    // Until both instances have signed with the new key for a few seconds (4 s delay, 2 s reload, margin).
    while (Date.now() - started < 10_000) {
      round += 1;
      // Mint on both instances: a login on one, a refresh of each session on the other.
      const mintAt = urls[round % 2]!;
      held.push((await login(mintAt, users[round % 2]!.username)).access_token!);
      for (const [i, token] of refresh.entries()) {
        const pair = tokens(await call(urls[(round + i) % 2]!, 'POST', '/auth/refresh', { json: { refresh_token: token } }));
        refresh[i] = pair.refresh_token!;
        held.push(pair.access_token!);
      }
      // Every token held so far, on both instances, concurrently.
      const answers = await Promise.all(
        held.flatMap((token) =>
          urls.map(async (url) => {
            const reply = await call(url, 'GET', '/auth/me', { bearer: token });
            return { reply, token, url };
          }),
        ),
      );
      requests += answers.length;
      await Promise.all(held.slice(-1 - refresh.length).map(verifyRemotely));
      for (const { reply, token, url } of answers)
        if (reply.status !== 200)
          refused.push(`${url} refused a token of ${String(decodeJwt(token).header.kid)}: ${reply.status} ${reply.code ?? ''}`);
      // Keep the load bounded: the oldest tokens stay (they are the ones rotation could cut), the middle thins out.
      if (held.length > 40) held.splice(5, held.length - 40);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    expect(refused).toEqual([]);
    expect(requests).toBeGreaterThan(500);
    const kids = new Set(held.map((token) => decodeJwt(token).header.kid));
    expect(kids).toEqual(new Set([oldKid, newKid]));
    // Both instances now sign with the new key, and still publish the old one.
    for (const url of urls) {
      expect(decodeJwt((await login(url, users[0]!.username)).access_token!).header.kid).toBe(newKid);
      const published = ((await call(url, 'GET', '/.well-known/jwks.json')).body as { keys: { kid: string }[] }).keys.map((k) => k.kid);
      expect(published).toEqual(expect.arrayContaining([oldKid, newKid]));
    }
    // One promotion: one current access key, the old one retired.
    const list = (await runCli(['keys', 'list'], env)).stdout;
    expect(list).toMatch(new RegExp(`^${newKid}\\tEdDSA\\taccess\\tcurrent\\t`, 'm'));
    expect(list).toMatch(new RegExp(`^${oldKid}\\tEdDSA\\taccess\\tretired\\t`, 'm'));
    expect(list.match(/\taccess\tcurrent\t/g)).toHaveLength(1);
  }, 40_000);
});
