/** Step 5: the cluster CA and kubelet's kubeconfig (a bootstrap kubeconfig on local Outposts clusters). */
import { AWS_IAM_AUTHENTICATOR, renderCaCert, renderKubeconfig } from "../../eks/kubeconfig.ts";
import { BOOTSTRAP_KUBECONFIG, CA_CERT, KUBECONFIG } from "../../eks/node_paths.ts";
import { file, note } from "../../lib/changes.ts";
import type { Step } from "../../lib/step.ts";
import type { InitContext } from "./context.ts";

/** Writes /etc/kubernetes/pki/ca.crt (0644) and /var/lib/kubelet/kubeconfig (0600). */
export const step: Step<InitContext> = {
  id: "init.5",
  number: 5,
  title: "Write /var/lib/kubelet/kubeconfig and the cluster CA",
  downloads: false,
  async plan(ctx) {
    const node = ctx.node;
    const ca = file(CA_CERT, renderCaCert(node), { mode: 0o644 });
    // Images for Kubernetes 1.33+ carry no aws-iam-authenticator: then the AWS CLI provides the token.
    const haveAuthenticator = await ctx.host.exists(AWS_IAM_AUTHENTICATOR);
    const kubeconfig = renderKubeconfig(node, haveAuthenticator ? "aws-iam-authenticator" : "aws-cli");
    if (!node.cluster.enableOutpost) return [ca, file(KUBECONFIG, kubeconfig, { mode: 0o600 })];
    return [
      ca,
      file(BOOTSTRAP_KUBECONFIG, kubeconfig, { mode: 0o600 }),
      note(`local Outposts cluster: kubelet writes ${KUBECONFIG} itself after TLS bootstrap`),
      note("local Outposts cluster: API server addresses are not pinned in /etc/hosts (bootstrap.sh does)"),
    ];
  },
};
