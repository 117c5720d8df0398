/**
 * The dnf path executed for real (Amazon Linux 2023's package manager), not compared as argv: Debian's
 * `dnf`, `rpm`/`rpmbuild` and `createrepo_c` (apt-get install dnf rpm createrepo-c) against a loopback
 * repository of stand-in RPMs built here under the names the AL2023 steps install and remove
 * (steps/ami/package_names.ts), with runc and containerd both at the bake's pinned version and at a newer
 * one. `eksnode ami --root R --package-manager dnf --containerd-source package` bakes R with
 * `dnf --installroot`, as a chroot builder does. Proven from R's rpm database (`rpm --root R -q`): every
 * package installed, runc and containerd at the pinned version although the repository offers newer ones,
 * amazon-ec2-net-utils (installed beforehand, as on the AL2023 base image) removed, the metadata refreshed
 * before the installs (`dnf makecache`, planned by the dry run); containerd version-locked in the image's
 * /etc/dnf/plugins/versionlock.list (an earlier pin's entry replaced, other entries kept) and — with
 * dnf-plugins-core's versionlock plugin reading that list — a later `dnf upgrade` moves runc (not locked,
 * as on AL2023) to the repository's newer version but leaves containerd at its pin; a second bake makes 0
 * changes.
 */
import assert from "node:assert/strict";
import { eksnode } from "../support/cli_run.ts";
import { startMirror } from "../../fakes/mirror.ts";
import { onPath } from "../support/helpers.ts";
import { tempDir } from "../../fakes/temp.ts";
import { buildRpmRepo, runTool, versionlockPlugin } from "../support/rpm_repo.ts";

const TOOLS = ["dnf", "rpm", "rpmbuild", "createrepo_c"];
const missing = TOOLS.filter((t) => !onPath(t));
const skip = Deno.build.os !== "linux"
  ? "not Linux"
  : Deno.uid() !== 0
  ? "needs root (rpm and dnf change an install root)"
  : missing.length
  ? `${missing.join(", ")} not installed (apt-get install dnf rpm createrepo-c)`
  : undefined;
if (skip) console.log(`dnf_real_test not run: ${skip}`);

/** `rpm --root ROOT -q NAME` as VERSION-RELEASE, or undefined when not installed. */
async function rpmQuery(root: string, name: string): Promise<string | undefined> {
  const out = await new Deno.Command("rpm", {
    args: ["--root", root, "-q", "--qf", "%{VERSION}-%{RELEASE}", name],
    stdout: "piped",
    stderr: "null",
  }).output();
  return out.success ? new TextDecoder().decode(out.stdout) : undefined;
}

