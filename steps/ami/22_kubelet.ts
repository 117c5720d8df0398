/**
 * Kubelet from the amazon-eks S3 bucket (`<k8s version>/<build date>/bin/linux/<arch>/kubelet`),
 * verified against its pin and the published kubelet.sha256 beside it, installed as /usr/bin/kubelet.
 * Layout: awslabs/amazon-eks-ami templates/al2/provisioners/install-worker.sh @ 0061ba5d332785485ae6622a4ebc2b9a8351bada.
 */
import { KUBELET_PATH } from "../../eks/paths/image.ts";
import { download } from "../../lib/changes.ts";
import { type AmiStepDef, s3Source } from "./context.ts";
import { publishedNote } from "./published_note.ts";

/** Install kubelet (checksum-verified). */
export const step: AmiStepDef = {
  title: "Install kubelet (checksum-verified)",
  group: "Kubelet",
  installs: (ctx) => [{
    artifact: "kubelet",
    ...s3Source(ctx, "kubelet"),
    version: ctx.release.kubelet.version,
    paths: [KUBELET_PATH],
  }],
  async plan(ctx) {
    const src = await ctx.artifact("kubelet");
    return [...publishedNote(src), download(src, KUBELET_PATH, { mode: 0o755 })];
  },
};
