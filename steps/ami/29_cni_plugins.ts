/**
 * The CNI plugins release tarball (containernetworking/plugins), verified against its pin and
 * the published .sha256, extracted into /opt/cni/bin. Entries with `..`, absolute names or links that
 * leave the directory are refused by lib/tar.ts before anything is written.
 */
import { CNI_BIN_DIR } from "../../eks/paths/image.ts";
import { extract } from "../../lib/changes.ts";
import type { StepDef } from "../../lib/step.ts";
import type { AmiContext } from "./context.ts";
import { publishedNote } from "./published_note.ts";

/** Install the CNI plugins (checksum-verified). */
export const step: StepDef<AmiContext> = {
  title: "Install CNI plugins into /opt/cni/bin (checksum-verified)",
  group: "Kubernetes/EKS",
  async plan(ctx) {
    const src = await ctx.artifact("cniPlugins");
    return [...publishedNote(src), extract(src, CNI_BIN_DIR)];
  },
};
