// The HTTP contract on the embedded default: a fresh SQLite file in a temporary directory.
import { sqliteBackend } from '@tessera/test-kit';
import { describeContract } from './support/contract-suite.js';

describeContract('SQLite', async () => sqliteBackend());
