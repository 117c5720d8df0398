/**
 * The CNI plugins release tarball (containernetworking/plugins), verified against its pin and
 * the published .sha256, extracted into /opt/cni/bin. Entries with `..`, absolute names or links that
 * leave the directory are refused by lib/tar.ts before anything is written.
 */
import { CNI_BIN_DIR } from "../../eks/paths/image.ts";
import { extract } from "../../lib/changes.ts";
import type { AmiStepDef } from "./context.ts";
import { publishedNote } from "./published_note.ts";
import { githubArtifact } from "../../assets/versions.ts";

/** Install the CNI plugins (checksum-verified). */
export const step: AmiStepDef = {
  title: "Install CNI plugins into /opt/cni/bin (checksum-verified)",
  group: "Kubernetes/EKS",
  installs(ctx) {
    const cni = githubArtifact(ctx.versions, "cniPlugins", ctx.arch);
    return [{
      artifact: "cniPlugins",
      source: cni.url,
      version: ctx.versions.artifacts.cniPlugins.version,
      downloadSha256: cni.sha256,
      archiveSha256: cni.sha256,
      paths: [],
      extractedInto: CNI_BIN_DIR,
    }];
  },
  async plan(ctx) {
    const src = await ctx.artifact("cniPlugins");
    return [...publishedNote(src), extract(src, CNI_BIN_DIR)];
  },
};
