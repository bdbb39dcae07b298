// The load bench/scale puts on a `tessera serve` child for a window whose end may be a time or an event (the purge's
// end): refresh chains (each connection rotating its own chain of refresh tokens, closed loop) and a paced /auth/me
// probe (open loop, each request timed from when it was due), side by side. Unlike bench/support's cannon and probe,
// an error answer is counted, not thrown: a purge that makes requests fail is a finding to report.
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { httpJson, percentile } from '../support/load.js';

export interface WindowFigures {
  readonly seconds: number;
  /** Refreshes answered 200 per second. */
  readonly refreshPerSecond: number;
  readonly refreshP99Ms: number;
  /** The slowest refresh: closed-loop chains send few requests while the server stands still, so p99 may miss a stall. */
  readonly refreshMaxMs: number;
  readonly refreshErrors: number;
  readonly meP99Ms: number;
  readonly meErrors: number;
}

export interface Target {
  readonly url: string;
  /** One access token for /auth/me. */
  readonly meToken: string;
  /** The current refresh token of each chain; replaced as the chains rotate. */
  readonly chains: string[];
  /** A fresh chain when one broke (an error answer): a new login. */
  readonly relogin: (k: number) => Promise<string>;
}

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly ms: number;
}

function post(agent: Agent, url: string, body: string, due: number): Promise<Answer> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, ms: performance.now() - due }));
    });
    req.on('error', () => resolve({ status: 0, body: '', ms: performance.now() - due }));
    req.end(body);
  });
}

function get(agent: Agent, url: string, token: string, due: number): Promise<Answer> {
  return new Promise((resolve) => {
    const req = request(url, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: '', ms: performance.now() - due }));
    });
    req.on('error', () => resolve({ status: 0, body: '', ms: performance.now() - due }));
    req.end();
  });
}

/** Runs both loads until `stop` resolves; answers their figures. */
export async function loadWindow(target: Target, stop: Promise<void>, meRate: number): Promise<WindowFigures> {
  let stopped = false;
  void stop.then(() => (stopped = true));
  const started = performance.now();
  const refreshAgent = new Agent({ keepAlive: true, maxSockets: target.chains.length });
  const meAgent = new Agent({ keepAlive: true, maxSockets: 64 });
  const refreshMs: number[] = [];
  let refreshErrors = 0;

  const chain = async (k: number): Promise<void> => {
    while (!stopped) {
      const answer = await post(refreshAgent, `${target.url}/auth/refresh`, JSON.stringify({ refresh_token: target.chains[k] }), performance.now());
      refreshMs.push(answer.ms);
      if (answer.status === 200) {
        target.chains[k] = (JSON.parse(answer.body) as { refresh_token: string }).refresh_token;
      } else {
        refreshErrors++;
        // The chain broke: a new login starts another (if that fails too, the old token is tried again shortly).
        target.chains[k] = await target.relogin(k).catch(async () => {
          await sleep(100);
          return target.chains[k]!;
        });
      }
    }
  };

  const meMs: number[] = [];
  let meErrors = 0;
  const probe = async (): Promise<void> => {
    const interval = 1000 / meRate;
    const pending: Promise<void>[] = [];
    for (let n = 0; !stopped; n++) {
      const due = started + n * interval;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      pending.push(
        get(meAgent, `${target.url}/auth/me`, target.meToken, due).then((answer) => {
          if (answer.status === 200) meMs.push(answer.ms);
          else meErrors++;
        }),
      );
    }
    await Promise.all(pending);
  };

  await Promise.all([...target.chains.map((_, k) => chain(k)), probe()]);
  const seconds = (performance.now() - started) / 1000;
  refreshAgent.destroy();
  meAgent.destroy();
  refreshMs.sort((a, b) => a - b);
  meMs.sort((a, b) => a - b);
  return {
    seconds,
    refreshPerSecond: (refreshMs.length - refreshErrors) / seconds,
    refreshP99Ms: percentile(refreshMs, 0.99),
    refreshMaxMs: refreshMs.at(-1) ?? Number.NaN,
    refreshErrors,
    meP99Ms: percentile(meMs, 0.99),
    meErrors,
  };
}

/** A password login; answers the tokens. */
export async function login(url: string, username: string, password: string): Promise<{ access: string; refresh: string }> {
  const { status, body } = await httpJson(`${url}/auth/login`, { body: { username, password } });
  const tokens = body as { access_token?: string; refresh_token?: string };
  if (status !== 200 || tokens.access_token === undefined || tokens.refresh_token === undefined)
    throw new Error(`bench/scale: login of ${username} answered ${status} ${JSON.stringify(body)}`);
  return { access: tokens.access_token, refresh: tokens.refresh_token };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
