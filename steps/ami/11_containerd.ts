/**
 * Containerd, from the release tarball (bin/* into /usr/bin, plus containerd.service, as
 * amazon-eks-ami's AL2 build does for containerd from S3) or, with containerd_source = "package",
 * the distribution package at the pinned version (which brings its own unit).
 */
import containerdService from "../../assets/templates/containerd.service" with { type: "text" };
import { dir, extract, file } from "../../lib/changes.ts";
import type { StepDef } from "../../lib/step.ts";
import { installRole } from "./ami_packages.ts";
import type { AmiContext } from "./context.ts";

/** The unit for a tarball install. */
export const CONTAINERD_SERVICE: string = containerdService;

/** The step. */
export const step: StepDef<AmiContext> = {
  title: "Install containerd",
  group: "Containerd",
  async plan(ctx) {
    if (ctx.bake.containerdSource === "package") {
      return [await installRole(ctx, "containerd", ctx.versions.artifacts.containerd.version)];
    }
    return [
      extract(await ctx.artifact("containerd"), "/usr/bin", { strip: 1 }),
      dir("/var/lib/containerd", { mode: 0o711 }),
      file("/etc/systemd/system/containerd.service", CONTAINERD_SERVICE),
    ];
  },
};
