/**
 * eks/disks/local_disks.ts, the pure part of `eksnode setup-local-disks`: the plan for raid0 / raid10 / mount with
 * and without bind mounts and a custom directory (golden files under tests/golden/local_disks/: the
 * actions, then each unit file written), what is kept when it is in place, what is refused, the NodeConfig
 * mapping to arguments, and the parsers of blkid and mountinfo output. Unit names are compared with the real
 * `systemd-escape --path`.
 */
import assert from "node:assert/strict";
import {
  describeAction,
  type DiskFacts,
  type DiskPlan,
  instanceStoreDisks,
  type LocalDiskOptions,
  localDisksArgs,
  mountUnitName,
  parseBlkid,
  parseMountInfo,
  planLocalDisks,
} from "../../../eks/disks/local_disks.ts";
import { DeviceError, ExitCode } from "../../../lib/errors.ts";
import { escapeUnitPath } from "../../../lib/systemd_quote.ts";
import { compareOrUpdate } from "../../support/golden.ts";
import { findTool } from "../../support/validators/mod.ts";

const ALL_BINDS = { kubelet: true, containerd: true, soci: true, "pods-logs": true };
const UUIDS = [
  "11111111-1111-4111-8111-111111111111",
  "22222222-2222-4222-8222-222222222222",
  "33333333-3333-4333-8333-333333333333",
];

function facts(over: Partial<DiskFacts> = {}): DiskFacts {
  return {
    disks: ["/dev/nvme1n1", "/dev/nvme2n1"],
    probes: {},
    mdConfig: false,
    mounts: [],
    root: "/",
    systemd: false,
    activeUnits: [],
    dirs: [],
    unitTexts: {},
    enabled: [],
    newUuids: UUIDS,
    ...over,
  };
}

function opts(setup: LocalDiskOptions["setup"], over: Partial<LocalDiskOptions> = {}): LocalDiskOptions {
  return { setup, dir: "/mnt/k8s-disks", bind: ALL_BINDS, ...over };
}

/** The plan as files: ACTIONS (one line each) and every unit it writes. */
function planFiles(plan: DiskPlan): Record<string, string> {
  const files: Record<string, string> = {
    ACTIONS: plan.actions.map(describeAction).join("\n") + "\n",
  };
  for (const a of plan.actions) if (a.kind === "write") files[a.path.slice(1)] = a.text;
  return files;
}

/** All that a plan writes and runs, so a second plan over the result can be checked for emptiness. */
function afterApplying(plan: DiskPlan, before: DiskFacts, device: (where: string) => string): DiskFacts {
  const unitTexts = { ...before.unitTexts };
  const dirs = [...before.dirs];
  const enabled = [...before.enabled];
  const mounts = [...before.mounts];
  const probes = { ...before.probes };
  let mdDevice = before.mdDevice;
  let mdConfig = before.mdConfig;
  for (const a of plan.actions) {
    if (a.kind === "write") unitTexts[a.path] = a.text;
    if (a.kind === "mkdir") dirs.push(a.path);
    if (a.kind === "enable") enabled.push(a.unit);
    if (a.kind === "capture") mdConfig = true;
    if (a.kind === "run" && a.argv[0] === "mdadm") mdDevice = "/dev/md127";
    if (a.kind === "run" && a.argv[0] === "mkfs.xfs") {
      const dev = a.argv.at(-1)! === "/dev/md/kubernetes" ? "/dev/md127" : a.argv.at(-1)!;
      probes[dev] = { type: "xfs", uuid: a.argv.find((x) => x.startsWith("uuid="))!.slice(5) };
    }
    if (a.kind === "run" && a.argv[0] === "mount") {
      const where = a.argv.at(-1)!;
      const bind = a.argv[1] === "--bind";
      mounts.push({
        source: bind ? "/dev/md127" : device(where),
        mountPoint: where,
        fsRoot: bind ? `/${a.argv[2].split("/").pop()}` : "/",
      });
    }
  }
  return { ...before, unitTexts, dirs, enabled, mounts, probes, mdDevice, mdConfig, newUuids: [] };
}

