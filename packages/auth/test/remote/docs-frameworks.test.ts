// docs/resource-server.md "One example per framework": its samples (`typescript` fences, since they need a running
// auth server, never run by test/docs.test.ts) are type-checked here, strictly, against the built package as a user
// imports it, each beside the shared `verifier` sample. adapters.test.ts runs the same apps over real sockets.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..', '..', '..');
const text = readFileSync(join(ROOT, 'docs', 'resource-server.md'), 'utf8');
const start = text.indexOf('## One example per framework');
const section = text.slice(start, text.indexOf('\n## ', start + 1));
const samples = [...section.matchAll(/^```typescript\n([\s\S]*?)^```$/gm)].map((m) => m[1] ?? '');

// Inside the repository's node_modules (git-ignored), so that `@tessera/auth/...` resolves as in an app.
mkdirSync(join(ROOT, 'node_modules', '.cache'), { recursive: true });
const dir = mkdtempSync(join(ROOT, 'node_modules', '.cache', 'resource-server-samples-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('docs/resource-server.md framework samples', () => {
  it('has the verifier and one sample per framework', () => {
    expect(samples).toHaveLength(6);
    expect(samples[0]).toContain('createRemoteVerifier');
  });

  it('type-check strictly against the built package (Express, Fastify, Hono, NestJS, Next.js)', () => {
    const [verifier = '', ...frameworks] = samples;
    mkdirSync(join(dir, 'lib'));
    writeFileSync(join(dir, 'lib', 'verifier.ts'), verifier);
    const files = frameworks.map((code, i) => {
      const file = join(dir, `sample-${i}.ts`);
      // The samples use the `verifier` of the first one, imported as an app would (Next.js by its `@/` alias).
      writeFileSync(file, code.includes("from '@/lib/verifier'") ? code : `import { verifier } from './lib/verifier.js';\n${code}`);
      return file;
    });
    const program = ts.createProgram(files, {
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      experimentalDecorators: true,
      types: ['node'],
      baseUrl: dir,
      paths: { '@/lib/verifier': ['./lib/verifier.ts'] },
    });
    const problems = ts
      .getPreEmitDiagnostics(program)
      .map((d) => `${d.file?.fileName.slice(dir.length) ?? ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
    expect(problems).toEqual([]);
    expect(files.every((file) => program.getSourceFile(file) !== undefined)).toBe(true);
  });

  it('and the same check refuses what the types must refuse: handlers over a remote verifier', () => {
    const file = join(dir, 'handlers.ts');
    writeFileSync(
      file,
      "import { tessera } from '@tessera/auth/express';\nimport { verifier } from './lib/verifier.js';\nexport const login = tessera(verifier).login(() => null);\n",
    );
    const program = ts.createProgram([file], {
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      types: ['node'],
    });
    const problems = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(problems.join('\n')).toMatch(/Property 'login' does not exist/);
  });
});
