/**
 * `eksnode setup-local-disks` for real: bad input through the CLI; the mount strategy end to end on loop
 * devices (mkfs.xfs, mount, the unit files checked by systemd-analyze, a second run changing nothing, a
 * disk with another file system refused with exit 11); the RAID path's mount, copy and bind mounts on an
 * xfs loop device standing in for the array; and, where the kernel has the md driver, a real RAID-0 made
 * by mdadm. Loop devices and mounts are removed in `finally`.
 */
import { tempDir } from "../../fakes/temp.ts";
import assert from "node:assert/strict";
import { runSetupLocalDisks, type SetupLocalDisksFlags } from "../../cli/setup_local_disks.ts";
import { parseMountInfo } from "../../eks/disks/local_disks.ts";
import { ExitCode } from "../../lib/errors.ts";
import { eksnode } from "../support/cli_run.ts";
import { accepted, addBaseOs, describeVerdict, findTool, verifyUnits } from "../support/validators/mod.ts";

const dec = new TextDecoder();

async function sh(argv: string[], allowFailure = false): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command(argv[0], { args: argv.slice(1), stdout: "piped", stderr: "piped" })
    .output();
  const out = dec.decode(r.stdout) + dec.decode(r.stderr);
  if (r.code !== 0 && !allowFailure) throw new Error(`${argv.join(" ")}: exit ${r.code}: ${out}`);
  return { code: r.code, out };
}

function filesystems(): string {
  try {
    return Deno.readTextFileSync("/proc/filesystems");
  } catch {
    return "";
  }
}

/** Why the loop-device tests cannot run here, or undefined when they can. */
function loopProblem(): string | undefined {
  if (Deno.uid() !== 0) return "not root";
  for (const t of ["losetup", "mkfs.xfs", "blkid", "mount", "umount"]) {
    if (!findTool(t)) return `${t} not installed`;
  }
  try {
    Deno.statSync("/dev/loop-control");
  } catch {
    return "no /dev/loop-control";
  }
  if (!/\txfs$/m.test(filesystems())) return "the kernel has no xfs";
  return undefined;
}
const NO_LOOP = loopProblem();
if (NO_LOOP) {
  console.log(
    `setup_local_disks_test: ${NO_LOOP}: mkfs.xfs, mount and bind mounts on loop devices not checked`,
  );
}
const HAVE_MD = (() => {
  try {
    Deno.statSync("/proc/mdstat");
    return !!findTool("mdadm");
  } catch {
    return false;
  }
})();
if (!HAVE_MD) {
  console.log(
    "setup_local_disks_test: no md driver (/proc/mdstat absent) or no mdadm: a real array (mdadm --create, " +
      "mkfs.xfs and mount of /dev/md/kubernetes) is not checked; the RAID path runs on an xfs loop device standing in for the array",
  );
}

/** A temp dir with loop devices over sparse files (xfs needs 300 MB), unmounted and detached in `finally`. */
class Scratch {
  readonly loops: string[] = [];
  constructor(readonly dir: string) {}
  static async make(): Promise<Scratch> {
    return new Scratch(await tempDir({ prefix: "eksnode-disks-" }));
  }
  async loop(): Promise<string> {
    const img = `${this.dir}/disk${this.loops.length}.img`;
    await Deno.writeFile(img, new Uint8Array());
    await Deno.truncate(img, 320 * 1024 * 1024);
    const dev = (await sh(["losetup", "--find", "--show", img])).out.trim();
    this.loops.push(dev);
    return dev;
  }
  /** The mounts below the dir, deepest first. */
  mounts(): string[] {
    return parseMountInfo(Deno.readTextFileSync("/proc/self/mountinfo")).map((m) => m.mountPoint)
      .filter((p) => p.startsWith(this.dir + "/")).sort((a, b) => b.length - a.length);
  }
  async cleanup(): Promise<void> {
    for (let i = 0; i < 3; i++) for (const m of this.mounts()) await sh(["umount", m], true);
    if (findTool("mdadm")) {
      for (const md of ["/dev/md/kubernetes"]) {
        try {
          Deno.statSync(md);
          await sh(["mdadm", "--stop", md], true);
        } catch { /* no array */ }
      }
    }
    for (const l of this.loops) await sh(["losetup", "-d", l], true);
    await Deno.remove(this.dir, { recursive: true });
  }
}

const read = (p: string) => Deno.readTextFileSync(p);
const mountAt = (where: string) =>
  parseMountInfo(read("/proc/self/mountinfo")).filter((m) => m.mountPoint === where);
