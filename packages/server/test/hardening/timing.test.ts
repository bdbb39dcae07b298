// Login timing: an unknown user and a known user with a wrong password must be indistinguishable
// (OWASP Authentication cheat sheet: no quick exit; security.md §1 item 20). Measured over a real
// socket, the two kinds interleaved in a random order pair by pair so that machine noise hits both
// alike; the medians over ≥ 200 tries each must be within 1.25× of each other. The throttle limits
// are raised for this server so the run measures logins, not 429s.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { call, PASSWORD, register, sqliteBackend, uniqueName, type Backend } from '@tessera/test-kit';
import type { TestServer } from '@tessera/test-kit/server';
import { median, startServer } from './support.js';

const TRIES = 200;
const WARMUP = 10;
const RATIO = 1.25;

let backend: Backend;
let server: TestServer;
let known: string;

beforeAll(async () => {
  backend = sqliteBackend();
  server = await startServer({ ...backend.env, TESSERA_LOGIN_LIMIT: '100000/1m', TESSERA_LOGIN_IP_LIMIT: '100000/1m' });
  known = (await register(server.url, uniqueName('timing'))).username;
});

afterAll(async () => {
  await server?.close();
  await backend?.cleanup();
});

type Kind = 'unknown user' | 'wrong password';

async function attempt(kind: Kind, n: number, password: string): Promise<{ ms: number; status: number; body: string }> {
  // Unknown names are valid usernames that were never registered (a fresh one each time, as an enumeration would go).
  const username = kind === 'unknown user' ? `nobody${n}x${known}` : known;
  const started = process.hrtime.bigint();
  const reply = await call(server.url, 'POST', '/auth/login', { json: { username, password } });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  return { ms, status: reply.status, body: reply.text };
}

// ASCII, and a password NFKC changes (fullwidth letters): a stored hash of ours is checked against both forms of such a password.
it.each([
  ['an ASCII password', `${PASSWORD} but wrong`],
  ['a password NFKC changes', `${PASSWORD} but \uFF57\uFF52\uFF4F\uFF4E\uFF47`],
])(
  `an unknown user and a wrong password (%s): same answer, medians over ${TRIES} tries within ${RATIO}×`,
  { timeout: 120_000 },
  async (_, password) => {
    // Warm-up: JIT, the connection, and the dummy hash computed on first use.
    for (let i = 0; i < WARMUP; i++) await Promise.all([attempt('unknown user', -i - 1, password), attempt('wrong password', -i - 1, password)]);
    const samples: Record<Kind, number[]> = { 'unknown user': [], 'wrong password': [] };
    const bodies = new Set<string>();
    for (let i = 0; i < TRIES; i++) {
      const order: Kind[] = Math.random() < 0.5 ? ['unknown user', 'wrong password'] : ['wrong password', 'unknown user'];
      for (const kind of order) {
        const { ms, status, body } = await attempt(kind, i, password);
        expect(status).toBe(401);
        bodies.add(body);
        samples[kind].push(ms);
      }
    }
    // The same body for both: nothing tells them apart but time, and time must not either.
    expect([...bodies]).toEqual([JSON.stringify({ error: 'invalid_credentials', message: 'Invalid username or password' })]);
    const unknown = median(samples['unknown user']);
    const wrong = median(samples['wrong password']);
    const ratio = Math.max(unknown, wrong) / Math.min(unknown, wrong);
    console.log(
      `login timing: unknown user median ${unknown.toFixed(2)} ms, wrong password median ${wrong.toFixed(2)} ms, ratio ${ratio.toFixed(3)}`,
    );
    expect(samples['unknown user'].length).toBeGreaterThanOrEqual(200);
    expect(samples['wrong password'].length).toBeGreaterThanOrEqual(200);
    expect(ratio).toBeLessThanOrEqual(RATIO);
  },
);
