/**
 * The dnf path on `/` inside a container, as a container build of an Amazon Linux image runs it: a Debian
 * root with Debian's dnf and rpm (debootstrap, cached like the boot test's: tests/e2e/debian_root.ts),
 * `systemd-nspawn` without booting, no `--root` anywhere. The stand-in repository (tests/support/rpm_repo.ts)
 * is bound in read-only and configured in the root's /etc/yum.repos.d; amazon-ec2-net-utils is installed
 * beforehand, as on the AL2023 base image. Proven from the root's own rpm database: `dnf makecache`, then
 * every package installed on `/` (no --installroot), runc and containerd at their pins over newer versions,
 * amazon-ec2-net-utils removed, containerd version-locked in /etc/dnf/plugins/versionlock.list; a second
 * bake makes 0 changes. With dnf-plugins-core's versionlock plugin in the root (configured as AL2023's
 * python3-dnf-plugin-versionlock ships it) and an earlier pin's lock that hides the new pin, the bake
 * clears that lock before the install; afterwards `dnf upgrade` on / moves runc to the repository's newer
 * version and leaves containerd at its pin. Step 2 is left out: it selects the legacy
 * backend with AL2023's `alternatives`, which Debian calls update-alternatives (tests/e2e/dnf_real_test.ts
 * installs iptables-legacy under --root).
 */
import assert from "node:assert/strict";
import { startMirror } from "../../fakes/mirror.ts";
import { buildRpmRepo, runTool, versionlockPlugin } from "../support/rpm_repo.ts";
import { onPath } from "../support/helpers.ts";
import { tempDir } from "../../fakes/temp.ts";
import { bookwormRecipe, cachedRoot, copyRoot, run } from "./debian_root.ts";
import { mountsUnder, runInside, unmountUnder } from "./nspawn.ts";

const REPO = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const E2E = "/opt/e2e";
const TOOLS = ["debootstrap", "systemd-nspawn", "dpkg", "rpm", "rpmbuild", "createrepo_c", "cp", "umount"];
const missing = TOOLS.filter((t) => !onPath(t));
const skip = Deno.build.os !== "linux"
  ? "not Linux"
  : Deno.uid() !== 0
  ? "needs root (debootstrap, systemd-nspawn)"
  : missing.length
  ? `${missing.join(", ")} not installed (apt-get install debootstrap systemd-container rpm createrepo-c)`
  : undefined;
if (skip) console.log(`dnf container test not run: ${skip}`);

