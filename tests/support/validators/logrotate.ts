/**
 * logrotate: `logrotate -d` (debug: parse and report, rotate nothing) with a throwaway state file.
 * The run goes through the same function `eksnode ami` step 7 uses before it installs
 * /etc/logrotate.conf (steps/ami/07_logrotate_conf.ts validateLogrotate), which points the
 * config's `include /etc/logrotate.d` at the root's directory so its files are parsed too.
 */
import { Host } from "../../../lib/host.ts";
import { validateLogrotate } from "../../../steps/ami/07_logrotate_conf.ts";
import { findTool, notChecked, type Verdict, withScratchCopy } from "./common.ts";

const TOOL = "logrotate -d";

/** Validates a logrotate config file (`root`: the tree its `include /etc/logrotate.d` refers to). */
export async function validateLogrotateFile(file: string, root = "/"): Promise<Verdict> {
  const logrotate = findTool("logrotate");
  if (!logrotate) return notChecked(TOOL, file, "logrotate");
  const host = await Host.open(root, { PATH: Deno.env.get("PATH") ?? "" });
  const r = await withScratchCopy(
    "logrotate-check",
    file,
    (copy) => validateLogrotate(logrotate, copy, host),
  );
  return { tool: TOOL, subject: file, problems: r.ok ? [] : [r.detail ?? "rejected"], notes: [] };
}
