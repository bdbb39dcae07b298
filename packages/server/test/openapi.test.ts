// The OpenAPI document at /openapi.json: Redocly's CLI (its `recommended` rules, the real binary as a child process)
// finds no error and no warning in it; it describes every operation (operationId, security, refusals by status with
// their codes, the optional bodies of refresh and logout, the cookies and the CSRF header); and what the server
// answers to bad requests of every kind is what the document lists.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ERRORS, type ErrorCode } from '@tessera/auth/protocol';
import { sqliteBackend, type Answer } from '@tessera/test-kit';
import type { TestServer } from '@tessera/test-kit/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startServer } from './support/harness.js';
import { startOAuthServer, type OAuthServer } from './support/oauth-server.js';
import { redoclyLint } from './support/redocly.js';

interface Operation {
  operationId?: string;
  security?: Record<string, string[]>[];
  requestBody?: { required?: boolean; content: Record<string, { schema: { properties?: Record<string, unknown> } }> };
  responses: Record<string, { description: string; headers?: Record<string, unknown>; content?: Record<string, { schema: ErrorSchema }> }>;
}
interface ErrorSchema {
  properties?: { error?: { enum?: string[] } };
}
interface Document {
  info: { license?: { name: string; url?: string; identifier?: string } };
  servers?: { url: string }[];
  tags?: { name: string; description?: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, { type: string; in?: string; name?: string; scheme?: string }> };
}

