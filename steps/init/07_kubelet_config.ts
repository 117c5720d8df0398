/** The KubeletConfiguration, computed then overridden by NodeConfig kubelet.config; its drop-in directory. */
import { renderKubeletConfig, renderKubeletConfigDropIn } from "../../eks/kubelet/config.ts";
import { readsConfigDir } from "../../eks/kubelet/config_dir.ts";
import { KUBELET_CONFIG, KUBELET_CONFIG_DIR, KUBELET_CONFIG_DROPIN } from "../../eks/paths/node.ts";
import { dir, file, remove } from "../../lib/changes.ts";
import type { InitStepDef } from "./context.ts";
import { expectFile, expectOptionalDir, expectOptionalFile } from "../../eks/verify/expected_path.ts";

/**
 * Writes /etc/kubernetes/kubelet/kubelet-config.json (0644). When kubelet reads its drop-in directory
 * (NodeConfig kubelet.config set, kubelet 1.28+: eks/kubelet/config_dir.ts) it makes
 * /etc/kubernetes/kubelet/config.json.d (0755; kubelet does not start when its `--config-dir` is missing)
 * with kubelet.config in it as 40-nodeadm.conf (0644), as nodeadm does; otherwise that file is removed
 * and the directory, with whatever else is in it, is left alone (kubelet does not read it then).
 */
export const step: InitStepDef = {
  title: "Write /etc/kubernetes/kubelet/kubelet-config.json",
  leaves: [
    expectFile(KUBELET_CONFIG),
    // With NodeConfig kubelet.config only.
    expectOptionalDir(KUBELET_CONFIG_DIR),
    expectOptionalFile(KUBELET_CONFIG_DROPIN),
  ],
  downloads: false,
  plan(ctx) {
    const config = file(KUBELET_CONFIG, renderKubeletConfig(ctx.node), { mode: 0o644 });
    if (!readsConfigDir(ctx.node)) return [config, remove(KUBELET_CONFIG_DROPIN)];
    return [
      config,
      dir(KUBELET_CONFIG_DIR, { mode: 0o755 }),
      file(KUBELET_CONFIG_DROPIN, renderKubeletConfigDropIn(ctx.node), { mode: 0o644 }),
    ];
  },
};
