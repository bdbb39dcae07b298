// The UTS #39 skeleton (§4 "Confusable Detection"): two keys with one skeleton look alike, so the
// skeleton, not the key, is what must be unique among users.
import { CONFUSABLES, SOFT_DOTTED } from './data/confusables.js';
import { decodeMapping, mapCodePoints } from './mapping-table.js';
import { decodeRanges, rangeValue } from './range-table.js';

const PROTOTYPES = decodeMapping(CONFUSABLES);
const SOFT_DOTTED_RANGES = decodeRanges(SOFT_DOTTED);
const COMBINING_DOT_ABOVE = 0x0307;

/**
 * skeleton(key) of UTS #39 §4: NFD, each code point replaced by its confusables.txt prototype,
 * NFD again. Then one refinement: U+0307 COMBINING DOT ABOVE straight after a Soft_Dotted letter
 * is dropped, because such a letter shows its own dot only when no mark sits above it (Unicode
 * Standard §7.1 "Diacritics on i and j"; the After_Soft_Dotted context of SpecialCasing.txt), so
 * 'i̇' (the fold of 'İ') renders as 'i' and must not make 'i̇nfo' differ from 'info'.
 */
export function usernameSkeleton(key: string): string {
  const mapped = mapCodePoints(key.normalize('NFD'), PROTOTYPES).normalize('NFD');
  if (!mapped.includes('\u0307')) return mapped;
  let out = '';
  let previous = -1;
  for (const character of mapped) {
    const codePoint = character.codePointAt(0) ?? 0;
    if (!(codePoint === COMBINING_DOT_ABOVE && previous >= 0 && rangeValue(SOFT_DOTTED_RANGES, previous) !== undefined)) out += character;
    previous = codePoint;
  }
  return out;
}
