/**
 * `eksnode init --skip config|run` and `--config-cache` through the real CLI, as the boot units run them
 * (eks/system/boot_units.ts), and the meaning of nodeadm's e2e cases config-cache and
 * config-provider-chain (awslabs/amazon-eks-ami nodeadm/test/e2e/cases/, commit 81fec2e8): the config
 * phase writes every file and caches the settings; the run phase reuses them (instance metadata is not
 * read again) while the sources give the same configuration, resolves again and rewrites the files when
 * a drop-in changed it, and falls back to the cache when the sources give none.
 */
import assert from "node:assert/strict";
import { tempDir } from "../../../fakes/temp.ts";
import { CONTAINERD_CONFIG, KUBELET_CONFIG } from "../../../eks/paths/node.ts";
import { journalPath } from "../../../lib/journal.ts";
import { assertFailed, nodeConfigUserData, runInit } from "../../support/cli_fixtures.ts";
import { bakedRoot } from "../../../fakes/baked_root.ts";

const CACHE = "/run/eks/eksnode/config.json";

/** The instance facts IMDS was asked for (not the token, not the user data). */
function factReads(paths: string[]): string[] {
  return paths.filter((p) => p.includes("meta-data") || p.includes("dynamic"));
}

/** `N steps, M changes` of a run's summary line. */
function summary(stdout: string): { steps: number; changes: number } {
  const m = /init: (\d+) steps?, (\d+) changes? in/.exec(stdout);
  assert.ok(m, `no summary line in:\n${stdout}`);
  return { steps: Number(m[1]), changes: Number(m[2]) };
}

