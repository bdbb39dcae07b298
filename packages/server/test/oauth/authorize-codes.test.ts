// Authorization codes (oauth/codes.ts) on the server's real database (SQLite, and Postgres for the race), and
// through the real /oauth/token: stored hashed, bound to client, redirect URI, PKCE challenge and DPoP key,
// valid 60 seconds, single use by one conditional UPDATE, and a reused code ends the session its first use opened.
import { createHash } from 'node:crypto';
import { fixedClock, InvalidGrantError } from '@tessera/auth';
import pg from 'pg';
import { postgresUrl, PG_BASE, schemaNames, type Backend } from '@tessera/test-kit';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachSession, CODE_TTL_MS, consumeCode, hashCode, issueCode, verifierMatches, type CodeGrant } from '../../src/oauth/codes.js';
import { addClient, registerUser, startOAuthServer, type OAuthServer } from '../support/oauth-server.js';
import { codeFor } from './sign-in.js';

const VERIFIER = 'dBjftJeZ4CVP-mJ0DCIvBWlqgq6rr93Vve7lpD3qPkZ';
/** RFC 7636 §4.2: BASE64URL(SHA256(ASCII(verifier))), computed here independently of the code under test. */
const CHALLENGE = createHash('sha256').update(VERIFIER, 'ascii').digest('base64url');
const REDIRECT = 'https://app.example/cb';
const JKT = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';

const schemas = schemaNames('oauthcodes');

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_BASE });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Postgres alone (no Redis: nothing here needs it), in a schema of this worker's own. */
async function postgresOnly(): Promise<Backend> {
  const schema = schemas.next();
  await admin(`drop schema if exists "${schema}" cascade; create schema "${schema}"`);
  return { name: 'postgres', env: { TESSERA_DATABASE_URL: postgresUrl(schema) }, cleanup: () => admin(`drop schema if exists "${schema}" cascade`) };
}

for (const backendName of ['sqlite', 'postgres'] as const) {
  describe(`authorization codes (${backendName})`, () => {
    const clock = fixedClock(Date.now());
    let backend: Backend | undefined;
    let server: OAuthServer;
    let grant: CodeGrant;

    beforeAll(async () => {
      backend = backendName === 'postgres' ? await postgresOnly() : undefined;
      server = await startOAuthServer({}, { clock, ...(backend === undefined ? {} : { backend }) });
      const user = await registerUser(server);
      grant = { clientId: 'app', redirectUri: REDIRECT, codeChallenge: CHALLENGE, userId: user.id, scope: 'read', jkt: null, credentialVersion: 0 };
    });
    afterAll(async () => {
      await server?.close();
      await backend?.cleanup();
    });

    const db = () => server.runtime.database.db;
    const exchange = (extra: Partial<Parameters<typeof consumeCode>[2]> = {}) => ({
      clientId: 'app',
      redirectUri: REDIRECT,
      codeVerifier: VERIFIER,
      now: clock.now(),
      sessions: server.runtime.auth,
      ...extra,
    });
    const session = async (): Promise<string> => (await server.runtime.auth.openSession({ sub: grant.userId, transport: 'bearer' })).sid;
    const isLive = async (sid: string): Promise<boolean> => (await server.runtime.auth.listSessions(grant.userId)).some((s) => s.id === sid);

    it('is 256 random bits, stored only as its SHA-256, for 60 seconds', async () => {
      const code = await issueCode(db(), grant, clock.now());
      expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const row = await db().selectFrom('tessera_oauth_codes').selectAll().where('code_hash', '=', hashCode(code)).executeTakeFirstOrThrow();
      expect(row.code_hash).toBe(createHash('sha256').update(code).digest('hex'));
      expect(Number(row.expires_at) - Number(row.created_at)).toBe(CODE_TTL_MS);
      expect(JSON.stringify(row)).not.toContain(code);
    });

    it('redeems once, answering what the session is made of', async () => {
      const code = await issueCode(db(), { ...grant, jkt: JKT, credentialVersion: 3 }, clock.now());
      const redeemed = await consumeCode(db(), code, exchange({ jkt: JKT }));
      expect(redeemed).toMatchObject({
        userId: grant.userId,
        scope: 'read',
        jkt: JKT,
        clientId: 'app',
        credentialVersion: 3,
        codeHash: hashCode(code),
      });
      await expect(consumeCode(db(), code, exchange({ jkt: JKT }))).rejects.toBeInstanceOf(InvalidGrantError);
    });

    const refusals: [string, Partial<Parameters<typeof consumeCode>[2]>][] = [
      ['another client', { clientId: 'other' }],
      ['another redirect URI', { redirectUri: `${REDIRECT}/` }],
      ['a wrong code_verifier', { codeVerifier: VERIFIER.replace('d', 'e') }],
      ['the challenge itself as verifier', { codeVerifier: CHALLENGE }],
      ['a verifier too short', { codeVerifier: 'short' }],
    ];
    for (const [name, change] of refusals)
      it(`refuses ${name} with invalid_grant, and the code is spent`, async () => {
        const code = await issueCode(db(), grant, clock.now());
        await expect(consumeCode(db(), code, exchange(change))).rejects.toBeInstanceOf(InvalidGrantError);
        await expect(consumeCode(db(), code, exchange())).rejects.toBeInstanceOf(InvalidGrantError);
      });

    it('refuses a code bound by dpop_jkt without a proof, or with a proof by another key', async () => {
      for (const jkt of [undefined, CHALLENGE]) {
        const code = await issueCode(db(), { ...grant, jkt: JKT }, clock.now());
        await expect(consumeCode(db(), code, exchange({ jkt }))).rejects.toThrow(/another DPoP key/);
      }
    });

    it('refuses a code after 60 seconds, and one never issued or malformed', async () => {
      const code = await issueCode(db(), grant, clock.now());
      await expect(consumeCode(db(), code, exchange({ now: clock.now() + CODE_TTL_MS }))).rejects.toThrow(/expired/);
      await expect(consumeCode(db(), 'A'.repeat(43), exchange())).rejects.toBeInstanceOf(InvalidGrantError);
      for (const bad of ['', 'x', 'A'.repeat(44), 42, undefined])
        await expect(consumeCode(db(), bad, exchange())).rejects.toBeInstanceOf(InvalidGrantError);
    });

    it('ends the session of the first use when a code comes back', async () => {
      const code = await issueCode(db(), grant, clock.now());
      const redeemed = await consumeCode(db(), code, exchange());
      const sid = await session();
      expect(await attachSession(db(), redeemed.codeHash, sid, server.runtime.auth)).toBe(true);
      expect(await isLive(sid)).toBe(true);
      await expect(consumeCode(db(), code, exchange())).rejects.toBeInstanceOf(InvalidGrantError);
      expect(await isLive(sid)).toBe(false);
    });

    it('ends the session of the first use when the code came back before that session was stored', async () => {
      const code = await issueCode(db(), grant, clock.now());
      const redeemed = await consumeCode(db(), code, exchange());
      await expect(consumeCode(db(), code, exchange())).rejects.toBeInstanceOf(InvalidGrantError);
      const sid = await session();
      expect(await attachSession(db(), redeemed.codeHash, sid, server.runtime.auth)).toBe(false);
      expect(await isLive(sid)).toBe(false);
    });

    it('lets exactly one of many parallel exchanges of one code through', async () => {
      const code = await issueCode(db(), grant, clock.now());
      const results = await Promise.allSettled(Array.from({ length: 8 }, () => consumeCode(db(), code, exchange())));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(InvalidGrantError);
    });
  });
}

