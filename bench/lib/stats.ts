/** Repeated measurements: min / median / max, and ratios paired run by run against a baseline. */

/** Summary of repeated samples. */
export interface Stats {
  min: number;
  median: number;
  max: number;
  n: number;
}

/**
 * Min, median and max of samples.
 * @example summarize([3, 1, 2]) // { min: 1, median: 2, max: 3, n: 3 }
 */
export function summarize(samples: number[]): Stats {
  if (samples.length === 0) throw new Error("no samples");
  const s = [...samples].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { min: s[0], median, max: s[s.length - 1], n: s.length };
}

/**
 * Ratios of paired samples (`a[i] / b[i]`): each repetition is compared with the baseline measured
 * right beside it, so a noisy moment on a shared machine moves both.
 */
export function pairedRatios(a: number[], b: number[]): Stats {
  if (a.length !== b.length) throw new Error("unpaired samples");
  return summarize(a.map((x, i) => x / b[i]));
}

/** `median (min–max)` with a unit and a number of decimals. */
export function fmt(s: Stats, unit = "", digits = 2): string {
  const f = (x: number) => x.toFixed(digits);
  return `${f(s.median)}${unit} (${f(s.min)}–${f(s.max)})`;
}

/** `median (min–max)` of a ratio, e.g. `1.32x (1.20–1.51)`. */
export function fmtRatio(s: Stats): string {
  return fmt(s, "x");
}

/** Milliseconds from seconds samples, formatted. */
export function fmtMs(seconds: Stats): string {
  return fmt(
    { ...seconds, min: seconds.min * 1000, median: seconds.median * 1000, max: seconds.max * 1000 },
    " ms",
    0,
  );
}
