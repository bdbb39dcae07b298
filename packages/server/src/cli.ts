#!/usr/bin/env node
// `tessera`: the server's command line. `serve` is what `npm start` runs; the other commands act on
// the same database (keys, users, sessions) and can run beside a live server.
import { readFileSync, realpathSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { buildApp } from './app.js';
import { environmentHelp } from './cli-env.js';
import { openDatabase, type Database } from './db/connect.js';
import { copyCommand } from './db/copy.js';
import { purgeEnded } from './db/purge.js';
import { vacuumCommand } from './db/vacuum.js';
import { CLIENTS_HELP, clientsCommand, endClientSessions } from './oauth/clients-command.js';
import { KeyStore, keyStoreOptions } from './keys/key-store.js';
import { isKeyVerb, keysCommand } from './keys/keys-command.js';
import { createRuntime, type Runtime } from './runtime.js';
import { drainable } from './drain.js';
import { redactUrl, serverVersion, startupSummary } from './startup.js';
import { loadConfig, ServerConfigError, type ServerConfig } from './settings.js';
import { checkNewPassword } from './users/password-policy.js';
import { importCommand } from './users/import-command.js';
import { checkNewUsername } from './users/username/index.js';
import { decodeToken } from './token-decode.js';

const HELP: Record<string, string> = {
  main: `Usage: tessera <command> [options]

Commands:
  serve                         Run the auth server (what npm start runs)
  keys generate|rotate|revoke|encrypt|list
                                Stage, rotate, withdraw, encrypt or list signing keys
  users add|disable|rename|list|import
                                Manage accounts; import them from another stack
  sessions revoke --user NAME   End every session of a user
  clients add|list|remove       Register, list or remove OAuth clients
  token decode <jwt>            Show a token's header, claims and expiry, and whether it verifies here
  db migrate                    Create or upgrade the database tables
  db copy --to URL              Copy users, keys and sessions into another (empty) database
  db vacuum                     Give the space of deleted rows back (SQLite: stop the server first)
  purge                         Delete ended sessions now

Configuration comes from TESSERA_* variables (tessera <command> --help lists the ones it uses).
tessera --version prints the version.`,
  serve: 'Usage: tessera serve\n\nServes the auth API on TESSERA_HOST:TESSERA_PORT (default 127.0.0.1:8000), migrating the database first.',
  keys: `Usage: tessera keys <generate [--alg ALG] | rotate [--alg ALG] [--now] [--force] | revoke KID | encrypt | list>

  generate   Publish a new access key in the JWKS without signing with it yet
  rotate     Publish, then switch: stage a key if none is staged (published in the JWKS at once);
             every instance signs with it TESSERA_KEY_PUBLISH_DELAY after it was published, and
             the old key keeps verifying as long as the tokens it signed live (recorded per key)
    --alg ALG  The new key's algorithm (EdDSA, ES256, RS256); restart with TESSERA_ALG=ALG after
    --now      Sign with it at once (verifiers that cached the JWKS may refuse its tokens a while)
    --force    Retire a key whose token lifetime is unknown, keeping it for this command's
               TESSERA_ACCESS_TTL plus TESSERA_LEEWAY (refused without it: it may cut live tokens)
  revoke KID Withdraw a key at once: tokens it signed stop verifying
  encrypt    Encrypt every stored private key (the refresh key too) with TESSERA_KEYS_SECRET
  list       Show every key and its state`,
  users: `Usage: tessera users <add NAME [--role ROLE]... | disable NAME | rename NAME NEW | list [--collisions]
                     | import [--skip-invalid] [FILE] [--revoked FILE]>

  add NAME          Create an account; the password is read from TESSERA_PASSWORD or standard input
                    and must meet the password policy (TESSERA_PASSWORD_MIN_LENGTH)
  disable NAME      Disable an account and end its sessions
  rename NAME NEW   Give an account a new name (the rules for new names apply)
  list              Show every account
  list --collisions Show the accounts whose names look alike and wait for a rename
  import FILE       Import accounts from JSON Lines ({"username", "password_hash", "legacy_id", "disabled"}),
                    hashes as Django, Werkzeug, passlib or bcrypt made them (docs/migration.md); all or
                    nothing, or --skip-invalid to import the valid lines. A legacy_id imported before is skipped
  import --revoked FILE
                    Load the ids (jti) of tokens the old stack revoked, one a line; safe to repeat`,
  sessions: 'Usage: tessera sessions revoke --user NAME\n\nEnds every session of the user at once.',
  clients: CLIENTS_HELP,
  token:
    "Usage: tessera token decode <jwt>\n\nPrints the header, the claims, the expiry in words, and whether the token verifies with this server's keys.",
  db: `Usage: tessera db <migrate | copy --to URL | vacuum>

  migrate       Create or upgrade the tables; safe to run beside a live server
  copy --to URL Copy every user, key and session from TESSERA_DATABASE_URL into the database at URL
                (sqlite:PATH or postgres://...), SQLite or Postgres either way. The target is migrated
                first and must be empty. Stop the server (or keep it read-only) during the copy for a
                consistent snapshot. Private keys are copied as they are (sealed when
                TESSERA_KEYS_SECRET is set): the server on the target needs the same secret.
  vacuum        SQLite: rebuild the file with VACUUM (switching it to incremental auto-vacuum if it is
                not yet), then truncate the write-ahead log, printing the size before and after. It holds
                an exclusive lock for its whole run and needs free disk up to the file's size again:
                stop the server first. Postgres: VACUUM (ANALYZE) of the Tessera tables, beside the
                running server; the space is reused within each table, the files do not shrink.`,
  purge:
    'Usage: tessera purge\n\nDeletes sessions that have ended (revoked ones after the retention period), expired DPoP proofs and old authorization codes, in short batches (safe beside a live server); on SQLite it then truncates the write-ahead log.',
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
  if (command === '--version' || command === '-v') {
    io.out(serverVersion());
    return 0;
  }
  if (!(command in HELP) || command === 'main') {
    io.err(`Unknown command "${command}". Run tessera --help for the list.`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(`${HELP[command] ?? ''}\n\n${environmentHelp(command)}`);
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
  // Settings come from TESSERA_* variables only: an argument is a mistake to point out, not to ignore.
  if (command === 'serve') return rest.length === 0 ? serve(config, io) : usage(io, 'serve');
  if (command === 'keys' && (rest[0] === 'revoke' || rest[0] === 'list')) return keyRows(rest[0], rest.slice(1), config, io);
  // Rows as they are, on the database alone: no key is loaded, so no TESSERA_KEYS_SECRET is needed.
  if (command === 'db' && rest[0] === 'copy') return copyCommand(rest.slice(1), config.databaseUrl, io, () => usage(io, 'db'));
  // The tables alone: no key is loaded or generated.
  if (command === 'db' && rest[0] === 'migrate' && rest.length === 1) return migrate(config, io);
  // The file (or the tables) alone: no migration, no key.
  if (command === 'db' && rest[0] === 'vacuum' && rest.length === 1) return vacuumCommand(config.databaseUrl, io);
  // Rows on the database alone, as db copy.
  // Rows on the database alone: clients are registered before OAuth is turned on, and no key is needed (but
  // `remove` ends sessions through the whole instance, below).
  if (command === 'clients' && rest[0] !== 'remove')
    return withDatabase(config, io, (database) => clientsCommand(rest, database.db, io, () => usage(io, 'clients')));
  if (command === 'users' && rest[0] === 'import')
    return withDatabase(config, io, (database) => importCommand(rest.slice(1), database.db, io, () => usage(io, 'users')));
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
    return await createRuntime(config, options.log === true ? {} : { log: pino({ level: 'silent' }), keyReloadMs: 0, cli: true });
  } catch (err) {
    io.err(err instanceof Error ? err.message : String(err));
    return undefined;
  }
}

async function serve(config: ServerConfig, io: { out: (s: string) => void; err: (s: string) => void; env: NodeJS.ProcessEnv }): Promise<number> {
  const runtime = await open(config, io, { log: true });
  if (runtime === undefined) return 1;
  const { log } = runtime;
  const app = await buildApp(runtime);
  const servers = [{ name: 'api', http: drainable(app.server) }];
  try {
    await app.listen({ port: config.port, host: config.host });
    if (config.metricsPort !== undefined) {
      const metrics = createHttpServer((_req, res) => {
        void runtime.metrics.registry
          .metrics()
          .then((text) => res.writeHead(200, { 'content-type': runtime.metrics.registry.contentType }).end(text));
      });
      servers.push({ name: 'metrics', http: drainable(metrics) });
      await listen(metrics, config.metricsPort, config.host, 'TESSERA_METRICS_PORT');
    }
  } catch (err) {
    io.err(listenProblem(err, config));
    await Promise.allSettled([app.close(), runtime.close()]);
    return 1;
  }
  // SIGTERM or SIGINT drains (docs/operations.md "Start and stop"): unready at once, stop accepting, let
  // requests in flight finish within TESSERA_DRAIN_TIMEOUT, then close the stores. A second signal exits at once.
  // Listened for before anything else is awaited, so no signal meets the default handler (instant death).
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    let received: NodeJS.Signals | undefined;
    const onSignal = (name: NodeJS.Signals): void => {
      if (received !== undefined) {
        log.warn({ signal: name }, 'second signal: exiting at once');
        process.exit(128 + (os.constants.signals[name] ?? 15));
      }
      received = name;
      resolve(name);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const unsealed = await runtime.keys.unsealedCount().catch(() => 0);
  const { summary, warnings, notes } = startupSummary(
    runtime,
    `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`,
    io.env,
    unsealed > 0 ? [`${unsealed} private key(s) stored unencrypted: set TESSERA_KEYS_SECRET, then run tessera keys encrypt`] : [],
  );
  for (const warning of warnings) log.warn(warning);
  log.info(summary, 'tessera serve started');
  for (const note of notes) log.info(note);

  const signal = await signalled;
  const start = Date.now();
  runtime.startDraining();
  const inFlight = servers.reduce((sum, s) => sum + s.http.inFlight, 0);
  log.info({ signal, inFlight, drainTimeout: config.drainTimeout }, 'draining: /readyz answers 503; requests in flight may finish');
  const drained = await Promise.all(
    servers.map(({ name, http }) => http.drain(config.drainTimeout * 1000, (step, detail) => log.info({ server: name, ...detail }, step))),
  );
  const cut = drained.reduce((sum, d) => sum + d.cut, 0);
  if (cut > 0) log.warn({ connections: cut }, `drain timeout (${config.drainTimeout}s) reached: connections cut`);
  else log.info({ ms: Date.now() - start }, 'every request finished; HTTP server closed');
  // The stores get a few seconds to close (a pool waiting on an unreachable database must not hold the process).
  const deadline = setTimeout(() => {
    log.error({ ms: Date.now() - start }, 'the stores did not close within 5 s: exiting anyway');
    process.exit(1);
  }, 5000);
  await app.close();
  await runtime.close();
  clearTimeout(deadline);
  log.info({ ms: Date.now() - start }, 'stopped');
  return 0;
}

/** Listens, or rejects with the listen error (a Node server emits it as an event). */
function listen(server: HttpServer, port: number, host: string, variable: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(Object.assign(err, { variable })));
    server.listen(port, host, () => resolve());
  });
}

