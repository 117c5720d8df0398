/** Runc, from its checksum-verified release binary or, with containerd_source = "package", the package. */
import { RUNC_PATH } from "../../eks/paths/image.ts";
import { download } from "../../lib/changes.ts";
import type { StepDef } from "../../lib/step.ts";
import { installRole } from "./ami_packages.ts";
import type { AmiContext } from "./context.ts";

/** The step. */
export const step: StepDef<AmiContext> = {
  title: "Install runc",
  group: "Containerd",
  async plan(ctx) {
    if (ctx.bake.containerdSource === "package") {
      return [await installRole(ctx, "runc", ctx.versions.artifacts.runc.version)];
    }
    return [download(await ctx.artifact("runc"), RUNC_PATH, { mode: 0o755 })];
  },
};
