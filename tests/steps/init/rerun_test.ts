/**
 * "Rerun after success: 0 changes, no service restarted" for `eksnode init` as the running system (the
 * only place services are started). The 9 steps run against a temp root that the host treats as `/`,
 * with a `systemctl` stand-in first on the host's PATH recording every call and keeping unit state, so
 * the test sees exactly which units a boot, a reboot and a changed input start or restart.
 * (For `eksnode ami`, tests/steps/ami/ami_bake_test.ts checks that a second bake makes 0 changes.)
 */
import { tempDir } from "../../../fakes/temp.ts";
import assert from "node:assert/strict";
import { Host } from "../../../lib/host.ts";
import { memoryLogger } from "../../../lib/log.ts";
import { runSteps } from "../../../lib/runner.ts";
import type { NodeSettings } from "../../../steps/init/context.ts";
import { INIT_STEPS } from "../../../steps/init/index.ts";
import { testNode } from "../../../fakes/node_settings.ts";
import {
  EKS_KUBELET_UNIT,
  KUBELET_CONFIG_DIR,
  KUBELET_CONFIG_DROPIN,
  KUBELET_UNIT,
} from "../../../eks/paths/node.ts";

/**
 * A `systemctl` that logs its arguments and remembers started and enabled units in `state`; starting the
 * bpffs unit mounts /sys/fs/bpf (a line in the root's /proc/self/mounts), as the real unit would.
 */
