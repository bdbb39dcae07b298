// Code point mappings (case folding, confusable prototypes): decoded once from the compact strings
// in data/ (written by scripts/unicode-tables.ts) into a Map. Encoding: records joined by ',', the
// source of each counted as a base-36 gap from the previous record's last source:
//   `gap.delta`                   one source mapped to source + delta
//   `gap.count.stride.delta`      count sources, stride apart, each mapped to source + delta
//   `gap:target.target...`        one source mapped to a sequence of code points

/** Decodes a mapping written by scripts/unicode-tables.ts into code point → replacement text. */
export function decodeMapping(encoded: string): ReadonlyMap<number, string> {
  const mapping = new Map<number, string>();
  let source = 0;
  for (const record of encoded === '' ? [] : encoded.split(',')) {
    const colon = record.indexOf(':');
    if (colon >= 0) {
      source += parseInt(record.slice(0, colon), 36);
      const targets = record
        .slice(colon + 1)
        .split('.')
        .map((n) => parseInt(n, 36));
      mapping.set(source, String.fromCodePoint(...targets));
      continue;
    }
    const fields = record.split('.').map((n) => parseInt(n, 36));
    const [gap = 0, count = 1, stride = 1, delta = 0] = fields.length === 2 ? [fields[0], 1, 1, fields[1]] : fields;
    source += gap;
    for (let i = 0; i < count; i++, source += stride) mapping.set(source, String.fromCodePoint(source + delta));
    source -= stride;
  }
  return mapping;
}

/** `value` with every code point that `mapping` holds replaced (one pass, no re-mapping). */
export function mapCodePoints(value: string, mapping: ReadonlyMap<number, string>): string {
  let out = '';
  for (const character of value) out += mapping.get(character.codePointAt(0) ?? 0) ?? character;
  return out;
}
