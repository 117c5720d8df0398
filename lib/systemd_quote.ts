/**
 * Quoting for systemd unit files, after systemd.service(5) "Command lines" and systemd.syntax(7):
 * words are split on whitespace, double and single quotes group, C-style backslash escapes are
 * decoded inside quotes, `%` starts a specifier everywhere (so it is written `%%`), and in
 * `ExecStart=` a `$` starts an environment variable (so it is written `$$`). A line ending in a
 * backslash continues on the next line.
 */
import { ConfigError } from "./errors.ts";

/** Characters that need no quoting in a unit-file word. */
const PLAIN = /^[A-Za-z0-9_@+=:,./-]+$/;

function escapeInQuotes(word: string, dollar: boolean): string {
  let out = "";
  for (const ch of word) {
    if (ch === "\\") out += "\\\\";
    else if (ch === '"') out += '\\"';
    else if (ch === "\n") out += "\\n";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\r") out += "\\r";
    else if (ch === "%") out += "%%";
    else if (ch === "$" && dollar) out += "$$";
    else if (ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f) {
      out += `\\x${ch.charCodeAt(0).toString(16).padStart(2, "0")}`;
    } else out += ch;
  }
  return out;
}

/**
 * One argument of an `ExecStart=` line, quoted so systemd hands it to the program unchanged.
 * @example quoteExecArg("--node-labels=a=b c") // "\"--node-labels=a=b c\""
 */
export function quoteExecArg(arg: string): string {
  if (arg.includes("\0")) throw new ConfigError(`argument ${JSON.stringify(arg)} holds a NUL byte`);
  if (arg !== "" && arg !== ";" && PLAIN.test(arg)) return arg;
  return `"${escapeInQuotes(arg, true)}"`;
}

/**
 * An `ExecStart=` value from an argv: the program, then one argument per continued line.
 * @example execCommandLine(["/usr/bin/kubelet", "--v=2"]) // "/usr/bin/kubelet \\\n    --v=2"
 */
export function execCommandLine(argv: readonly string[]): string {
  if (argv.length === 0 || !argv[0].startsWith("/")) {
    throw new ConfigError(`ExecStart needs an absolute program path, got ${JSON.stringify(argv[0] ?? "")}`);
  }
  return argv.map((a, i) => (i === 0 ? quoteExecArg(a) : `    ${quoteExecArg(a)}`)).join(" \\\n");
}

/**
 * One `Environment=` line per variable (sorted by name), values quoted; `$` is literal there. `directive`
 * is `DefaultEnvironment` for systemd-system.conf(5). Throws ConfigError on a name systemd would reject.
 */
export function environmentLines(
  env: Readonly<Record<string, string>>,
  directive: "Environment" | "DefaultEnvironment" = "Environment",
): string[] {
  return Object.keys(env).sort().map((name) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new ConfigError(
        `environment variable name ${JSON.stringify(name)} is not valid`,
        "use letters, digits and _ (not starting with a digit) in instance.environment",
      );
    }
    return `${directive}="${escapeInQuotes(`${name}=${env[name]}`, false)}"`;
  });
}

/**
 * The unit name part for a path, as `systemd-escape --path` makes it (systemd.unit(5) "String Escaping"):
 * slashes collapsed and trimmed, `/` becomes `-`, and every byte other than ASCII letters, digits, `:`, `_`
 * and a `.` that does not lead is written `\xNN`. The root is `-`.
 * @example escapeUnitPath("/mnt/k8s-disks/0") // "mnt-k8s\\x2ddisks-0"
 */
export function escapeUnitPath(path: string): string {
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw new ConfigError(`path ${JSON.stringify(path)} holds ".."`);
  if (parts.length === 0) return "-";
  const bytes = new TextEncoder().encode(parts.join("/"));
  let out = "";
  bytes.forEach((b, i) => {
    const ch = String.fromCharCode(b);
    if (ch === "/") out += "-";
    else if (/[A-Za-z0-9:_]/.test(ch) || (ch === "." && i !== 0)) out += ch;
    else out += `\\x${b.toString(16).padStart(2, "0")}`;
  });
  return out;
}