Deno.test("plan: mount strategy, two blank disks: mkfs, mount units by UUID at DIR/1, DIR/2, enable", async () => {
  const f = facts();
  const plan = planLocalDisks(opts("mount"), f);
  await compareOrUpdate("local_disks/mount", planFiles(plan));
  assert.deepEqual(plan.mountPoints, ["/mnt/k8s-disks/1", "/mnt/k8s-disks/2"]);
  assert.deepEqual(plan.bindMounts, [], "the mount strategy makes no bind mounts (as upstream)");
  const again = planLocalDisks(
    opts("mount"),
    afterApplying(plan, f, (w) => (w.endsWith("/1") ? "/dev/nvme1n1" : "/dev/nvme2n1")),
  );
  assert.deepEqual(again.actions, [], "a second run plans nothing");
  assert.equal(again.notes.length, 4, again.notes.join("\n"));
});

Deno.test("plan: raid0 of two blank disks with every bind mount (golden)", async () => {
  const f = facts();
  const plan = planLocalDisks(opts("raid0"), f);
  await compareOrUpdate("local_disks/raid0", planFiles(plan));
  assert.deepEqual(plan.bindMounts, [
    "/var/lib/kubelet",
    "/var/lib/containerd",
    "/var/lib/soci-snapshotter-grpc",
    "/var/log/pods",
  ]);
  const again = planLocalDisks(opts("raid0"), afterApplying(plan, f, () => "/dev/md127"));
  assert.deepEqual(again.actions, [], "a second run plans nothing");
});

Deno.test("plan: disabledMounts SOCI (--no-bind-soci) leaves the SOCI store on the root volume; its service is stopped for its move", () => {
  const f = facts({ systemd: true, activeUnits: ["soci-snapshotter.service"] });
  const without = planLocalDisks(opts("raid0", { bind: { ...ALL_BINDS, soci: false } }), f);
  assert.ok(!without.bindMounts.includes("/var/lib/soci-snapshotter-grpc"), without.bindMounts.join(", "));
  const argv = (p: typeof without) => p.actions.flatMap((a) => (a.kind === "run" ? [a.argv.join(" ")] : []));
  assert.ok(!argv(without).some((a) => a.includes("soci")), argv(without).join("\n"));
  const withSoci = planLocalDisks(opts("raid0"), f);
  assert.ok(argv(withSoci).includes("systemctl stop soci-snapshotter.service"), argv(withSoci).join("\n"));
  assert.ok(argv(withSoci).includes("systemctl start --no-block soci-snapshotter.service"));
});

Deno.test("plan: raid10 of four disks in a custom dir, no pod logs bind, systemd running (golden)", async () => {
  const f = facts({
    disks: ["/dev/nvme1n1", "/dev/nvme2n1", "/dev/nvme3n1", "/dev/nvme4n1"],
    systemd: true,
    activeUnits: ["containerd.service", "kubelet.service"],
  });
  const plan = planLocalDisks(
    opts("raid10", { dir: "/var/mnt/fast", bind: { ...ALL_BINDS, "pods-logs": false } }),
    f,
  );
  await compareOrUpdate("local_disks/raid10-custom-dir", planFiles(plan));
  const argv = plan.actions.flatMap((a) => (a.kind === "run" ? [a.argv.join(" ")] : []));
  // The services using the state directories stop before the copy and start again (without waiting:
  // this runs inside eksnode-local-disks.service, which they are ordered after) once the binds are up.
  const stop = argv.indexOf("systemctl stop containerd.service kubelet.service");
  const start = argv.indexOf("systemctl start --no-block containerd.service kubelet.service");
  const firstCopy = argv.findIndex((a) => a.startsWith("cp -a"));
  const lastBind = argv.findLastIndex((a) => a.startsWith("mount --bind"));
  assert.ok(stop >= 0 && stop < firstCopy && lastBind < start, argv.join("\n"));
  assert.ok(argv.includes("systemctl daemon-reload"), "units written while systemd runs: daemon-reload");
  assert.ok(!argv.some((a) => a.includes("/var/log/pods")), "--no-bind-pods-logs");
});

Deno.test("plan: --root: argv uses real paths, units in-root paths", () => {
  const plan = planLocalDisks(
    opts("raid0", { bind: { ...ALL_BINDS, containerd: false } }),
    facts({ root: "/r" }),
  );
  const argv = plan.actions.flatMap((a) => (a.kind === "run" ? [a.argv] : []));
  assert.deepEqual(argv.find((a) => a[0] === "mount" && a[1] === "-t")!.at(-1), "/r/mnt/k8s-disks/0");
  assert.deepEqual(argv.find((a) => a[0] === "cp"), [
    "cp",
    "-a",
    "/r/var/lib/kubelet/.",
    "/r/mnt/k8s-disks/0/kubelet/",
  ]);
  const bind = plan.actions.find((a) => a.kind === "write" && a.path.includes("kubelet"));
  assert.ok(
    bind?.kind === "write" && bind.text.includes("\nWhat=/mnt/k8s-disks/0/kubelet\nWhere=/var/lib/kubelet\n"),
  );
});

