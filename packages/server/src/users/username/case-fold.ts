// Full Unicode case folding (CaseFolding.txt statuses C + F; Unicode Standard §3.13 toCasefold).
// JavaScript has none: toLowerCase() is a lowercase mapping, which leaves 'ß' and final 'ς' alone
// and turns Cherokee the wrong way, so look-alikes that differ only by case would coexist.
import { CASE_FOLDING } from './data/case-folding.js';
import { decodeMapping, mapCodePoints } from './mapping-table.js';

const FOLDS = decodeMapping(CASE_FOLDING);
const ASCII = /^\p{ASCII}*$/u;

/** `value` case-folded in full: 'Straße' → 'strasse', 'ΟΔΟΣ' and 'οδος' → 'οδοσ'. */
export function caseFold(value: string): string {
  // For ASCII the fold is the lowercase mapping of A-Z (CaseFolding.txt has nothing else below U+0080).
  if (ASCII.test(value)) return value.toLowerCase();
  return mapCodePoints(value, FOLDS);
}