describe('the OpenAPI document', () => {
  const backend = sqliteBackend();
  const folder = mkdtempSync(join(tmpdir(), 'tessera-openapi-'));
  let server: TestServer;
  let doc: Document;
  let text: string;

  beforeAll(async () => {
    server = await startServer(backend.env);
    const reply = await call(server.url, 'GET', '/openapi.json');
    expect(reply.status).toBe(200);
    text = reply.text;
    doc = JSON.parse(text) as Document;
  });
  afterAll(async () => {
    await server?.close();
    await backend.cleanup();
    rmSync(folder, { recursive: true, force: true });
  });

  const operations = (): [string, Operation][] =>
    Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]): [string, Operation] => [`${method.toUpperCase()} ${path}`, op]),
    );
  const operation = (route: string): Operation => {
    const found = operations().find(([name]) => name === route);
    if (found === undefined) throw new Error(`${route} is not in the document`);
    return found[1];
  };

  it("passes Redocly's recommended rules with no error and no warning", async () => {
    const file = join(folder, 'openapi.json');
    writeFileSync(file, text);
    const report = await redoclyLint(file, folder);
    const problems = report.problems.map((p) => `${p.severity} ${p.ruleId} at ${p.location[0]?.pointer ?? '?'}: ${p.message}`);
    expect(problems).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  });

  it('names every operation, says who may call it, and lists its refusals by status with their codes', () => {
    const ids = operations().map(([, op]) => op.operationId);
    expect(new Set(ids).size).toBe(12);
    for (const [route, op] of operations()) {
      expect(op.operationId, route).toMatch(/^[A-Za-z]+$/);
      expect(op.security, route).toBeDefined();
      for (const requirement of op.security ?? [])
        for (const scheme of Object.keys(requirement)) expect(doc.components.securitySchemes, route).toHaveProperty(scheme);
      for (const [status, response] of Object.entries(op.responses)) {
        expect(response.description, `${route} ${status}`).not.toBe('Default Response');
        const codes = response.content?.['application/json']?.schema.properties?.error?.enum;
        if (Number(status) < 400 || (route === 'GET /readyz' && status === '503')) continue;
        expect(codes, `${route} ${status}`).toBeDefined();
        for (const code of codes ?? []) expect(ERRORS[code as ErrorCode]?.status, `${route} ${status} ${code}`).toBe(Number(status));
        if (status === '401') expect(response.headers, route).toHaveProperty('WWW-Authenticate');
        if (status === '429') expect(response.headers, route).toHaveProperty('Retry-After');
      }
    }
    expect(operation('POST /auth/login').responses['429']).toBeDefined();
    expect(operation('POST /auth/register').responses['409']).toBeDefined();
    expect(operation('DELETE /auth/sessions/{id}').responses['404']).toBeDefined();
    expect(operation('POST /auth/password').responses['401']?.content?.['application/json']?.schema.properties?.error?.enum).toContain(
      'fresh_token_required',
    );
  });

  it('describes the optional bodies of refresh and logout, the token cookies with their prefixes, and the CSRF header', () => {
    for (const route of ['POST /auth/refresh', 'POST /auth/logout']) {
      const body = operation(route).requestBody;
      expect(body?.required, route).toBe(false);
      expect(body?.content['application/json']?.schema.properties, route).toHaveProperty('refresh_token');
    }
    const schemes = doc.components.securitySchemes;
    const cookies = Object.values(schemes).filter((s) => s.type === 'apiKey' && s.in === 'cookie');
    expect(cookies.map((s) => s.name).sort()).toEqual(['__Host-tessera-access', '__Secure-tessera-refresh']);
    expect(Object.values(schemes)).toContainEqual(expect.objectContaining({ type: 'apiKey', in: 'header', name: 'X-CSRF-Token' }));
    expect(Object.values(schemes).filter((s) => s.type === 'http' && s.scheme === 'bearer')).toHaveLength(2);
    // A cookie-borne write needs the CSRF header beside the cookie.
    expect(operation('POST /auth/logout-all').security).toContainEqual({ accessCookie: [], csrfHeader: [] });
    expect(operation('POST /auth/refresh').security).toContainEqual({ refreshCookie: [], csrfHeader: [] });
    expect(doc.info.license?.name).toBe('MIT');
    expect(doc.servers).toEqual([expect.objectContaining({ url: '/' })]);
    for (const tag of doc.tags ?? []) expect(tag.description, tag.name).toBeTruthy();
  });

  it('lists what the server answers to bad requests of every kind, on every operation', async () => {
    const documented = (route: string, answer: Answer): void => {
      const response = operation(route).responses[String(answer.status)];
      expect(response, `${route} answered ${answer.status}: ${answer.text}`).toBeDefined();
      if (answer.status < 400) return;
      expect(response?.content?.['application/json']?.schema.properties?.error?.enum, `${route} answered ${answer.text}`).toContain(answer.code);
    };
    const big = JSON.stringify({ pad: 'x'.repeat(17 * 1024) });
    for (const [route] of operations()) {
      const [method, template] = route.split(' ') as [string, string];
      const path = template.replace('{id}', 'x'.repeat(65));
      documented(route, await call(server.url, method, path, { bearer: 'not-a-token' }));
      if (method === 'GET') continue;
      documented(route, await call(server.url, method, path, { body: 'hello', contentType: 'text/plain' }));
      documented(route, await call(server.url, method, path, { body: '{"a":' }));
      documented(route, await call(server.url, method, path, { body: big }));
    }
  });

  it('is listed on the static /docs page by default, with who may call each operation', async () => {
    const page = await call(server.url, 'GET', '/docs');
    expect(page.header('content-type')).toMatch(/^text\/html/);
    expect(page.text).toContain('<td><code>/auth/sessions/{id}</code></td>');
    expect(page.text).toContain('(Bearer access token, or __Host-tessera-access cookie + X-CSRF-Token header)');
    expect(page.text).not.toContain('swagger');
  });

  it('still validates the same bodies: refresh and logout take any body to the library, the others are checked by their schema', async () => {
    // No body, and a refresh_token that is not a string: the library's answers, not a schema's 422.
    expect((await call(server.url, 'POST', '/auth/refresh')).body).toMatchObject({ error: 'token_missing' });
    expect((await call(server.url, 'POST', '/auth/refresh', { json: { refresh_token: 5 } })).body).toMatchObject({ error: 'invalid_request' });
    expect((await call(server.url, 'POST', '/auth/logout', { json: [1] })).body).toMatchObject({ error: 'token_missing' });
    const login = await call(server.url, 'POST', '/auth/login', { json: { username: 'someone', password: 'x'.repeat(4097) } });
    expect(login.status).toBe(422);
  });
});

