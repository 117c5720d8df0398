/**
 * The boot units (eks/system/boot_units.ts, installed by `eksnode ami` step 36): systemd itself accepts
 * them and finds no ordering cycle with cloud-init's units and the services they configure, and their
 * command lines are the phases the CLI knows. (The boot test, tests/e2e/boot_test.ts, boots them.)
 */
import assert from "node:assert/strict";
import { tempDir } from "../../../fakes/temp.ts";
import { BOOT_CONFIG_CACHE, BOOT_CONFIG_SOURCES, EKSNODE_BIN } from "../../../eks/paths/node.ts";
import { bootInitArgv, renderBootConfigUnit, renderBootRunUnit } from "../../../eks/system/boot_units.ts";
import { renderSandboxImageUnit } from "../../../eks/system/node_units.ts";
import { Host } from "../../../lib/host.ts";
import { splitSkip } from "../../../cli/init.ts";
import { verifyUnits } from "../../../lib/systemd_verify.ts";
import { onPath } from "../../support/helpers.ts";

/** systemd's own units on this machine, copied into the test root so a start transaction can be built. */
const SYSTEM_UNITS = ["/usr/lib/systemd/system", "/lib/systemd/system"].find((d) => {
  try {
    return Deno.statSync(`${d}/multi-user.target`).isFile;
  } catch {
    return false;
  }
});
const skip = !onPath("systemd-analyze")
  ? "systemd-analyze not installed"
  : SYSTEM_UNITS === undefined
  ? "no systemd units on this machine (multi-user.target)"
  : undefined;

/**
 * cloud-init's units as far as their ordering goes (canonical/cloud-init systemd/cloud-init-network.service.tmpl,
 * formerly cloud-init.service, and cloud-final.service.tmpl): the network stage runs before
 * network-online.target, the final stage after it.
 */
const CLOUD_INIT: Record<string, string> = {
  "cloud-init.service": "[Unit]\nAfter=systemd-networkd-wait-online.service networking.service\n" +
    "Before=network-online.target sshd-keygen.service systemd-user-sessions.service\n" +
    "[Service]\nType=oneshot\nExecStart=/usr/bin/cloud-init init\n[Install]\nWantedBy=cloud-init.target\n",
  "cloud-config.service": "[Unit]\nAfter=network-online.target\nWants=network-online.target\n" +
    "[Service]\nType=oneshot\nExecStart=/usr/bin/cloud-init modules --mode=config\n",
  "cloud-final.service": "[Unit]\nAfter=network-online.target cloud-config.service rc-local.service\n" +
    "Wants=network-online.target cloud-config.service\n" +
    "[Service]\nType=oneshot\nExecStart=/usr/bin/cloud-init modules --mode=final\n",
  "cloud-init.target": "[Unit]\nWants=cloud-init.service cloud-final.service\n",
  "containerd.service":
    "[Unit]\nAfter=network.target local-fs.target\n[Service]\nExecStart=/usr/bin/containerd\n",
  "kubelet.service": "[Unit]\nAfter=containerd.service sandbox-image.service\n" +
    "Requires=containerd.service sandbox-image.service\n[Service]\nExecStart=/usr/bin/kubelet\n",
};