Deno.test("init --skip run, then --skip config with the cache: the two phases do what one init does", async () => {
  const root = await bakedRoot("eksnode-phases-");
  try {
    const config = await runInit({ root, args: ["--skip", "run", "--config-cache", CACHE] });
    assert.equal(config.run.code, 0, config.run.stdout + config.run.stderr);
    assert.deepEqual(summary(config.run.stdout).steps, 8, "steps 1-8");
    assert.doesNotMatch(config.run.stdout, /\[9\/9\]/);
    assert.ok(await Deno.stat(`${root}${KUBELET_CONFIG}`), "the config phase writes the files");
    const cached = JSON.parse(await Deno.readTextFile(`${root}${CACHE}`));
    assert.equal((await Deno.stat(`${root}${CACHE}`)).mode! & 0o777, 0o600);
    assert.equal(cached.kind, "NodeConfig");
    assert.equal(cached.spec.cluster.name, "prod");
    assert.equal(cached.status.settings.instance.instanceType, "m5.large");
    // The restarts the changes call for are owed to the run phase.
    const journal = JSON.parse(await Deno.readTextFile(`${root}${journalPath("init")}`));
    assert.ok(journal.pending.includes(KUBELET_CONFIG), `pending: ${journal.pending}`);

    const run = await runInit({ root, args: ["--skip", "config", "--config-cache", CACHE] });
    assert.equal(run.run.code, 0, run.run.stdout + run.run.stderr);
    assert.equal(summary(run.run.stdout).steps, 1, "step 9 only");
    assert.match(run.run.stdout, /\[9\/9\]/);
    assert.match(run.run.stdout, /still to act on/);
    assert.match(run.run.stderr + run.run.stdout, /configuration unchanged since/);
    assert.deepEqual(factReads(run.imds.calls.paths), [], "the cached instance facts are used");
    assert.ok(run.imds.calls.paths.some((p) => p.includes("user-data")), "the user data is read again");
    assert.equal(JSON.parse(await Deno.readTextFile(`${root}${journalPath("init")}`)).pending, undefined);

    // What the phases left is what one init leaves: a full init changes nothing.
    const full = await runInit({ root });
    assert.equal(full.run.code, 0, full.run.stdout + full.run.stderr);
    assert.deepEqual(summary(full.run.stdout), { steps: 9, changes: 0 });
    // And the phases again (a reboot): nothing either.
    for (const skip of ["run", "config"]) {
      const again = await runInit({ root, args: ["--skip", skip, "--config-cache", CACHE] });
      assert.equal(again.run.code, 0, again.run.stdout + again.run.stderr);
      assert.equal(summary(again.run.stdout).changes, 0, `--skip ${skip} again`);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("init --config-cache: a drop-in that changes the configuration re-runs the config phase; none falls back to the cache", async () => {
  const root = await bakedRoot("eksnode-cache-");
  const dropIns = await tempDir({ prefix: "eksnode-nodeadm.d-" });
  const chain = ["--config-source", "imds://user-data", "--config-source", `file://${dropIns}/`];
  try {
    // An empty drop-in directory does not fail the chain (nodeadm case config-provider-chain).
    const first = await runInit({ root, args: ["--skip", "run", ...chain, "--config-cache", CACHE] });
    assert.equal(first.run.code, 0, first.run.stdout + first.run.stderr);
    const spec1 = JSON.parse(await Deno.readTextFile(`${root}${CACHE}`)).spec;
    assert.equal(spec1.containerd, undefined);

    // Neither phase: the cache is read and kept.
    const none = await runInit({
      root,
      args: ["--skip", "config", "--skip", "run", ...chain, "--config-cache", CACHE],
    });
    assert.equal(none.run.code, 0, none.run.stdout + none.run.stderr);
    assert.deepEqual(summary(none.run.stdout), { steps: 0, changes: 0 });

    // A cloud-init script writes a drop-in.
    await Deno.writeTextFile(
      `${dropIns}/test.yaml`,
      [
        "apiVersion: node.eks.aws/v1alpha1",
        "kind: NodeConfig",
        "spec:",
        "  containerd:",
        "    config: |",
        "      [plugins.'io.containerd.cri.v1.images']",
        "      discard_unpacked_layers = false",
        "",
      ].join("\n"),
    );
    // The drop-in alone has no cluster: an error, cache or not.
    const partial = await runInit({
      root,
      args: [
        "--skip",
        "config",
        "--skip",
        "run",
        "--config-source",
        `file://${dropIns}`,
        "--config-cache",
        CACHE,
      ],
    });
    assertFailed(partial.run, 3, /no cluster name/);

    // With the user data too: resolved again, and the files follow although the config phase is skipped.
    const changed = await runInit({
      root,
      args: ["--skip", "config", "--skip", "run", ...chain, "--config-cache", CACHE],
    });
    assert.equal(changed.run.code, 0, changed.run.stdout + changed.run.stderr);
    assert.match(changed.run.stdout + changed.run.stderr, /config phase runs although skipped/);
    assert.ok(summary(changed.run.stdout).changes > 0);
    assert.match(await Deno.readTextFile(`${root}${CONTAINERD_CONFIG}`), /discard_unpacked_layers = false/);
    const spec2 = JSON.parse(await Deno.readTextFile(`${root}${CACHE}`)).spec;
    assert.match(spec2.containerd.config, /discard_unpacked_layers/);

    // The drop-ins removed and no other source: nothing in the chain, so the cache is used.
    await Deno.remove(`${dropIns}/test.yaml`);
    const fallback = await runInit({
      root,
      args: [
        "--skip",
        "config",
        "--skip",
        "run",
        "--config-source",
        `file://${dropIns}/`,
        "--config-cache",
        CACHE,
      ],
    });
    assert.equal(fallback.run.code, 0, fallback.run.stdout + fallback.run.stderr);
    assert.match(fallback.run.stdout + fallback.run.stderr, /no NodeConfig in .*: the settings cached in/);
    // Without a cache the same chain is an error.
    const noCache = await runInit({
      root,
      args: ["--skip", "config", "--skip", "run", "--config-source", `file://${dropIns}/`],
    });
    assertFailed(noCache.run, 3, /no NodeConfig in file:\/\//);
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(dropIns, { recursive: true });
  }
});

Deno.test("init --allow-no-config: user data that only runs bootstrap.sh leaves the boot units nothing to do", async () => {
  const root = await bakedRoot("eksnode-noconfig-");
  const script = "#!/bin/bash\n/etc/eks/bootstrap.sh prod --kubelet-extra-args '--node-labels=a=b'\n";
  try {
    const before = (await Array.fromAsync(Deno.readDir(root))).map((e) => e.name).sort();
    const boot = await runInit({
      root,
      imds: { userData: script },
      args: ["--skip", "run", "--allow-no-config", "--config-cache", CACHE],
    });
    assert.equal(boot.run.code, 0, boot.run.stdout + boot.run.stderr);
    assert.match(boot.run.stdout + boot.run.stderr, /no NodeConfig in imds:\/\/user-data.*nothing to do/);
    const after = (await Array.fromAsync(Deno.readDir(root))).map((e) => e.name).sort();
    assert.deepEqual(after, before, "nothing written");
    // Without the flag it is the usual error.
    const plain = await runInit({ root, imds: { userData: script }, args: ["--skip", "run"] });
    assertFailed(plain.run, 3, /no NodeConfig in imds:\/\/user-data/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("init --skip: phases mix with step numbers; unknown words and bad cache paths are usage errors", async () => {
  const root = await bakedRoot("eksnode-skipflags-");
  try {
    const mixed = await runInit({ root, args: ["--skip", "run,7", "--dry-run"] });
    assert.equal(mixed.run.code, 0, mixed.run.stdout + mixed.run.stderr);
    assert.doesNotMatch(mixed.run.stdout, /\[0?[79]\/9\]/);
    assert.match(mixed.run.stdout, /init --dry-run \(nothing is changed\): 7 steps/);
    const bad = await runInit({ root, args: ["--skip", "start"] });
    assertFailed(bad.run, 2, /--skip: "start" is not a step number/);
    const relative = await runInit({ root, args: ["--config-cache", "run/config.json"] });
    assertFailed(relative.run, 2, /--config-cache must be an absolute path/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("init --daemon (nodeadm's, for testing): only the named daemons start, the disks unit whatever it names", async () => {
  const root = await bakedRoot("eksnode-daemon-");
  const userData = nodeConfigUserData(true, "  instance:\n    localStorage:\n      strategy: RAID0\n");
  try {
    // nodeadm case local-disks: `init --daemon=""`, and setup-local-disks runs with raid0.
    const none = await runInit({ root, imds: { userData }, args: ["--daemon="] });
    assert.equal(none.run.code, 0, none.run.stdout + none.run.stderr);
    assert.match(none.run.stdout, /systemctl --root=\S+ enable eksnode-local-disks\.service/);
    assert.match(
      await Deno.readTextFile(`${root}/etc/systemd/system/eksnode-local-disks.service`),
      /setup-local-disks \\\n\s+raid0/,
    );
    assert.doesNotMatch(none.run.stdout, /enable (containerd|sandbox-image|kubelet)\.service/);

    const kubelet = await runInit({ root, imds: { userData }, args: ["--daemon", "kubelet"] });
    assert.equal(kubelet.run.code, 0, kubelet.run.stdout + kubelet.run.stderr);
    assert.match(kubelet.run.stdout, /enable kubelet\.service/);
    assert.doesNotMatch(kubelet.run.stdout, /enable (containerd|sandbox-image)\.service/);

    const bad = await runInit({ root, imds: { userData }, args: ["--daemon", "docker"] });
    assertFailed(bad.run, 2, /--daemon: "docker" is not a daemon/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
