/**
 * The cluster CA and kubelet's kubeconfig (a bootstrap kubeconfig on local Outposts clusters), and
 * on those the API server's addresses pinned in /etc/hosts (eks/system/api_server_hosts.ts).
 */
import {
  apiServerHostName,
  HOSTS_FILE,
  renderHostsBlock,
  replaceHostsBlock,
} from "../../eks/system/api_server_hosts.ts";
import { AWS_IAM_AUTHENTICATOR, renderCaCert, renderKubeconfig } from "../../eks/kubelet/kubeconfig.ts";
import { BOOTSTRAP_KUBECONFIG, CA_CERT, KUBECONFIG } from "../../eks/paths/node.ts";
import { file, note } from "../../lib/changes.ts";
import type { Change } from "../../lib/step.ts";
import { ROOT } from "../../lib/step.ts";
import type { InitContext, InitStepDef } from "./context.ts";
import { expectFile } from "../../eks/verify/expected_path.ts";

/** Writes /etc/kubernetes/pki/ca.crt (0644) and /var/lib/kubelet/kubeconfig (0600). */
export const step: InitStepDef = {
  title: "Write /var/lib/kubelet/kubeconfig and the cluster CA",
  leaves: [
    expectFile(CA_CERT),
    // A local Outposts cluster gets the bootstrap kubeconfig in its place.
    { ...expectFile(KUBECONFIG, 0o600), orInstead: BOOTSTRAP_KUBECONFIG },
  ],
  downloads: false,
  async plan(ctx) {
    const node = ctx.node;
    const ca = file(CA_CERT, renderCaCert(node), { mode: 0o644 });
    // Images for Kubernetes 1.33+ carry no aws-iam-authenticator: then the AWS CLI provides the token.
    const haveAuthenticator = await ctx.host.exists(AWS_IAM_AUTHENTICATOR);
    const kubeconfig = renderKubeconfig(node, haveAuthenticator ? "aws-iam-authenticator" : "aws-cli");
    const hosts = await pinnedHosts(ctx);
    if (!node.cluster.enableOutpost) return [ca, file(KUBECONFIG, kubeconfig, { mode: 0o600 }), ...hosts];
    return [
      ca,
      file(BOOTSTRAP_KUBECONFIG, kubeconfig, { mode: 0o600 }),
      note(`local Outposts cluster: kubelet writes ${KUBECONFIG} itself after TLS bootstrap`),
      ...hosts,
    ];
  },
};

/**
 * /etc/hosts with eksnode's block of API server addresses (local Outposts clusters), or without it (any
 * other node: a node that stopped being an Outposts node loses it). The rest of the file is kept, and
 * its mode and owner (0644 root:root when the file is new).
 */
async function pinnedHosts(ctx: InitContext): Promise<Change[]> {
  const { cluster, instance } = ctx.node;
  const name = apiServerHostName(cluster.endpoint);
  const addresses = cluster.enableOutpost && name ? cluster.apiServerAddresses ?? [] : [];
  const block = name && addresses.length > 0
    ? renderHostsBlock(cluster.name, name, addresses, instance.instanceId)
    : undefined;
  const current = await ctx.host.readText(HOSTS_FILE);
  const next = replaceHostsBlock(current, block);
  const notes = cluster.enableOutpost && name && !block
    ? [note(`local Outposts cluster: ${name} did not resolve, so it is not pinned in ${HOSTS_FILE}`)]
    : [];
  if (next === undefined || next === current) return notes;
  const st = current === undefined ? undefined : await ctx.host.stat(HOSTS_FILE);
  const owner = !st || (st.uid === 0 && st.gid === 0)
    ? ROOT
    : { uid: st.uid, gid: st.gid, name: `${st.uid}:${st.gid}` };
  // A symlinked /etc/hosts becomes a file of its own (the rename replaces the link), 0644.
  const mode = st && !st.isSymlink ? st.mode : 0o644;
  return [...notes, file(HOSTS_FILE, next, { mode, owner })];
}
