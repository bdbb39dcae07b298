// The OpenAPI document of a server during a cut-over: POST /auth/exchange is in it, Redocly's recommended
// rules find nothing wrong, and its refusals are listed under their statuses; without a cut-over it is absent.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ERRORS, type ErrorCode } from '@tessera/auth/protocol';
import { sqliteBackend } from '@tessera/test-kit';
import { afterAll, describe, expect, it } from 'vitest';
import { call, startServer } from '../support/harness.js';
import { isoDaysAhead, legacySecret } from './support.js';
import { redoclyLint } from '../support/redocly.js';

interface Operation {
  operationId?: string;
  requestBody?: { required?: boolean; content: Record<string, { schema: { required?: string[] } }> };
  responses: Record<
    string,
    { headers?: Record<string, unknown>; content?: Record<string, { schema: { properties?: { error?: { enum?: string[] } } } }> }
  >;
}

describe('the OpenAPI document during a cut-over', () => {
  const backend = sqliteBackend();
  const folder = mkdtempSync(join(tmpdir(), 'tessera-legacy-openapi-'));
  afterAll(async () => {
    await backend.cleanup();
    rmSync(folder, { recursive: true, force: true });
  });

  it('documents POST /auth/exchange, lint-clean, with its refusals by status', async () => {
    const server = await startServer({
      ...backend.env,
      TESSERA_LEGACY_FORMAT: 'simplejwt',
      TESSERA_LEGACY_SECRET: legacySecret(),
      TESSERA_LEGACY_UNTIL: isoDaysAhead(5),
    });
    try {
      const text = (await call(server.url, 'GET', '/openapi.json')).text;
      const file = join(folder, 'openapi.json');
      writeFileSync(file, text);
      const report = await redoclyLint(file, folder);
      expect(report.problems.map((p) => `${p.ruleId}: ${p.message}`)).toEqual([]);
      expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
      const op = (JSON.parse(text) as { paths: Record<string, Record<string, Operation>> }).paths['/auth/exchange']?.post;
      expect(op?.operationId).toBe('exchangeLegacyToken');
      expect(op?.requestBody?.content['application/json']?.schema.required).toEqual(['refresh_token']);
      const unauthorized = op?.responses['401'];
      expect(unauthorized?.headers).toHaveProperty('WWW-Authenticate');
      expect(unauthorized?.content?.['application/json']?.schema.properties?.error?.enum).toEqual(
        expect.arrayContaining(['legacy_token_reused', 'legacy_cutover_ended', 'token_revoked', 'token_type_invalid', 'user_invalid']),
      );
      for (const [status, response] of Object.entries(op?.responses ?? {}))
        for (const code of response.content?.['application/json']?.schema.properties?.error?.enum ?? [])
          expect(ERRORS[code as ErrorCode]?.status, code).toBe(Number(status));
    } finally {
      await server.close();
    }
  });

  it('has no exchange route without a cut-over', async () => {
    const server = await startServer(backend.env);
    try {
      const doc = (await call(server.url, 'GET', '/openapi.json')).json as { paths: Record<string, unknown> };
      expect(doc.paths['/auth/exchange']).toBeUndefined();
      expect((await call(server.url, 'POST', '/auth/exchange', { json: { refresh_token: 'x' } })).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
