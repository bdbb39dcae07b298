// The README's curl walk-through, run for real against `tessera serve` in a child process: each
// `# {…}` comment line must match the output line it documents (… matches anything).
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const run = promisify(execFile);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function walkthrough(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('## The server in one walk');
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(start));
  if (block?.[1] === undefined) throw new Error('README has no walk-through block');
  return block[1];
}

describe('README walk-through', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-walk-'));
  let url = '';
  let server: ReturnType<typeof spawn> | undefined;

  beforeAll(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    server = spawn(process.execPath, [join(root, 'packages/server/dist/cli.js'), 'serve'], {
      env: { ...process.env, TESSERA_PORT: String(port), TESSERA_DATABASE_URL: `sqlite:${join(dir, 't.db')}`, TESSERA_LOG_LEVEL: 'warn' },
      stdio: 'ignore',
    });
    for (let i = 0; i < 100; i++) {
      if (
        await fetch(`${url}/healthz`).then(
          (r) => r.ok,
          () => false,
        )
      )
        return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error('the server did not start');
  });

  afterAll(() => {
    server?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers as the README says', async () => {
    const script = walkthrough();
    const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', script], { env: { ...process.env, TESSERA_URL: url }, timeout: 40_000 });
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
