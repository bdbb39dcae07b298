// One small helper that several client modules need, kept apart so none imports another for it.

/** `{ [name]: value }`, or nothing when the value is undefined (exactOptionalPropertyTypes). */
export function optional<K extends string, V>(name: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [name]: value }) as { [P in K]?: V };
}
