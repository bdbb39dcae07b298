// The "never" arrows of docs/architecture.md "Layers" are lint rules in eslint.config.js: for each folder, one
// forbidden import is refused with the message naming its arrow, and one allowed import passes.
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RULE = '@typescript-eslint/no-restricted-imports';
const eslint = new ESLint({ cwd: ROOT, overrideConfigFile: 'eslint.config.js' });

/** The import-rule messages for `code` linted as if it lived at `filePath` (relative to the repository root). */
async function refusals(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  expect(result?.filePath).toMatch(/\.ts$/);
  return (result?.messages ?? []).filter((message) => message.ruleId === RULE).map((message) => message.message);
}

const SRC = 'packages/auth/src';

// [arrow, file, forbidden import, start of the message (ESLint puts "'x' import is restricted …" before it)]
const forbidden: [string, string, string, string][] = [
  ['core → framework', `${SRC}/core/x.ts`, "import express from 'express';", 'The core imports no framework'],
  ['core → framework (hono subpath)', `${SRC}/core/x.ts`, "import { cors } from 'hono/cors';", 'The core imports no framework'],
  ['core → framework (@hono scope)', `${SRC}/core/transport/x.ts`, "import { serve } from '@hono/node-server';", 'The core imports no framework'],
  ['core → store', `${SRC}/core/tessera.ts`, "import { memoryStore } from '../stores/memory.js';", 'The core imports no store'],
  ['core → store (two up)', `${SRC}/core/transport/guard.ts`, "import { memoryStore } from '../../stores/memory.js';", 'The core imports no store'],
  ['core → database driver', `${SRC}/core/x.ts`, "import { Kysely } from 'kysely';", 'The core imports no store'],
  ['core → database driver (redis)', `${SRC}/core/sessions/x.ts`, "import { createClient } from 'redis';", 'The core imports no store'],
  ['core → adapter', `${SRC}/core/flows.ts`, "import { tesseraExpress } from '../adapters/express.js';", 'The core imports no adapter'],
  ['core → server', `${SRC}/core/x.ts`, "import { buildApp } from '@tessera/server';", 'The core imports no server module'],
  [
    'core → server (relative)',
    `${SRC}/core/tokens/x.ts`,
    "import { buildApp } from '../../../../server/src/app.js';",
    'The core imports no server module',
  ],
  ['core → client', `${SRC}/core/x.ts`, "import { createClient } from '../client/index.js';", 'The core imports no client module'],
  ['stores → framework', `${SRC}/stores/memory.ts`, "import fastify from 'fastify';", 'A store imports no framework'],
  ['stores → adapter', `${SRC}/stores/sql/x.ts`, "import { kit } from '../../adapters/adapter-kit.js';", 'A store imports no adapter'],
  ['stores → client', `${SRC}/stores/x.ts`, "import { createClient } from '../client/index.js';", 'A store imports no client module'],
  ['stores → server', `${SRC}/stores/redis/x.ts`, "import { settings } from '@tessera/server/settings';", 'A store imports no server module'],
  [
    'adapters → server',
    `${SRC}/adapters/express.ts`,
    "import { buildApp } from '../../../server/src/app.js';",
    'An adapter imports no server module',
  ],
  ['adapters → store', `${SRC}/adapters/hono.ts`, "import { memoryStore } from '../stores/memory.js';", 'An adapter imports no store'],
  ['adapters → client', `${SRC}/adapters/x.ts`, "import { createClient } from '../client/index.js';", 'An adapter imports no client module'],
  [
    'client → core code',
    `${SRC}/client/client.ts`,
    "import { TesseraError } from '../core/errors.js';",
    'The client imports only types from the core',
  ],
  ['client → internal', `${SRC}/client/x.ts`, "import { toBase64Url } from '../internal/base64url.js';", 'The client imports nothing from internal/'],
  ['client → node:*', `${SRC}/client/x.ts`, "import { randomBytes } from 'node:crypto';", 'The client imports no Node built-in'],
  ['client → bare Node built-in', `${SRC}/client/x.ts`, "import { Buffer } from 'buffer';", 'The client imports no Node built-in'],
  ['client → store', `${SRC}/client/x.ts`, "import { memoryStore } from '../stores/memory.js';", 'The client imports no store'],
  ['client → adapter', `${SRC}/client/x.ts`, "import { tesseraHono } from '../adapters/hono.js';", 'The client imports no adapter'],
  ['remote → store', `${SRC}/remote/x.ts`, "import { memoryStore } from '../stores/memory.js';", 'The remote verifier imports no store'],
  ['remote → adapter', `${SRC}/remote/x.ts`, "import { tessera } from '../adapters/hono.js';", 'The remote verifier imports no adapter'],
  ['client → server', `${SRC}/client/x.ts`, "import { buildApp } from '@tessera/server';", 'The client imports no server module'],
  ['protocol → node:*', `${SRC}/protocol/protocol.ts`, "import { Buffer } from 'node:buffer';", 'protocol/ imports nothing but itself'],
  ['protocol → core', `${SRC}/protocol/x.ts`, "import { type Claims } from '../core/types.js';", 'protocol/ imports nothing but itself'],
  ['protocol → internal', `${SRC}/protocol/x.ts`, "import { toBase64Url } from '../internal/base64url.js';", 'protocol/ imports nothing but itself'],
  [
    'internal → core',
    `${SRC}/internal/json.ts`,
    "import { TesseraError } from '../core/errors.js';",
    'internal/ imports only Node built-ins and itself',
  ],
  ['internal → package', `${SRC}/internal/x.ts`, "import { Kysely } from 'kysely';", 'internal/ imports only Node built-ins and itself'],
  ['library → server (src)', `${SRC}/index.ts`, "import { buildApp } from '@tessera/server';", 'The library never imports the server'],
  [
    'library → server (test)',
    'packages/auth/test/client/x.test.ts',
    "import { buildApp } from '../../../server/src/app.js';",
    'The library never imports the server',
  ],
];

