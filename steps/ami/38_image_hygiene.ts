/**
 * Only with `eksnode ami --hygiene`, the last thing before the image is captured: remove what
 * the build instance left that no node may share, as Amazon Linux 2023's EKS image build does
 * (templates/al2023/provisioners/cleanup.sh @81fec2e8; the list is eks/image/hygiene.ts). On the running
 * system with dnf or yum, `clean all` first, as cleanup.sh does; apt's caches are in the list.
 */
import { exec, file, note, remove } from "../../lib/changes.ts";
import type { Change } from "../../lib/step.ts";
import { findLeftovers } from "../../eks/image/hygiene.ts";
import type { AmiStepDef } from "./context.ts";

/** The step. */
export const step: AmiStepDef = {
  title: "Image hygiene: remove what the build instance left (SSH host keys, machine id, logs, caches)",
  group: "Linux",
  downloads: false,
  async plan(ctx) {
    const leftovers = await findLeftovers(ctx.host);
    const out: Change[] = [];
    const pm = ctx.packageManager;
    // On the running system the package manager drops its own caches first; under another root the
    // cache directory's removal below is all cleanup.sh's `rm -rf /var/cache/dnf` does.
    if (
      ctx.host.isSystemRoot && (pm === "dnf" || pm === "yum") &&
      leftovers.some((l) => l.path === `/var/cache/${pm}`)
    ) {
      out.push(exec([pm, "clean", "all"], { key: `${pm}-clean-all` }));
    }
    for (const l of leftovers) {
      out.push(
        l.action === "remove" ? remove(l.path, { recursive: true }) : file(l.path, "", { mode: l.mode }),
      );
    }
    if (!out.length) out.push(note("nothing of the build instance left to remove"));
    return out;
  },
};