/** Why listening failed, naming the variable to change: the port when it is taken, the address when it is not this host's. */
function listenProblem(err: unknown, config: ServerConfig): string {
  const { code, variable } = err as NodeJS.ErrnoException & { variable?: string };
  const port = variable === 'TESSERA_METRICS_PORT' ? config.metricsPort : config.port;
  const where = `${config.host}:${port}`;
  const portVariable = variable ?? 'TESSERA_PORT';
  switch (code) {
    case 'EADDRINUSE':
      return `Cannot listen on ${where} (EADDRINUSE): the port is taken; set ${portVariable} to a free port.`;
    case 'EACCES':
      return `Cannot listen on ${where} (EACCES): ports below 1024 need privileges; set ${portVariable} to 1024 or above.`;
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
    case 'EAI_NONAME':
    case 'EAFNOSUPPORT':
    case 'EINVAL':
      return `Cannot listen on ${where} (${code}): ${config.host} is not an address of this host; set TESSERA_HOST to one (127.0.0.1, or 0.0.0.0 for every interface).`;
    default:
      return `Cannot listen on ${where} (${code ?? String(err)}): check TESSERA_HOST and ${portVariable}.`;
  }
}

/** Runs `work` on the database alone (no keys, no Redis), closing it after; a database that cannot be opened is one sentence and exit 1. */
async function withDatabase(config: ServerConfig, io: { err: (s: string) => void }, work: (database: Database) => Promise<number>): Promise<number> {
  let database: Database;
  try {
    database = await openDatabase(config.databaseUrl);
  } catch (err) {
    io.err(err instanceof Error ? err.message : String(err));
    return 1;
  }
  try {
    return await work(database);
  } finally {
    await database.close();
  }
}

