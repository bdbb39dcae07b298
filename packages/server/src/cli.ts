#!/usr/bin/env node
// `tessera`: the server's command line. `serve` is what `npm start` runs; the other commands act on
// the same database (keys, users, sessions) and can run beside a live server.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { buildApp } from './app.js';
import { openDatabase, type Database } from './db/connect.js';
import { KeyStore, keyStoreOptions } from './keys/key-store.js';
import { createRuntime, type Runtime } from './runtime.js';
import { loadConfig, ServerConfigError, type ServerConfig } from './settings.js';
import { checkNewPassword } from './users/password-policy.js';
import { checkNewUsername } from './users/username/index.js';
import { decodeToken } from './token-decode.js';

const HELP: Record<string, string> = {
  main: `Usage: tessera <command> [options]

Commands:
  serve                         Run the auth server (what npm start runs)
  keys generate|rotate|revoke|list
                                Stage, rotate, withdraw or list signing keys
  users add|disable|rename|list Manage accounts
  sessions revoke --user NAME   End every session of a user
  token decode <jwt>            Show a token's header, claims and expiry, and whether it verifies here
  db migrate                    Create or upgrade the database tables
  purge                         Delete ended sessions now

Configuration comes from TESSERA_* variables (tessera <command> --help lists the ones it uses).`,
  serve: 'Usage: tessera serve\n\nServes the auth API on TESSERA_HOST:TESSERA_PORT (default 127.0.0.1:8000), migrating the database first.',
  keys: `Usage: tessera keys <generate|rotate|revoke KID|list>

  generate   Publish a new access key in the JWKS without signing with it yet
  rotate     Start signing with the published key (staging one first if there is none);
             the old key keeps verifying until its tokens have expired
  revoke KID Withdraw a key at once: tokens it signed stop verifying
  list       Show every key and its state`,
  users: `Usage: tessera users <add NAME [--role ROLE]... | disable NAME | rename NAME NEW | list [--collisions]>

  add NAME          Create an account; the password is read from TESSERA_PASSWORD or standard input
                    and must meet the password policy (TESSERA_PASSWORD_MIN_LENGTH)
  disable NAME      Disable an account and end its sessions
  rename NAME NEW   Give an account a new name (the rules for new names apply)
  list              Show every account
  list --collisions Show the accounts whose names look alike and wait for a rename`,
  sessions: 'Usage: tessera sessions revoke --user NAME\n\nEnds every session of the user at once.',
  token:
    "Usage: tessera token decode <jwt>\n\nPrints the header, the claims, the expiry in words, and whether the token verifies with this server's keys.",
  db: 'Usage: tessera db migrate\n\nCreates or upgrades the tables; safe to run beside a live server.',
  purge: 'Usage: tessera purge\n\nDeletes sessions that have ended (revoked ones after the retention period).',
};

/** Runs the command line; answers the exit code. */
export async function main(
  argv: readonly string[],
  io: { out: (s: string) => void; err: (s: string) => void; env: NodeJS.ProcessEnv },
): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.out(HELP.main ?? '');
    return command === undefined ? 1 : 0;
  }
  if (!(command in HELP) || command === 'main') {
    io.err(`Unknown command "${command}". Run tessera --help for the list.`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(HELP[command] ?? '');
    return 0;
  }
  let config: ServerConfig;
  try {
    config = loadConfig(io.env);
  } catch (err) {
    if (err instanceof ServerConfigError) {
      for (const problem of err.problems) io.err(problem);
      return 2;
    }
    throw err;
  }
  if (command === 'serve') return serve(config, io);
  if (command === 'keys' && (rest[0] === 'revoke' || rest[0] === 'list')) return keyRows(rest[0], rest.slice(1), config, io);
  const runtime = await open(config, io);
  if (runtime === undefined) return 1;
  try {
    return await run(command, rest, runtime, io);
  } finally {
    await runtime.close();
  }
}