Deno.test("plan: an existing array with an xfs file system is kept and reused", () => {
  const plan = planLocalDisks(
    opts("raid0", { bind: { kubelet: false, containerd: false, soci: false, "pods-logs": false } }),
    facts({
      mdDevice: "/dev/md127",
      mdConfig: true,
      probes: { "/dev/md127": { type: "xfs", uuid: UUIDS[2] } },
    }),
  );
  const lines = plan.actions.map(describeAction);
  assert.ok(!lines.some((l) => /mdadm|mkfs/.test(l)), lines.join("\n"));
  assert.ok(
    lines.includes("run mount -t xfs -o defaults,noatime /dev/md127 /mnt/k8s-disks/0  (mount /dev/md127)"),
  );
  const unit = plan.actions.find((a) => a.kind === "write");
  assert.ok(unit?.kind === "write" && unit.text.includes(`What=UUID=${UUIDS[2]}`));
});

Deno.test("plan: refuses what eksnode did not make, before any action (exit 11)", () => {
  const cases: { name: string; o: LocalDiskOptions; f: DiskFacts; message: RegExp }[] = [
    {
      name: "mount: ext4 on a disk",
      o: opts("mount"),
      f: facts({ probes: { "/dev/nvme2n1": { type: "ext4", uuid: "x" } } }),
      message: /^\/dev\/nvme2n1 holds a ext4 signature/,
    },
    {
      name: "raid0: a partition table on a member",
      o: opts("raid0"),
      f: facts({ probes: parseProbes({ "/dev/nvme1n1": "PTUUID=ab\nPTTYPE=gpt\n" }) }),
      message: /^\/dev\/nvme1n1 holds a gpt partition table signature/,
    },
    {
      name: "raid0: a member of an array not assembled",
      o: opts("raid0"),
      f: facts({ probes: { "/dev/nvme1n1": { type: "linux_raid_member" } } }),
      message: /linux_raid_member/,
    },
    {
      name: "raid0: the array holds another file system",
      o: opts("raid0"),
      f: facts({ mdDevice: "/dev/md127", probes: { "/dev/md127": { type: "ext4" } } }),
      message: /^\/dev\/md127 holds a ext4 signature/,
    },
    {
      name: "raid10 with two disks",
      o: opts("raid10"),
      f: facts(),
      message: /^raid10 needs at least 4 instance-store disks, found 2 \(\/dev\/nvme1n1, \/dev\/nvme2n1\)$/,
    },
    {
      name: "mount: the mount point holds another device",
      o: opts("mount"),
      f: facts({ mounts: [{ source: "/dev/xvdb", mountPoint: "/mnt/k8s-disks/1", fsRoot: "/" }] }),
      message: /^\/mnt\/k8s-disks\/1 is a mount point of \/dev\/xvdb, not of \/dev\/nvme1n1$/,
    },
    {
      name: "raid0: the array is mounted elsewhere",
      o: opts("raid0"),
      f: facts({
        mdDevice: "/dev/md127",
        probes: { "/dev/md127": { type: "xfs", uuid: "u" } },
        mounts: [{ source: "/dev/md127", mountPoint: "/data", fsRoot: "/" }],
      }),
      message: /^array \/dev\/md127 is mounted at \/data, not at \/mnt\/k8s-disks\/0$/,
    },
  ];
  for (const c of cases) {
    assert.throws(() => planLocalDisks(c.o, c.f), (err: unknown) => {
      assert.ok(err instanceof DeviceError, `${c.name}: ${err}`);
      assert.equal(err.exitCode, ExitCode.device);
      assert.match(err.message, c.message, c.name);
      assert.ok(err.hint, `${c.name}: a hint`);
      return true;
    });
  }
});

function parseProbes(texts: Record<string, string>) {
  return Object.fromEntries(Object.entries(texts).map(([d, t]) => [d, parseBlkid(t)]));
}

Deno.test("plan: a disk mounted elsewhere is left there (mount strategy); its number stays its own", () => {
  const plan = planLocalDisks(
    opts("mount"),
    facts({
      probes: { "/dev/nvme1n1": { type: "xfs", uuid: "a" } },
      mounts: [{ source: "/dev/nvme1n1", mountPoint: "/data", fsRoot: "/" }],
    }),
  );
  assert.deepEqual(plan.mountPoints, ["/mnt/k8s-disks/2"]);
  assert.ok(plan.notes.includes("/dev/nvme1n1 is already mounted at /data: left there"));
});

