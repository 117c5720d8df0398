/**
 * nodeadm's containerd e2e cases through the real CLI: `eksnode init --root T --config-source file://...`
 * on a root that has what the case's container has (the containerd version, `mock::kubelet`'s version,
 * /usr/bin/nvidia-container-runtime when run.sh touches it, the nvidia-ctk stand-in always), against a
 * loopback IMDS. The written /etc/containerd/config.toml is compared with the case's expected file as
 * containerd reads it (fakes/nodeadm_containerd_cases.ts), and the base runtime spec byte for byte.
 *
 * The cases' NodeConfigs name a cluster with a placeholder CA (`Y2VydGlmaWNhdGVBdXRob3JpdHk=`, the base64
 * of the word "certificateAuthority"), which eksnode accepts with a warning; the runs below keep each
 * document's `spec.containerd` and give it a cluster with a real test CA, so the output has no warning in it.
 */
import assert from "node:assert/strict";
import { stringify as stringifyYaml } from "yaml";
import { DEFAULT_BASE_RUNTIME_SPEC } from "../../../eks/containerd/base_runtime_spec.ts";
import { CONTAINERD_VERSION_FILE } from "../../../eks/containerd/version.ts";
import { bakeDir, runInit } from "../../support/cli_fixtures.ts";
import { eksnode } from "../../support/cli_run.ts";
import { startMirror } from "../../../fakes/mirror.ts";
import { findTool, validateContainerdConfig } from "../../support/validators/mod.ts";
import { Host } from "../../../lib/host.ts";
import { verifyUnits } from "../../../lib/systemd_verify.ts";
import { bakedRoot } from "../../../fakes/baked_root.ts";
import {
  caseFile,
  caseNodeConfig,
  type CaseRun,
  compareWithCase,
  CONTAINERD_RUNS,
  haveCases,
  NVIDIA_CTK_STAND_IN,
  runName,
} from "../../../fakes/nodeadm_containerd_cases.ts";
import { TEST_CA_PEM } from "../../../fakes/node_settings.ts";
import { snapshotTree } from "../../support/helpers.ts";
import { assertValid } from "../../support/tool_verdicts.ts";

const CASES = haveCases();
if (!CASES) {
  console.warn("containerd_cli_test: shared/reference/nodeadm-e2e is not beside the repository: skipped");
}
/** The pause image eksnode pins for the fake IMDS's us-west-2 instance. */
const SANDBOX = "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.10";

/** The node of a case: a baked root with the case's containerd, kubelet and NVIDIA runtime. */
async function caseRoot(
  opts: { containerd?: string; kubelet: string; nvidia?: boolean; viaRelease?: boolean },
) {
  const root = await bakedRoot("eksnode-containerd-cli-");
  const release = [`KUBERNETES_VERSION='${opts.kubelet}'`];
  if (opts.containerd && opts.viaRelease) release.push(`CONTAINERD_VERSION='${opts.containerd}'`);
  await Deno.writeTextFile(`${root}/etc/eks/release`, release.join("\n") + "\n");
  // nodeadm's own version file, as `containerd --version` prints it.
  if (opts.containerd && !opts.viaRelease) {
    await Deno.writeTextFile(
      `${root}${CONTAINERD_VERSION_FILE}`,
      `containerd github.com/containerd/containerd ${opts.containerd} 0123456789abcdef\n`,
    );
  }
  await Deno.mkdir(`${root}/usr/bin`, { recursive: true });
  // Every case's image has the nvidia-ctk stand-in; only the nvidia ones have the runtime binary.
  await Deno.copyFile(NVIDIA_CTK_STAND_IN, `${root}/usr/bin/nvidia-ctk`);
  if (opts.nvidia) await Deno.writeTextFile(`${root}/usr/bin/nvidia-container-runtime`, "", { mode: 0o755 });
  return root;
}

/** The case's NodeConfig with a cluster eksnode accepts, written into `root` (read as file://, not under --root). */
async function caseConfig(root: string, name: string, file: string): Promise<string> {
  const doc = caseNodeConfig(name, file);
  doc.spec.cluster = {
    name: "my-cluster",
    apiServerEndpoint: "https://0123456789ABCDEF0123456789ABCDEF.gr7.us-west-2.eks.amazonaws.com",
    certificateAuthority: btoa(TEST_CA_PEM),
    cidr: "10.100.0.0/16",
  };
  const path = `${root}/nodeconfig-${name}-${file}`;
  await Deno.writeTextFile(path, stringifyYaml(doc));
  return path;
}