async function open(config: ServerConfig, io: { err: (s: string) => void }, options: { log?: boolean } = {}): Promise<Runtime | undefined> {
  try {
    const pino = (await import('pino')).default;
    return await createRuntime(config, options.log === true ? {} : { log: pino({ level: 'silent' }), keyReloadMs: 0 });
  } catch (err) {
    io.err(err instanceof Error ? err.message : String(err));
    return undefined;
  }
}

async function serve(config: ServerConfig, io: { out: (s: string) => void; err: (s: string) => void }): Promise<number> {
  const runtime = await open(config, io, { log: true });
  if (runtime === undefined) return 1;
  const app = await buildApp(runtime);
  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (err) {
    io.err(
      `Cannot listen on ${config.host}:${config.port} (${(err as NodeJS.ErrnoException).code ?? String(err)}): set TESSERA_PORT to a free port.`,
    );
    await runtime.close();
    return 1;
  }
  if (config.metricsPort !== undefined) {
    const { createServer } = await import('node:http');
    createServer((_req, res) => {
      void runtime.metrics.registry.metrics().then((text) => res.writeHead(200, { 'content-type': runtime.metrics.registry.contentType }).end(text));
    }).listen(config.metricsPort, config.host);
  }
  // SIGTERM drains: stop accepting, finish what is in flight, then close the stores.
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      void app
        .close()
        .then(() => runtime.close())
        .finally(resolve);
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  return 0;
}

/**
 * `keys revoke` and `keys list` on the database alone, never loading a private key: they are the way
 * out when a key row cannot be read and every command that opens the whole runtime stops on it.
 */
async function keyRows(
  verb: 'revoke' | 'list',
  args: readonly string[],
  config: ServerConfig,
  io: { out: (s: string) => void; err: (s: string) => void },
): Promise<number> {
  let database: Database;
  try {
    database = await openDatabase(config.databaseUrl);
  } catch (err) {
    io.err(err instanceof Error ? err.message : String(err));
    return 1;
  }
  try {
    const keys = new KeyStore(database.db, keyStoreOptions(config));
    const now = Date.now();
    if (verb === 'list') {
      // As when the runtime opened: a fresh database gets its keys.
      await keys.ensure(now);
      for (const k of await keys.list()) io.out(`${k.kid}\t${k.alg}\t${k.purpose}\t${k.status}\tcreated ${new Date(k.createdAt).toISOString()}`);
      return 0;
    }
    const kid = args[0];
    if (kid === undefined) return usage(io, 'keys');
    const key = await keys.revoke(kid, now);
    if (key === undefined) {
      io.err(`No key ${kid}: see tessera keys list.`);
      return 1;
    }
    io.out(`Revoked ${kid}: tokens it signed stop verifying within seconds on every instance.`);
    return 0;
  } finally {
    await database.close();
  }
}

