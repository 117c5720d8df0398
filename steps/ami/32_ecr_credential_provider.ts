/**
 * Ecr-credential-provider from the amazon-eks S3 bucket into /etc/eks/image-credential-provider.
 * Upstream publishes no checksum for it (install-worker.sh downloads it unverified), so the bake config
 * must pin its SHA-256; without a pin, resolving it is a ConfigError naming the key to set.
 */
import { ECR_CREDENTIAL_PROVIDER_PATH } from "../../eks/paths/image.ts";
import { download } from "../../lib/changes.ts";
import { type AmiStepDef, s3Source } from "./context.ts";
import { publishedNote } from "./published_note.ts";

/** Install ecr-credential-provider (checksum-verified). */
export const step: AmiStepDef = {
  title: "Install ecr-credential-provider (checksum-verified)",
  group: "Kubernetes/EKS",
  installs: (ctx) => [{
    artifact: "ecrCredentialProvider",
    ...s3Source(ctx, "ecrCredentialProvider"),
    version: ctx.release.ecrCredentialProvider.version,
    paths: [ECR_CREDENTIAL_PROVIDER_PATH],
  }],
  async plan(ctx) {
    const src = await ctx.artifact("ecrCredentialProvider");
    return [...publishedNote(src), download(src, ECR_CREDENTIAL_PROVIDER_PATH, { mode: 0o755 })];
  },
};