describe('the OpenAPI document with OAuth on', () => {
  let server: OAuthServer;
  let doc: Document;
  let text: string;
  const folder = mkdtempSync(join(tmpdir(), 'tessera-openapi-oauth-'));

  beforeAll(async () => {
    server = await startOAuthServer();
    const reply = await call(server.url, 'GET', '/openapi.json');
    text = reply.text;
    doc = JSON.parse(text) as Document;
  });
  afterAll(async () => {
    await server?.close();
    rmSync(folder, { recursive: true, force: true });
  });

  const FORM_ENDPOINTS = ['/oauth/token', '/oauth/revoke', '/oauth/introspect'] as const;

  it("passes Redocly's recommended rules with the OAuth operations in it: the whole document, no error and no warning", async () => {
    const file = join(folder, 'openapi.json');
    writeFileSync(file, text);
    const report = await redoclyLint(file, folder);
    expect(report.problems.map((p) => `${p.severity} ${p.ruleId} at ${p.location[0]?.pointer ?? '?'}: ${p.message}`)).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  });

  it('describes the token, revocation and introspection endpoints: form bodies, client authentication, OAuth-shaped refusals', () => {
    expect(doc.components.securitySchemes.oauthClientBasic).toMatchObject({ type: 'http', scheme: 'basic' });
    for (const path of FORM_ENDPOINTS) {
      const op = doc.paths[path]?.post;
      expect(op, path).toBeDefined();
      expect(op?.operationId, path).toMatch(/^oauth[A-Z]/);
      expect(op?.security, path).toContainEqual({ oauthClientBasic: [] });
      expect(op?.requestBody?.content['application/x-www-form-urlencoded'], path).toBeDefined();
      for (const [status, response] of Object.entries(op?.responses ?? {})) {
        if (Number(status) < 400) continue;
        const schema = response.content?.['application/json']?.schema as ErrorSchema & { required?: string[] };
        expect(schema.required, `${path} ${status}`).toEqual(['error', 'error_description']);
        for (const code of schema.properties?.error?.enum ?? [])
          expect(ERRORS[code as ErrorCode]?.status, `${path} ${status} ${code}`).toBe(Number(status));
        if (status === '401') expect(response.headers, path).toHaveProperty('WWW-Authenticate');
      }
    }
    const token = doc.paths['/oauth/token']?.post?.responses['400']?.content?.['application/json']?.schema.properties?.error?.enum;
    expect(token).toEqual(
      expect.arrayContaining(['invalid_request', 'invalid_grant', 'unsupported_grant_type', 'invalid_dpop_proof', 'use_dpop_nonce']),
    );
  });

  it('lists what the OAuth endpoints answer to bad requests of every kind', async () => {
    const big = new URLSearchParams({ pad: 'x'.repeat(9 * 1024) }).toString();
    for (const path of FORM_ENDPOINTS) {
      const op = doc.paths[path]?.post as Operation;
      for (const answer of [
        await call(server.url, 'POST', path, { bearer: 'not-a-token' }),
        await call(server.url, 'POST', path, { body: 'hello', contentType: 'text/plain' }),
        await call(server.url, 'POST', path, { body: '{"a":' }),
        await call(server.url, 'POST', path, { body: big, contentType: 'application/x-www-form-urlencoded' }),
        await call(server.url, 'POST', path, { form: { client_id: 'nobody' } }),
        await call(server.url, 'POST', path, { body: 'a=1&a=2', contentType: 'application/x-www-form-urlencoded' }),
      ]) {
        const response = op.responses[String(answer.status)];
        expect(response, `${path} answered ${answer.status}: ${answer.text}`).toBeDefined();
        expect(response?.content?.['application/json']?.schema.properties?.error?.enum, `${path} answered ${answer.text}`).toContain(
          answer.json.error,
        );
      }
    }
  });
});
