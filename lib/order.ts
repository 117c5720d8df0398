/**
 * String order by UTF-16 code units, as `Array.prototype.sort()` orders without a comparator: the same on
 * every machine (`localeCompare` follows the locale's collation, and its first call builds an ICU collator,
 * ~7 ms of a second `eksnode ami`).
 * @example ["b", "B", "a"].sort(byCodeUnits) // ["B", "a", "b"]
 */
export function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