describe('verifierMatches (RFC 7636 §4.6)', () => {
  it('accepts the verifier of the challenge and nothing else', () => {
    expect(verifierMatches(VERIFIER, CHALLENGE)).toBe(true);
    expect(verifierMatches(`${VERIFIER}a`, CHALLENGE)).toBe(false);
    expect(verifierMatches(VERIFIER, `${CHALLENGE.slice(0, 42)}${CHALLENGE.endsWith('A') ? 'B' : 'A'}`)).toBe(false);
    expect(verifierMatches('é'.repeat(43), CHALLENGE)).toBe(false);
    expect(verifierMatches(undefined, CHALLENGE)).toBe(false);
  });
});

describe('a reused code at /oauth/token', () => {
  let server: OAuthServer;
  let user: { id: string; username: string; password: string };
  let secret: string;

  beforeAll(async () => {
    server = await startOAuthServer();
    user = await registerUser(server);
    secret = (await addClient(server, { id: 'app', redirectUris: [REDIRECT], firstParty: true })).secret as string;
  });
  afterAll(() => server?.close());

  it('is invalid_grant, and the tokens its first use issued stop working', async () => {
    const insecure = { [oauth.allowInsecureRequests]: true } as const;
    const issuer = new URL(server.issuer);
    const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
    const client: oauth.Client = { client_id: 'app' };
    const { callback, verifier, pkce } = await codeFor(server.url, 'app', REDIRECT, user);
    const params = oauth.validateAuthResponse(as, client, callback, pkce.state);
    const redeem = async () => oauth.authorizationCodeGrantRequest(as, client, oauth.ClientSecretBasic(secret), params, REDIRECT, verifier, insecure);
    const first = await oauth.processAuthorizationCodeResponse(as, client, await redeem());
    const me = () => fetch(`${server.url}/auth/me`, { headers: { authorization: `Bearer ${first.access_token}` } });
    expect((await me()).status).toBe(200);
    const again = await redeem();
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ error: 'invalid_grant' });
    expect((await me()).status).toBe(401);
  });
});
