/** The bench's result table: rows with their baseline and target, rendered for the terminal and Markdown. */

/** One figure of the table. */
export interface Row {
  /** What is measured. */
  figure: string;
  /** What it is compared with, measured in the same run ("-" for absolute figures). */
  baseline: string;
  /** The result: `median (min–max)` over the repetitions. */
  result: string;
  /** The goal, e.g. `<= 1.5x`. */
  target: string;
  /** Whether the median meets the target; undefined for figures without one. */
  met?: boolean;
}

/** A group of rows from one bench file, with the lines it wants printed below the table (breakdowns). */
export interface Section {
  title: string;
  rows: Row[];
  /** Extra Markdown (per-step breakdowns, candidate tables), printed after the main table. */
  details?: string[];
}

/** Escapes a table cell. */
function cell(s: string): string {
  return s.replaceAll("|", "\\|");
}

/** A Markdown table from a header and rows of cells. */
export function markdownTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => cell(r[i] ?? "").length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => cell(c).padEnd(widths[i])).join(" | ")} |`;
  return [line(header), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...rows.map(line)].join("\n");
}

/** The verdict column. */
export function verdict(met: boolean | undefined): string {
  return met === undefined ? "-" : met ? "met" : "missed";
}

/** The main table of every section's rows. */
export function summaryTable(sections: Section[]): string {
  const rows = sections.flatMap((s) => s.rows).map((
    r,
  ) => [r.figure, r.baseline, r.result, r.target, verdict(r.met)]);
  return markdownTable(["figure", "baseline (same run)", "result: median (min–max)", "target", ""], rows);
}

/** bench/results.md: the machine, the main table, then each section's details. */
export function resultsMarkdown(sections: Section[], about: string[]): string {
  const parts = [
    "# eksnode benchmark results",
    "",
    "Written by `deno task bench` (bench/run.ts); do not edit by hand.",
    "",
    ...about.map((l) => `- ${l}`),
    "",
    summaryTable(sections),
  ];
  for (const s of sections) {
    if (!s.details?.length) continue;
    parts.push("", `## ${s.title}`, "", ...s.details);
  }
  return parts.join("\n") + "\n";
}

/** Markers around the table in docs/benchmarks.md that `deno task bench` replaces. */
export const README_START = "<!-- bench:start -->";
export const README_END = "<!-- bench:end -->";

/** The document's text with the part between the bench markers replaced by `table`; unchanged without markers. */
export function replaceReadmeTable(readme: string, table: string): string {
  const a = readme.indexOf(README_START);
  const b = readme.indexOf(README_END);
  if (a < 0 || b < a) return readme;
  return readme.slice(0, a + README_START.length) + "\n\n" + table + "\n\n" + readme.slice(b);
}
