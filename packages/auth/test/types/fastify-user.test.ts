// The Fastify user registry (`declare module ... { interface FastifyTesseraTypes { user } }`, as
// @fastify/jwt types `request.user`) is module augmentation: global to whatever program contains it.
// Checked here in a program of its own, so that the repository's program keeps `unknown`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..', '..', '..');
const file = join(import.meta.dirname, 'virtual-fastify-user.ts');

/** The errors in `source`, compiled alone (as if it sat beside this test) with the repository's compiler options. */
function diagnose(source: string): string[] {
  const base = ts.parseJsonConfigFileContent(JSON.parse(readFileSync(join(root, 'tsconfig.base.json'), 'utf8')) as unknown, ts.sys, root);
  const options = { ...base.options, noEmit: true };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, version, ...rest) =>
    name === file ? ts.createSourceFile(name, source, version) : getSourceFile(name, version, ...rest);
  host.fileExists = (name) => name === file || ts.sys.fileExists(name);
  const program = ts.createProgram({ rootNames: [file], options, host });
  // Only the snippet is checked: the sources it imports are checked by the repository's own tsc run.
  const virtual = program.getSourceFile(file);
  const diagnostics = [...program.getOptionsDiagnostics(), ...program.getSyntacticDiagnostics(virtual), ...program.getSemanticDiagnostics(virtual)];
  return diagnostics.map((d) => `${d.file === undefined ? '' : `line ${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}: `}TS${d.code}`);
}

// Each @ts-expect-error must meet its error, or TS2578 is reported: without the registration the
// first one would be unused (lookupUser could answer anything) and `identity` would not be a User.
const SNIPPET = `
import type { FastifyRequest } from 'fastify';
import Fastify from 'fastify';
import { tessera } from '../../src/adapters/fastify.js';
import type { Identity } from '../../src/adapters/adapter-kit.js';
import type { Tessera } from '../../src/core/tessera.js';
interface User { id: string; roles: string[] }
declare module '../../src/adapters/fastify.js' {
  interface FastifyTesseraTypes { user: User; claims: { tenant: string } }
}
declare const auth: Tessera;
declare const request: FastifyRequest;
const app = Fastify();
await app.register(tessera, { auth, lookupUser: (claims) => ({ id: claims.sub, roles: [] }) });
// @ts-expect-error -- lookupUser must answer the registered User
await app.register(tessera, { auth, lookupUser: () => ({ id: 1 }) });
const identity: Identity<User, { tenant: string }> = app.tessera.identity(request);
export const tenant: string = identity.claims.tenant;
// @ts-expect-error -- the registered claims type the tenant as a string
export const tenantNumber: number = identity.claims.tenant;
app.get('/me', { preHandler: app.tessera.required({ claims: (claims) => claims.tenant === 'acme' }) }, app.tessera.authed(async (req) => req.auth.user?.roles));
// @ts-expect-error -- the user is a User, not a number
export const wrong: number | undefined = identity.user;
export const roles: string[] | undefined = identity.user?.roles;
// The control: the one error this snippet must report, so a silent harness cannot pass.
export const control: string = identity.user;
`;

describe('fastify user registry', () => {
  it('types lookupUser and identity() with the registered user, and refuses a lookupUser of another type', { timeout: 30_000 }, () => {
    const lines = SNIPPET.split('\n');
    expect(diagnose(SNIPPET)).toEqual([`line ${lines.findIndex((l) => l.startsWith('export const control')) + 1}: TS2322`]);
  });
});
