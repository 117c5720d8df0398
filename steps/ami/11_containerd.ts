/**
 * Step 11: containerd, from the release tarball (bin/* into /usr/bin, plus containerd.service, as
 * amazon-eks-ami's AL2 build does for containerd from S3) or, with containerd_source = "package",
 * the distribution package at the pinned version (which brings its own unit), version-locked with dnf
 * as AL2023's build does (`sudo dnf versionlock containerd-*`, templates/al2023/provisioners/
 * install-worker.sh @ 81fec2e8; runc is installed at its pin there too but not locked, nor is it here).
 */
import containerdService from "../../assets/templates/containerd.service" with { type: "text" };
import { dir, extract, file } from "../../lib/changes.ts";
import type { Step } from "../../lib/step.ts";
import { installLockedRole } from "./ami_packages.ts";
import type { AmiContext } from "./context.ts";

/** The unit for a tarball install. */
export const CONTAINERD_SERVICE: string = containerdService;

/** Step 11. */
export const step: Step<AmiContext> = {
  id: "ami.11",
  number: 11,
  title: "Install containerd",
  group: "Containerd",
  async plan(ctx) {
    if (ctx.bake.containerdSource === "package") {
      return await installLockedRole(ctx, "containerd", ctx.versions.artifacts.containerd.version);
    }
    return [
      extract(await ctx.artifact("containerd"), "/usr/bin", { strip: 1 }),
      dir("/var/lib/containerd", { mode: 0o711 }),
      file("/etc/systemd/system/containerd.service", CONTAINERD_SERVICE),
    ];
  },
};
