/**
 * How the operating commands print: text for people (aligned tables, one-line summaries) or
 * `--output json` for machines (one JSON document on stdout). Kept tiny so every command shares it.
 */
import { Option } from "@commander-js/extra-typings";

/** `text` for people, `json` for machines. */
export type OutputFormat = "text" | "json";

/**
 * The `--output text|json` option (default text): the one name every command uses for its output format.
 */
export function outputOption(description = "text for people, json for machines") {
  return new Option("--output <format>", description).choices(
    ["text", "json"] as const,
  ).default(
    "text" as const,
  );
}

/** One JSON document, indented, as `--output json` prints it. */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/**
 * Renders rows as a left-aligned text table with a header line; cells never contain newlines.
 * @example renderTable(["a", "b"], [["1", "22"]]) // "a  b\n1  22"
 */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join("  ").trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}
