/**
 * When kubelet reads its drop-in config directory (`--config-dir`), as under nodeadm.
 *
 * Sources:
 * - nodeadm `nodeadm/internal/kubelet/config.go` (awslabs/amazon-eks-ami commit 81fec2e8),
 *   `writeKubeletConfig`, lines 352-375: only `if len(cfg.Spec.Kubelet.Config) > 0` does nodeadm set
 *   `k.flags["config-dir"] = /etc/kubernetes/kubelet/config.json.d`, add
 *   `KUBELET_CONFIG_DROPIN_DIR_ALPHA=on` to kubelet's environment when the kubelet is older than
 *   v1.30.0, and write the user's config (with `kind` and `apiVersion` merged in) to `40-nodeadm.conf`
 *   there, mode 0644 (`kubeletConfigPerm`, line 35); `util.WriteFileWithDir` (internal/util/files.go) makes
 *   the directory `perm|0111`, 0755. Without `kubelet.config` kubelet gets no `--config-dir`, so a `*.conf`
 *   in that directory is not read. nodeadm checks no lower bound.
 * - kubelet (kubernetes.io "Set Kubelet Parameters Via A Configuration File", drop-in directory): the
 *   `--config-dir` flag exists from v1.28; v1.28 and v1.29 refuse to start with it unless
 *   `KUBELET_CONFIG_DROPIN_DIR_ALPHA` is set (any value); a directory that does not exist fails the start
 *   (cmd/kubelet/app/server.go `mergeKubeletConfigurations` walks it with filepath.WalkDir).
 *
 * eksnode passes `--config-dir` in the same case, from kubelet 1.28: a kubelet 1.27 (or older) does not
 * know the flag and would not start, so it gets none; its config is the one file, as before.
 */
import type { NodeSettings } from "../api/node_settings.ts";
import { kubeMinorVersion } from "./credential_provider.ts";

/** The variable kubelet 1.28 and 1.29 need before they accept `--config-dir`. */
export const CONFIG_DIR_ALPHA_ENV = "KUBELET_CONFIG_DROPIN_DIR_ALPHA";

function atLeast(version: string, minor: number): boolean {
  const v = kubeMinorVersion(version);
  return v.major > 1 || (v.major === 1 && v.minor >= minor);
}

/**
 * True when kubelet gets `--config-dir`: NodeConfig `kubelet.config` is not empty (nodeadm's condition)
 * and kubelet is 1.28 or newer.
 * @example readsConfigDir({ ...node, kubernetesVersion: "1.32", kubeletConfigOverrides: { maxPods: 58 } }) // true
 */
export function readsConfigDir(
  node: Pick<NodeSettings, "kubernetesVersion" | "kubeletConfigOverrides">,
): boolean {
  return Object.keys(node.kubeletConfigOverrides).length > 0 && atLeast(node.kubernetesVersion, 28);
}

/**
 * The environment kubelet needs for its `--config-dir`: `KUBELET_CONFIG_DROPIN_DIR_ALPHA=on` on 1.28 and
 * 1.29 (nodeadm's value), nothing otherwise.
 * @example configDirEnvironment({ kubernetesVersion: "1.29", kubeletConfigOverrides: { maxPods: 1 } })
 * // { KUBELET_CONFIG_DROPIN_DIR_ALPHA: "on" }
 */
export function configDirEnvironment(
  node: Pick<NodeSettings, "kubernetesVersion" | "kubeletConfigOverrides">,
): Record<string, string> {
  return readsConfigDir(node) && !atLeast(node.kubernetesVersion, 30) ? { [CONFIG_DIR_ALPHA_ENV]: "on" } : {};
}