const blkidUuid = async (dev: string) =>
  (await sh(["blkid", "-p", "-s", "UUID", "-o", "value", dev])).out.trim();

function assertValidUnits(v: Awaited<ReturnType<typeof verifyUnits>>): void {
  if (v.notChecked) console.log(`setup_local_disks_test: ${v.tool}: ${v.notChecked}`);
  else assert.ok(accepted(v), describeVerdict(v));
}

Deno.test("setup-local-disks bad input: one error line and the exit code", async () => {
  const cases: [string[], number, RegExp][] = [
    [
      ["raid5"],
      ExitCode.usage,
      /^error: setup-local-disks: strategy "raid5" is not one of raid0, raid10, mount, none$/m,
    ],
    [
      ["raid0", "--dir", "mnt/disks"],
      ExitCode.usage,
      /^error: --dir "mnt\/disks" must be an absolute path$/m,
    ],
    [
      ["mount", "--dir", "/mnt/a b"],
      ExitCode.usage,
      /^error: --dir "\/mnt\/a b" must be a directory below \//m,
    ],
    [
      ["mount", "--device", "/nonexistent/disk"],
      ExitCode.usage,
      /^error: --device \/nonexistent\/disk: not a block device$/m,
    ],
    [
      ["mount", "--device", "/etc/hostname"],
      ExitCode.usage,
      /^error: --device \/etc\/hostname: not a block device$/m,
    ],
  ];
  for (const [args, code, message] of cases) {
    const r = await eksnode(["setup-local-disks", ...args]);
    assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(" "));
    assert.equal(r.stderr.split("\n").filter((l) => l.startsWith("error:")).length, 1, r.stderr);
    assert.equal(r.stdout, "", "nothing on stdout");
  }
  const none = await eksnode(["setup-local-disks", "none"]);
  assert.equal(none.code, 0, none.stderr);
  assert.equal(none.stdout, "setup-local-disks: disk setup is none: nothing to do\n");
});

Deno.test("setup-local-disks with no instance-store disks: one line, exit 0, nothing written", async () => {
  const byId = await tempDir({ prefix: "eksnode-byid-" });
  const root = await tempDir({ prefix: "eksnode-root-" });
  try {
    await Deno.symlink("/dev/null", `${byId}/nvme-Amazon_Elastic_Block_Store_vol0123`);
    const lines: string[] = [];
    const r = await runSetupLocalDisks("raid0", flags({ root }), {
      byIdDir: byId,
      progress: (l) => lines.push(l),
    });
    assert.deepEqual(r.disks, []);
    assert.deepEqual(r.actions, []);
    assert.deepEqual(r.notes, [`no NVMe instance storage disks found (in ${byId}): nothing to do`]);
    assert.deepEqual([...Deno.readDirSync(root)], [], "nothing under the root");
  } finally {
    await Deno.remove(byId, { recursive: true });
    await Deno.remove(root, { recursive: true });
  }
});

function flags(over: Partial<SetupLocalDisksFlags> = {}): Omit<SetupLocalDisksFlags, "output"> {
  return {
    dir: "/mnt/k8s-disks",
    bindKubelet: true,
    bindContainerd: true,
    bindPodsLogs: true,
    bindSoci: true,
    bindMounts: true,
    root: "/",
    ...over,
  };
}

