// One linter for the repository. The per-folder rule below enforces the layers of docs/architecture.md:
// the core knows no framework, database or server.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const FRAMEWORKS_AND_STORES = [
  'express',
  'fastify',
  'fastify-plugin',
  'hono',
  'hono/*',
  '@hono/*',
  'kysely',
  'pg',
  'better-sqlite3',
  'redis',
  '@tessera/server',
  '@tessera/server/*',
];

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/coverage/**', 'bench/results/**', 'data/**'] },
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
      'no-restricted-syntax': ['error', { selector: 'ExportAllDeclaration', message: 'Name every export (docs/architecture.md "Conventions"): no `export *`.' }],
    },
  },
  {
    files: ['packages/auth/src/core/**/*.ts', 'packages/auth/src/internal/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: FRAMEWORKS_AND_STORES.filter((p) => !p.includes('*')).map((name) => ({
            name,
            message: 'The core imports no framework, database or server module (docs/architecture.md "Layers").',
          })),
          patterns: [
            {
              group: FRAMEWORKS_AND_STORES.filter((p) => p.includes('*')),
              message: 'The core imports no framework, database or server module (docs/architecture.md "Layers").',
            },
            {
              group: ['**/stores/**', '**/adapters/**', '**/client/**', '**/server/**'],
              message: 'Dependencies point downward only: the core cannot import stores, adapters, the client or the server.',
            },
          ],
        },
      ],
    },
  },
  {
    // The client runs in browsers as plain ES modules: it may take types from the core, never code.
    files: ['packages/auth/src/client/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../core/*', '../core/**', '../stores/**', '../adapters/**', 'node:*'],
              allowTypeImports: true,
              message: 'The client loads in browsers: import only types from the core, and no Node modules.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.test.ts', '**/test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
