/**
 * The commands documented in README.md and docs/*.md, as tests/project/docs_test.ts runs them: every line of a
 * fenced `sh` (or `bash`, `shell`) block that is not blank or a comment is a command (a trailing `\` joins the
 * next line, a here-document runs to its delimiter). Its trailing comment may say what it gives:
 *
 * - `# prints TEXT`: its standard output, trimmed, is TEXT;
 * - `# exits N`: it ends with exit code N (otherwise 0);
 * - a tag from {@link NOT_RUN_TAGS} anywhere in the comment: it needs what a test does not have, and is
 *   counted, not run.
 */

/** Tags that mark a documented command as not run by the docs test, with what each stands for. */
export const NOT_RUN_TAGS = {
  "[on a node]": "needs a real instance or build host as root (the running system, devices, containerd)",
  "[needs AWS]": "needs AWS credentials and a reachable AWS",
  "[long]": "runs for minutes (the whole test suite, the crash matrix, the benchmarks)",
} as const;

/** One documented command. */
export interface DocCommand {
  /** The file it is in, relative to the repository. */
  file: string;
  /** 1-based line of its first line. */
  line: number;
  /** The command as bash runs it (continuations and here-documents included, the comment left out). */
  script: string;
  /** `# prints TEXT`. */
  prints?: string;
  /** `# exits N`. */
  exits?: number;
  /** The not-run tag, when it has one. */
  tag?: keyof typeof NOT_RUN_TAGS;
}

const SHELL_LANGS = new Set(["sh", "bash", "shell"]);

/** The position of a `#` that starts a comment (outside quotes, after whitespace), or -1. */
export function commentStart(line: string): number {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === "\\" && quote === '"') i++;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === "\\") i++;
    else if (c === "#" && (i === 0 || /\s/.test(line[i - 1]))) return i;
  }
  return -1;
}

/** The commands of one markdown file. Throws on an unknown fence tag of a shell block or a stray comment. */
export function extractCommands(file: string, markdown: string): DocCommand[] {
  const lines = markdown.split("\n");
  const out: DocCommand[] = [];
  let fence: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]);
    if (fence === undefined) {
      if (open) fence = open[1] || "text";
      continue;
    }
    if (/^```\s*$/.test(lines[i])) {
      fence = undefined;
      continue;
    }
    if (!SHELL_LANGS.has(fence)) continue;
    const text = lines[i];
    if (text.trim() === "" || text.trimStart().startsWith("#")) continue;
    const first = i;
    const body: string[] = [];
    let comment = "";
    // A here-document: its lines are part of the command, up to the delimiter.
    let cur = text;
    for (;;) {
      const at = commentStart(cur);
      const code = at < 0 ? cur : cur.slice(0, at).trimEnd();
      if (at >= 0) comment = cur.slice(at + 1).trim();
      body.push(code);
      const heredoc = /<<-?\s*'?"?(\w+)'?"?/.exec(code);
      if (heredoc) {
        while (++i < lines.length && lines[i] !== heredoc[1]) body.push(lines[i]);
        if (i >= lines.length) throw new Error(`${file}:${first + 1}: here-document without ${heredoc[1]}`);
        body.push(lines[i]);
        break;
      }
      if (!code.endsWith("\\")) break;
      if (++i >= lines.length) throw new Error(`${file}:${first + 1}: a continuation runs off the file`);
      cur = lines[i];
    }
    const cmd: DocCommand = { file, line: first + 1, script: body.join("\n") };
    const tags = (Object.keys(NOT_RUN_TAGS) as (keyof typeof NOT_RUN_TAGS)[]).filter((t) =>
      comment.includes(t)
    );
    if (tags.length > 1) throw new Error(`${file}:${first + 1}: more than one tag: ${tags.join(" ")}`);
    if (tags.length) cmd.tag = tags[0];
    const prints = /^prints (.+)$/.exec(comment);
    if (prints) cmd.prints = prints[1].trim();
    const exits = /^exits (\d+)\b/.exec(comment);
    if (exits) cmd.exits = Number(exits[1]);
    // A misspelt tag would run the command anyway and fail; this names the mistake instead.
    if (/\[(?:on|needs|long|skip|not)\b[^\]]*\]/i.test(comment) && !cmd.tag) {
      throw new Error(
        `${file}:${first + 1}: unknown tag in "${comment}" (known: ${Object.keys(NOT_RUN_TAGS)})`,
      );
    }
    out.push(cmd);
  }
  if (fence !== undefined) throw new Error(`${file}: a code fence is not closed`);
  return out;
}

/**
 * Replaces the value of every `--root /PATH` (not `/` itself) with a directory under `sandbox`, so that a
 * documented bake or boot into a tree lands in the test's temp dir. Example:
 * `rootsUnder("eksnode verify --root /mnt/image", "/t")` → `eksnode verify --root /t/roots/mnt/image`.
 */
export function rootsUnder(script: string, sandbox: string): { script: string; roots: string[] } {
  const roots: string[] = [];
  const replaced = script.replace(/--root(=|\s+)(\/[A-Za-z0-9._\/-]*)/g, (all, sep: string, path: string) => {
    if (path.replace(/\/+$/, "") === "") return all;
    const mapped = `${sandbox}/roots${path.replace(/\/+$/, "")}`;
    roots.push(mapped);
    return `--root${sep}${mapped}`;
  });
  return { script: replaced, roots };
}
