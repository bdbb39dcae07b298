// Code point range tables: decoded once from the compact strings in data/ (written by
// scripts/unicode-tables.ts), then answered by binary search. Encoding: records joined by ',',
// each `gap.length[.value]` in base 36; gap counts from the end of the previous range and a
// missing value means 0.

/** Sorted, non-overlapping ranges [start, end) with one small value each. */
export interface RangeTable {
  readonly starts: Uint32Array;
  readonly ends: Uint32Array;
  readonly values: Uint16Array;
}

/** Decodes a range table written by scripts/unicode-tables.ts. */
export function decodeRanges(encoded: string): RangeTable {
  const records = encoded === '' ? [] : encoded.split(',');
  const starts = new Uint32Array(records.length);
  const ends = new Uint32Array(records.length);
  const values = new Uint16Array(records.length);
  let end = 0;
  records.forEach((record, i) => {
    const [gap = '', length = '', value = '0'] = record.split('.');
    const start = end + parseInt(gap, 36);
    end = start + parseInt(length, 36);
    starts[i] = start;
    ends[i] = end;
    values[i] = parseInt(value, 36);
  });
  return { starts, ends, values };
}

/** The value of the range holding `codePoint`, or undefined when no range holds it. */
export function rangeValue(table: RangeTable, codePoint: number): number | undefined {
  const { starts, ends, values } = table;
  let low = 0;
  let high = starts.length - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    if (codePoint < (starts[middle] ?? 0)) high = middle - 1;
    else if (codePoint >= (ends[middle] ?? 0)) low = middle + 1;
    else return values[middle];
  }
  return undefined;
}
