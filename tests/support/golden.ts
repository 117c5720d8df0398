/**
 * Golden files: expected outputs kept under tests/golden/, reviewed like code. `compareOrUpdate`
 * compares a set of rendered files with a golden directory and fails with a line diff; with
 * `UPDATE_GOLDEN=1` in the environment it rewrites the directory instead.
 */
import { AssertionError } from "node:assert";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { walkTree } from "./helpers.ts";

/** Root of the golden tree (tests/golden). */
export const GOLDEN_ROOT: string = fileURLToPath(new URL("../golden/", import.meta.url));

async function readTree(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  try {
    for await (const { path, full, info } of walkTree(root)) {
      if (!info.isDirectory) out[path.slice(1)] = await Deno.readTextFile(full);
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return out;
}

/**
 * A unified-style diff of two texts (expected `-`, actual `+`) with 3 lines of context.
 * @example lineDiff("a\nb\n", "a\nc\n") // "@@ line 2 @@\n-b\n+c"
 */
export function lineDiff(expected: string, actual: string): string {
  const a = expected.split("\n");
  const b = actual.split("\n");
  // Longest common subsequence table (golden files are small).
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const ops: { op: " " | "-" | "+"; text: string; line: number }[] = [];
  let i = 0, j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) ops.push({ op: " ", text: a[i++], line: j++ + 1 });
    else if (i < a.length && (j === b.length || lcs[i + 1][j] >= lcs[i][j + 1])) {
      ops.push({ op: "-", text: a[i++], line: j + 1 });
    } else ops.push({ op: "+", text: b[j++], line: j });
  }
  const keep = new Set<number>();
  ops.forEach((o, k) => {
    if (o.op !== " ") {
      for (let c = Math.max(0, k - 3); c <= Math.min(ops.length - 1, k + 3); c++) keep.add(c);
    }
  });
  const out: string[] = [];
  let last = -2;
  for (const k of [...keep].sort((x, y) => x - y)) {
    if (k !== last + 1) out.push(`@@ line ${ops[k].line} @@`);
    out.push(`${ops[k].op}${ops[k].text}`);
    last = k;
  }
  return out.join("\n");
}

/**
 * Compares `files` (relative path → content) with the golden directory `dir` (relative to
 * tests/golden, e.g. "init/minimal-nodeconfig/expected"); throws an AssertionError listing every difference.
 * With UPDATE_GOLDEN=1 the directory is replaced by `files` and nothing is compared.
 */
export async function compareOrUpdate(dir: string, files: Record<string, string>): Promise<void> {
  const root = join(GOLDEN_ROOT, dir);
  if (Deno.env.get("UPDATE_GOLDEN") === "1") {
    await Deno.remove(root, { recursive: true }).catch(() => {});
    for (const [rel, text] of Object.entries(files)) {
      await Deno.mkdir(dirname(join(root, rel)), { recursive: true });
      await Deno.writeTextFile(join(root, rel), text);
    }
    return;
  }
  const golden = await readTree(root);
  const problems: string[] = [];
  for (const rel of Object.keys(golden).sort()) {
    if (!(rel in files)) problems.push(`${rel}: in the golden files but not produced`);
  }
  for (const rel of Object.keys(files).sort()) {
    if (!(rel in golden)) problems.push(`${rel}: produced but has no golden file`);
    else if (golden[rel] !== files[rel]) {
      problems.push(`${rel} differs:\n${lineDiff(golden[rel], files[rel])}`);
    }
  }
  if (problems.length) {
    throw new AssertionError({
      message: `golden files ${dir} do not match (UPDATE_GOLDEN=1 rewrites them; review the diff first):\n` +
        problems.join("\n"),
    });
  }
}
