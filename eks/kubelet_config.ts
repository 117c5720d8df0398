/**
 * The KubeletConfiguration eksnode writes: EKS defaults, values computed for this node, then the
 * user's `kubelet.config` deep-merged over it (the user wins).
 *
 * Sources (awslabs/amazon-eks-ami):
 * - nodeadm `nodeadm/internal/kubelet/config.go` (commit e48b98ad) `defaultKubeletSubConfig` and the
 *   `with...` functions: address, authentication (anonymous off, webhook with 2m cache, x509 client
 *   CA), authorization Webhook (5m / 30s), cgroupDriver systemd, cgroupRoot "/", clusterDomain
 *   cluster.local, containerRuntimeEndpoint (from 1.27), featureGates RotateKubeletServerCertificate
 *   (+ KubeletCredentialProviders before 1.28), hairpinMode hairpin-veth, kubeAPIQPS 10 / burst 20 for
 *   1.22–1.26, kubeReservedCgroup /runtime, systemReservedCgroup /system, logging verbosity 2,
 *   protectKernelDefaults, providerID (from 1.26), readOnlyPort 0, serializeImagePulls false,
 *   serverTLSBootstrap, tlsCipherSuites (in this order).
 * - `templates/al2/runtime/kubelet-config.json` (commit 02a26d4d) has the same authn/authz blocks;
 *   bootstrap.sh (commit 9e910f87) adds clusterDNS, evictionHard, kubeReserved, maxPods (only with
 *   --use-max-pods) and providerID the same way.
 * Unlike nodeadm from 1.29 (which writes the user's part to a config.json.d drop-in), the merge is
 * done here into one file, so what kubelet runs with can be read in one place.
 */
import type { NodeSettings } from "./api/node_settings.ts";
import { CA_CERT, CONTAINERD_SOCKET } from "./node_paths.ts";
import { kubeletVersionAtLeast } from "./kubelet_args.ts";
import { deepMerge } from "./nodeconfig_merge.ts";

/** TLS cipher suites kubelet's server accepts (nodeadm's list and order). */
export const KUBELET_TLS_CIPHER_SUITES: readonly string[] = [
  "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
  "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
  "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
  "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
  "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
  "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
  "TLS_RSA_WITH_AES_128_GCM_SHA256",
  "TLS_RSA_WITH_AES_256_GCM_SHA384",
];

/** The computed configuration for a node, before the user's overrides. */
export function computedKubeletConfig(node: NodeSettings): Record<string, unknown> {
  const v = node.kubernetesVersion;
  const featureGates: Record<string, boolean> = { RotateKubeletServerCertificate: true };
  if (!kubeletVersionAtLeast(v, 28)) featureGates.KubeletCredentialProviders = true;
  const config: Record<string, unknown> = {
    kind: "KubeletConfiguration",
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    address: "0.0.0.0",
    authentication: {
      anonymous: { enabled: false },
      webhook: { cacheTTL: "2m0s", enabled: true },
      x509: { clientCAFile: CA_CERT },
    },
    authorization: {
      mode: "Webhook",
      webhook: { cacheAuthorizedTTL: "5m0s", cacheUnauthorizedTTL: "30s" },
    },
    cgroupDriver: "systemd",
    cgroupRoot: "/",
    clusterDNS: [...node.clusterDns],
    clusterDomain: "cluster.local",
    evictionHard: { ...node.evictionHard },
    featureGates,
    hairpinMode: "hairpin-veth",
    kubeReserved: { ...node.kubeReserved },
    kubeReservedCgroup: "/runtime",
    logging: { verbosity: 2 },
    protectKernelDefaults: true,
    readOnlyPort: 0,
    serializeImagePulls: false,
    serverTLSBootstrap: true,
    systemReservedCgroup: "/system",
    tlsCipherSuites: [...KUBELET_TLS_CIPHER_SUITES],
  };
  if (kubeletVersionAtLeast(v, 27)) config.containerRuntimeEndpoint = CONTAINERD_SOCKET;
  else if (kubeletVersionAtLeast(v, 22)) {
    config.kubeAPIQPS = 10;
    config.kubeAPIBurst = 20;
  }
  if (kubeletVersionAtLeast(v, 26)) config.providerID = node.providerId;
  if (node.maxPods !== undefined) config.maxPods = node.maxPods;
  return config;
}

/** Sorts object keys recursively (lists keep their order) so the file's layout is stable. */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    return Object.fromEntries(Object.keys(obj).sort().map((k) => [k, sortKeys(obj[k])]));
  }
  return value;
}

/** The final configuration: computed values with `node.kubeletConfigOverrides` merged over them. */
export function kubeletConfig(node: NodeSettings): Record<string, unknown> {
  return deepMerge(computedKubeletConfig(node), node.kubeletConfigOverrides);
}

/**
 * `/etc/kubernetes/kubelet/kubelet-config.json`: keys sorted, two-space indent, trailing newline.
 * @example JSON.parse(renderKubeletConfig(node)).kind // "KubeletConfiguration"
 */
export function renderKubeletConfig(node: NodeSettings): string {
  return JSON.stringify(sortKeys(kubeletConfig(node)), null, 2) + "\n";
}
