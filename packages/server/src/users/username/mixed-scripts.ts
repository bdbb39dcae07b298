// Mixed-script detection of UTS #39 §5: a name that mixes scripts (Latin 'd' 'v' 'e' with Cyrillic
// 'а') is how a look-alike of another name is made, so new names must meet the "Highly
// Restrictive" restriction level (§5.2).
import { SCRIPT_EXTENSIONS, SCRIPT_NAMES, SCRIPT_SETS } from './data/scripts.js';
import { decodeRanges, rangeValue } from './range-table.js';

interface ScriptSet {
  /** Script indices of the Script_Extensions value. */
  readonly scripts: readonly number[];
  /** The same, augmented with Hanb, Jpan and Kore as §5.1 says. */
  readonly augmented: ReadonlySet<number>;
  /** Common or Inherited alone: §5.1 treats such a character as belonging to every script. */
  readonly any: boolean;
}

const NAMES = [...SCRIPT_NAMES.split(' '), 'Han with Bopomofo', 'Japanese', 'Korean', 'Unknown'];
const script = (name: string): number => {
  const index = NAMES.indexOf(name);
  if (index < 0) throw new Error(`scripts.ts has no script ${name}`);
  return index;
};
const COMMON = script('Common');
const INHERITED = script('Inherited');
const LATIN = script('Latin');
const HAN = script('Han');
const HIRAGANA = script('Hiragana');
const KATAKANA = script('Katakana');
const HANGUL = script('Hangul');
const BOPOMOFO = script('Bopomofo');
// The pseudo-scripts of UTS #39 §5.1 augmentation.
const HANB = script('Han with Bopomofo');
const JPAN = script('Japanese');
const KORE = script('Korean');

function scriptSet(scripts: readonly number[]): ScriptSet {
  const augmented = new Set(scripts);
  // UTS #39 §5.1: Han → +Hanb +Jpan +Kore; Hiragana, Katakana → +Jpan; Hangul → +Kore; Bopomofo → +Hanb.
  const add = (when: number, ...extra: number[]): void => {
    if (augmented.has(when)) for (const e of extra) augmented.add(e);
  };
  add(HAN, HANB, JPAN, KORE);
  add(HIRAGANA, JPAN);
  add(KATAKANA, JPAN);
  add(HANGUL, KORE);
  add(BOPOMOFO, HANB);
  const any = scripts.length === 1 && (scripts[0] === COMMON || scripts[0] === INHERITED);
  return { scripts, augmented, any };
}

const SETS = SCRIPT_SETS.split(' ').map((set) => scriptSet(set.split('.').map((n) => parseInt(n, 36))));
const UNASSIGNED = scriptSet([script('Unknown')]);
const RANGES = decodeRanges(SCRIPT_EXTENSIONS);

/** The script sets that §5.2 "Highly Restrictive" lets one string mix: Latn+Jpan, Latn+Hanb, Latn+Kore. */
const COVERS: readonly ReadonlySet<number>[] = [
  new Set([LATIN, HAN, HIRAGANA, KATAKANA]),
  new Set([LATIN, HAN, BOPOMOFO]),
  new Set([LATIN, HAN, HANGUL]),
];

/**
 * undefined when `value` meets UTS #39 §5.2 "Highly Restrictive": its resolved script set (§5.1:
 * the intersection of the augmented Script_Extensions of its characters, Common and Inherited
 * ignored) is not empty, or one of COVERS covers it (every character shares a script with it).
 * Otherwise the names of the scripts it mixes, for the refusal.
 */
export function mixedScripts(value: string): readonly string[] | undefined {
  const sets: ScriptSet[] = [];
  let resolved: Set<number> | undefined;
  for (const character of value) {
    const index = rangeValue(RANGES, character.codePointAt(0) ?? 0);
    const set = index === undefined ? UNASSIGNED : (SETS[index] ?? UNASSIGNED);
    if (set.any) continue;
    sets.push(set);
    resolved = new Set(resolved === undefined ? set.augmented : [...resolved].filter((s) => set.augmented.has(s)));
  }
  if (resolved === undefined || resolved.size > 0) return undefined;
  if (COVERS.some((cover) => sets.every((set) => set.scripts.some((s) => cover.has(s))))) return undefined;
  return scriptNames(sets);
}

/** The scripts to name: each character's own script, or, when it has several, the first one not named yet. */
function scriptNames(sets: readonly ScriptSet[]): string[] {
  const named = new Set<number>();
  for (const set of sets) if (set.scripts.length === 1) named.add(set.scripts[0] ?? -1);
  for (const set of sets) if (!set.scripts.some((s) => named.has(s))) named.add(set.scripts[0] ?? -1);
  return [...named].map((s) => (NAMES[s] ?? 'Unknown').replaceAll('_', ' '));
}
