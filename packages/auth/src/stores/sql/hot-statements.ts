/**
 * The SQL texts of the statements run on every refresh (`prepareQuery`'s), which a driver may keep
 * prepared on its connections. Only texts are shared: the query builder need not know the driver,
 * nor the driver the store. It grows by a few texts per store built (one set per schema), never per call.
 */
const hot = new Set<string>();

/** Marks a compiled statement's text as worth preparing. */
export function markHot(sql: string): void {
  hot.add(sql);
}

/** Whether this text was marked by `markHot`. */
export function isHot(sql: string): boolean {
  return hot.has(sql);
}
