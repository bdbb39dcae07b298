// The user reads behind guarded requests, on a real SQLite file shared by two stores (as a server
// and the CLI share it): reused for at most a second, dropped at once by a change made here.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../src/db/connect.js';
import { UserStore, type CheckedUsername } from '../src/users/user-store.js';
import { usernameKey, usernameSkeleton } from '../src/users/username/index.js';

/** A stored name as the store takes it (the rules for new names are not what these tests are about). */
const named = (name: string): CheckedUsername => ({ ok: true, key: usernameKey(name), skeleton: usernameSkeleton(usernameKey(name)) });

const root = mkdtempSync(join(tmpdir(), 'tessera-users-'));
const opened: Database[] = [];
afterAll(async () => {
  await Promise.all(opened.map((d) => d.close()));
  rmSync(root, { recursive: true, force: true });
});

async function twoStores(): Promise<{ server: UserStore; cli: UserStore }> {
  const url = `sqlite:${join(root, `${opened.length}.db`)}`;
  const a = await openDatabase(url);
  const b = await openDatabase(url);
  opened.push(a, b);
  return { server: new UserStore(a.db), cli: new UserStore(b.db) };
}

const T0 = Date.UTC(2030, 0, 1);

describe('UserStore.recentById', () => {
  it("reuses a read for less than a second, then sees another process's change", async () => {
    const { server, cli } = await twoStores();
    const user = await server.create({ username: named('ada'), passwordHash: 'h', now: T0 });
    expect((await server.recentById(user!.id, T0))?.disabledAt).toBeNull();
    expect(await cli.disable(user!.id, T0)).toBe(true);
    expect((await server.recentById(user!.id, T0 + 999))?.disabledAt).toBeNull();
    expect((await server.recentById(user!.id, T0 + 1000))?.disabledAt).toBe(T0);
  });

  it('drops a user at once when this store disables them or changes their password', async () => {
    const { server } = await twoStores();
    const user = await server.create({ username: named('bob'), passwordHash: 'old', now: T0 });
    expect((await server.recentById(user!.id, T0))?.passwordHash).toBe('old');
    await server.setPassword(user!.id, 'new', T0);
    expect((await server.recentById(user!.id, T0))?.passwordHash).toBe('new');
    await server.disable(user!.id, T0);
    expect((await server.recentById(user!.id, T0))?.disabledAt).toBe(T0);
  });

  it('keeps no read that overlapped a change here', async () => {
    const { server } = await twoStores();
    const user = await server.create({ username: named('cy'), passwordHash: 'h', now: T0 });
    const racing = server.recentById(user!.id, T0);
    await server.disable(user!.id, T0);
    await racing;
    expect((await server.recentById(user!.id, T0))?.disabledAt).toBe(T0);
    expect(await server.recentById('nobody', T0)).toBeUndefined();
  });

  it('reads again when the clock went back, rather than trust an entry from its future', async () => {
    const { server, cli } = await twoStores();
    const user = await server.create({ username: named('dee'), passwordHash: 'h', now: T0 });
    await server.recentById(user!.id, T0);
    await cli.disable(user!.id, T0);
    expect((await server.recentById(user!.id, T0 - 10))?.disabledAt).toBe(T0);
  });
});