async function run(
  command: string,
  args: readonly string[],
  runtime: Runtime,
  io: { out: (s: string) => void; err: (s: string) => void; env: NodeJS.ProcessEnv },
): Promise<number> {
  const now = runtime.clock.now();
  const [verb, ...rest] = args;
  switch (`${command} ${verb ?? ''}`.trim()) {
    case 'keys generate': {
      const key = await runtime.keys.stageNext(now);
      io.out(`Published ${key.kid} (${key.alg}) in the JWKS; it signs after "tessera keys rotate".`);
      return 0;
    }
    case 'keys rotate': {
      const { current, retired } = await runtime.keys.rotate(now);
      io.out(
        `Now signing with ${current.kid}.${retired ? ` ${retired.kid} verifies until ${new Date(retired.expiresAt ?? now).toISOString()}.` : ''}`,
      );
      return 0;
    }
    case 'users add': {
      const { values, positionals } = parseArgs({ args: rest, options: { role: { type: 'string', multiple: true } }, allowPositionals: true });
      const name = checkNewUsername(positionals[0]);
      if (!name.ok) {
        io.err(`${name.problem}.`);
        return 2;
      }
      const password = checkNewPassword(io.env.TESSERA_PASSWORD ?? readStdin(), { username: name.key, minLength: runtime.config.passwordMinLength });
      if (!password.ok) {
        io.err(`${password.problem} (give it in TESSERA_PASSWORD or on standard input).`);
        return 2;
      }
      const user = await runtime.users.create({
        username: name,
        passwordHash: await runtime.hasher.hash(password.value),
        roles: values.role ?? [],
        now,
      });
      if (user === undefined) {
        io.err(`The username ${name.key}, or one that looks like it, is taken.`);
        return 1;
      }
      io.out(`Created ${user.username} (${user.id}).`);
      return 0;
    }
    case 'users disable': {
      const user = await findUser(runtime, rest[0], io);
      if (user === undefined) return 1;
      await runtime.users.disable(user.id, now); // bumps the credential version: logins in flight end too
      const ended = await runtime.auth.revokeUserSessions(user.id, 'user_disabled');
      io.out(`Disabled ${user.username}; ${ended.length} session(s) ended.`);
      return 0;
    }
    case 'users rename': {
      const user = await findUser(runtime, rest[0], io);
      if (user === undefined) return 1;
      const name = checkNewUsername(rest[1]);
      if (!name.ok) {
        io.err(rest[1] === undefined ? (HELP.users ?? '') : `${name.problem}.`);
        return 2;
      }
      if (!(await runtime.users.rename(user.id, name))) {
        io.err(`The username ${name.key}, or one that looks like it, is taken.`);
        return 1;
      }
      io.out(`Renamed ${user.username} to ${name.key}.`);
      return 0;
    }
    case 'users list': {
      if (rest.includes('--collisions')) {
        const groups = await runtime.users.collisions();
        for (const group of groups) io.out(group.map((u) => `${u.id}\t${u.username}`).join('\n') + '\n');
        io.out(
          groups.length === 0
            ? 'No usernames look alike.'
            : `${groups.length} group(s) of look-alike usernames: rename all but one of each (tessera users rename NAME NEW).`,
        );
        return 0;
      }
      for (const u of await runtime.users.list())
        io.out(`${u.id}\t${u.username}\t${u.roles.join(',') || '-'}\t${u.disabledAt === null ? 'active' : 'disabled'}`);
      return 0;
    }
    case 'sessions revoke': {
      const { values } = parseArgs({ args: rest, options: { user: { type: 'string' } } });
      const user = await findUser(runtime, values.user, io);
      if (user === undefined) return 1;
      // The version first, then the sessions, as logout-all: a login in flight cannot outlive this.
      await runtime.users.bumpCredentialVersion(user.id);
      const ended = await runtime.auth.revokeUserSessions(user.id, 'admin');
      io.out(`Ended ${ended.length} session(s) of ${user.username}.`);
      return 0;
    }
    case 'token decode': {
      if (rest[0] === undefined) return usage(io, 'token');
      io.out(decodeToken(rest[0], runtime.auth, now));
      return 0;
    }
    case 'db migrate':
      io.out('The database is up to date.');
      return 0;
    case 'purge': {
      io.out(`Deleted ${await runtime.auth.purgeSessions()} ended session(s).`);
      return 0;
    }
    default:
      return usage(io, command);
  }
}

async function findUser(runtime: Runtime, name: string | undefined, io: { err: (s: string) => void }) {
  const user = await runtime.users.byUsername(name);
  if (user === undefined) io.err(`No user ${JSON.stringify(name ?? '')}: see tessera users list.`);
  return user;
}

function usage(io: { err: (s: string) => void }, command: string): number {
  io.err(HELP[command] ?? HELP.main ?? '');
  return 2;
}

function readStdin(): string {
  try {
    return readFileSync(0, 'utf8').replace(/\r?\n$/, '');
  } catch {
    return '';
  }
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main(process.argv.slice(2), { out: (s) => console.log(s), err: (s) => console.error(s), env: process.env }).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : String(err));
      process.exit(1);
    },
  );
}
