/**
 * No ec2-net-utils (its udev hooks rewrite routes and rules that the VPC CNI sets up; removed as
 * in awslabs/amazon-eks-ami templates/al2/provisioners/install-worker.sh @ 0061ba5d), and no host
 * firewall: ufw (Ubuntu) is disabled where present, since kube-proxy and the CNI own the node's iptables.
 */
import { exec, note } from "../../lib/changes.ts";
import type { Change } from "../../lib/step.ts";
import { rootArgs } from "../../lib/systemd.ts";
import { removeRole } from "./ami_packages.ts";
import type { AmiStepDef } from "./context.ts";

const UFW_UNIT_PATHS = ["/lib/systemd/system/ufw.service", "/usr/lib/systemd/system/ufw.service"];

/** `systemctl disable ufw.service` (with --root under another root), checked with is-enabled. */
function disableUfw(root: string): Change {
  return exec(["systemctl", ...rootArgs(root), "disable", "ufw.service"], {
    why: "kube-proxy and the CNI own the node's packet filter",
    key: "unit-disabled:ufw.service",
    check: async ({ host }) => {
      const r = await host.exec(["systemctl", ...rootArgs(root), "is-enabled", "ufw.service"], {
        allowFailure: true,
      });
      return r.stdout.trim() !== "enabled";
    },
  });
}

/** The step. */
export const step: AmiStepDef = {
  title: "Remove ec2-net-utils and disable ufw",
  group: "Linux",
  async plan(ctx) {
    const out: Change[] = [await removeRole(ctx, "ec2NetUtils")];
    let ufw = false;
    for (const p of UFW_UNIT_PATHS) if (await ctx.host.exists(p)) ufw = true;
    if (!ufw) out.push(note("ufw is not installed: nothing to disable"));
    else if (!(await ctx.host.which("systemctl"))) {
      out.push(note("disabling ufw skipped: systemctl not found"));
    } else out.push(disableUfw(ctx.host.root));
    return out;
  },
};