Deno.test({
  name: `dnf for real: stand-in RPMs from a loopback repository, installed, pinned and removed in --root${
    skip ? ` (not run: ${skip})` : ""
  }`,
  ignore: skip !== undefined,
  async fn() {
    const mirror = await startMirror();
    const tmp = await tempDir({ prefix: "eksnode-dnf-" });
    try {
      const root = `${tmp}/root`;
      await Deno.writeTextFile(`${tmp}/bake.toml`, mirror.bakeToml);
      const repo = await buildRpmRepo(tmp, mirror.bakeToml);
      const { name, pinned, rpms } = repo;

      // The image before the bake: the repository configured, amazon-ec2-net-utils installed (as on AL2023).
      await Deno.mkdir(`${root}/etc/yum.repos.d`, { recursive: true });
      await Deno.writeTextFile(
        `${root}/etc/yum.repos.d/standin.repo`,
        repo.repoFile(),
      );
      // A lock list from an earlier bake of another containerd pin, and a lock of the user's own.
      const lockList = `${root}/etc/dnf/plugins/versionlock.list`;
      await Deno.mkdir(`${root}/etc/dnf/plugins`, { recursive: true });
      await Deno.writeTextFile(
        lockList,
        "# the user's own\nkernel-0:6.1.0-1.amzn2023.*\n\n# eksnode: containerd locked at the version the bake pins\ncontainerd-0:98.0.0-1.eksnode.*\n",
      );
      const netUtils = rpms.find((f) => f.startsWith(`${name("ec2NetUtils")}-1.0.0-`))!;
      await runTool(["rpm", "--root", root, "-i", "--nodeps", `${repo.dir}/${netUtils}`]);
      assert.equal(await rpmQuery(root, name("ec2NetUtils")), "1.0.0-1.eksnode");

      const args = [
        "ami",
        "--root",
        root,
        "--config",
        `${tmp}/bake.toml`,
        "--package-manager",
        "dnf",
        "--containerd-source",
        "package",
        "--only",
        "2,3,4,5,10,11",
      ];
      // The dry run plans the refresh with the first install, and the removal.
      const dry = await eksnode([...args, "--dry-run"]);
      assert.equal(dry.code, 0, dry.stdout + dry.stderr);
      assert.match(
        dry.stdout,
        new RegExp(
          `package install iptables-legacy via dnf install -y --installroot=${root} iptables-legacy \\(after dnf makecache --installroot=${root}, once a run\\)`,
        ),
      );
      assert.match(
        dry.stdout,
        new RegExp(`package remove amazon-ec2-net-utils via dnf remove -y --installroot=${root}`),
      );

      const bake = await eksnode(args);
      assert.equal(bake.code, 0, bake.stdout + bake.stderr);
      const want: Record<string, string | undefined> = {
        [name("iptablesLegacy")]: "1.0.0-1.eksnode",
        [name("awsCli")]: "1.0.0-1.eksnode",
        [name("ssmAgent")]: "1.0.0-1.eksnode",
        runc: `${pinned.runc}-1.eksnode`,
        containerd: `${pinned.containerd}-1.eksnode`,
        [name("versionlockPlugin")]: "1.0.0-1.eksnode",
        [name("ec2NetUtils")]: undefined,
      };
      const got: Record<string, string | undefined> = {};
      for (const pkg of Object.keys(want)) got[pkg] = await rpmQuery(root, pkg);
      assert.deepEqual(got, want, "the install root's rpm database after the bake");
      assert.equal(
        await Deno.readTextFile(`${root}/usr/share/eksnode-standin/runc`),
        `runc ${pinned.runc}\n`,
        "the pinned runc's files",
      );
      assert.equal(
        await Deno.stat(`${root}/usr/share/eksnode-standin/${name("ec2NetUtils")}`).catch(() => null),
        null,
      );

      // containerd locked as `dnf versionlock add containerd` writes it; the earlier pin's entry replaced.
      assert.equal(
        await Deno.readTextFile(lockList),
        `# the user's own\nkernel-0:6.1.0-1.amzn2023.*\n\n# eksnode: containerd locked at the version the bake pins\ncontainerd-0:${pinned.containerd}-1.eksnode.*\n`,
      );

      // Second bake: everything is in the rpm database and the lock list; no refresh, no install, 0 changes.
      const again = await eksnode(args);
      assert.equal(again.code, 0, again.stdout + again.stderr);
      assert.match(again.stdout, /ami: 6 steps, 0 changes in/, again.stdout);

      const plugin = await versionlockPlugin();
      if (typeof plugin === "string") {
        console.log(`dnf upgrade against the lock not run: ${plugin}`);
        return;
      }
      const pluginDir = `${tmp}/plugins`;
      await Deno.mkdir(pluginDir);
      await Deno.symlink(plugin.plugin, `${pluginDir}/versionlock.py`);
      // The image's dnf reads the image's list (the versionlock.conf of AL2023's python3-dnf-plugin-versionlock
      // names /etc/dnf/plugins/versionlock.list); dnf --installroot takes plugins and their configuration
      // from the build machine (dnf(8), --installroot), so the upgrade is given the plugin and a
      // versionlock.conf naming the image's list.
      const conf = `${tmp}/pluginconf`;
      await Deno.mkdir(conf);
      await Deno.writeTextFile(`${conf}/versionlock.conf`, `[main]\nenabled = 1\nlocklist = ${lockList}\n`);
      const dnf = [
        "env",
        `PYTHONPATH=${plugin.site}`,
        "dnf",
        `--installroot=${root}`,
        `--setopt=pluginpath=${pluginDir}`,
        `--setopt=pluginconfpath=${conf}`,
      ];
      const listed = await runTool([...dnf, "versionlock", "list"]);
      assert.match(
        listed,
        new RegExp(`^containerd-0:${pinned.containerd.replaceAll(".", "\\.")}-1\\.eksnode\\.\\*$`, "m"),
        "the plugin reads the entry eksnode wrote",
      );
      await runTool([...dnf, "upgrade", "-y"]);
      assert.equal(
        await rpmQuery(root, "runc"),
        "99.0.0-1.eksnode",
        "runc, not locked, upgraded (the repository's newer one)",
      );
      assert.equal(
        await rpmQuery(root, "containerd"),
        `${pinned.containerd}-1.eksnode`,
        "containerd held at its pin by the lock, although 99.0.0 is offered",
      );
    } finally {
      await mirror.close();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
