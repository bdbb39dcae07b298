// Preloaded (node --import) by scripts/other-nodes.sh: better-sqlite3 loads its addon from a build for the running
// Node's ABI, named by OTHER_NODES_SQLITE_ADDON, instead of node_modules/better-sqlite3/build, which stays the build of
// the machine's own Node. Only that one file is redirected; every other addon loads as usual.
import { basename } from 'node:path';
import process from 'node:process';

const addon = process.env.OTHER_NODES_SQLITE_ADDON;
if (addon === undefined || addon === '') throw new Error('OTHER_NODES_SQLITE_ADDON must name the better_sqlite3.node built for this Node');

const dlopen = process.dlopen;
process.dlopen = function (module, filename, ...rest) {
  return dlopen.call(this, module, basename(String(filename)) === 'better_sqlite3.node' ? addon : filename, ...rest);
};
