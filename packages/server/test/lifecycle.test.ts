// Starting and stopping like a well-behaved service, on real `tessera serve` processes and real signals:
// one startup summary (stores without credentials, the signing key, warnings, unknown TESSERA_* names);
// SIGTERM drains (unready at once, idle keep-alive connections closed, requests in flight finished,
// bounded by TESSERA_DRAIN_TIMEOUT; a second signal exits at once); and `npm start` passes the signal on.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, sleep, sqliteBackend, waitFor, type ServerProcess } from '@tessera/test-kit';
import { redactUrl } from '../src/startup.js';
import { NOT_SETTINGS, SETTINGS, unknownVariables } from '../src/settings.js';
import { call, spawnServer } from './support/harness.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');

/** A raw connection to the server, collecting what it answers. */
interface Raw {
  readonly socket: Socket;
  /** Everything received so far. */
  text(): string;
  /** Resolves with the time it closed (Date.now()). */
  readonly closed: Promise<number>;
}

async function raw(port: number, first: string): Promise<Raw> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
  socket.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
  socket.write(first);
  return { socket, text: () => text, closed };
}

/** A login whose body is sent in two parts: the request is in flight until `rest` is written. */
function slowLogin(): { head: string; rest: string } {
  const body = JSON.stringify({ username: 'nobody-here', password: 'not the password at all' });
  const head = `POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
  return { head: head + body.slice(0, 10), rest: body.slice(10) };
}

/** The JSON log lines a process wrote. */
const logLines = (output: string): Record<string, unknown>[] =>
  output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('startup summary', () => {
  const backend = sqliteBackend();
  let server: ServerProcess | undefined;
  afterAll(async () => {
    await server?.stop();
    await backend.cleanup();
  });

  it('logs one line with version, URL, database, Redis, algorithm, signing kid and transports, and warns once per problem', async () => {
    server = await spawnServer({
      ...backend.env,
      TESSERA_LOG_LEVEL: 'info',
      TESSERA_COOKIE_SECURE: 'false',
      TESSERA_CORS_ORIGINS: '*',
      // Unknown names warn (with the nearest setting when one is close), never refuse; allowed ones stay quiet.
      TESSERA_PROT: '9999',
      TESSERA_ACESS_TTL: '5m',
      TESSERA_NOTHING_LIKE_ANY: 'x',
      TESSERA_TEST_WHATEVER: 'x',
      TESSERA_BENCH_WHATEVER: 'x',
      TESSERA_PASSWORD: 'x',
      TESSERA_URL: 'http://x',
    });
    await waitFor('the summary', () => server!.output().includes('tessera serve started'), 5000);
    const lines = logLines(server.output());
    const summaries = lines.filter((l) => l.msg === 'tessera serve started');
    expect(summaries).toHaveLength(1);
    const kid = ((await call(server.url, 'GET', '/.well-known/jwks.json')).body as { keys: { kid: string }[] }).keys[0]?.kid;
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as { version: string };
    expect(summaries[0]).toMatchObject({
      level: 30,
      version: pkg.version,
      url: server.url,
      database: backend.env.TESSERA_DATABASE_URL,
      redis: 'none',
      alg: 'EdDSA',
      kid,
      transports: ['bearer', 'hybrid'],
    });
    const warnings = lines.filter((l) => l.level === 40).map((l) => String(l.msg));
    const about = (name: string) => warnings.filter((w) => w.startsWith(`${name} `));
    expect(about('TESSERA_PROT')).toEqual(['TESSERA_PROT is not a Tessera setting and is ignored: did you mean TESSERA_PORT?']);
    expect(about('TESSERA_ACESS_TTL')).toEqual(['TESSERA_ACESS_TTL is not a Tessera setting and is ignored: did you mean TESSERA_ACCESS_TTL?']);
    expect(about('TESSERA_NOTHING_LIKE_ANY')).toEqual(['TESSERA_NOTHING_LIKE_ANY is not a Tessera setting and is ignored']);
    for (const quiet of ['TESSERA_TEST_WHATEVER', 'TESSERA_BENCH_WHATEVER', 'TESSERA_PASSWORD', 'TESSERA_URL'])
      expect(warnings.join('\n')).not.toContain(quiet);
    expect(about('TESSERA_COOKIE_SECURE')).toHaveLength(1);
    expect(about('TESSERA_ISSUER')).toHaveLength(1);
    expect(about('TESSERA_CORS_ORIGINS')).toHaveLength(1);
    // The summary carries every warning, the key store's (unencrypted keys) included.
    const listed = summaries[0]?.warnings as string[];
    for (const warning of warnings.filter((w) => w.startsWith('TESSERA_'))) expect(listed).toContain(warning);
    expect(listed.some((w) => /unencrypted/.test(w))).toBe(true);
    // And the server serves: a warning is never a refusal.
    expect((await call(server.url, 'GET', '/readyz')).status).toBe(200);
  });

  it('shows database and Redis URLs without credentials', () => {
    expect(redactUrl('sqlite:./data/tessera.db')).toBe('sqlite:./data/tessera.db');
    expect(redactUrl('postgres://app:hunter2@db.internal:5432/auth?sslmode=require&password=hunter3&sslpassword=hunter4')).toBe(
      'postgres://***@db.internal:5432/auth?sslmode=require&password=***&sslpassword=***',
    );
    expect(redactUrl('postgresql://app@db/auth')).toBe('postgresql://***@db/auth');
    expect(redactUrl('rediss://:hunter2@cache:6380/0')).toBe('rediss://***@cache:6380/0');
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
  });

  it('knows every TESSERA_* name the project reads: settings, and the allow-list beside them', () => {
    const settings = Object.values(SETTINGS).map((s) => s.env);
    const env = Object.fromEntries(
      [...settings, 'TESSERA_CONFIG', 'TESSERA_PASSWORD', 'TESSERA_URL', 'TESSERA_TEST_DATABASE_URL'].map((n) => [n, '']),
    );
    expect(unknownVariables(env)).toEqual([]);
    for (const allowed of NOT_SETTINGS) expect(settings).not.toContain(allowed);
    expect(unknownVariables({ TESSERA_HSOT: 'x', OTHER: 'x' })).toEqual([
      'TESSERA_HSOT is not a Tessera setting and is ignored: did you mean TESSERA_HOST?',
    ]);
  });
});

describe('SIGTERM and SIGINT drain the server', () => {
  const backend = sqliteBackend();
  const servers: ServerProcess[] = [];
  afterAll(async () => {
    for (const server of servers) await server.stop(1000);
    await backend.cleanup();
  });
  const start = async (env: Record<string, string> = {}): Promise<ServerProcess> => {
    const server = await spawnServer({ ...backend.env, TESSERA_LOG_LEVEL: 'info', ...env });
    servers.push(server);
    return server;
  };

  it('does not wait for an idle keep-alive connection: the process ends within a second', async () => {
    const server = await start();
    const idle = await raw(server.port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n');
    await waitFor('the answer', () => idle.text().includes('"status":"ok"'));
    expect(idle.text()).toMatch(/connection: keep-alive/i);
    const signalled = Date.now();
    server.child.kill('SIGTERM');
    const { code } = await server.exited;
    const took = Date.now() - signalled;
    expect(code).toBe(0);
    expect(took).toBeLessThan(1000);
    expect((await idle.closed) - signalled).toBeLessThan(1000);
    const steps = logLines(server.output()).map((l) => l.msg);
    for (const step of [/^draining/, /^stopped accepting/, /^every request finished/, /closed$/, /^stopped$/])
      expect(
        steps.some((m) => step.test(String(m))),
        String(step),
      ).toBe(true);
  });

  it('lets a request in flight finish, answers /readyz 503 "draining" meanwhile, then exits', async () => {
    const server = await start();
    const login = slowLogin();
    const inFlight = await raw(server.port, login.head);
    // A readiness probe whose request line is on the wire but whose headers are not finished: in flight too.
    const probe = await raw(server.port, 'GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    await sleep(200);
    const signalled = Date.now();
    server.child.kill('SIGTERM');
    await sleep(300);
    // New connections are refused at once.
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
    probe.socket.write('\r\n');
    await waitFor('the probe answer', () => probe.text().includes('}'));
    expect(probe.text()).toMatch(/^HTTP\/1\.1 503 /);
    expect(probe.text()).toMatch(/connection: close/i);
    expect(JSON.parse(probe.text().slice(probe.text().indexOf('\r\n\r\n') + 4))).toMatchObject({
      status: 'unavailable',
      detail: expect.stringMatching(/draining/),
    });
    // The login is still in flight; the process waits for it.
    await sleep(500);
    expect(server.child.exitCode).toBeNull();
    const finished = Date.now();
    inFlight.socket.write(login.rest);
    await waitFor('the login answer', () => /\r\n\r\n\{.*\}$/s.test(inFlight.text()), 5000);
    expect(inFlight.text()).toMatch(/^HTTP\/1\.1 401 /);
    expect(inFlight.text()).toContain('"error":"invalid_credentials"');
    expect(inFlight.text()).toMatch(/connection: close/i);
    const { code } = await server.exited;
    expect(code).toBe(0);
    // It ended after the login, well before the drain timeout (10 s).
    expect(Date.now()).toBeGreaterThanOrEqual(finished);
    expect(Date.now() - signalled).toBeLessThan(5000);
    await inFlight.closed;
  });

  it('exits at once on a second signal, however long the drain would take', async () => {
    const server = await start();
    const stuck = await raw(server.port, slowLogin().head);
    await sleep(200);
    server.child.kill('SIGTERM');
    await sleep(300);
    expect(server.child.exitCode).toBeNull();
    const second = Date.now();
    server.child.kill('SIGINT');
    const { code } = await server.exited;
    // At once: the drain would have taken its whole 10 s.
    expect(Date.now() - second).toBeLessThan(1000);
    expect(code).toBe(130);
    expect(server.output()).toContain('second signal: exiting at once');
    stuck.socket.destroy();
  });

  it('cuts a request that never ends once TESSERA_DRAIN_TIMEOUT is up', async () => {
    const server = await start({ TESSERA_DRAIN_TIMEOUT: '1s' });
    const never = await raw(server.port, slowLogin().head);
    await sleep(200);
    const signalled = Date.now();
    server.child.kill('SIGTERM');
    const { code } = await server.exited;
    const took = Date.now() - signalled;
    expect(code).toBe(0);
    expect(took).toBeGreaterThanOrEqual(1000);
    expect(took).toBeLessThan(2500);
    expect((await never.closed) - signalled).toBeLessThan(2500);
    expect(server.output()).toMatch(/drain time is up/);
  });
});

/** The processes below `pid`, from /proc (Linux). */
function descendants(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  const walk = (parent: number): void => {
    for (const [child, of] of parents)
      if (of === parent) {
        found.push(child);
        walk(child);
      }
  };
  walk(pid);
  return found;
}

const alive = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
};

describe('npm start', () => {
  const backend = sqliteBackend();
  afterAll(() => backend.cleanup());

  // The root script builds first and then runs the server's own start script's command; spawning the root script
  // here would rebuild dist/ under the suites running beside this one, so the signal path (npm → sh → exec node) is
  // driven through the server package's script, and the root script is held to the same exec.
  it('runs the server last with exec, in the root script as in the server package', () => {
    const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const server = JSON.parse(readFileSync(join(ROOT, 'packages', 'server', 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(root.scripts.start).toMatch(/&& exec node packages\/server\/dist\/cli\.js serve$/);
    expect(server.scripts.start).toMatch(/^exec node \.\/dist\/cli\.js serve$/);
  });

  it('passes SIGINT on to the server: no process of it is left', { timeout: 60_000 }, async () => {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('TESSERA_')) env[key] = value;
    Object.assign(env, backend.env, { TESSERA_PORT: String(port), TESSERA_LOG_LEVEL: 'info', TESSERA_PURGE_INTERVAL: '0' });
    const npm = spawn('npm', ['start', '--workspace', '@tessera/server'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    npm.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    npm.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
    let tree: number[] = [];
    try {
      await waitFor(
        'npm start to serve',
        async () => {
          if (npm.exitCode !== null) throw new Error(`npm start ended:\n${output}`);
          return fetch(`http://127.0.0.1:${port}/healthz`).then(
            (r) => r.ok,
            () => false,
          );
        },
        30_000,
        200,
      );
      tree = descendants(npm.pid!);
      expect(tree.length).toBeGreaterThan(0);
      npm.kill('SIGINT');
      await exited;
      await waitFor('every process of npm start to end', () => tree.every((pid) => !alive(pid)), 5000, 50);
      await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
      expect(output).toMatch(/"msg":"stopped"/);
    } finally {
      if (npm.exitCode === null) npm.kill('SIGKILL');
      for (const pid of tree) if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
  });
});
