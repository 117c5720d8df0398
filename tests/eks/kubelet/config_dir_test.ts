/**
 * When kubelet reads /etc/kubernetes/kubelet/config.json.d (eks/kubelet/config_dir.ts), and what eksnode
 * then gives it: the `--config-dir` flag, the 1.28/1.29 environment variable, the 40-nodeadm.conf drop-in.
 */
import assert from "node:assert/strict";
import { kubeletArgs } from "../../../eks/kubelet/args.ts";
import { kubeletConfig, renderKubeletConfigDropIn } from "../../../eks/kubelet/config.ts";
import { configDirEnvironment, readsConfigDir } from "../../../eks/kubelet/config_dir.ts";
import { KUBELET_CONFIG_DIR } from "../../../eks/paths/node.ts";
import { renderKubeletUnit } from "../../../eks/system/node_units.ts";
import { testNode } from "../../../fakes/node_settings.ts";
import { deepMerge } from "../../../eks/api/merge.ts";

const FLAG = `--config-dir=${KUBELET_CONFIG_DIR}`;
const ENV_LINE = 'Environment="KUBELET_CONFIG_DROPIN_DIR_ALPHA=on"';

Deno.test("--config-dir: with kubelet.config and kubelet 1.28+, as nodeadm; KUBELET_CONFIG_DROPIN_DIR_ALPHA before 1.30", () => {
  const cases: [version: string, overrides: Record<string, unknown>, flag: boolean, env: boolean][] = [
    ["1.35", { maxPods: 58 }, true, false],
    ["1.30", { maxPods: 58 }, true, false],
    ["1.29", { maxPods: 58 }, true, true],
    ["1.28", { kubeReservedCgroup: "" }, true, true],
    // kubelet 1.27 has no --config-dir: it would not start with one (nodeadm passes it regardless).
    ["1.27", { maxPods: 58 }, false, false],
    // No kubelet.config: nodeadm passes no --config-dir, so nothing in the directory is read.
    ["1.35", {}, false, false],
    ["1.29", {}, false, false],
  ];
  for (const [version, overrides, flag, env] of cases) {
    const node = testNode({ kubernetesVersion: version, kubeletConfigOverrides: overrides });
    const what = `${version} ${JSON.stringify(overrides)}`;
    assert.equal(readsConfigDir(node), flag, what);
    const args = kubeletArgs(node);
    assert.equal(args.includes(FLAG), flag, what);
    if (flag) assert.equal(args.indexOf(FLAG), 1, `${what}: right after --config`);
    assert.deepEqual(configDirEnvironment(node), env ? { KUBELET_CONFIG_DROPIN_DIR_ALPHA: "on" } : {}, what);
    const unit = renderKubeletUnit(node);
    assert.equal(unit.includes(ENV_LINE), env, what);
    if (env) assert.ok(unit.indexOf(ENV_LINE) < unit.indexOf("ExecStart="), `${what}: in [Service]`);
  }
});

Deno.test("--config-dir: a user's own --config-dir in kubelet.flags comes after eksnode's, so kubelet takes it", () => {
  const node = testNode({
    kubernetesVersion: "1.32",
    kubeletConfigOverrides: { maxPods: 58 },
    kubeletFlags: ["--config-dir=/etc/my-kubelet.d"],
  });
  const args = kubeletArgs(node);
  assert.ok(args.indexOf(FLAG) < args.indexOf("--config-dir=/etc/my-kubelet.d"));
  assert.equal(args.at(-1), "--config-dir=/etc/my-kubelet.d");
});

Deno.test("40-nodeadm.conf: kubelet.config with kind and apiVersion; over the main file it changes nothing", () => {
  const overrides = {
    maxPods: 58,
    clusterDNS: ["0.0.0.0", "1.1.1.1"],
    logging: { verbosity: 5 },
    kubeReserved: { memory: "1Gi" },
    kubeReservedCgroup: "",
  };
  const node = testNode({ kubernetesVersion: "1.29", kubeletConfigOverrides: overrides });
  const text = renderKubeletConfigDropIn(node);
  assert.ok(text.endsWith("}\n"));
  const dropIn = JSON.parse(text);
  assert.deepEqual(dropIn, {
    kind: "KubeletConfiguration",
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    ...overrides,
  });
  // kubelet applies the drop-in over the main file, which already holds kubelet.config: the same config.
  const main = kubeletConfig(node);
  assert.deepEqual(deepMerge(main, dropIn), main);
  // A user's own kind/apiVersion are kept, as nodeadm merges its type metadata under the user's config.
  const own = testNode({ kubeletConfigOverrides: { apiVersion: "kubelet.config.k8s.io/v1", maxPods: 1 } });
  assert.equal(JSON.parse(renderKubeletConfigDropIn(own)).apiVersion, "kubelet.config.k8s.io/v1");
});