Deno.test({
  name: `dnf container: eksnode ami on / in a container with dnf installs, pins and removes for real${
    skip ? ` (not run: ${skip})` : ""
  }`,
  ignore: skip !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const cached = await cachedRoot(await bookwormRecipe(["dnf", "rpm"]));
    const tmp = await tempDir({ prefix: "eksnode-dnf-ct-" });
    const root = `${tmp}/root`;
    const mirror = await startMirror();
    try {
      await Deno.mkdir(`${tmp}/rpm`);
      const repo = await buildRpmRepo(`${tmp}/rpm`, mirror.bakeToml);
      await copyRoot(cached.root, root);
      for (const d of ["src", "deno-dir", "repo"]) {
        await Deno.mkdir(`${root}${E2E}/${d}`, { recursive: true });
      }
      await Deno.writeFile(`${root}${E2E}/deno`, new Uint8Array());
      await run([Deno.execPath(), "cache", "--frozen", "--quiet", `${REPO}/main.ts`], "deno cache", 300_000);
      const denoDir = JSON.parse(await run([Deno.execPath(), "info", "--json"], "deno info"))
        .denoDir as string;
      const binds = [
        { from: Deno.execPath(), to: `${E2E}/deno` },
        { from: REPO, to: `${E2E}/src` },
        { from: denoDir, to: `${E2E}/deno-dir` },
        { from: repo.dir, to: `${E2E}/repo` },
      ];
      await Deno.writeTextFile(`${root}${E2E}/bake.toml`, mirror.bakeToml);
      await Deno.writeTextFile(
        `${root}${E2E}/eksnode`,
        `#!/bin/sh\nexport DENO_DIR=${E2E}/deno-dir\nexec ${E2E}/deno run --allow-all --cached-only --quiet ${E2E}/src/main.ts "$@"\n`,
        { mode: 0o755 },
      );
      // The image before the bake: the repository configured, amazon-ec2-net-utils installed.
      await Deno.mkdir(`${root}/etc/yum.repos.d`, { recursive: true });
      await Deno.writeTextFile(`${root}/etc/yum.repos.d/standin.repo`, repo.repoFile(`file://${E2E}/repo`));
      const netUtils = repo.rpms.find((f) => f.startsWith(`${repo.name("ec2NetUtils")}-1.0.0-`))!;
      await runTool(["rpm", "--root", root, "-i", "--nodeps", `${repo.dir}/${netUtils}`]);
      // The versionlock plugin installed, as AL2023's build installs python3-dnf-plugin-versionlock (only it:
      // Debian's dnf-plugins-core would also turn on its `local` plugin), configured as that package ships
      // it, with a lock of another containerd version (an earlier bake's pin) that would hide the pin.
      const found = await versionlockPlugin();
      const plugin = typeof found === "string" ? undefined : found;
      if (typeof found === "string") console.log(`versionlock plugin not used: ${found}`);
      const lockList = `${root}/etc/dnf/plugins/versionlock.list`;
      let lockBefore = "";
      if (plugin) {
        const site = `${root}/usr/lib/python3/dist-packages`;
        await Deno.mkdir(`${site}/dnf-plugins`, { recursive: true });
        await Deno.copyFile(plugin.plugin, `${site}/dnf-plugins/versionlock.py`);
        await runTool(["cp", "-r", `${plugin.site}/dnfpluginscore`, `${site}/`]);
        await Deno.mkdir(`${root}/etc/dnf/plugins`, { recursive: true });
        await Deno.writeTextFile(
          `${root}/etc/dnf/plugins/versionlock.conf`,
          "[main]\nenabled = 1\nlocklist = /etc/dnf/plugins/versionlock.list\n",
        );
        lockBefore =
          "# eksnode: containerd locked at the version the bake pins\ncontainerd-0:98.0.0-1.eksnode.*\n";
        await Deno.writeTextFile(lockList, lockBefore);
        const held = await runInside(
          root,
          ["dnf", "install", "-y", `containerd-${repo.pinned.containerd}`],
          binds,
        );
        assert.notEqual(held.code, 0, "the plugin is active: the old lock hides the pinned containerd");
      }

      const args = [
        `${E2E}/eksnode`,
        "ami",
        "--config",
        `${E2E}/bake.toml`,
        "--self",
        `${E2E}/eksnode`,
        "--package-manager",
        "dnf",
        "--containerd-source",
        "package",
        "--only",
        "3,4,5,10,11",
      ];
      const bake = await runInside(root, args, binds);
      assert.equal(bake.code, 0, bake.stdout + bake.stderr);
      // On /: no --installroot, the metadata refreshed first.
      assert.match(
        bake.stdout,
        /package install awscli via dnf install -y awscli \(after dnf makecache, once a run\)/,
      );
      assert.match(bake.stdout, /package remove amazon-ec2-net-utils via dnf remove -y amazon-ec2-net-utils/);

      // The root's own rpm database, asked inside.
      const q = async (pkg: string) => {
        const r = await runInside(root, ["rpm", "-q", "--qf", "%{VERSION}-%{RELEASE}", pkg], []);
        return r.code === 0 ? r.stdout.trim() : undefined;
      };
      const got: Record<string, string | undefined> = {};
      const want: Record<string, string | undefined> = {
        awscli: "1.0.0-1.eksnode",
        "amazon-ssm-agent": "1.0.0-1.eksnode",
        runc: `${repo.pinned.runc}-1.eksnode`,
        containerd: `${repo.pinned.containerd}-1.eksnode`,
        "python3-dnf-plugin-versionlock": "1.0.0-1.eksnode",
        "amazon-ec2-net-utils": undefined,
      };
      for (const p of Object.keys(want)) got[p] = await q(p);
      assert.deepEqual(got, want, "rpm -q inside the container after the bake");
      assert.equal(
        await Deno.readTextFile(`${root}/usr/share/eksnode-standin/containerd`),
        `containerd ${repo.pinned.containerd}\n`,
      );

      // The old lock cleared before the install, the new one written as `dnf versionlock add` writes it.
      assert.equal(
        await Deno.readTextFile(lockList),
        `# eksnode: containerd locked at the version the bake pins\ncontainerd-0:${repo.pinned.containerd}-1.eksnode.*\n`,
        "the lock written on /",
      );
      if (plugin) {
        assert.match(bake.stdout, /package versionlock of containerd at another version than .* removed/);
        const listed = await runInside(root, ["dnf", "versionlock", "list"], binds);
        assert.match(
          listed.stdout,
          new RegExp(`^containerd-0:${repo.pinned.containerd.replaceAll(".", "\\.")}-1`, "m"),
        );
      }

      const again = await runInside(root, args, binds);
      assert.equal(again.code, 0, again.stdout + again.stderr);
      assert.match(again.stdout, /ami: 5 steps, 0 changes in/, again.stdout);
      assert.doesNotMatch(again.stdout, /makecache/, "nothing to install: no refresh");

      if (!plugin) return;
      // A later `dnf upgrade` on the node: the lock holds containerd, runc (not locked, as on AL2023) moves.
      const upgrade = await runInside(root, ["dnf", "upgrade", "-y"], binds);
      assert.equal(upgrade.code, 0, upgrade.stdout + upgrade.stderr);
      assert.equal(
        await q("runc"),
        "99.0.0-1.eksnode",
        "runc upgraded: the repository's newer one is reachable",
      );
      assert.equal(
        await q("containerd"),
        `${repo.pinned.containerd}-1.eksnode`,
        "containerd held by the lock",
      );
    } finally {
      await mirror.close();
      await unmountUnder(root);
      if ((await mountsUnder(tmp)).length === 0) await Deno.remove(tmp, { recursive: true });
    }
  },
});
