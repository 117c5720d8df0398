/**
 * sshd: `sshd -t` on a main config that only includes the drop-in, through the same function
 * `eksnode ami` step 6 uses before it installs the drop-in (steps/ami/06_ssh_hardening.ts
 * validateSshdDropin): unknown keywords and algorithms are errors; sshd's complaint about its
 * runtime directory, which only exists while it runs, is a note.
 */
import { Host } from "../../../lib/host.ts";
import { validateSshdDropin } from "../../../steps/ami/06_ssh_hardening.ts";
import { findTool, notChecked, type Verdict, withScratchCopy } from "./common.ts";

const TOOL = "sshd -t";

/** Validates one sshd_config.d drop-in. */
export async function validateSshdFile(file: string): Promise<Verdict> {
  const sshd = findTool("sshd");
  if (!sshd) return notChecked(TOOL, file, "sshd (openssh-server)");
  const host = await Host.open("/", { PATH: Deno.env.get("PATH") ?? "" });
  const r = await withScratchCopy("sshd-check", file, (copy) => validateSshdDropin(sshd, copy, host));
  return {
    tool: TOOL,
    subject: file,
    problems: r.ok ? [] : [r.detail ?? "rejected"],
    notes: r.ok && r.detail ? [r.detail] : [],
  };
}
