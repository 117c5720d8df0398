/**
 * Shell scripts: `bash -n` parses a script without running it (syntax errors are problems). Used
 * for the scripts eksnode writes: the sandbox image pull script and the bootstrap.sh and
 * eks-log-collector.sh shims.
 */
import { findTool, lines, notChecked, runTool, type Verdict } from "./common.ts";

/** Validates one shell script with `bash -n`. */
export async function validateShellScript(file: string): Promise<Verdict> {
  const bash = findTool("bash");
  if (!bash) return notChecked("bash -n", file, "bash");
  const r = await runTool([bash, "-n", file]);
  const problems = r.code === 0 ? [] : lines(r.stderr).map((l) => l.replaceAll(file, "the script"));
  if (r.code !== 0 && problems.length === 0) problems.push(`exit ${r.code}`);
  return { tool: "bash -n", subject: file, problems, notes: [] };
}
