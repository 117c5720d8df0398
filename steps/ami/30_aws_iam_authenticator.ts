/**
 * Aws-iam-authenticator from the amazon-eks S3 bucket, verified against its pin and the
 * published .sha256, as /usr/bin/aws-iam-authenticator (as templates/al2/provisioners/install-worker.sh
 * @ 0061ba5d332785485ae6622a4ebc2b9a8351bada does). The versions data has none for Kubernetes 1.33+.
 */
import { AWS_IAM_AUTHENTICATOR_PATH } from "../../eks/paths/image.ts";
import { download, note } from "../../lib/changes.ts";
import { type AmiStepDef, s3Source } from "./context.ts";
import { publishedNote } from "./published_note.ts";

/** Install aws-iam-authenticator (checksum-verified) when the Kubernetes version has one. */
export const step: AmiStepDef = {
  title: "Install aws-iam-authenticator (checksum-verified)",
  group: "Kubernetes/EKS",
  installs: (ctx) =>
    ctx.release.awsIamAuthenticator
      ? [{
        artifact: "awsIamAuthenticator",
        ...s3Source(ctx, "awsIamAuthenticator"),
        version: ctx.release.awsIamAuthenticator.version,
        paths: [AWS_IAM_AUTHENTICATOR_PATH],
      }]
      : [],
  async plan(ctx) {
    if (!ctx.release.awsIamAuthenticator) {
      return [
        note(
          `aws-iam-authenticator skipped: the versions data has none for Kubernetes ${ctx.kubernetesVersion} ` +
            `(add [versions.kubernetes."${ctx.kubernetesVersion}".awsIamAuthenticator] to the bake config to install one)`,
        ),
      ];
    }
    const src = await ctx.artifact("awsIamAuthenticator");
    return [...publishedNote(src), download(src, AWS_IAM_AUTHENTICATOR_PATH, { mode: 0o755 })];
  },
};
