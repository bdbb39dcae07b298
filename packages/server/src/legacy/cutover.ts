// One instance's view of the cut-over (docs/migration.md): how old tokens verify, until when, and the rows
// they are checked against. Built once per runtime, and only when TESSERA_LEGACY_FORMAT is set.
import type { Runtime } from '../runtime.js';
import { legacyRules } from './formats.js';
import { LegacyStore } from './legacy-store.js';
import type { LegacyVerifier } from './verify.js';

export interface LegacyCutover {
  readonly verifier: LegacyVerifier;
  /** Epoch ms: from this instant nothing legacy is accepted. */
  readonly until: number;
  /** Whether the server's own guarded routes take the old stack's access tokens too. */
  readonly access: boolean;
  readonly store: LegacyStore;
}

const built = new WeakMap<Runtime, LegacyCutover | undefined>();

/** The cut-over of `runtime`, or undefined when none is configured. */
export function cutoverOf(runtime: Runtime): LegacyCutover | undefined {
  if (built.has(runtime)) return built.get(runtime);
  const { config } = runtime;
  // loadConfig refuses a format without its secret and its end (settings-checks.ts), so both are set here.
  const cutover =
    config.legacyFormat === undefined || config.legacySecret === undefined || config.legacyUntil === undefined
      ? undefined
      : {
          verifier: {
            rules: legacyRules(config.legacyFormat, config.legacyUserClaim),
            alg: config.legacyAlg,
            secret: config.legacySecret,
            leeway: config.leeway,
          },
          until: config.legacyUntil,
          access: config.legacyAccess,
          store: new LegacyStore(runtime.database.db),
        };
  built.set(runtime, cutover);
  return cutover;
}
