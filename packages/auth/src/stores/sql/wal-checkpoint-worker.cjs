// PASSIVE checkpoints of one SQLite file on a thread of their own (stores/sql/wal-checkpointer.ts). A file,
// not source handed to `eval`: Node runs its `--import` preloads only in file workers, and a preload may be
// what points better-sqlite3 at its addon. CommonJS, so the source and the build hold the same file.
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);

const db = new Database(workerData.filename, { fileMustExist: true, timeout: workerData.busyTimeout });
parentPort.on('message', (id) => {
  try {
    // PASSIVE never takes the write lock and never waits: it copies what no reader still needs.
    const [row] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ id, busy: row.busy, log: row.log, copied: row.checkpointed });
  } catch (error) {
    parentPort.postMessage({ id, error: String((error && error.message) || error) });
  }
});
parentPort.postMessage({ ready: true });
