// The README's curl walk-through, run for real against `tessera serve` in a child process: each
// `# {…}` comment line must match the output line it documents (… matches anything).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { spawnServer, sqliteBackend, type ServerProcess } from '@tessera/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const run = promisify(execFile);

function walkthrough(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('## The server in one walk');
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(start));
  if (block?.[1] === undefined) throw new Error('README has no walk-through block');
  return block[1];
}

describe('README walk-through', () => {
  const backend = sqliteBackend();
  let server: ServerProcess | undefined;

  beforeAll(async () => {
    // `tessera serve` as the README runs it (the built CLI), over a SQLite file of its own.
    server = await spawnServer({ ...backend.env, TESSERA_LOG_LEVEL: 'warn' });
  });

  afterAll(async () => {
    await server?.stop();
    await backend.cleanup();
  });

  it('answers as the README says', async () => {
    const script = walkthrough();
    const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', script], { env: { ...process.env, TESSERA_URL: server!.url }, timeout: 40_000 });
    const expected = script
      .split('\n')
      .filter((line) => line.startsWith('# {'))
      .map(
        (line) =>
          new RegExp(
            `^${line
              .slice(2)
              .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
              .replace(/…/g, '.*')}$`,
          ),
      );
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(expected.length);
    for (const [i, pattern] of expected.entries()) expect(lines[i]).toMatch(pattern);
  }, 45_000);
});
