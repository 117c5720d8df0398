/** Runc, from its checksum-verified release binary or, with containerd_source = "package", the package. */
import { RUNC_PATH } from "../../eks/paths/image.ts";
import { download } from "../../lib/changes.ts";
import { installRole } from "./ami_packages.ts";
import type { AmiStepDef } from "./context.ts";
import { githubArtifact } from "../../assets/versions.ts";

/** The step. */
export const step: AmiStepDef = {
  title: "Install runc",
  group: "Containerd",
  installs(ctx) {
    const fromPackage = ctx.bake.containerdSource === "package";
    const runc = githubArtifact(ctx.versions, "runc", ctx.arch);
    return [{
      artifact: "runc",
      source: fromPackage ? "package runc" : runc.url,
      version: fromPackage ? undefined : ctx.versions.artifacts.runc.version,
      downloadSha256: fromPackage ? undefined : runc.sha256,
      // Where a package or an earlier install may have put it: the first found is recorded.
      paths: [
        ...new Set([
          RUNC_PATH,
          "/usr/sbin/runc",
          "/usr/bin/runc",
          "/usr/local/sbin/runc",
          "/usr/local/bin/runc",
        ]),
      ],
      firstOf: true,
    }];
  },
  async plan(ctx) {
    if (ctx.bake.containerdSource === "package") {
      return [await installRole(ctx, "runc", ctx.versions.artifacts.runc.version)];
    }
    return [download(await ctx.artifact("runc"), RUNC_PATH, { mode: 0o755 })];
  },
};
