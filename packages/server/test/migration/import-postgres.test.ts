// The import's rules on Postgres, in a schema of this file's own (import-suite.ts).
import { postgresBackend } from '@tessera/test-kit';
import { describeImport } from './import-suite.js';

/** Redis logical database of this file (each server test file has its own). */
const REDIS_DB = 8;

describeImport('Postgres', () => postgresBackend('import', REDIS_DB));
