// The TESSERA_* variables each `tessera` command reads, for its --help: taken from the settings
// table (name, default, sentence), so the help cannot drift from what the server checks.
import { SETTINGS, type ServerConfig } from './settings.js';

type Key = keyof ServerConfig;

/** Where the data is. */
const DATABASE: readonly Key[] = ['databaseUrl'];
/** Every command that opens the whole instance loads the keys, and joins Redis when it is configured. */
const INSTANCE: readonly Key[] = [...DATABASE, 'alg', 'secret', 'keysSecret', 'accessTtl', 'leeway', 'redisUrl', 'redisPrefix'];

/** The settings each command uses ('all' for serve), and the variables it reads that are not settings. */
const READS: Readonly<Record<string, { settings: readonly Key[] | 'all'; other?: readonly [string, string][] }>> = {
  serve: { settings: 'all' },
  keys: { settings: [...INSTANCE, 'keyPublishDelay'] },
  users: {
    settings: [...INSTANCE, 'passwordMinLength', 'hashConcurrency'],
    other: [['TESSERA_PASSWORD', 'The password of `users add` (else read from standard input).']],
  },
  sessions: { settings: INSTANCE },
  token: { settings: [...INSTANCE, 'issuer', 'audience', 'refreshTtl'] },
  db: { settings: DATABASE },
  // `clients remove` ends sessions through the whole instance.
  clients: { settings: INSTANCE },
  purge: { settings: INSTANCE },
};

const CONFIG_FILE: readonly [string, string] = ['TESSERA_CONFIG', 'A JSON file of TESSERA_* settings; variables win over it.'];

/** The names of the variables `command` reads, TESSERA_CONFIG first. */
export function variablesOf(command: string): string[] {
  return rows(command).map(([name]) => name);
}

function rows(command: string): [string, string][] {
  const reads = READS[command];
  if (reads === undefined) return [];
  const keys = reads.settings === 'all' ? (Object.keys(SETTINGS) as Key[]) : reads.settings;
  return [
    [...CONFIG_FILE],
    ...keys.map((key): [string, string] => {
      const setting = SETTINGS[key];
      const fallback = setting.default === undefined || setting.default === '' ? '' : ` (default ${setting.default})`;
      return [setting.env, `${setting.doc}${fallback}`];
    }),
    ...(reads.other ?? []).map(([name, doc]): [string, string] => [name, doc]),
  ];
}

/** The environment section of `command`'s help. */
export function environmentHelp(command: string): string {
  const lines = rows(command);
  if (lines.length === 0) return '';
  const width = Math.max(...lines.map(([name]) => name.length)) + 2;
  return [
    'Environment (every TESSERA_* setting is checked before any command runs; this command uses):',
    ...lines.map(([name, doc]) => `  ${name.padEnd(width)}${doc}`),
  ].join('\n');
}
