/**
 * Finds `/etc/eks/bootstrap.sh ...` invocations in an AL2-style user-data shell script and returns
 * their arguments, without running a shell, so they can go through `cli/bootstrap_flags.ts`.
 * Continuation lines, quotes, comments, `;`/`&&` lists, redirections and here-documents are
 * understood; variables are not expanded (arguments that need expansion are listed in `dynamic`).
 */
import { ConfigError } from "../../lib/errors.ts";
import { ShellSyntaxError, type ShellToken, tokenizeShellScript } from "../../lib/shell_words.ts";

/** One call of bootstrap.sh found in a script. */
export interface BootstrapInvocation {
  /** 1-based line of the script where the call starts. */
  line: number;
  /** Arguments after the script path, as the shell would pass them (minus expansion). */
  argv: string[];
  /** Arguments holding `$` or backticks outside single quotes, which a shell would expand. */
  dynamic: string[];
}

/** Words that may precede the script path in the same simple command. */
const PREFIXES = new Set([
  "sudo",
  "exec",
  "bash",
  "sh",
  "env",
  "nohup",
  "time",
  "command",
  "if",
  "elif",
  "while",
  "until",
  "then",
  "do",
  "else",
  "!",
  "{",
]);
const CONTROL = new Set(["&&", "||", ";", ";;", "&", "|", "(", ")"]);

/**
 * Returns every bootstrap.sh invocation in `script`, in order; `origin` names the script in errors.
 * @example findBootstrapInvocations("/etc/eks/bootstrap.sh my-cluster --use-max-pods false", "user data")
 */
export function findBootstrapInvocations(script: string, origin: string): BootstrapInvocation[] {
  let tokens: ShellToken[];
  try {
    tokens = tokenizeShellScript(script);
  } catch (err) {
    if (err instanceof ShellSyntaxError) {
      throw new ConfigError(
        `cannot read the shell script in ${origin}: ${err.message}`,
        "check the script's quoting",
      );
    }
    throw err;
  }
  const found: BootstrapInvocation[] = [];
  for (const command of simpleCommands(tokens)) {
    const at = command.findIndex((t) => isBootstrapPath(t.value));
    if (at < 0) continue;
    const before = command.slice(0, at);
    if (
      !before.every((t) =>
        PREFIXES.has(t.value) || /^[A-Za-z_][A-Za-z0-9_]*=/.test(t.value) || /^-/.test(t.value)
      )
    ) {
      continue; // e.g. `cp /etc/eks/bootstrap.sh /tmp`: the script is an argument, not the command.
    }
    const args = command.slice(at + 1);
    found.push({
      line: command[at].line,
      argv: args.map((t) => t.value),
      dynamic: args.filter((t) => t.dynamic).map((t) => t.value),
    });
  }
  return found;
}

type Word = Extract<ShellToken, { kind: "word" }>;

/** Splits tokens into simple commands (word lists), dropping redirections and their targets. */
function simpleCommands(tokens: ShellToken[]): Word[][] {
  const commands: Word[][] = [];
  let current: Word[] = [];
  const end = () => {
    if (current.length > 0) commands.push(current);
    current = [];
  };
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.kind === "newline") end();
    else if (t.kind === "op") {
      if (CONTROL.has(t.value)) end();
      else if (tokens[i + 1]?.kind === "word") i++; // redirection target
    } else current.push(t);
  }
  end();
  return commands;
}

function isBootstrapPath(word: string): boolean {
  return word === "bootstrap.sh" || word.endsWith("/bootstrap.sh");
}
