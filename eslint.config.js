// One linter for the repository. The per-folder import rules below enforce the layers of docs/architecture.md "Layers":
// every "never" arrow between the library's folders is one restricted-import pattern, tested in test/layers.test.ts.
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const LAYERS = 'docs/architecture.md "Layers"';
const LIB = 'packages/auth/src';

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** A package and its subpaths: `pkg('hono')` matches 'hono' and 'hono/cookie', never 'hono-x'. */
const pkg = (...names) => `^(?:${names.map(escape).join('|')})(?:/|$)`;
/** A sibling folder of the library reached by going up: `up('stores')` matches '../stores/memory.js' and '../../stores/sql/index.js'. */
const up = (...folders) => `^(?:\\.\\./)+(?:${folders.map(escape).join('|')})(?:/|$)`;
const anyOf = (...sources) => sources.map((source) => `(?:${source})`).join('|');

const NODE_BUILTINS = builtinModules.filter((name) => !name.startsWith('_') && !name.includes('/'));

// What each arrow points at, spelled as import specifiers. `stores` is the folder of implementations; the store
// contract is core/sessions/store.ts ('./sessions/store.js'), which no pattern here matches.
const FRAMEWORK = anyOf(pkg('express', 'fastify', 'fastify-plugin', 'hono', 'next'), '^@hono/', '^@fastify/', '^@nestjs/');
const STORE = anyOf(up('stores'), pkg('kysely', 'pg', 'better-sqlite3', 'redis'), '^@redis/', pkg('@tessera/auth/stores'));
const ADAPTER = anyOf(
  up('adapters'),
  pkg('@tessera/auth/express', '@tessera/auth/fastify', '@tessera/auth/hono', '@tessera/auth/nest', '@tessera/auth/next'),
);
const CLIENT = anyOf(up('client'), pkg('@tessera/auth/client'));
const SERVER = anyOf(pkg('@tessera/server'), '^(?:\\.\\./)+(?:packages/)?server(?:/|$)');
const NODE = anyOf('^node:', pkg(...NODE_BUILTINS));

/** One `{ regex, message }` per arrow, so the message names the arrow that is broken. */
const never = (regex, message, extra = {}) => ({ regex, message: `${message} (${LAYERS}).`, ...extra });
/** The one config object that sets the import rule for these files (a later object would replace, not merge, its options). */
const layer = (files, patterns, ignores) => ({
  files,
  ...(ignores && { ignores }),
  rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns }] },
});

const LAYERED = ['protocol', 'internal', 'core', 'stores', 'adapters', 'client', 'remote'].map((folder) => `${LIB}/${folder}/**/*.ts`);

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '**/coverage/**',
      'bench/results/**',
      'data/**',
      'examples/next/.next/**',
      'examples/next/next-env.d.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    languageOptions: {
      globals: {
        console: 'readonly',
        process: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        URL: 'readonly',
        performance: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportAllDeclaration', message: 'Name every export (docs/architecture.md "Conventions"): no `export *`.' },
      ],
    },
  },
  layer(
    [`${LIB}/protocol/**/*.ts`],
    [
      never(
        // Anything but './x.js' (or '../protocol/x.js') and the test runner.
        '^(?!\\./|(?:\\.\\./)+protocol/|vitest$)',
        'protocol/ imports nothing but itself, not even Node built-ins, so that it stays browser-safe',
      ),
    ],
  ),
  layer(
    [`${LIB}/internal/**/*.ts`],
    [
      never(
        `^(?!\\./|(?:\\.\\./)+internal/|node:|vitest$|(?:${NODE_BUILTINS.map(escape).join('|')})(?:/|$))`,
        'internal/ imports only Node built-ins and itself',
      ),
    ],
  ),
  layer(
    [`${LIB}/core/**/*.ts`],
    [
      never(FRAMEWORK, 'The core imports no framework'),
      never(STORE, 'The core imports no store or database driver, only the store contract in core/sessions/store.ts'),
      never(ADAPTER, 'The core imports no adapter'),
      never(SERVER, 'The core imports no server module'),
      never(CLIENT, 'The core imports no client module'),
    ],
  ),
  layer(
    [`${LIB}/stores/**/*.ts`],
    [
      never(FRAMEWORK, 'A store imports no framework'),
      never(ADAPTER, 'A store imports no adapter'),
      never(CLIENT, 'A store imports no client module'),
      never(SERVER, 'A store imports no server module'),
    ],
  ),
  layer(
    [`${LIB}/adapters/**/*.ts`],
    [
      never(SERVER, 'An adapter imports no server module'),
      never(STORE, 'An adapter imports no store or database driver'),
      never(CLIENT, 'An adapter imports no client module'),
    ],
  ),
  layer(
    // The client runs in browsers as plain ES modules: it may take types from the core, never code.
    [`${LIB}/client/**/*.ts`],
    [
      never(up('core'), 'The client imports only types from the core, whose code is Node-only', { allowTypeImports: true }),
      never(up('internal'), 'The client imports nothing from internal/, whose helpers are Node-only'),
      never(NODE, 'The client imports no Node built-in, since it runs in browsers'),
      never(STORE, 'The client imports no store or database driver'),
      never(anyOf(ADAPTER, FRAMEWORK), 'The client imports no adapter or framework'),
      never(SERVER, 'The client imports no server module'),
    ],
  ),
  layer(
    // The verify-only entry loads on Node, Bun, Deno and workerd: no store, driver, framework, adapter or client.
    [`${LIB}/remote/**/*.ts`],
    [
      never(anyOf(STORE, FRAMEWORK), 'The remote verifier imports no store, driver or framework'),
      never(ADAPTER, 'The remote verifier imports no adapter'),
      never(CLIENT, 'The remote verifier imports no client module'),
      never(SERVER, 'The remote verifier imports no server module'),
    ],
  ),
  // The rest of the library (src/index.ts, the tests) only keeps away from the server.
  layer(['packages/auth/**/*.ts'], [never(SERVER, 'The library never imports the server')], LAYERED),
  {
    files: ['**/*.test.ts', '**/test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  {
    // Nest's own idiom (emitDecoratorMetadata): an injected class is imported as a value, a module is an empty decorated class.
    files: ['examples/nest/src/**/*.ts'],
    rules: { '@typescript-eslint/consistent-type-imports': 'off', '@typescript-eslint/no-extraneous-class': 'off' },
  },
);
