// Code points a new username may never hold, whatever their place: they are invisible, mean
// nothing yet, or are not text.
import { FORBIDDEN, FORBIDDEN_KINDS } from './data/forbidden.js';
import { decodeRanges, rangeValue } from './range-table.js';

export type ForbiddenKind = (typeof FORBIDDEN_KINDS)[number];

const TABLE = decodeRanges(FORBIDDEN);
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/**
 * The worst kind of forbidden code point in `value`, in the order of FORBIDDEN_KINDS:
 * 'invisible' (Default_Ignorable_Code_Point, DerivedCoreProperties.txt: U+034F, variation
 * selectors, Mongolian free variation selectors, U+17B4, Hangul fillers, zero-width characters…),
 * 'unassigned' (General_Category Cn: a later Unicode may give them any look), 'surrogate' (a lone
 * UTF-16 half) and 'control' (Cc, Cf, Zs, Zl, Zp: controls, format characters and spaces).
 */
export function forbiddenKind(value: string): ForbiddenKind | undefined {
  if (PRINTABLE_ASCII.test(value)) return value.includes(' ') ? 'control' : undefined;
  let worst: number | undefined;
  for (const character of value) {
    const kind = rangeValue(TABLE, character.codePointAt(0) ?? 0);
    if (kind !== undefined && (worst === undefined || kind < worst)) worst = kind;
  }
  return worst === undefined ? undefined : FORBIDDEN_KINDS[worst];
}
