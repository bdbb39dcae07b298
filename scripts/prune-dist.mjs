// After `tsc`: deletes what dist/ holds for a source that no longer exists (a module renamed or removed), so that it
// neither ships in the tarball nor stays importable. Run in a package folder. Pruning after the build, rather than
// emptying dist/ before it, keeps dist/ whole for anything that reads it meanwhile.
import { existsSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const OUTPUT = /(\.d\.ts\.map|\.d\.ts|\.js\.map|\.js)$/;

function prune(dir, src) {
  let left = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (prune(path, join(src, entry.name)) === 0) rmdirSync(path);
      else left++;
    } else if (OUTPUT.test(entry.name) && !existsSync(join(src, entry.name.replace(OUTPUT, '.ts')))) {
      rmSync(path);
      console.log(`pruned ${path} (its source is gone)`);
    } else left++;
  }
  return left;
}

if (existsSync('dist')) prune('dist', 'src');
