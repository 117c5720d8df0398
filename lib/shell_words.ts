/**
 * POSIX-shell word splitting without running a shell: quotes and backslashes are honoured, nothing
 * is expanded (`$VAR` stays as written). Rules follow POSIX.1-2017 XCU 2.2 "Quoting" and 2.3
 * "Token Recognition".
 */

/** Thrown on an unterminated quote; callers turn it into their own error class. */
export class ShellSyntaxError extends Error {}

/** A token of a shell script: a word, a control or redirection operator, or a line end. */
export type ShellToken =
  | {
    kind: "word";
    value: string;
    /** 1-based line where the word starts. */
    line: number;
    /** True when the word holds `$` or a backtick outside single quotes: a shell would expand it. */
    dynamic: boolean;
  }
  | { kind: "op"; value: string; line: number }
  | { kind: "newline"; line: number };

/**
 * Splits `text` into words like a shell would, treating operators (`;`, `|`, `>`, ...) as plain
 * characters. Throws {@link ShellSyntaxError} on an unterminated quote.
 * @example splitShellWords(`--node-labels=a=b --x='y z'`) // ["--node-labels=a=b", "--x=y z"]
 */
export function splitShellWords(text: string): string[] {
  return scan(text, false).flatMap((t) => (t.kind === "word" ? [t.value] : []));
}

/**
 * Tokenizes a shell script into words, operators and line ends; comments are dropped and
 * here-document bodies skipped. Throws {@link ShellSyntaxError} on an unterminated quote.
 */
export function tokenizeShellScript(text: string): ShellToken[] {
  return scan(text, true);
}

const OPERATORS = [
  "&&",
  "||",
  ";;",
  "<<-",
  "<<",
  ">>",
  ">&",
  "<&",
  "&>",
  ">|",
  ";",
  "&",
  "|",
  "(",
  ")",
  "<",
  ">",
];

function scan(text: string, script: boolean): ShellToken[] {
  const tokens: ShellToken[] = [];
  let line = 1;
  let word: string | undefined;
  let wordLine = 1;
  let dynamic = false;
  const heredocs: { delimiter: string; stripTabs: boolean }[] = [];
  let pendingHeredoc: { stripTabs: boolean } | undefined;

  const flush = () => {
    if (word === undefined) return;
    if (pendingHeredoc) {
      heredocs.push({ delimiter: word, stripTabs: pendingHeredoc.stripTabs });
      pendingHeredoc = undefined;
    }
    tokens.push({ kind: "word", value: word, line: wordLine, dynamic });
    word = undefined;
    dynamic = false;
  };
  const append = (s: string) => {
    if (word === undefined) {
      word = "";
      wordLine = line;
    }
    word += s;
  };

  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === "\\") {
      if (text[i + 1] === "\n") {
        line++;
        i += 2;
        continue;
      }
      if (i + 1 < text.length) append(text[i + 1]);
      i += 2;
      continue;
    }
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new ShellSyntaxError(`unterminated single quote starting on line ${line}`);
      append(text.slice(i + 1, end));
      line += countNewlines(text, i + 1, end);
      i = end + 1;
      continue;
    }
    if (c === '"') {
      const start = line;
      let quoted = "";
      i++;
      for (;;) {
        if (i >= text.length) {
          throw new ShellSyntaxError(`unterminated double quote starting on line ${start}`);
        }
        const d = text[i];
        if (d === '"') break;
        if (d === "\\" && i + 1 < text.length && '$`"\\\n'.includes(text[i + 1])) {
          if (text[i + 1] === "\n") line++;
          else quoted += text[i + 1];
          i += 2;
          continue;
        }
        if (d === "$" || d === "`") dynamic = true;
        if (d === "\n") line++;
        quoted += d;
        i++;
      }
      if (word === undefined) wordLine = start;
      word = (word ?? "") + quoted;
      i++;
      continue;
    }
    if (c === " " || c === "\t" || c === "\r") {
      flush();
      i++;
      continue;
    }
    if (c === "\n") {
      flush();
      if (script) tokens.push({ kind: "newline", line });
      line++;
      i++;
      if (script && heredocs.length > 0) {
        const skipped = skipHeredocs(text, i, heredocs.splice(0));
        line += countNewlines(text, i, skipped);
        i = skipped;
      }
      continue;
    }
    if (script && c === "#" && word === undefined) {
      while (i < text.length && text[i] !== "\n") i++;
      continue;
    }
    if (script) {
      const op = OPERATORS.find((o) => text.startsWith(o, i));
      if (op) {
        // `2>&1`: digits right before a redirection belong to the operator.
        const fd = (op.startsWith(">") || op.startsWith("<")) && word !== undefined && /^[0-9]+$/.test(word);
        const value = fd ? word + op : op;
        if (fd) word = undefined;
        flush();
        if (op === "<<" || op === "<<-") pendingHeredoc = { stripTabs: op === "<<-" };
        tokens.push({ kind: "op", value, line });
        i += op.length;
        continue;
      }
    }
    if (c === "$" || c === "`") dynamic = true;
    append(c);
    i++;
  }
  flush();
  return tokens;
}

function countNewlines(text: string, from: number, to: number): number {
  let n = 0;
  for (let k = from; k < to; k++) if (text[k] === "\n") n++;
  return n;
}

/** Returns the index just past the bodies of the pending here-documents that start at `from`. */
function skipHeredocs(text: string, from: number, docs: { delimiter: string; stripTabs: boolean }[]): number {
  let i = from;
  for (const doc of docs) {
    for (;;) {
      if (i >= text.length) return text.length;
      const nl = text.indexOf("\n", i);
      const end = nl < 0 ? text.length : nl;
      let body = text.slice(i, end).replace(/\r$/, "");
      if (doc.stripTabs) body = body.replace(/^\t+/, "");
      i = nl < 0 ? text.length : nl + 1;
      if (body === doc.delimiter) break;
    }
  }
  return i;
}
