// The import's rules on SQLite (import-suite.ts).
import { sqliteBackend } from '@tessera/test-kit';
import { describeImport } from './import-suite.js';

describeImport('SQLite', () => Promise.resolve(sqliteBackend()));