Deno.test("NodeConfig localStorage -> setup-local-disks arguments (nodeadm's mapping)", () => {
  const table: [Parameters<typeof localDisksArgs>[0], string[]][] = [
    [{ strategy: "RAID0" }, ["raid0"]],
    [{ strategy: "RAID10", mountPath: "/mnt/fast" }, ["raid10", "--dir", "/mnt/fast"]],
    [{ strategy: "Mount", disabledMounts: ["PodLogs"] }, ["mount", "--no-bind-pods-logs"]],
    [
      { strategy: "RAID0", mountPath: "/x", disabledMounts: ["PodLogs", "Containerd"] },
      ["raid0", "--dir", "/x", "--no-bind-containerd", "--no-bind-pods-logs"],
    ],
    [{ strategy: "RAID0", disabledMounts: ["SOCI"] }, ["raid0", "--no-bind-soci"]],
  ];
  for (const [ls, args] of table) assert.deepEqual(localDisksArgs(ls), args, JSON.stringify(ls));
});

Deno.test("instance-store disks: by-id names filtered, resolved, sorted, deduplicated", () => {
  const links: Record<string, string | undefined> = {
    "nvme-Amazon_EC2_NVMe_Instance_Storage_AWS2A": "/dev/nvme2n1",
    "nvme-Amazon_EC2_NVMe_Instance_Storage_AWS2A_1": "/dev/nvme2n1",
    "nvme-Amazon_EC2_NVMe_Instance_Storage_AWS1B": "/dev/nvme1n1",
    "nvme-nvme.1d0f-4157533142-416d617a6f6e20454332204e564d6520496e7374616e63652053746f72616765-00000001":
      "/dev/nvme1n1",
    "nvme-Amazon_Elastic_Block_Store_vol0123": "/dev/nvme0n1",
    "nvme-Amazon_EC2_NVMe_Instance_Storage_GONE": undefined,
  };
  assert.deepEqual(instanceStoreDisks(Object.keys(links), (n) => links[n]), ["/dev/nvme1n1", "/dev/nvme2n1"]);
});

Deno.test("parseBlkid and parseMountInfo", () => {
  assert.deepEqual(parseBlkid("DEVNAME=/dev/loop0\nUUID=abc\nBLOCK_SIZE=512\nTYPE=xfs\n"), {
    type: "xfs",
    uuid: "abc",
  });
  assert.deepEqual(parseBlkid(""), {});
  assert.deepEqual(parseBlkid("PTUUID=1\nPTTYPE=dos\n"), { type: "dos partition table" });
  const info = [
    "36 35 98:0 / /mnt/k8s-disks/0 rw,noatime master:1 - xfs /dev/md127 rw",
    "37 35 98:0 /kubelet /var/lib/kubelet rw,noatime shared:2 - xfs /dev/md127 rw",
    "38 35 0:3 / /mnt/with\\040space rw - tmpfs tmpfs rw",
    "",
  ].join("\n");
  assert.deepEqual(parseMountInfo(info), [
    { fsRoot: "/", mountPoint: "/mnt/k8s-disks/0", source: "/dev/md127" },
    { fsRoot: "/kubelet", mountPoint: "/var/lib/kubelet", source: "/dev/md127" },
    { fsRoot: "/", mountPoint: "/mnt/with space", source: "tmpfs" },
  ]);
});

const escapeTool = findTool("systemd-escape");
Deno.test({
  name: "unit names: escapeUnitPath is `systemd-escape --path`",
  ignore: !escapeTool,
  async fn() {
    const paths = [
      "/mnt/k8s-disks/0",
      "/",
      "//var//lib/kubelet/",
      "/.hidden/a.b",
      "/x y/ü",
      "/a-b_c:d",
      "/a/.b",
    ];
    for (const p of paths) {
      const r = await new Deno.Command(escapeTool!, { args: ["--path", p], stdout: "piped" }).output();
      assert.equal(escapeUnitPath(p), new TextDecoder().decode(r.stdout).trim(), p);
    }
    assert.equal(mountUnitName("/var/log/pods"), "var-log-pods.mount");
  },
});
if (!escapeTool) {
  console.log("local_disks_test: systemd-escape not installed: unit names not compared with it");
}