/** `db migrate`: brings the tables up to date and says which migrations ran, or that none had to. */
async function migrate(config: ServerConfig, io: { out: (s: string) => void; err: (s: string) => void }): Promise<number> {
  // Migrations run as the database opens; the rows they add carry the time they ran, so those from now on are ours.
  const since = new Date().toISOString();
  return withDatabase(config, io, async (database) => {
    const ran: string[] = [];
    for (const table of ['tessera_sessions_migrations', 'tessera_server_migrations']) {
      const query = sql<{ name: string; timestamp: string }>`select name, timestamp from ${sql.table(table)} order by name`;
      const { rows } = await query.execute(database.db);
      for (const row of rows) if (row.timestamp >= since) ran.push(`${table === 'tessera_server_migrations' ? 'server' : 'sessions'} ${row.name}`);
    }
    io.out(
      ran.length === 0
        ? `The database ${redactUrl(config.databaseUrl)} is up to date: no migration to run.`
        : `Migrated ${redactUrl(config.databaseUrl)}: ${ran.length} migration(s) ran:\n${ran.map((name) => `  ${name}`).join('\n')}`,
    );
    return 0;
  });
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
  return withDatabase(config, io, async (database) => {
    const keys = new KeyStore(database.db, keyStoreOptions(config));
    const now = Date.now();
    if (verb === 'list') {
      // As when the runtime opened: a fresh database gets its keys.
      await keys.ensure(now);
      for (const k of await keys.list()) {
        // When a scheduled key starts signing, and until when a retired one verifies.
        const when =
          k.status === 'next' && k.activatesAt !== null
            ? `\tsigns from ${new Date(k.activatesAt).toISOString()}`
            : k.status === 'retired' && k.expiresAt !== null
              ? `\tverifies until ${new Date(k.expiresAt).toISOString()}`
              : '';
        io.out(`${k.kid}\t${k.alg}\t${k.purpose}\t${k.status}\tcreated ${new Date(k.createdAt).toISOString()}${when}`);
      }
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
  });
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
    case 'keys generate':
    case 'keys rotate':
    case 'keys encrypt':
      if (!isKeyVerb(verb)) return usage(io, 'keys');
      return keysCommand(verb, rest, runtime.keys, runtime.config, now, io, () => usage(io, 'keys'));
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
      const users = await runtime.users.list();
      // Never silent: an empty database says so.
      if (users.length === 0) io.out('No users yet: add one with tessera users add NAME.');
      for (const u of users) io.out(`${u.id}\t${u.username}\t${u.roles.join(',') || '-'}\t${u.disabledAt === null ? 'active' : 'disabled'}`);
      return 0;
    }
    case 'sessions revoke': {
      const { values } = parseArgs({ args: rest, options: { user: { type: 'string' } } });
      if (values.user === undefined) return usage(io, 'sessions');
      const user = await findUser(runtime, values.user, io);
      if (user === undefined) return 1;
      // The version first, then the sessions, as logout-all: a login in flight cannot outlive this.
      await runtime.users.bumpCredentialVersion(user.id);
      const ended = await runtime.auth.revokeUserSessions(user.id, 'admin');
      io.out(`Ended ${ended.length} session(s) of ${user.username}.`);
      return 0;
    }
    case 'clients remove':
      return clientsCommand(
        args,
        runtime.database.db,
        io,
        () => usage(io, 'clients'),
        (id) => endClientSessions(runtime.auth, runtime.database.db, id),
      );
    case 'token decode': {
      if (rest[0] === undefined) return usage(io, 'token');
      io.out(decodeToken(rest[0], runtime.auth, now));
      return 0;
    }
    case 'purge': {
      // The server's purge (short batches), then, on SQLite, a TRUNCATE checkpoint: it waits for the
      // server's readers and empties the write-ahead log, which only a command run by hand should do.
      const report = await purgeEnded({ auth: runtime.auth, db: runtime.database.db, now: () => runtime.clock.now() });
      io.out(`Deleted ${report.deleted} ended session(s).`);
      if (report.oauthRows > 0) io.out(`Deleted ${report.oauthRows} expired DPoP proof(s) and authorization code(s).`);
      if (runtime.database.dialect === 'sqlite') await sql`pragma wal_checkpoint(TRUNCATE)`.execute(runtime.database.db);
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

/** Run as the program (directly, or through the `.bin/tessera` link npm makes), not imported: Node loads it by its real path. */
function isProgram(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isProgram()) {
  main(process.argv.slice(2), { out: (s) => console.log(s), err: (s) => console.error(s), env: process.env }).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : String(err));
      process.exit(1);
    },
  );
}
