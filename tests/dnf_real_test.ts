/**
 * The dnf path executed for real (Amazon Linux 2023's package manager), not compared as argv: Debian's
 * `dnf`, `rpm`/`rpmbuild` and `createrepo_c` (apt-get install dnf rpm createrepo-c) against a loopback
 * repository of stand-in RPMs built here under the names the AL2023 steps install and remove
 * (steps/ami/package_names.ts), with runc and containerd both at the bake's pinned version and at a newer
 * one. `eksnode ami --root R --package-manager dnf --containerd-source package` bakes R with
 * `dnf --installroot`, as a chroot builder does. Proven from R's rpm database (`rpm --root R -q`): every
 * package installed, runc and containerd at the pinned version although the repository offers newer ones,
 * amazon-ec2-net-utils (installed beforehand, as on the AL2023 base image) removed, the metadata refreshed
 * before the installs (`dnf makecache`, planned by the dry run); a second bake makes 0 changes.
 */
import assert from "node:assert/strict";
import { eksnode } from "./cli_run.ts";
import { startMirror } from "./fakes/mirror.ts";
import { onPath } from "./helpers.ts";
import { tempDir } from "./temp.ts";
import { buildRpmRepo, runTool } from "./fakes/rpm_repo.ts";

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

      // Second bake: everything is in the rpm database; no refresh, no install, 0 changes.
      const again = await eksnode(args);
      assert.equal(again.code, 0, again.stdout + again.stderr);
      assert.match(again.stdout, /ami: 6 steps, 0 changes in/, again.stdout);
    } finally {
      await mirror.close();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