/** `eksnode init` with `config` against the fake IMDS and EC2 (DescribeInstances names the node from 1.26 on). */
async function initWith(root: string, config: string) {
  const { run } = await runInit({
    root,
    args: ["--config-source", `file://${config}`],
    env: { AWS_REGION: "us-west-2" },
  });
  return run;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

for (const r of CONTAINERD_RUNS) {
  Deno.test({
    name: `eksnode init, nodeadm case ${runName(r)}`,
    ignore: !CASES,
    fn: async () => {
      // containerdv2-* nodes say their containerd in /etc/eks/release (an eksnode bake), v1 in nodeadm's file.
      const root = await caseRoot({ ...r, viaRelease: r.containerd.startsWith("2.") });
      try {
        const config = await caseConfig(root, r.case, r.config);
        const before = await snapshotTree(root);
        const run = await initWith(root, config);
        if (!expectedOutcome(r)) {
          assert.equal(run.code, 3, `exit ${run.code}\n${run.stdout}\n${run.stderr}`);
          assert.match(run.stderr, /version-3 properties/);
          assert.match(
            run.stderr,
            new RegExp(`containerd is 1\\.x \\(${r.containerd.replaceAll(".", "\\.")}, from `),
          );
          // The inputs stop init before step 1: not one file written, none changed.
          assert.deepEqual(await snapshotTree(root), before, "nothing written");
          assert.doesNotMatch(run.stdout, /\[01\/09\]/);
          return;
        }
        assert.equal(run.code, 0, `exit ${run.code}\n${run.stdout}\n${run.stderr}`);
        const source = r.containerd.startsWith("2.")
          ? "CONTAINERD_VERSION in /etc/eks/release"
          : CONTAINERD_VERSION_FILE;
        assert.match(
          run.stdout,
          new RegExp(`containerd ${r.containerd.replaceAll(".", "\\.")} \\(from ${source}\\)`),
        );
        assert.match(run.stdout, new RegExp(`default runtime ${r.nvidia ? "nvidia" : "runc"}`));
        const ours = await Deno.readTextFile(`${root}/etc/containerd/config.toml`);
        assert.deepEqual(compareWithCase(r, ours, SANDBOX), []);
        assert.equal(
          await Deno.readTextFile(`${root}/etc/containerd/base-runtime-spec.json`),
          DEFAULT_BASE_RUNTIME_SPEC,
        );
      } finally {
        await Deno.remove(root, { recursive: true });
      }
    },
  });
}

function expectedOutcome(r: CaseRun): boolean {
  return r.expected !== undefined;
}

Deno.test({
  name: "eksnode init, nodeadm case containerd-base-runtime-spec: the spec file is nodeadm's byte for byte",
  ignore: !CASES,
  fn: async () => {
    const root = await caseRoot({ kubelet: "1.27.0" });
    try {
      const run = await initWith(root, await caseConfig(root, "containerd-base-runtime-spec", "config.yaml"));
      assert.equal(run.code, 0, `exit ${run.code}\n${run.stdout}\n${run.stderr}`);
      assert.equal(
        await Deno.readTextFile(`${root}/etc/containerd/base-runtime-spec.json`),
        caseFile("containerd-base-runtime-spec", "expected-base-runtime-spec.json"),
      );
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "eksnode init, nodeadm case pod-infra-container: kubelet 1.35 gets no --pod-infra-container-image",
  ignore: !CASES,
  fn: async () => {
    const root = await caseRoot({ kubelet: "1.35.0", containerd: "2.1.4", viaRelease: true });
    try {
      const run = await initWith(root, await caseConfig(root, "pod-infra-container", "config.yaml"));
      assert.equal(run.code, 0, `exit ${run.code}\n${run.stdout}\n${run.stderr}`);
      for (
        const f of ["/etc/systemd/system/kubelet.service", "/etc/eks/containerd/kubelet-containerd.service"]
      ) {
        assert.doesNotMatch(await Deno.readTextFile(`${root}${f}`), /pod-infra-container-image/, f);
      }
      // The sandbox image is containerd's to know: pinned in its config.
      assert.match(
        await Deno.readTextFile(`${root}/etc/containerd/config.toml`),
        new RegExp(`sandbox = "${SANDBOX.replaceAll(".", "\\.")}"`),
      );
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

/** A NodeConfig with FastImagePull on, for `root`. */
async function fastImagePullConfig(root: string, disabledMounts?: string[]): Promise<string> {
  const path = await caseConfig(root, "pod-infra-container", "config.yaml");
  const doc = (await import("yaml")).parse(await Deno.readTextFile(path));
  doc.spec.featureGates = { FastImagePull: true };
  if (disabledMounts) doc.spec.instance = { localStorage: { strategy: "RAID0", disabledMounts } };
  await Deno.writeTextFile(path, stringifyYaml(doc));
  return path;
}

Deno.test("eksnode init, FastImagePull: SOCI on a 4-CPU 16 GiB node with the snapshotter, not on a 2-CPU one", async () => {
  const root = await caseRoot({ kubelet: "1.32.0", containerd: "2.1.4", viaRelease: true });
  try {
    await Deno.writeTextFile(
      `${root}/proc/meminfo`,
      "MemTotal:       16006516 kB\nMemFree:         1000 kB\n",
    );
    // The baked root's /proc/cpuinfo has 2 processors: too small.
    const small = await initWith(root, await fastImagePullConfig(root));
    assert.equal(small.code, 0, `exit ${small.code}\n${small.stdout}\n${small.stderr}`);
    assert.match(
      small.stdout,
      /FastImagePull needs at least 7 GiB and 4 CPUs; this node has 15\.3 GiB, 2 CPUs/,
    );
    assert.equal(await exists(`${root}/etc/soci-snapshotter-grpc/config.toml`), false);

    await Deno.writeTextFile(
      `${root}/proc/cpuinfo`,
      "processor\t: 0\nprocessor\t: 1\nprocessor\t: 2\nprocessor\t: 3\n",
    );
    const missing = await initWith(root, await fastImagePullConfig(root));
    assert.match(missing.stdout, /soci-snapshotter\.service is not installed/);
    assert.equal(await exists(`${root}/etc/soci-snapshotter-grpc/config.toml`), false);

    // The snapshotter as `eksnode ami --al2023` installs it (steps 42-43), from the loopback mirror.
    const mirror = await startMirror({});
    try {
      const { args } = await bakeDir(mirror.bakeToml);
      const soci = await eksnode(args(root, "--al2023", "--only", "42,43"));
      assert.equal(soci.code, 0, soci.stdout + soci.stderr);
    } finally {
      await mirror.close();
    }
    assert.ok(await exists(`${root}/usr/bin/soci-snapshotter-grpc`));
    const big = await initWith(root, await fastImagePullConfig(root, ["SOCI"]));
    assert.equal(big.code, 0, `exit ${big.code}\n${big.stdout}\n${big.stderr}`);
    assert.match(big.stdout, /SOCI snapshotter \(FastImagePull\)/);
    const config = await Deno.readTextFile(`${root}/etc/containerd/config.toml`);
    assert.match(config, /snapshotter = "soci"/);
    // containerd itself accepts the config with the snapshotter (`containerd config dump`), where installed.
    const dump = await validateContainerdConfig(`${root}/etc/containerd/config.toml`);
    assertValid(dump, "FastImagePull containerd config");
    // And systemd the units: containerd's drop-in requires the snapshotter the bake installed.
    if (findTool("systemd-analyze")) {
      const units = await verifyUnits(await Host.open(root), [
        "soci-snapshotter.service",
        "soci-snapshotter.socket",
      ]);
      assert.deepEqual(units.problems, [], units.problems.join("\n"));
    }
    assert.match(
      await Deno.readTextFile(`${root}/etc/systemd/system/containerd.service.d/10-soci-snapshotter.conf`),
      /^\[Unit\]\nRequires=soci-snapshotter\.service\nAfter=soci-snapshotter\.service\n$/,
    );
    assert.match(
      await Deno.readTextFile(`${root}/etc/soci-snapshotter-grpc/config.toml`),
      /parallel_pull_unpack/,
    );
    const kubelet = JSON.parse(await Deno.readTextFile(`${root}/etc/kubernetes/kubelet/kubelet-config.json`));
    assert.equal(
      kubelet.imageServiceEndpoint,
      "unix:///run/soci-snapshotter-grpc/soci-snapshotter-grpc.sock",
    );
    // disabledMounts: [SOCI] keeps the SOCI store off the instance-store array.
    assert.match(
      await Deno.readTextFile(`${root}/etc/systemd/system/eksnode-local-disks.service`),
      /setup-local-disks \\\n\s+raid0 \\\n\s+--no-bind-soci\n/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