async function fakeSystemctl(dir: string): Promise<{ path: string; calls: () => Promise<string[]> }> {
  const bin = `${dir}/bin`;
  await Deno.mkdir(`${dir}/state`, { recursive: true });
  await Deno.mkdir(bin, { recursive: true });
  await Deno.writeTextFile(
    `${bin}/systemctl`,
    [
      "#!/bin/sh",
      `log="${dir}/systemctl.log"; state="${dir}/state"`,
      'echo "$*" >> "$log"',
      'for a in "$@"; do case "$a" in --*) ;; *) set -- "$@" "$a" ;; esac; shift; done',
      'verb="$1"; unit="$2"',
      'case "$verb" in',
      '  start|restart) touch "$state/active-$unit"',
      // The bpffs unit mounts /sys/fs/bpf: what step 9 checks (the root's /proc/self/mounts).
      `    if [ "$unit" = eksnode-mount-bpf-fs.service ]; then echo "bpffs /sys/fs/bpf bpf rw 0 0" >> "${dir}/root/proc/self/mounts"; fi ;;`,
      '  enable) touch "$state/enabled-$unit" ;;',
      '  is-active) if [ -e "$state/active-$unit" ]; then echo active; else echo inactive; exit 3; fi ;;',
      '  is-enabled) if [ -e "$state/enabled-$unit" ]; then echo enabled; else echo disabled; exit 1; fi ;;',
      "esac",
      "exit 0",
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
  return {
    path: bin,
    async calls() {
      const text = await Deno.readTextFile(`${dir}/systemctl.log`).catch(() => "");
      await Deno.writeTextFile(`${dir}/systemctl.log`, "");
      return text.split("\n").filter(Boolean);
    },
  };
}

/** The calls that change something (start, restart, enable, daemon-reload), without `--root=`. */
function actions(calls: string[]): string[] {
  return calls.map((c) => c.replace(/--root=\S+ /, "")).filter((c) => !/^is-(active|enabled) /.test(c));
}

/** What NodeConfig kubelet.config adds on a node that had none (the unit gains --config-dir). */
const KUBELET_CONFIG_DIR_CHANGES = [
  `file ${EKS_KUBELET_UNIT}`,
  `file ${KUBELET_UNIT}`,
  `dir ${KUBELET_CONFIG_DIR}`,
  `file ${KUBELET_CONFIG_DROPIN}`,
];

Deno.test("rerun: a second init as the running system makes 0 changes and starts or restarts nothing", async () => {
  const dir = await tempDir({ prefix: "eksnode-rerun-" });
  const systemctl = await fakeSystemctl(dir);
  const opened = await Host.open(`${dir}/root`, { PATH: `${systemctl.path}:${Deno.env.get("PATH")}` });
  // The temp root, seen as the running system: units are started, not only enabled.
  const host = Object.create(opened, { isSystemRoot: { value: true } }) as Host;
  await host.writeFile(
    "/etc/systemd/system/containerd.service",
    "[Service]\nExecStart=/usr/bin/containerd\n",
  );
  await host.writeFile("/usr/bin/aws-iam-authenticator", "#!/bin/sh\n", { mode: 0o755 });
  await host.writeFile("/proc/self/mounts", "proc /proc proc rw 0 0\n");
  // Booted: systemd runs as PID 1 (lib/place.ts looks for /run/systemd/system).
  await host.mkdir("/run/systemd/system");
  const boot = (node: NodeSettings) =>
    runSteps(INIT_STEPS, { host, log: memoryLogger(), dryRun: false, node }, {
      process: "init",
      dryRun: false,
    });

  try {
    const first = await boot(testNode());
    assert.ok(first.changeCount > 0);
    const started = actions(await systemctl.calls());
    for (const unit of ["containerd.service", "sandbox-image.service", "kubelet.service"]) {
      assert.ok(started.includes(`enable ${unit}`), `${unit} enabled: ${started.join("; ")}`);
      // First boot: the unit's config was just written, so it is restarted (which starts it).
      assert.ok(
        started.includes(`restart ${unit}`) || started.includes(`start ${unit}`),
        `${unit} started: ${started.join("; ")}`,
      );
    }
    assert.ok(started.includes("daemon-reload"));

    // A reboot with the same inputs.
    const second = await boot(testNode());
    assert.equal(second.changeCount, 0, JSON.stringify(second.steps.flatMap((s) => s.changes)));
    assert.deepEqual(actions(await systemctl.calls()), [], "nothing started, restarted, enabled or reloaded");

    // The test can tell: a changed kubelet setting restarts kubelet, and only kubelet.
    const third = await boot(testNode({ maxPods: 110 }));
    assert.equal(third.changeCount, 2, "kubelet-config.json and the restart");
    assert.deepEqual(actions(await systemctl.calls()), ["restart kubelet.service"]);
    // NodeConfig kubelet.config: kubelet's unit gets --config-dir too (a daemon-reload), still only kubelet restarts.
    const fourth = await boot(testNode({ maxPods: 110, kubeletConfigOverrides: { maxPods: 110 } }));
    assert.deepEqual(fourth.steps.flatMap((s) => s.changes).map((c) => c.split(" ").slice(0, 2).join(" ")), [
      ...KUBELET_CONFIG_DIR_CHANGES,
      "run systemctl",
      "run systemctl",
    ]);
    assert.deepEqual(actions(await systemctl.calls()), ["daemon-reload", "restart kubelet.service"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rerun: the boot's two phases (config with its changes kept pending, then run) start and restart what one init does", async () => {
  const dir = await tempDir({ prefix: "eksnode-phases-" });
  const systemctl = await fakeSystemctl(dir);
  const opened = await Host.open(`${dir}/root`, { PATH: `${systemctl.path}:${Deno.env.get("PATH")}` });
  const host = Object.create(opened, { isSystemRoot: { value: true } }) as Host;
  await host.writeFile(
    "/etc/systemd/system/containerd.service",
    "[Service]\nExecStart=/usr/bin/containerd\n",
  );
  await host.writeFile("/usr/bin/aws-iam-authenticator", "#!/bin/sh\n", { mode: 0o755 });
  await host.writeFile("/proc/self/mounts", "proc /proc proc rw 0 0\n");
  // Booted: systemd runs as PID 1 (lib/place.ts looks for /run/systemd/system).
  await host.mkdir("/run/systemd/system");
  const { INIT_PHASES } = await import("../../../steps/init/index.ts");
  const phase = (node: NodeSettings, which: "config" | "run") =>
    runSteps(INIT_STEPS, { host, log: memoryLogger(), dryRun: false, node }, {
      process: "init",
      dryRun: false,
      skip: [...INIT_PHASES[which === "config" ? "run" : "config"]],
      keepPending: which === "config",
    });
  try {
    const config = await phase(testNode(), "config");
    assert.ok(config.changeCount > 0);
    assert.deepEqual(actions(await systemctl.calls()), ["daemon-reload"], "the config phase starts nothing");
    await phase(testNode(), "run");
    const started = actions(await systemctl.calls());
    for (const unit of ["containerd.service", "sandbox-image.service", "kubelet.service"]) {
      assert.ok(started.includes(`enable ${unit}`), `${unit} enabled: ${started.join("; ")}`);
      // Its config was written by the config phase: the run phase restarts it (which starts it).
      assert.ok(started.includes(`restart ${unit}`), `${unit} restarted: ${started.join("; ")}`);
    }

    // A reboot: both phases, nothing changed, nothing started or restarted.
    for (const which of ["config", "run"] as const) {
      const again = await phase(testNode(), which);
      assert.equal(
        again.changeCount,
        0,
        `${which}: ${JSON.stringify(again.steps.flatMap((s) => s.changes))}`,
      );
    }
    assert.deepEqual(actions(await systemctl.calls()), []);

    // A changed kubelet setting: the config phase writes it, the run phase restarts kubelet only.
    const changed = testNode({ maxPods: 110 });
    assert.equal((await phase(changed, "config")).changeCount, 1, "kubelet-config.json");
    assert.deepEqual(actions(await systemctl.calls()), []);
    assert.equal((await phase(changed, "run")).changeCount, 1, "the restart");
    assert.deepEqual(actions(await systemctl.calls()), ["restart kubelet.service"]);
    // A drop-in of /etc/eks/nodeadm.d sets kubelet.config: kubelet's unit gets --config-dir as well (the
    // config phase reloads systemd); the run phase still restarts kubelet only.
    const dropIn = testNode({ maxPods: 110, kubeletConfigOverrides: { maxPods: 110 } });
    const configPhase = await phase(dropIn, "config");
    assert.deepEqual(
      configPhase.steps.flatMap((s) => s.changes).map((c) => c.split(" ").slice(0, 2).join(" ")),
      [...KUBELET_CONFIG_DIR_CHANGES, "run systemctl"],
    );
    assert.deepEqual(actions(await systemctl.calls()), ["daemon-reload"]);
    assert.equal((await phase(dropIn, "run")).changeCount, 1, "the restart");
    assert.deepEqual(actions(await systemctl.calls()), ["restart kubelet.service"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