/** A temp root with systemd's units, cloud-init's, the services, and `units` (name → text); verified. */
async function verifyInRoot(units: Record<string, string>): Promise<string[]> {
  const root = await tempDir({ prefix: "eksnode-boot-units-" });
  try {
    await Deno.mkdir(`${root}/usr/lib/systemd/system`, { recursive: true });
    const cp = await new Deno.Command("cp", {
      args: ["-a", `${SYSTEM_UNITS}/.`, `${root}/usr/lib/systemd/system/`],
      stderr: "piped",
    }).output();
    assert.equal(cp.code, 0, new TextDecoder().decode(cp.stderr));
    await Deno.mkdir(`${root}/etc/systemd/system/multi-user.target.wants`, { recursive: true });
    await Deno.mkdir(`${root}/usr/bin`, { recursive: true });
    for (const bin of [EKSNODE_BIN, "/usr/bin/containerd", "/usr/bin/kubelet", "/usr/bin/cloud-init"]) {
      await Deno.writeTextFile(`${root}${bin}`, "#!/bin/sh\n", { mode: 0o755 });
    }
    const all = {
      ...CLOUD_INIT,
      "sandbox-image.service": renderSandboxImageUnit({
        sandboxImage: "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.10",
        sandboxRegistry: "602401143452.dkr.ecr.us-west-2.amazonaws.com",
      }),
      ...units,
    };
    for (const [name, text] of Object.entries(all)) {
      await Deno.writeTextFile(`${root}/etc/systemd/system/${name}`, text);
    }
    // Enabled, as the bake leaves them: the boot transaction pulls all of them in together.
    for (const name of [...Object.keys(units), "cloud-init.target", "kubelet.service"]) {
      await Deno.symlink(
        `/etc/systemd/system/${name}`,
        `${root}/etc/systemd/system/multi-user.target.wants/${name}`,
      );
    }
    const host = await Host.open(root);
    const out = await verifyUnits(host, [...Object.keys(units), "kubelet.service", "cloud-init.target"]);
    return out.problems;
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test({
  name: `boot units: systemd-analyze verify accepts them with cloud-init's units, no ordering cycle${
    skip ? ` (not run: ${skip})` : ""
  }`,
  ignore: skip !== undefined,
  async fn() {
    const problems = await verifyInRoot({
      "eksnode-config.service": renderBootConfigUnit(),
      "eksnode-run.service": renderBootRunUnit(),
    });
    assert.deepEqual(problems, []);

    // The check can tell: a config phase waiting for network-online.target (which cloud-init's network
    // stage precedes) while running before cloud-init is a cycle systemd breaks by dropping a job.
    const cyclic = renderBootConfigUnit().replace(
      /^After=.*$/m,
      "After=network-online.target\nWants=network-online.target",
    );
    const found = await verifyInRoot({
      "eksnode-config.service": cyclic,
      "eksnode-run.service": renderBootRunUnit(),
    });
    assert.ok(found.some((l) => /ordering cycle/.test(l)), `a cycle reported: ${found.join(" | ")}`);
  },
});

Deno.test("boot units: each runs one phase of init with the boot sources and the cache", () => {
  const units = { config: renderBootConfigUnit(), run: renderBootRunUnit() };
  for (const phase of ["config", "run"] as const) {
    const argv = bootInitArgv(phase);
    const other = phase === "config" ? "run" : "config";
    assert.deepEqual(argv.slice(0, 2), [EKSNODE_BIN, "init"]);
    // What init makes of the flags: this phase runs, the other is skipped.
    const skipped = argv[argv.indexOf("--skip") + 1];
    assert.deepEqual([...splitSkip(skipped).phases], [other]);
    assert.deepEqual(argv.filter((_, i) => argv[i - 1] === "--config-source"), [...BOOT_CONFIG_SOURCES]);
    assert.equal(argv[argv.indexOf("--config-cache") + 1], BOOT_CONFIG_CACHE);
    assert.ok(BOOT_CONFIG_CACHE.startsWith("/run/"), "the cache lives for one boot");
    // The unit's ExecStart is that argv, one word a continued line.
    const exec = /^ExecStart=([\s\S]*?)\n(?!\s)/m.exec(units[phase])![1];
    assert.deepEqual(exec.split(/\s*\\\n\s*/), argv);
    assert.match(
      units[phase],
      /^EnvironmentFile=-\/etc\/environment$/m,
      "proxies in /etc/environment reach it",
    );
    assert.match(units[phase], /^Type=oneshot$/m);
    assert.match(units[phase], /^WantedBy=multi-user.target$/m);
  }
  assert.match(units.config, /^Before=cloud-init.service$/m);
  assert.match(units.run, /^After=eksnode-config.service cloud-final.service$/m);
  assert.match(units.run, /^Requires=eksnode-config.service$/m);
});

Deno.test("boot units: docs/boot.md shows the command lines the units run", async () => {
  const doc = (await Deno.readTextFile(new URL("../../../docs/boot.md", import.meta.url))).replace(
    / \\\n\s*/g,
    " ",
  );
  for (const phase of ["config", "run"] as const) {
    assert.ok(
      doc.includes(bootInitArgv(phase).join(" ")),
      `docs/boot.md lacks the ${phase} phase's command line`,
    );
  }
});
