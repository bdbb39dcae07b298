export { LEGACY_HASH_CAPS } from './caps.js';
export { LegacyHashError, type LegacyHashProblem } from './errors.js';
export { LEGACY_FORMATS, parseLegacyHash, verifyLegacyHash, type LegacyHash } from './legacy-hash.js';
