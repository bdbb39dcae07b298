// The credential cut-off (docs/security.md): a login that read the old password hash before a password
// change (or a logout-all) and stored its session after the change had revoked the user's sessions
// must not survive it. Each change bumps the user's credential version before revoking; each login
// re-reads the version once its session is stored and ends the session itself when it moved.
// Fifty logins race one change, on SQLite and on Postgres + Redis, over real sockets. The change
// starts once every login has passed its password check; each then stores its session after a random
// moment, or (every third) only after the change has answered: the interleaving the penetration
// test found.
// Long on purpose: a race needs many attempts and a slow path to land in.
import type { Tessera } from '@tessera/auth';
import {
  claimsOf,
  loginTokens,
  PASSWORD,
  postgresBackend,
  register,
  sleep,
  sqliteBackend,
  tokens,
  type Answer,
  type Backend,
} from '@tessera/test-kit';
import type { TestServer } from '@tessera/test-kit/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError } from './support/contract-suite.js';
import { call, runCli, startServer } from './support/harness.js';

/** Redis logical database of this file (each server test file has its own). */
const REDIS_DB = 9;
const RACERS = 50;
const NEW_PASSWORD = `new ${PASSWORD}`;

/** What the slow path does for one racing login, by its index; `opened` collects every racing session stored. */
interface Racing {
  hold: (index: number) => Promise<void>;
  opened: string[];
}

/**
 * Slows `openSession` for the racing logins only (their User-Agent is `racer-N`): the time a busy
 * database takes to insert a session, which is where a change can slip in. Nothing else changes.
 */
function slowOpen(auth: Tessera, racing: Racing): void {
  const open = auth.openSession.bind(auth);
  auth.openSession = async (input) => {
    const racer = /^racer-(\d+)$/.exec(input.userAgent ?? '');
    if (racer === null) return open(input);
    await racing.hold(Number(racer[1]));
    const tokens = await open(input);
    racing.opened.push(tokens.sid);
    return tokens;
  };
}