// [what, file, allowed import]
const allowed: [string, string, string][] = [
  ['core → the store contract', `${SRC}/core/tessera.ts`, "import { type SessionStore } from './sessions/store.js';"],
  ['core → the store contract (one up)', `${SRC}/core/transport/guard.ts`, "import { type SessionStore } from '../sessions/store.js';"],
  [
    'core → internal and protocol',
    `${SRC}/core/tokens/x.ts`,
    "import { toBase64Url } from '../../internal/base64url.js';\nimport { HEADER } from '../../protocol/protocol.js';",
  ],
  ['core → Node built-ins', `${SRC}/core/x.ts`, "import { createHmac } from 'node:crypto';"],
  ['stores → core and drivers', `${SRC}/stores/sql/x.ts`, "import { TesseraError } from '../../core/errors.js';\nimport { Kysely } from 'kysely';"],
  ['adapters → core and frameworks', `${SRC}/adapters/x.ts`, "import { Tessera } from '../core/tessera.js';\nimport express from 'express';"],
  [
    'remote → core and internal',
    `${SRC}/remote/x.ts`,
    "import { readHeader } from '../core/tokens/verify.js';\nimport { decodeBase64url } from '../internal/base64url.js';",
  ],
  ['client → protocol', `${SRC}/client/client.ts`, "import { HEADER } from '../protocol/protocol.js';"],
  ['client → import type from core', `${SRC}/client/x.ts`, "import type { Claims } from '../core/types.js';"],
  ['client → inline type-only import from core', `${SRC}/client/x.ts`, "import { type Claims } from '../core/types.js';"],
  ['client → itself', `${SRC}/client/x.ts`, "import { ClientError } from './errors.js';"],
  ['protocol → itself', `${SRC}/protocol/x.ts`, "import { HEADER } from './protocol.js';"],
  ['internal → Node built-ins and itself', `${SRC}/internal/x.ts`, "import { Buffer } from 'node:buffer';\nimport { parse } from './json.js';"],
  ['library test → the library', 'packages/auth/test/x.test.ts', "import { memoryStore } from '../src/stores/memory.js';"],
  ['server → the library', 'packages/server/src/x.ts', "import { Tessera } from '@tessera/auth';"],
];

describe('the layers of docs/architecture.md are lint rules', () => {
  it.each(forbidden)('refuses %s', async (_arrow, filePath, code, message) => {
    const messages = await refusals(filePath, code);
    expect(messages).toHaveLength(code.split('\n').length);
    for (const text of messages) {
      expect(text).toContain(` ${message}`);
      expect(text).toMatch(/\(docs\/architecture\.md "Layers"\)\.$/);
    }
  });

  it.each(allowed)('allows %s', async (_what, filePath, code) => {
    expect(await refusals(filePath, code)).toEqual([]);
  });
});
