// The OAuth switch and the metadata (RFC 8414): with TESSERA_ISSUER=http://127.0.0.1:<port>, a real server's
// /.well-known/oauth-authorization-server is read by oauth4webapi and openid-client as their users would; every
// URL in it comes from the issuer, whatever Host or X-Forwarded-* say. With any other issuer form, OAuth is off:
// the route is 404 and `tessera serve` says in one line how to turn it on.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqliteBackend } from '@tessera/test-kit';
import { issuerProblem, metadataPaths, oauthEndpoints, oauthIssuer, oauthOffLine } from '../../src/oauth/issuer.js';
import { call, spawnServer, startServer } from '../support/harness.js';
import { startOAuthServer, type OAuthServer } from '../support/oauth-server.js';
import { redoclyLint } from '../support/redocly.js';

const WELL_KNOWN = '/.well-known/oauth-authorization-server';

/** A GET on 127.0.0.1:`port` with headers fetch would not send as given (Host among them). */
function getWithHeaders(port: number, path: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the metadata of a server with OAuth on', () => {
  let server: OAuthServer;
  beforeAll(async () => {
    server = await startOAuthServer({ TESSERA_TRUST_PROXY: 'true' });
  });
  afterAll(async () => server?.close());

  it('is read by oauth4webapi (discoveryRequest, processDiscoveryResponse), issuer compared exactly', async () => {
    const issuer = new URL(server.issuer);
    const response = await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', [oauth.allowInsecureRequests]: true });
    const as = await oauth.processDiscoveryResponse(issuer, response);
    const base = `http://127.0.0.1:${server.port}`;
    expect(as).toEqual({
      issuer: base,
      authorization_endpoint: `${base}/oauth/authorize`,
      token_endpoint: `${base}/oauth/token`,
      revocation_endpoint: `${base}/oauth/revoke`,
      introspection_endpoint: `${base}/oauth/introspect`,
      jwks_uri: `${base}/.well-known/jwks.json`,
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      grant_types_supported: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      code_challenge_methods_supported: ['S256'],
      dpop_signing_alg_values_supported: [...server.runtime.auth.config.dpop.algorithms],
      authorization_response_iss_parameter_supported: true,
    });
    // Asymmetric algorithms only (RFC 9449 §4.2), the common ones among them.
    expect(as.dpop_signing_alg_values_supported).toEqual(expect.arrayContaining(['EdDSA', 'ES256', 'RS256']));
    for (const alg of as.dpop_signing_alg_values_supported ?? []) expect(alg).not.toMatch(/^(HS|none)/i);
    // The issuer is the text tokens carry as `iss` (RFC 9068 §4 compares them exactly).
    expect(as.issuer).toBe(server.runtime.auth.config.issuer);
    // oauth4webapi refuses a document whose issuer differs from the one asked for, even by a trailing slash.
    const other = new URL(`${server.issuer}/other`);
    const again = await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', [oauth.allowInsecureRequests]: true });
    await expect(oauth.processDiscoveryResponse(other, again)).rejects.toThrow(/issuer/);
  });

  it('is read by openid-client (discovery with allowInsecureRequests)', async () => {
    const config = await client.discovery(new URL(server.issuer), 'tessera-web', undefined, client.None(), {
      algorithm: 'oauth2',
      execute: [client.allowInsecureRequests],
    });
    const metadata = config.serverMetadata();
    expect(metadata.issuer).toBe(server.issuer);
    expect(metadata.token_endpoint).toBe(`${server.issuer}/oauth/token`);
    expect(metadata.supportsPKCE()).toBe(true);
    expect(metadata.code_challenge_methods_supported).toEqual(['S256']);
    expect(metadata.authorization_response_iss_parameter_supported).toBe(true);
  });

  it('is JSON, cacheable like the JWKS it points at, and never built from Host or X-Forwarded-*', async () => {
    const plain = await call(server.url, 'GET', WELL_KNOWN);
    expect(plain.status).toBe(200);
    expect(plain.header('content-type')).toBe('application/json; charset=utf-8');
    expect(plain.header('cache-control')).toBe(`public, max-age=${server.runtime.config.jwksMaxAge}`);
    // Another Host and forwarding headers, from a proxy the server trusts (TESSERA_TRUST_PROXY), change nothing.
    const forged = await getWithHeaders(server.port, WELL_KNOWN, {
      host: 'evil.example',
      'x-forwarded-host': 'evil.example',
      'x-forwarded-proto': 'https',
      forwarded: 'host=evil.example;proto=https',
    });
    expect(forged.status).toBe(200);
    expect(forged.text).toBe(plain.text);
    expect(forged.text).not.toContain('evil.example');
  });

  it("is in the OpenAPI document, clean under Redocly's recommended rules", async () => {
    const doc = (await call(server.url, 'GET', '/openapi.json')).body as {
      paths: Record<string, { get?: { operationId?: string; responses?: object } }>;
    };
    const operation = doc.paths[WELL_KNOWN]?.get;
    expect(operation?.operationId).toBe('oauthMetadata');
    expect(Object.keys(operation?.responses ?? {})).toEqual(['200', '400', '404']);
    const folder = mkdtempSync(join(tmpdir(), 'tessera-metadata-openapi-'));
    try {
      const file = join(folder, 'openapi.json');
      writeFileSync(file, JSON.stringify(doc));
      const ours = (await redoclyLint(file, folder)).problems.filter((p) => /oauth-authorization-server/.test(p.location[0]?.pointer ?? ''));
      expect(ours.map((p) => `${p.severity} ${p.ruleId} at ${p.location[0]?.pointer ?? '?'}: ${p.message}`)).toEqual([]);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('is answered at RFC 8414 §3.1 paths for an issuer with a path', () => {
    expect(metadataPaths(new URL('https://auth.example.com'))).toEqual([WELL_KNOWN]);
    expect(metadataPaths(new URL('https://auth.example.com/tenant/a'))).toEqual([`${WELL_KNOWN}/tenant/a`, WELL_KNOWN]);
    expect(oauthEndpoints(new URL('https://auth.example.com/tenant'))).toMatchObject({
      issuer: 'https://auth.example.com/tenant',
      token_endpoint: 'https://auth.example.com/tenant/oauth/token',
      jwks_uri: 'https://auth.example.com/tenant/.well-known/jwks.json',
    });
  });
});

describe('DPoP in the metadata follows TESSERA_DPOP', () => {
  it('leaves dpop_signing_alg_values_supported out when DPoP is off (RFC 9449 §5.1)', async () => {
    const server = await startOAuthServer({ TESSERA_DPOP: 'off' });
    try {
      const body = (await call(server.url, 'GET', WELL_KNOWN)).body as Record<string, unknown>;
      expect(body.issuer).toBe(server.issuer);
      expect(body).not.toHaveProperty('dpop_signing_alg_values_supported');
    } finally {
      await server.close();
    }
  });

  it('lists the algorithms when DPoP is required', async () => {
    const server = await startOAuthServer({ TESSERA_DPOP: 'required' });
    try {
      const body = (await call(server.url, 'GET', WELL_KNOWN)).body as Record<string, unknown>;
      expect(body.dpop_signing_alg_values_supported).toEqual([...server.runtime.auth.config.dpop.algorithms]);
      expect(body.dpop_signing_alg_values_supported).toEqual(expect.arrayContaining(['EdDSA', 'ES256']));
    } finally {
      await server.close();
    }
  });
});

/** Issuers that leave OAuth off, with the words of the reason `tessera serve` gives. */
const REFUSED: readonly (readonly [string, RegExp])[] = [
  ['urn:tessera', /is not an https URL/],
  ['auth.example.com', /is not a URL/],
  ['ftp://auth.example.com', /is not an https URL/],
  ['http://auth.example.com', /plain http/],
  ['http://localhost:8000', /plain http/],
  ['http://127.0.0.2:8000', /plain http/],
  ['http://[::ffff:127.0.0.1]:8000', /plain http/],
  ['http://127.0.0.1', /without a port/],
  ['http://[::1]', /without a port/],
  ['https://auth.example.com?', /query or a fragment/],
  ['https://auth.example.com/?tenant=a', /query or a fragment/],
  ['https://auth.example.com#', /query or a fragment/],
  ['https://auth.example.com/#top', /query or a fragment/],
  ['https://user:secret@auth.example.com', /credentials/],
  ['https://auth.example.com/', /not written as https:\/\/auth\.example\.com,/],
  ['https://auth.example.com/tenant/', /not written as https:\/\/auth\.example\.com\/tenant,/],
  ['https://Auth.Example.com', /not written as https:\/\/auth\.example\.com,/],
  ['HTTPS://auth.example.com', /not written as https:\/\/auth\.example\.com,/],
  ['https://auth.example.com:443', /not written as https:\/\/auth\.example\.com,/],
];
const ACCEPTED = [
  'https://auth.example.com',
  'https://auth.example.com:8443',
  'https://auth.example.com/tenant',
  'http://127.0.0.1:8000',
  'http://[::1]:8000',
];

describe('the issuer forms', () => {
  it('turns OAuth on only for an https URL without query or fragment, or loopback http with a port', () => {
    for (const issuer of ACCEPTED) {
      expect(issuerProblem(issuer), issuer).toBeUndefined();
      expect(oauthIssuer(issuer)?.href, issuer).toBe(new URL(issuer).href);
    }
    for (const [issuer, why] of REFUSED) {
      expect(oauthIssuer(issuer), issuer).toBeUndefined();
      expect(issuerProblem(issuer), issuer).toMatch(why);
      // One line, never the password of an issuer that carries one.
      const line = oauthOffLine(issuer);
      expect(line, issuer).toMatch(
        /^OAuth is off: .*; set TESSERA_ISSUER to .* to serve \/oauth\/\* and \/\.well-known\/oauth-authorization-server\.$/,
      );
      expect(line).not.toContain('\n');
      expect(line).not.toContain('secret');
    }
  });

  it('answers 404 at the metadata and every OAuth path on a real server for each refused form', async () => {
    const backend = sqliteBackend();
    try {
      for (const [issuer] of REFUSED) {
        const server = await startServer({ ...backend.env, TESSERA_ISSUER: issuer });
        try {
          expect(server.runtime.oauth, issuer).toBeUndefined();
          for (const path of [WELL_KNOWN, `${WELL_KNOWN}/tenant`]) {
            const reply = await call(server.url, 'GET', path);
            expect(reply.status, `${issuer} ${path}`).toBe(404);
            expect(reply.body).toMatchObject({ error: 'not_found' });
          }
          for (const path of ['/oauth/token', '/oauth/revoke', '/oauth/introspect'])
            expect((await call(server.url, 'POST', path, { form: { grant_type: 'refresh_token' } })).status, `${issuer} ${path}`).toBe(404);
          expect((await call(server.url, 'GET', '/oauth/authorize')).status, issuer).toBe(404);
        } finally {
          await server.close();
        }
      }
    } finally {
      await backend.cleanup();
    }
  });

  it('`tessera serve` prints one line saying how to turn OAuth on, and none when it is on', async () => {
    const backend = sqliteBackend();
    try {
      const off = await spawnServer({ ...backend.env, TESSERA_LOG_LEVEL: 'info', TESSERA_ISSUER: 'https://auth.example.com/' });
      try {
        expect((await call(off.url, 'GET', WELL_KNOWN)).status).toBe(404);
        const lines = off
          .output()
          .split('\n')
          .filter((line) => line.includes('OAuth is off'));
        expect(lines).toHaveLength(1);
        const { msg } = JSON.parse(lines[0]!) as { msg: string };
        expect(msg).toBe(
          'OAuth is off: TESSERA_ISSUER (https://auth.example.com/) is not written as https://auth.example.com, the exact text clients compare; ' +
            "set TESSERA_ISSUER to this server's https URL (such as https://auth.example.com) to serve /oauth/* and /.well-known/oauth-authorization-server.",
        );
        expect(off.output()).toMatch(/"oauth":"off"/);
      } finally {
        await off.stop();
      }
      const on = await spawnServer({ ...backend.env, TESSERA_LOG_LEVEL: 'info', TESSERA_ISSUER: 'https://auth.example.com' });
      try {
        expect(on.output()).not.toContain('OAuth is off');
        expect(on.output()).toMatch(/"oauth":"https:\/\/auth\.example\.com"/);
        const body = (await call(on.url, 'GET', WELL_KNOWN)).body as Record<string, unknown>;
        // Reached as http://127.0.0.1:<port>, described as the configured issuer.
        expect(body.issuer).toBe('https://auth.example.com');
        expect(body.token_endpoint).toBe('https://auth.example.com/oauth/token');
      } finally {
        await on.stop();
      }
    } finally {
      await backend.cleanup();
    }
  });
});