describe.each([
  { label: 'SQLite', makeBackend: async (): Promise<Backend> => sqliteBackend() },
  { label: 'Postgres + Redis', makeBackend: (): Promise<Backend> => postgresBackend('cutoff', REDIS_DB) },
])('credential cut-off on $label', ({ makeBackend }) => {
  let backend: Backend;
  let server: TestServer;
  let url: string;
  const racing: Racing = { hold: async () => undefined, opened: [] };

  beforeAll(async () => {
    backend = await makeBackend();
    // No session limit (it would revoke racers for another reason), and hashes in parallel so that
    // logins and the change overlap.
    server = await startServer(
      { ...backend.env, TESSERA_MAX_SESSIONS: '0', TESSERA_HASH_CONCURRENCY: '4' },
      {
        patch: (runtime) => {
          slowOpen(runtime.auth, racing);
          return runtime;
        },
      },
    );
    url = server.url;
  });
  afterAll(async () => {
    await server?.close();
    await backend?.cleanup();
  });

  /**
   * Starts RACERS logins with the old password and, once every one of them has passed its password
   * check, runs `change`. Meanwhile each racer stores its session after a random pause of up to
   * `spreadMs` (about how long the change takes) or, every third, only once the change has answered.
   * Answers every login's answer, the change's, and the sessions the racers stored.
   */
  async function race(
    username: string,
    change: () => Promise<Answer>,
    spreadMs: number,
  ): Promise<{ logins: Answer[]; changed: Answer; opened: string[] }> {
    let everyoneChecked = (): void => undefined;
    const checked = new Promise<void>((resolve) => (everyoneChecked = resolve));
    let changeAnswered = (): void => undefined;
    const afterChange = new Promise<void>((resolve) => (changeAnswered = resolve));
    let arrived = 0;
    racing.opened = [];
    racing.hold = async (index) => {
      if (++arrived === RACERS) everyoneChecked();
      await checked;
      await (index % 3 === 0 ? afterChange : sleep(Math.floor(Math.random() * spreadMs)));
    };
    const logins = Array.from({ length: RACERS }, (_, index) =>
      sleep(index * 2).then(() =>
        call(url, 'POST', '/auth/login', { json: { username, password: PASSWORD }, headers: { 'user-agent': `racer-${index}` } }),
      ),
    );
    try {
      const stuck = sleep(20_000).then(() => {
        throw new Error(`only ${arrived} of ${RACERS} logins passed the password check`);
      });
      await Promise.race([checked, stuck]);
      const changed = await change();
      changeAnswered();
      return { logins: await Promise.all(logins), changed, opened: [...racing.opened] };
    } finally {
      // Never leave a login waiting, whatever failed.
      everyoneChecked();
      changeAnswered();
      racing.hold = async () => undefined;
    }
  }

  /** The user's live sessions, as GET /auth/sessions shows them to a fresh login. */
  async function liveSessions(username: string, password: string): Promise<{ ids: string[]; own: string }> {
    const fresh = await loginTokens(url, username, password);
    const listed = await call(url, 'GET', '/auth/sessions', { bearer: fresh.access_token! });
    expect(listed.status).toBe(200);
    return { ids: (listed.body as { id: string }[]).map((s) => s.id).sort(), own: String(claimsOf(fresh.access_token!).sid) };
  }

  /** Every refresh token a racing login was given is refused now: the session it opened has ended. */
  async function expectEveryRacerEnded(logins: Answer[]): Promise<void> {
    for (const answer of logins) {
      if (answer.status !== 200) {
        expectError(answer, 401, 'invalid_credentials');
        continue;
      }
      const refused = await call(url, 'POST', '/auth/refresh', { json: { refresh_token: tokens(answer).refresh_token } });
      expectError(refused, 401, 'token_revoked');
    }
  }

  it(`${RACERS} logins racing one password change: only sessions opened after it live on`, async () => {
    const user = await register(url);
    const changer = await loginTokens(url, user.username);
    const { logins, changed, opened } = await race(
      user.username,
      () => call(url, 'POST', '/auth/password', { bearer: changer.access_token!, json: { current_password: PASSWORD, new_password: NEW_PASSWORD } }),
      150,
    );
    expect(changed.status).toBe(200);
    const changeSession = String(claimsOf(tokens(changed).access_token!).sid);
    // Every racer passed the password check and stored a session: the race was run, not avoided.
    expect(opened).toHaveLength(RACERS);
    await expectEveryRacerEnded(logins);
    const live = await liveSessions(user.username, NEW_PASSWORD);
    expect(live.ids).toEqual([changeSession, live.own].sort());
    for (const sid of opened) expect(live.ids).not.toContain(sid);
  });

  it(`${RACERS} logins racing one logout-all: only sessions opened after it live on`, async () => {
    const user = await register(url);
    const caller = await loginTokens(url, user.username);
    const { logins, changed, opened } = await race(user.username, () => call(url, 'POST', '/auth/logout-all', { bearer: caller.access_token! }), 20);
    expect(changed.status).toBe(204);
    expect(opened).toHaveLength(RACERS);
    await expectEveryRacerEnded(logins);
    const live = await liveSessions(user.username, PASSWORD);
    expect(live.ids).toEqual([live.own]);
    for (const sid of opened) expect(live.ids).not.toContain(sid);
  });

  it('two password changes at once from two sessions: one wins, the other is refused and leaves nothing behind', async () => {
    const user = await register(url);
    const [a, b] = await Promise.all([loginTokens(url, user.username), loginTokens(url, user.username)]);
    const passwords = [`${NEW_PASSWORD} a`, `${NEW_PASSWORD} b`];
    const answers = await Promise.all(
      [a, b].map((s, i) =>
        call(url, 'POST', '/auth/password', { bearer: s.access_token!, json: { current_password: PASSWORD, new_password: passwords[i] } }),
      ),
    );
    const winner = answers.findIndex((r) => r.status === 200);
    expect(answers.map((r) => r.status).sort()).toEqual([200, 401]);
    // Checked against a hash that was no longer current, or against a version that moved: either way refused.
    expect(['token_revoked', 'invalid_credentials']).toContain((answers[1 - winner]!.body as { error: string }).error);
    expectError(
      await call(url, 'POST', '/auth/login', { json: { username: user.username, password: passwords[1 - winner] } }),
      401,
      'invalid_credentials',
    );
    const live = await liveSessions(user.username, passwords[winner]!);
    expect(live.ids).toEqual([String(claimsOf(tokens(answers[winner]!).access_token!).sid), live.own].sort());
  });

  it('every change that must cut off logins bumps the version, in the server and from the CLI', async () => {
    const user = await register(url);
    const { users } = server.runtime;
    const version = (): Promise<number | undefined> => users.credentialVersion(user.id);
    expect(await version()).toBe(0);
    const caller = await loginTokens(url, user.username);
    expect((await call(url, 'POST', '/auth/logout-all', { bearer: caller.access_token! })).status).toBe(204);
    expect(await version()).toBe(1);
    expect(await users.setPassword(user.id, (await users.byId(user.id))!.passwordHash, Date.now(), 0)).toBeUndefined(); // a stale version writes nothing
    expect(await users.setPassword(user.id, (await users.byId(user.id))!.passwordHash, Date.now(), 1)).toBe(2);
    expect((await runCli(['sessions', 'revoke', '--user', user.username], backend.env)).code).toBe(0);
    expect(await version()).toBe(3);
    expect((await runCli(['users', 'disable', user.username], backend.env)).code).toBe(0);
    expect(await version()).toBe(4);
    expect(await users.disable(user.id, Date.now())).toBe(false); // already disabled: nothing written
    expect(await version()).toBe(4);
  });
});
