// Each request's logger is made at its first line (request-logger.ts): the lines it writes carry the
// request's bindings as pino's own child writes them, and a request that logs nothing makes no child.
import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { pino, type Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import { lazyChildLogger } from '../src/request-logger.js';

function capture(level: string): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level }, sink), lines };
}

/** Counts the children `log` makes. */
function counted(log: Logger): { log: Logger; children: () => number } {
  let made = 0;
  const child = log.child.bind(log);
  log.child = ((...args: Parameters<Logger['child']>) => {
    made++;
    return child(...args);
  }) as Logger['child'];
  return { log, children: () => made };
}

async function app(log: Logger) {
  const server = Fastify({ loggerInstance: log, childLoggerFactory: lazyChildLogger, disableRequestLogging: true });
  server.get('/quiet', async () => ({ ok: true }));
  server.get('/loud', async (request) => {
    request.log.info({ what: 'loud' }, 'a line');
    request.log.debug('below the level');
    return { ok: true };
  });
  await server.ready();
  return server;
}

describe('lazyChildLogger', () => {
  it('writes a request line with the reqId binding, as the eager child did', async () => {
    const { log, lines } = capture('info');
    const server = await app(log);
    await server.inject({ method: 'GET', url: '/loud' });
    await server.close();
    const line = lines.find((l) => l.msg === 'a line');
    expect(line).toMatchObject({ level: 30, what: 'loud', reqId: expect.stringMatching(/^req-/) });
    expect(lines.some((l) => l.msg === 'below the level')).toBe(false);
  });

  it('makes no child for a request that writes nothing, nor for one whose lines are all below the level', async () => {
    const { log, lines } = capture('warn');
    const { children } = counted(log);
    const server = await app(log);
    const before = children();
    for (let i = 0; i < 5; i++) {
      await server.inject({ method: 'GET', url: '/quiet' });
      await server.inject({ method: 'GET', url: '/loud' });
    }
    expect(children() - before).toBe(0);
    expect(lines).toEqual([]);
    await server.close();
  });

  it('makes the child once a line is written, and keeps using it', async () => {
    const { log } = capture('info');
    const { children } = counted(log);
    const lazy = lazyChildLogger(log, { reqId: 'req-7' }, {});
    expect(children()).toBe(0);
    expect(lazy.level).toBe('info');
    lazy.info('one');
    lazy.warn('two');
    expect(children()).toBe(1);
  });

  it("hands a child of its own a request's bindings too", () => {
    const { log, lines } = capture('info');
    lazyChildLogger(log, { reqId: 'req-8' }, {}).child({ more: 1 }).info('three');
    expect(lines).toEqual([expect.objectContaining({ msg: 'three', reqId: 'req-8', more: 1 })]);
  });
});
