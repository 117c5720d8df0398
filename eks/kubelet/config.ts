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
 * - nodeadm `nodeadm/internal/kubelet/config.go` (commit 81fec2e8) `withVersionToggles`: feature gate
 *   DynamicResourceAllocation from 1.33 ("EKS enables DRA on 1.33+"), MutableCSINodeAllocatableCount from
 *   1.34, and graceful node shutdown from 1.34 (shutdownGracePeriod 2m30s, of which
 *   shutdownGracePeriodCriticalPods 30s). nodeadm always writes `maxPods` (110 for
 *   an instance type nobody knows, `defaultMaxPods` in eni_max_pods.go); here the same value arrives as
 *   `node.maxPods`.
 * - `templates/al2/runtime/kubelet-config.json` (commit 02a26d4d) has the same authn/authz blocks;
 *   bootstrap.sh (commit 9e910f87) adds clusterDNS, evictionHard, kubeReserved, maxPods (only with
 *   --use-max-pods) and providerID the same way.
 * nodeadm writes its part to /etc/kubernetes/kubelet/config.json and a non-empty `kubelet.config` to the
 * drop-in config.json.d/40-nodeadm.conf (`--config-dir`; `KUBELET_CONFIG_DROPIN_DIR_ALPHA=on` before 1.30),
 * which kubelet merges over the file: objects and maps field by field, lists and scalars replaced
 * (kubernetes.io "Kubelet Configuration Directory Merging"). {@link deepMerge} has those semantics, so the
 * main file written here is what kubelet ends up with under nodeadm, readable in one place
 * (tests/steps/init/kubelet_nodeadm_test.ts checks it against nodeadm's e2e expectations). When kubelet
 * reads the drop-in directory (eks/kubelet/config_dir.ts), `kubelet.config` is also written there as
 * nodeadm's 40-nodeadm.conf ({@link renderKubeletConfigDropIn}): applying it again changes nothing on its
 * own (but for a `null`, which kubelet applies as a removal, as from nodeadm's file), and it keeps the
 * user's config in nodeadm's place among other drop-ins (a `30-*.conf` loses to it, a `50-*.conf` wins).
 */
import { SOCI_SOCKET } from "../containerd/soci.ts";
import type { NodeSettings } from "../api/node_settings.ts";
import { CA_CERT, CONTAINERD_SOCKET } from "../paths/node.ts";
import { kubeletVersionAtLeast } from "./args.ts";
import { deepMerge } from "../api/merge.ts";

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

/** The type metadata of every KubeletConfiguration document eksnode writes. */
export const KUBELET_CONFIG_TYPE = {
  kind: "KubeletConfiguration",
  apiVersion: "kubelet.config.k8s.io/v1beta1",
} as const;

/** kubelet `shutdownGracePeriod` from Kubernetes 1.34 (nodeadm: 150 s, written by Go as "2m30s"). */
export const SHUTDOWN_GRACE_PERIOD = "2m30s";
/** kubelet `shutdownGracePeriodCriticalPods` from 1.34: the part of the grace period kept for critical pods. */
export const SHUTDOWN_GRACE_PERIOD_CRITICAL_PODS = "30s";

/** The computed configuration for a node, before the user's overrides. */
export function computedKubeletConfig(node: NodeSettings): Record<string, unknown> {
  const v = node.kubernetesVersion;
  const featureGates: Record<string, boolean> = { RotateKubeletServerCertificate: true };
  if (!kubeletVersionAtLeast(v, 28)) featureGates.KubeletCredentialProviders = true;
  if (kubeletVersionAtLeast(v, 33)) featureGates.DynamicResourceAllocation = true;
  if (kubeletVersionAtLeast(v, 34)) featureGates.MutableCSINodeAllocatableCount = true;
  const config: Record<string, unknown> = {
    ...KUBELET_CONFIG_TYPE,
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
  if (kubeletVersionAtLeast(v, 34)) {
    // Graceful node shutdown: kubelet holds the shutdown (a systemd inhibitor lock) this long, the last
    // part of it for critical pods.
    config.shutdownGracePeriod = SHUTDOWN_GRACE_PERIOD;
    config.shutdownGracePeriodCriticalPods = SHUTDOWN_GRACE_PERIOD_CRITICAL_PODS;
  }
  if (node.maxPods !== undefined) config.maxPods = node.maxPods;
  // FastImagePull: kubelet pulls through the SOCI snapshotter's image service
  // (nodeadm/internal/kubelet/config.go `withImageServiceEndpoint` @ 81fec2e8).
  if (node.sociSnapshotter) config.imageServiceEndpoint = `unix://${SOCI_SOCKET}`;
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

/**
 * `/etc/kubernetes/kubelet/config.json.d/40-nodeadm.conf`: NodeConfig `kubelet.config` with `kind` and
 * `apiVersion` (kubelet refuses a drop-in without them; the user's own win, as nodeadm merges them), keys
 * sorted, two-space indent, trailing newline.
 * @example JSON.parse(renderKubeletConfigDropIn({ ...node, kubeletConfigOverrides: { maxPods: 58 } })).maxPods // 58
 */
export function renderKubeletConfigDropIn(node: Pick<NodeSettings, "kubeletConfigOverrides">): string {
  const doc = { ...KUBELET_CONFIG_TYPE, ...node.kubeletConfigOverrides };
  return JSON.stringify(sortKeys(doc), null, 2) + "\n";
}
