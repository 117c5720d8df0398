/** The kubelet image credential provider config that hands ECR pulls to ecr-credential-provider. */
import { renderCredentialProviderConfig } from "../../eks/kubelet/credential_provider.ts";
import { CREDENTIAL_PROVIDER_CONFIG } from "../../eks/paths/node.ts";
import { file } from "../../lib/changes.ts";
import type { InitStepDef } from "./context.ts";
import { expectFile } from "../../eks/verify/expected_path.ts";

/** Writes /etc/eks/image-credential-provider/config.json for the node's Kubernetes version. */
export const step: InitStepDef = {
  title: "Write /etc/eks/image-credential-provider/config.json",
  leaves: [expectFile(CREDENTIAL_PROVIDER_CONFIG)],
  downloads: false,
  plan(ctx) {
    const text = renderCredentialProviderConfig({ kubernetesVersion: ctx.node.kubernetesVersion });
    return [file(CREDENTIAL_PROVIDER_CONFIG, text, { mode: 0o644 })];
  },
};
