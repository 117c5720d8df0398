/**
 * Containerd, from the release tarball (bin/* into /usr/bin, plus containerd.service, as
 * amazon-eks-ami's AL2 build does for containerd from S3) or, with containerd_source = "package",
 * the distribution package at the pinned version (which brings its own unit), version-locked with dnf
 * as AL2023's build does (`sudo dnf versionlock containerd-*`, templates/al2023/provisioners/
 * install-worker.sh @ 81fec2e8; runc is installed at its pin there too but not locked, nor is it here).
 */
import containerdService from "../../assets/templates/containerd.service" with { type: "text" };
import { dir, extract, file } from "../../lib/changes.ts";
import { installLockedRole } from "./ami_packages.ts";
import type { AmiStepDef } from "./context.ts";
import { githubArtifact } from "../../assets/versions.ts";
import { expectDir, expectFile } from "../../eks/verify/expected_path.ts";

/** The unit for a tarball install. */
export const CONTAINERD_SERVICE: string = containerdService;
/** Where a tarball install puts the unit (a package brings its own). */
const TARBALL_UNIT_PATH = "/etc/systemd/system/containerd.service";
/** containerd's state directory, made by a tarball install (a package makes its own). */
const STATE_DIR = "/var/lib/containerd";

/** The step. */
export const step: AmiStepDef = {
  title: "Install containerd",
  group: "Containerd",
  leaves: (image) =>
    image.containerdSource === "package" ? [] : [expectDir(STATE_DIR, 0o711), expectFile(TARBALL_UNIT_PATH)],
  installs(ctx) {
    const fromPackage = ctx.bake.containerdSource === "package";
    const containerd = githubArtifact(ctx.versions, "containerd", ctx.arch);
    return [{
      artifact: "containerd",
      source: fromPackage ? "package containerd" : containerd.url,
      version: fromPackage ? undefined : ctx.versions.artifacts.containerd.version,
      downloadSha256: fromPackage ? undefined : containerd.sha256,
      archiveSha256: fromPackage ? undefined : containerd.sha256,
      // Without the extract stamp (a package install), where the binaries usually are.
      paths: ["/usr/bin", "/usr/local/bin"].flatMap((d) =>
        ["containerd", "containerd-shim-runc-v2", "ctr"].map((n) => `${d}/${n}`)
      ),
    }];
  },
  async plan(ctx) {
    if (ctx.bake.containerdSource === "package") {
      return await installLockedRole(ctx, "containerd", ctx.versions.artifacts.containerd.version);
    }
    return [
      extract(await ctx.artifact("containerd"), "/usr/bin", { strip: 1 }),
      dir(STATE_DIR, { mode: 0o711 }),
      file(TARBALL_UNIT_PATH, CONTAINERD_SERVICE),
    ];
  },
};
