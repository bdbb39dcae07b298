import { memoryStore } from '../../src/stores/memory.js';
import { describeSessionStore } from '../conformance/session-store.js';

describeSessionStore('memory', async () => {
  const store = memoryStore();
  return { store, cleanup: () => store.close() };
});
