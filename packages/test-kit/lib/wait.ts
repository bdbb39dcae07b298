// Time and ports: a sleep, a poll with a deadline, a free TCP port.
import { createServer } from 'node:net';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every `everyMs` until it holds; throws after `timeoutMs`. Answers how long it took. */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 5000, everyMs = 25): Promise<number> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
  return Date.now() - start;
}

/** A free TCP port on 127.0.0.1 (the kernel picks it; a server started right after takes it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
