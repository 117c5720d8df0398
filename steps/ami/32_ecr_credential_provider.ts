/**
 * Ecr-credential-provider from the amazon-eks S3 bucket into /etc/eks/image-credential-provider.
 * Upstream publishes no checksum for it (install-worker.sh downloads it unverified), so the bake config
 * must pin its SHA-256; without a pin, resolving it is a ConfigError naming the key to set.
 */
import { ECR_CREDENTIAL_PROVIDER_PATH } from "../../eks/paths/image.ts";
import { download } from "../../lib/changes.ts";
import type { StepDef } from "../../lib/step.ts";
import type { AmiContext } from "./context.ts";
import { publishedNote } from "./published_note.ts";

/** Install ecr-credential-provider (checksum-verified). */
export const step: StepDef<AmiContext> = {
  title: "Install ecr-credential-provider (checksum-verified)",
  group: "Kubernetes/EKS",
  async plan(ctx) {
    const src = await ctx.artifact("ecrCredentialProvider");
    return [...publishedNote(src), download(src, ECR_CREDENTIAL_PROVIDER_PATH, { mode: 0o755 })];
  },
};
