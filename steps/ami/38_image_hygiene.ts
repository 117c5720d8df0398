/**
 * Only with `eksnode ami --hygiene`, the last thing before the image is captured: remove what
 * the build instance left that no node may share, as Amazon Linux 2023's EKS image build does
 * (templates/al2023/provisioners/cleanup.sh @81fec2e8; the list is eks/image/hygiene.ts). On the running
 * system with dnf or yum, `clean all` first, as cleanup.sh does; apt's caches are in the list.
 * Where the image has sshd but no `sshd-keygen@.service` (Debian, Ubuntu: their keys come from the package's
 * postinst), it installs and enables `eksnode-ssh-host-keys.service`, which makes them at boot as AL2023's
 * openssh-server does; without it their sshd would not start on a node from the image.
 */
import { exec, file, note, remove } from "../../lib/changes.ts";
import type { Change } from "../../lib/step.ts";
import {
  findLeftovers,
  needsSshKeygenUnit,
  renderSshKeygenUnit,
  SSH_KEYGEN_UNIT,
} from "../../eks/image/hygiene.ts";
import type { AmiStepDef } from "./context.ts";
import { unitChanges } from "./unit_changes.ts";

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
    if (await needsSshKeygenUnit(ctx.host)) {
      out.push(
        ...await unitChanges(ctx.host, { [SSH_KEYGEN_UNIT]: renderSshKeygenUnit() }, [SSH_KEYGEN_UNIT]),
      );
    }
    return out;
  },
};
