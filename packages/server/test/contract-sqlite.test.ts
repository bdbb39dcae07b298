// The HTTP contract on the embedded default: a fresh SQLite file in a temporary directory.
import { describeContract } from './support/contract-suite.js';
import { sqliteBackend } from './support/harness.js';

describeContract('SQLite', async () => sqliteBackend());
