// The server as a real process (`tessera serve`, the built CLI): killed with SIGKILL in the middle
// of a login and refresh load it loses no committed session (every login that got a 200 can still
// refresh after a restart), and SIGTERM drains (requests in flight when it arrives complete with
// their normal answer, new connections are refused, the process exits 0).
import { connect, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import {
  call,
  claimsOf,
  PASSWORD,
  postgresBackend,
  register,
  sleep,
  sqliteBackend,
  uniqueName,
  type Backend,
  type ServerProcess,
} from '@tessera/test-kit';
import { spawnServer } from './support.js';

const spawned: ServerProcess[] = [];
const backends: Backend[] = [];

afterAll(async () => {
  for (const p of spawned) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  for (const b of backends) await b.cleanup();
});

async function start(env: Readonly<Record<string, string>>, port?: number): Promise<ServerProcess> {
  const p = await spawnServer(env, { port });
  spawned.push(p);
  return p;
}

interface Held {
  refresh: string;
  /** The login answered 200: the session was committed before the answer left. */
  readonly sid: string;
}

describe.each([
  ['SQLite (WAL)', () => Promise.resolve(sqliteBackend())],
  ['Postgres + Redis', () => postgresBackend('sigkill', 15)],
] as const)('SIGKILL mid-load on %s', (name, makeBackend) => {
  it('every login that got a 200 can still refresh after a restart', { timeout: 60_000 }, async () => {
    const backend = await makeBackend();
    backends.push(backend);
    const env = { ...backend.env, TESSERA_MAX_SESSIONS: '0', TESSERA_HASH_CONCURRENCY: '2' };
    const first = await start(env);
    const usernames = await Promise.all(Array.from({ length: 4 }, () => register(first.url, uniqueName('kill')).then((u) => u.username)));
    const held: Held[] = [];
    let killed = false;
    let failures = 0;
    let rotations = 0;
    const worker = async (w: number): Promise<void> => {
      for (let i = 0; !killed; i++) {
        try {
          if (held.length < 4 || i % 2 === 0) {
            const reply = await fetch(`${first.url}/auth/login`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ username: usernames[(w + i) % usernames.length], password: PASSWORD }),
            });
            if (reply.status === 200) {
              const body = (await reply.json()) as { refresh_token: string };
              held.push({ refresh: body.refresh_token, sid: String(claimsOf(body.refresh_token).sid) });
            } else failures++;
          } else {
            const s = held[Math.floor(Math.random() * held.length)] as Held;
            const sent = s.refresh;
            const reply = await fetch(`${first.url}/auth/refresh`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ refresh_token: sent }),
            });
            // Keep the newest token we were given (another worker may have rotated meanwhile).
            if (reply.status === 200) rotations++;
            if (reply.status === 200 && s.refresh === sent) s.refresh = ((await reply.json()) as { refresh_token: string }).refresh_token;
            else await reply.arrayBuffer();
          }
        } catch {
          // The kill: requests in flight get no answer. What was answered 200 is what counts.
          if (!killed) failures++;
        }
      }
    };
    const load = Promise.all(Array.from({ length: 6 }, (_, w) => worker(w)));
    await sleep(1500);
    first.child.kill('SIGKILL');
    killed = true;
    const exit = await first.exited;
    await load;
    expect(exit.signal).toBe('SIGKILL');
    expect(failures).toBe(0);
    expect(held.length).toBeGreaterThan(4);

    // Same database, new process; within the reuse grace, so a rotation whose answer the kill lost still answers.
    const second = await start(env);
    const refused: string[] = [];
    for (const s of held) {
      const reply = await call(second.url, 'POST', '/auth/refresh', { json: { refresh_token: s.refresh } });
      if (reply.status !== 200) refused.push(`${s.sid}: ${reply.status} ${reply.code ?? ''}`);
    }
    console.log(`SIGKILL on ${name}: ${held.length} sessions logged in, ${rotations} rotations answered, all refreshed after the restart`);
    expect(refused).toEqual([]);
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  });
});

/** Writes the head of a login and half its body on a fresh connection; `finish()` sends the rest and resolves to the whole answer. */
function halfSentLogin(url: string, username: string): Promise<{ finish(): Promise<string>; socket: Socket }> {
  const { hostname, port } = new URL(url);
  const body = JSON.stringify({ username, password: PASSWORD });
  const head = `POST /auth/login HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`;
  const cut = Math.floor(body.length / 2);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) }, () => {
      socket.write(head + body.slice(0, cut));
      let text = '';
      const done = new Promise<string>((res) => {
        socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        socket.on('close', () => res(text));
      });
      resolve({
        socket,
        finish: async () => {
          socket.write(body.slice(cut));
          return done;
        },
      });
    });
    socket.on('error', reject);
  });
}

describe('SIGTERM drains', () => {
  it(
    'requests in flight when SIGTERM arrives complete with their normal answer; new connections are refused; exit 0',
    { timeout: 60_000 },
    async () => {
      const backend = sqliteBackend();
      backends.push(backend);
      // One hash at a time: the fully sent logins queue behind each other and are still running at SIGTERM.
      const server = await start({ ...backend.env, TESSERA_HASH_CONCURRENCY: '1' });
      const username = (await register(server.url, uniqueName('term'))).username;
      const halfSent = await Promise.all(Array.from({ length: 4 }, () => halfSentLogin(server.url, username)));
      const queued = Array.from({ length: 8 }, () =>
        fetch(`${server.url}/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', connection: 'close' },
          body: JSON.stringify({ username, password: PASSWORD }),
        }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> })),
      );
      // Let the server read every head before the signal.
      await sleep(150);
      server.child.kill('SIGTERM');
      await sleep(300);
      // It no longer accepts connections...
      const refusedConnection = await new Promise<string>((resolve) => {
        const probe = connect({ host: '127.0.0.1', port: Number(new URL(server.url).port) });
        probe.on('connect', () => {
          probe.destroy();
          resolve('connected');
        });
        probe.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
      });
      expect(refusedConnection).toBe('ECONNREFUSED');
      // ...but finishes what it had started: the half-sent bodies arrive after the signal and are answered normally.
      const answers = await Promise.all(halfSent.map((h) => h.finish()));
      for (const raw of answers) {
        expect(raw).toMatch(/^HTTP\/1\.1 200 /);
        const body = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
        expect(typeof body.access_token).toBe('string');
        expect(typeof body.refresh_token).toBe('string');
      }
      for (const reply of await Promise.all(queued)) {
        expect(reply.status).toBe(200);
        expect(typeof reply.body.refresh_token).toBe('string');
      }
      const exit = await server.exited;
      expect(exit).toEqual({ code: 0, signal: null });
    },
  );
});
