// The drivers are optional peer dependencies, each loaded when its store is made: a SQLite user needs no `pg`
// (and the reverse), a Postgres user no `redis`, and a missing driver is one sentence naming the package to install.
import { createRequire } from 'node:module';
import { ConfigError } from '../core/errors.js';

const require = createRequire(import.meta.url);

/** The driver `name` (CommonJS, so loaded synchronously), or a ConfigError saying to install it. */
export function loadDriver<T>(name: 'better-sqlite3' | 'pg' | 'redis', store: string): T {
  try {
    return require(name) as T;
  } catch (error) {
    // Only the driver itself missing, not a broken install of it (its own missing dependency, a failed native build).
    if ((error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && (error as Error).message.startsWith(`Cannot find module '${name}'`)) {
      const missing = new ConfigError([`\`${store}\` needs the \`${name}\` package: install it with \`npm install ${name}\`.`]);
      missing.cause = error;
      throw missing;
    }
    throw error;
  }
}
