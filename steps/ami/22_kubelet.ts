/**
 * Step 22: kubelet from the amazon-eks S3 bucket (`<k8s version>/<build date>/bin/linux/<arch>/kubelet`),
 * verified against its pin and the published kubelet.sha256 beside it, installed as /usr/bin/kubelet.
 * Layout: awslabs/amazon-eks-ami templates/al2/provisioners/install-worker.sh @ 0061ba5d332785485ae6622a4ebc2b9a8351bada.
 */
import { download, note } from "../../lib/changes.ts";
import type { Change, Step } from "../../lib/step.ts";
import type { AmiContext, ArtifactSource } from "./context.ts";

/** Where kubelet is installed. */
export const KUBELET_PATH = "/usr/bin/kubelet";

/** A note when the checksum is upstream's published one rather than a pin (what install-worker.sh trusts). */
export function publishedNote(src: ArtifactSource): Change[] {
  return src.pinnedBy === "published"
    ? [
      note(
        `${src.name}: not pinned; verified against the published checksum file (pin it in the bake config)`,
      ),
    ]
    : [];
}

/** Install kubelet (checksum-verified). */
export const step: Step<AmiContext> = {
  id: "ami.22",
  number: 22,
  title: "Install kubelet (checksum-verified)",
  group: "Kubelet",
  async plan(ctx) {
    const src = await ctx.artifact("kubelet");
    return [...publishedNote(src), download(src, KUBELET_PATH, { mode: 0o755 })];
  },
};
