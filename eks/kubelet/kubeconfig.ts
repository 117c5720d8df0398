/**
 * Kubelet's kubeconfig: the cluster endpoint, the CA file, and an exec credential from
 * aws-iam-authenticator.
 *
 * Sources (awslabs/amazon-eks-ami):
 * - `templates/al2/runtime/kubelet-kubeconfig` (commit 6c054415): cluster `kubernetes` with
 *   `certificate-authority: /etc/kubernetes/pki/ca.crt`, context and user `kubelet`, exec
 *   `client.authentication.k8s.io/v1beta1`, `/usr/bin/aws-iam-authenticator token -i CLUSTER_NAME
 *   --region AWS_REGION` (nodeadm's EC2 template passes the same arguments).
 * - nodeadm `nodeadm/internal/kubelet/kubeconfig.go` (commit 08389f01) and bootstrap.sh (commit
 *   9e910f87): on a local Outposts cluster the cluster *id* replaces the name, and the file becomes
 *   `/var/lib/kubelet/bootstrap-kubeconfig` (kubelet writes its own kubeconfig after TLS bootstrap).
 */
import { stringify } from "yaml";
import { ConfigError } from "../../lib/errors.ts";
import type { NodeSettings } from "../api/node_settings.ts";
import { CA_CERT } from "../paths/node.ts";

/** Where the AMI installs aws-iam-authenticator (`eksnode ami` step 30). */
export const AWS_IAM_AUTHENTICATOR = "/usr/bin/aws-iam-authenticator";

/** The name the authenticator signs for: the cluster id on Outposts, else the cluster name. */
export function authenticatorClusterId(node: NodeSettings): string {
  if (!node.cluster.enableOutpost) return node.cluster.name;
  if (!node.cluster.id) {
    throw new ConfigError(
      `cluster ${node.cluster.name} is a local Outposts cluster but no cluster id is known`,
      "set spec.cluster.id (or pass --cluster-id)",
    );
  }
  return node.cluster.id;
}

/** How kubelet gets its token: aws-iam-authenticator where the image has it, else the AWS CLI. */
export type TokenCommand = "aws-iam-authenticator" | "aws-cli";

/** The AWS CLI, installed by `eksnode ami` step 3 (the distribution package). */
export const AWS_CLI = "/usr/bin/aws";

/**
 * The kubeconfig YAML for kubelet. Its token comes from aws-iam-authenticator (AL2's kubelet-kubeconfig
 * template; `eksnode ami` step 30 installs it up to Kubernetes 1.32) or, on images without it (1.33+),
 * from `aws eks get-token` (the AWS CLI's EKS token, as the AWS docs' kubeconfig does), which signs the
 * same STS request for the cluster name (or Outposts cluster id).
 * @example renderKubeconfig(node).includes("aws-iam-authenticator") // true
 */
export function renderKubeconfig(node: NodeSettings, token: TokenCommand = "aws-iam-authenticator"): string {
  // http:// is what nodeadm also writes when a NodeConfig gives it (warned about when it was loaded).
  if (!/^https?:\/\/[^\s/]+/.test(node.cluster.endpoint)) {
    throw new ConfigError(
      `cluster endpoint ${JSON.stringify(node.cluster.endpoint)} is not an https:// (or http://) URL`,
      "give the API server endpoint as DescribeCluster reports it",
    );
  }
  const doc = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{
      name: "kubernetes",
      cluster: { "certificate-authority": CA_CERT, server: node.cluster.endpoint },
    }],
    contexts: [{ name: "kubelet", context: { cluster: "kubernetes", user: "kubelet" } }],
    "current-context": "kubelet",
    users: [{
      name: "kubelet",
      user: {
        exec: token === "aws-iam-authenticator"
          ? {
            apiVersion: "client.authentication.k8s.io/v1beta1",
            command: AWS_IAM_AUTHENTICATOR,
            args: ["token", "-i", authenticatorClusterId(node), "--region", node.region],
          }
          : {
            apiVersion: "client.authentication.k8s.io/v1beta1",
            command: AWS_CLI,
            args: [
              "eks",
              "get-token",
              ...(node.cluster.enableOutpost
                ? ["--cluster-id", authenticatorClusterId(node)]
                : ["--cluster-name", node.cluster.name]),
              "--region",
              node.region,
              "--output",
              "json",
            ],
          },
      },
    }],
  };
  return stringify(doc);
}

/**
 * The CA file content: the PEM text ending in a newline. A NodeConfig CA that decodes to something else
 * is written as given, as nodeadm writes the decoded bytes (loading warned about it:
 * eks/api/nodeconfig.ts nodeConfigWarnings); DescribeCluster's was checked to be PEM (eks/api/resolve_node_settings.ts).
 */
export function renderCaCert(node: NodeSettings): string {
  const pem = node.cluster.certificateAuthorityPem.trim();
  if (!/^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----$/.test(pem)) {
    return node.cluster.certificateAuthorityPem;
  }
  return pem + "\n";
}