Deno.test({
  name:
    "mount strategy on loop devices: xfs made, mounted at DIR/1, DIR/2 by UUID units; rerun changes nothing",
  ignore: NO_LOOP !== undefined,
  async fn() {
    const s = await Scratch.make();
    try {
      const [a, b] = [await s.loop(), await s.loop()];
      const root = `${s.dir}/root`;
      const args = ["setup-local-disks", "mount", "--root", root, "--device", b, "--device", a];

      const dry = await eksnode([...args, "--dry-run"]);
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(
        dry.stdout,
        /^run mkfs\.xfs -l su=8b -m uuid=[0-9a-f-]{36} \/dev\/loop\d+ {2}\(blank disk\)$/m,
      );
      assert.deepEqual(s.mounts(), [], "--dry-run mounts nothing");
      assert.equal((await sh(["blkid", "-p", a], true)).code, 2, "--dry-run formats nothing");

      const first = await eksnode(args);
      assert.equal(first.code, 0, first.stderr);
      const sorted = [a, b].sort();
      for (const [i, dev] of sorted.entries()) {
        const where = `/mnt/k8s-disks/${i + 1}`;
        const m = mountAt(root + where);
        assert.equal(m.length, 1, `${dev} mounted at ${where}`);
        assert.equal(m[0].source, dev);
        const line = read("/proc/self/mounts").split("\n").find((l) => l.split(" ")[1] === root + where)!;
        assert.match(line, / xfs rw,noatime/);
        const unit = read(`${root}/etc/systemd/system/mnt-k8s\\x2ddisks-${i + 1}.mount`);
        assert.match(
          unit,
          new RegExp(`^What=UUID=${await blkidUuid(dev)}$`, "m"),
          "the unit names the disk by UUID",
        );
        assert.match(unit, new RegExp(`^Where=${where}$`, "m"));
        const link = Deno.readLinkSync(
          `${root}/etc/systemd/system/multi-user.target.wants/mnt-k8s\\x2ddisks-${i + 1}.mount`,
        );
        assert.match(link, /mnt-k8s\\x2ddisks-\d\.mount$/);
      }
      assert.match(first.stdout, /: 10 change\(s\)\n$/);
      await addBaseOs(root);
      assertValidUnits(await verifyUnits(root, ["mnt-k8s\\x2ddisks-1.mount", "mnt-k8s\\x2ddisks-2.mount"]));

      // A file on disk 1 survives the rerun: nothing is formatted or remounted.
      await Deno.writeTextFile(`${root}/mnt/k8s-disks/1/keep`, "data\n");
      const again = await eksnode(args);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /: 0 change\(s\)\n$/);
      assert.match(again.stderr, /already holds xfs .*: kept/);
      assert.equal(read(`${root}/mnt/k8s-disks/1/keep`), "data\n");
      assert.equal(s.mounts().length, 2);
    } finally {
      await s.cleanup();
    }
  },
});

const MKFS_EXT4 = findTool("mkfs.ext4");
if (!NO_LOOP && !MKFS_EXT4) {
  console.log("setup_local_disks_test: mkfs.ext4 not installed: refusing a foreign file system not checked");
}
Deno.test({
  name: "a disk holding another file system is refused with exit 11 before anything is done",
  ignore: NO_LOOP !== undefined || !MKFS_EXT4,
  async fn() {
    const s = await Scratch.make();
    try {
      const [blank, ext4] = [await s.loop(), await s.loop()];
      await sh([MKFS_EXT4!, "-q", ext4]);
      const root = `${s.dir}/root`;
      const r = await eksnode([
        "setup-local-disks",
        "mount",
        "--root",
        root,
        "--device",
        blank,
        "--device",
        ext4,
      ]);
      assert.equal(r.code, ExitCode.device, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(`^error: ${ext4} holds a ext4 signature; it is not an xfs file system`, "m"),
      );
      assert.match(r.stderr, /^hint: .*wipefs -a/m);
      assert.equal(
        (await sh(["blkid", "-p", blank], true)).code,
        2,
        "the blank disk was not formatted either",
      );
      assert.deepEqual(s.mounts(), []);
      assert.equal(
        (await sh(["blkid", "-p", "-s", "TYPE", "-o", "value", ext4])).out.trim(),
        "ext4",
        "ext4 kept",
      );
    } finally {
      await s.cleanup();
    }
  },
});

