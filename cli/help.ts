/**
 * Help text beyond commander's option lists: prose wrapped to the terminal (80 columns when stdout is
 * not a terminal, as commander wraps the lists), and the Examples section every command has.
 */
import type { Command } from "@commander-js/extra-typings";

/** The help width: the terminal's columns when stdout is one, else 80 (commander's own rule). */
export function helpWidth(): number {
  try {
    if (Deno.stdout.isTerminal()) return Math.max(40, Deno.consoleSize().columns);
  } catch {
    // no console size: not a terminal after all
  }
  return 80;
}

/**
 * Wraps `text` at spaces to `width` columns. Lines that start with a space (indented: tables, commands)
 * are kept as they are; other lines are paragraphs.
 * @example wrapText("a b c", 3) // "a b\nc"
 */
export function wrapText(text: string, width = helpWidth()): string {
  return text.split("\n").map((line) => {
    if (line.length <= width || /^\s/.test(line)) return line;
    const out: string[] = [];
    let cur = "";
    for (const word of line.split(" ")) {
      if (cur && cur.length + 1 + word.length > width) {
        out.push(cur);
        cur = word;
      } else cur = cur ? `${cur} ${word}` : word;
    }
    if (cur) out.push(cur);
    return out.join("\n");
  }).join("\n");
}

/** Help text (for `addHelpText`) wrapped to the help width when help is shown. */
export function prose(text: string): () => string {
  return () => wrapText(text);
}

/**
 * The Examples section of a command's help: each example is a comment saying what it does (wrapped)
 * and a command line to copy (kept within 80 columns by its author; `\` continues a long one).
 * @example examples([["bake into ./root", "eksnode ami --root $PWD/root"]])
 */
export function examples(list: readonly (readonly [what: string, command: string])[]): () => string {
  return () => {
    const width = helpWidth();
    const lines = ["", "Examples:"];
    for (const [what, command] of list) {
      lines.push(...wrapText(what, width - 4).split("\n").map((l) => `  # ${l}`));
      lines.push(...command.split("\n").map((l) => `  ${l}`), "");
    }
    return lines.join("\n").trimEnd();
  };
}

/** Help settings for every command: descriptions wrap also beside long option names. */
export function configureHelp(cmd: Command<unknown[], Record<string, unknown>>): void {
  cmd.configureHelp({ minWidthToWrap: 24 });
}
