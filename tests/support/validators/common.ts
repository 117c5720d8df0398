/**
 * What every validator returns, and the few things they share: finding a tool (PATH, then the sbin
 * directories a non-root PATH lacks), running it with an argv array, and a scratch directory that
 * is always removed. Validators never change this machine: they read, parse and dry-run.
 */
import { tempDir } from "../../../fakes/temp.ts";

/** The outcome of one validator on one file (or one root). */
export interface Verdict {
  /** The tool that judged, e.g. "containerd config dump". */
  tool: string;
  /** What was checked (a path, usually inside a test root). */
  subject: string;
  /** Why the tool (or the comparison with its output) rejects the subject; empty: accepted. */
  problems: string[];
  /** Caveats of a check that passed: what this machine's tool could not judge, and why. */
  notes: string[];
  /** Set when nothing was checked: "not checked: containerd missing". */
  notChecked?: string;
}

/** A verdict saying the tool is missing, so nothing was checked. */
export function notChecked(tool: string, subject: string, missing: string): Verdict {
  return { tool, subject, problems: [], notes: [], notChecked: `not checked: ${missing} missing` };
}

/** True when the verdict checked something and found nothing wrong. */
export function accepted(v: Verdict): boolean {
  return v.notChecked === undefined && v.problems.length === 0;
}

/** One line for an assertion message: the tool, the subject and every problem. */
export function describeVerdict(v: Verdict): string {
  if (v.notChecked) return `${v.tool} ${v.subject}: ${v.notChecked}`;
  const lines = [`${v.tool} ${v.subject}: ${v.problems.length ? "rejected" : "accepted"}`];
  for (const p of v.problems) lines.push(`  problem: ${p}`);
  for (const n of v.notes) lines.push(`  note: ${n}`);
  return lines.join("\n");
}

const SBIN = ["/usr/local/sbin", "/usr/sbin", "/sbin"];

/** The absolute path of `command` on PATH or in the sbin directories, or undefined. */
export function findTool(command: string): string | undefined {
  const dirs = [...(Deno.env.get("PATH") ?? "").split(":").filter(Boolean), ...SBIN];
  for (const dir of dirs) {
    const candidate = `${dir}/${command}`;
    try {
      const st = Deno.statSync(candidate);
      if (st.isFile && ((st.mode ?? 0) & 0o111)) return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** Output of {@link runTool}. */
export interface ToolRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs argv (no shell) with an optional environment, in the C locale (the validators read the tools'
 * messages, which a tr_TR or any other locale translates); never throws on a non-zero exit.
 */
export async function runTool(argv: string[], env?: Record<string, string>): Promise<ToolRun> {
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { LC_ALL: "C", ...env },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** The first line of a tool's version output, for README's table and test names. */
export async function toolVersion(argv: string[]): Promise<string> {
  const r = await runTool(argv).catch(() => undefined);
  if (!r) return "unknown";
  return (r.stdout.trim() || r.stderr.trim()).split("\n")[0];
}

/** Runs `fn` with a fresh temp directory, removed afterwards whatever happens. */
export async function withScratch<T>(prefix: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await tempDir({ prefix: `eksnode-${prefix}-` });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * Runs `fn` on a copy of `file` alone in a fresh temp directory: eksnode's validators put their work
 * files beside the candidate (the product keeps each candidate alone in a scratch directory), so checking
 * a golden file in place would race with a check of its neighbours (or of a directory including them).
 */
export function withScratchCopy<T>(
  prefix: string,
  file: string,
  fn: (copy: string) => Promise<T>,
): Promise<T> {
  return withScratch(prefix, async (dir) => {
    const copy = `${dir}/${file.slice(file.lastIndexOf("/") + 1)}`;
    await Deno.copyFile(file, copy);
    return await fn(copy);
  });
}

/** Non-empty trimmed lines of a text. */
export function lines(text: string): string[] {
  return text.split("\n").map((l) => l.trim()).filter(Boolean);
}

/** A leaf of a parsed document: its key path and value (objects are walked, arrays are leaves). */
export interface Leaf {
  path: string[];
  value: unknown;
}

/** Every leaf of a parsed TOML/JSON/YAML object; an empty table is a leaf of its own. */
export function leaves(doc: unknown, path: string[] = []): Leaf[] {
  if (doc === null || typeof doc !== "object" || Array.isArray(doc) || doc instanceof Date) {
    return [{ path, value: doc }];
  }
  const entries = Object.entries(doc as Record<string, unknown>);
  if (entries.length === 0 && path.length > 0) return [{ path, value: {} }];
  return entries.flatMap(([k, v]) => leaves(v, [...path, k]));
}

/** The value at `path` in a parsed document, or undefined (with found=false) when a key is missing. */
export function lookup(doc: unknown, path: string[]): { found: boolean; value?: unknown } {
  let cur: unknown = doc;
  for (const key of path) {
    if (cur === null || typeof cur !== "object" || Array.isArray(cur) || !(key in cur)) {
      return { found: false };
    }
    cur = (cur as Record<string, unknown>)[key];
  }
  return { found: true, value: cur };
}

/** A key path as containerd and TOML write it: plugins."io.containerd.cri.v1.images".registry. */
export function dotted(path: string[]): string {
  return path.map((k) => (/^[A-Za-z0-9_-]+$/.test(k) ? k : JSON.stringify(k))).join(".");
}