Deno.test({
  name:
    "RAID path on a stand-in array: mounted at DIR/0, kubelet/containerd/SOCI/pod logs copied and bind-mounted; rerun changes nothing",
  ignore: NO_LOOP !== undefined,
  async fn() {
    const s = await Scratch.make();
    try {
      const array = await s.loop();
      const member = await s.loop();
      await sh(["mkfs.xfs", "-q", array]);
      const mdDir = `${s.dir}/md`;
      await Deno.mkdir(mdDir);
      await Deno.symlink(array, `${mdDir}/kubernetes_0`);
      const root = `${s.dir}/root`;
      await Deno.mkdir(`${root}/var/lib/kubelet/pki`, { recursive: true });
      await Deno.writeTextFile(`${root}/var/lib/kubelet/kubeconfig`, "kubeconfig\n", { mode: 0o600 });
      await Deno.mkdir(`${root}/var/lib/containerd/io.containerd.content.v1.content`, { recursive: true });
      await Deno.writeTextFile(`${root}/var/lib/containerd/io.containerd.content.v1.content/blob`, "layer\n");
      const lines: string[] = [];
      const deps = { mdDir, progress: (l: string) => lines.push(l) };
      const opts = flags({ root, dir: "/mnt/fast", device: [member] });

      const r = await runSetupLocalDisks("raid0", opts, deps);
      assert.deepEqual(r.mountPoints, ["/mnt/fast/0"]);
      assert.deepEqual(r.bindMounts, [
        "/var/lib/kubelet",
        "/var/lib/containerd",
        "/var/lib/soci-snapshotter-grpc",
        "/var/log/pods",
      ]);
      assert.ok(r.notes.includes(`array ${array} exists: kept`), r.notes.join("\n"));
      assert.equal(mountAt(`${root}/mnt/fast/0`)[0]?.source, array);
      for (
        const [target, sub] of [
          ["var/lib/kubelet", "kubelet"],
          ["var/lib/containerd", "containerd"],
          ["var/lib/soci-snapshotter-grpc", "soci-snapshotter-grpc"],
          ["var/log/pods", "pods"],
        ]
      ) {
        const m = mountAt(`${root}/${target}`);
        assert.equal(m.length, 1, `${target} is bind-mounted`);
        assert.equal(m[0].fsRoot, `/${sub}`);
        assert.equal(m[0].source, array);
      }
      // The content moved: seen through the bind mount and on the array.
      assert.equal(read(`${root}/var/lib/kubelet/kubeconfig`), "kubeconfig\n");
      assert.equal(
        Deno.statSync(`${root}/var/lib/kubelet/kubeconfig`).mode! & 0o777,
        0o600,
        "cp -a kept the mode",
      );
      assert.equal(read(`${root}/mnt/fast/0/containerd/io.containerd.content.v1.content/blob`), "layer\n");
      assert.ok(Deno.statSync(`${root}/var/lib/kubelet/pki`).isDirectory);
      const unit = read(`${root}/etc/systemd/system/var-lib-containerd.mount`);
      assert.match(unit, /^What=\/mnt\/fast\/0\/containerd$/m);
      assert.match(unit, /^RequiresMountsFor=\/mnt\/fast\/0$/m);
      assert.match(
        read(`${root}/etc/systemd/system/mnt-fast-0.mount`),
        new RegExp(`^What=UUID=${await blkidUuid(array)}$`, "m"),
      );
      assert.equal(
        Deno.statSync(`${root}/.aws/mdadm.conf`).mode! & 0o777,
        0o600,
        "mdadm --detail --scan kept",
      );
      assert.equal(
        (await sh(["blkid", "-p", member], true)).code,
        2,
        "the array exists: the member disk is not touched",
      );
      await addBaseOs(root);
      assertValidUnits(
        await verifyUnits(root, [
          "mnt-fast-0.mount",
          "var-lib-kubelet.mount",
          "var-lib-containerd.mount",
          "var-lib-soci\\x2dsnapshotter\\x2dgrpc.mount",
          "var-log-pods.mount",
        ]),
      );

      // The stand-in has no md metadata, so `mdadm --detail --scan` printed nothing; a real array gives a line.
      await Deno.writeTextFile(
        `${root}/.aws/mdadm.conf`,
        "ARRAY /dev/md/kubernetes metadata=1.2 name=kubernetes\n",
      );
      const again = await runSetupLocalDisks("raid0", opts, deps);
      assert.deepEqual(again.actions, [], "a second run changes nothing");
      assert.equal(s.mounts().length, 5);
    } finally {
      await s.cleanup();
    }
  },
});

Deno.test({
  name: "raid0 with mdadm on loop devices (needs the md driver)",
  ignore: NO_LOOP !== undefined || !HAVE_MD,
  async fn() {
    const s = await Scratch.make();
    try {
      const [a, b] = [await s.loop(), await s.loop()];
      const root = `${s.dir}/root`;
      const r = await eksnode(["setup-local-disks", "raid0", "--root", root, "--device", a, "--device", b]);
      assert.equal(r.code, 0, r.stderr);
      const md = Deno.realPathSync("/dev/md/kubernetes");
      assert.equal(mountAt(`${root}/mnt/k8s-disks/0`)[0]?.source, md);
      assert.match(read(`${root}/.aws/mdadm.conf`), /name=\S*kubernetes/);
      assert.equal((await sh(["blkid", "-p", "-s", "TYPE", "-o", "value", md])).out.trim(), "xfs");
      const again = await eksnode([
        "setup-local-disks",
        "raid0",
        "--root",
        root,
        "--device",
        a,
        "--device",
        b,
      ]);
      assert.match(again.stdout, /: 0 change\(s\)\n$/);
    } finally {
      await s.cleanup();
    }
  },
});
