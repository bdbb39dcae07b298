// `redocly lint` for the suites that check the OpenAPI document: one place that knows how to run it offline.
import { execFile } from 'node:child_process';
import { join } from 'node:path';

const REDOCLY = join(import.meta.dirname, '..', '..', '..', '..', 'node_modules', '.bin', 'redocly');

/** Redocly's JSON report. */
export interface LintReport {
  totals: { errors: number; warnings: number; ignored: number };
  problems: { ruleId: string; severity: string; message: string; location: { pointer?: string }[] }[];
}

/** Runs `redocly lint --extends=recommended --format=json` on `file` in `cwd` (an empty folder: no redocly.yaml is picked up). */
export function redoclyLint(file: string, cwd: string): Promise<LintReport> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [REDOCLY, 'lint', '--extends=recommended', '--format=json', file],
      // No telemetry and no update check: the CLI would otherwise try to reach its vendor.
      { cwd, env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' }, timeout: 60_000 },
      (error, stdout, stderr) => {
        // Exit 1 when problems are found: the JSON report on stdout says which.
        try {
          resolve(JSON.parse(stdout) as LintReport);
        } catch {
          reject(new Error(`redocly lint gave no JSON report (${String(error)}): ${stderr}`));
        }
      },
    );
  });
}
