/**
 * EC2 instance-store NVMe disks for `eksnode setup-local-disks` and NodeConfig `spec.instance.localStorage`:
 * pure functions from what is on the machine ({@link DiskFacts}) and what is asked ({@link LocalDiskOptions})
 * to the ordered actions that set the disks up ({@link planLocalDisks}). cli/setup_local_disks.ts gathers
 * the facts and runs the actions through the host.
 *
 * What upstream does, and eksnode after it (awslabs/amazon-eks-ami
 * `templates/shared/runtime/bin/setup-local-disks` @ 45201cf9, and nodeadm
 * `nodeadm/internal/system/local_disk.go` @ 4345fffc with its raid-mount.tpl, bind-mount.tpl and
 * disk-mount.tpl):
 * - disks: the entries of /dev/disk/by-id whose name holds `NVMe_Instance_Storage_`, resolved to their
 *   devices, sorted and deduplicated (by-id has several names for one disk);
 * - none found: one line, exit 0; `none`: nothing to do;
 * - raid0 / raid10: `mdadm --create --force --verbose /dev/md/kubernetes --level=N --name=kubernetes
 *   --raid-devices=N DISKS...` (raid10 needs at least 4 disks), `mdadm --detail --scan` kept in
 *   /.aws/mdadm.conf, no wait for the initial resync; the array formatted `mkfs.xfs -K -l su=8b` (the
 *   log stripe unit the 512k array stripe would exceed; no TRIM, instances come with trimmed disks),
 *   mounted at DIR/0 (DIR default /mnt/k8s-disks) by a `.mount` unit with `What=UUID=...`,
 *   `Options=defaults,noatime`, `WantedBy=multi-user.target`; then /var/lib/kubelet, /var/lib/containerd,
 *   /var/lib/soci-snapshotter-grpc and /var/log/pods (unless `--no-bind-*`; the SOCI store since
 *   templates/al2023/runtime/bin/setup-local-disks @ 81fec2e8) are copied (`cp -a`) to DIR/0/kubelet,
 *   DIR/0/containerd, DIR/0/soci-snapshotter-grpc, DIR/0/pods and bind-mounted back by `.mount` units (`Type=none`, `Options=bind`), with the services
 *   using them stopped meanwhile and started again after;
 * - mount: each disk without a file system gets `mkfs.xfs -l su=8b`, and is mounted at DIR/1, DIR/2, ...
 *   by a `.mount` unit; no bind mounts;
 * - idempotence: an existing array, file system, mount or bind mount is kept.
 *
 * Where eksnode differs, and why:
 * - a disk (or array) holding a file system or RAID signature other than the xfs these steps make is
 *   refused with a {@link DeviceError} (upstream's `mdadm --create --force` would overwrite it, and its
 *   mount strategy would try to mount it as xfs); `mdadm --create` gets `--run` so it never waits on a
 *   question with no one to answer it;
 * - a new file system gets its UUID from eksnode (`mkfs.xfs -m uuid=...`), so every unit is known before
 *   anything runs (`--dry-run` prints them); the mount strategy's units also name the disk by UUID
 *   (upstream: the device name, which NVMe enumeration may change from one boot to the next);
 * - the mount strategy numbers disks by their place in the sorted list (upstream skips the number of a
 *   disk already mounted, so a partly set-up node could give one mount point to two disks);
 * - the array exists when /dev/md/kubernetes (or the `kubernetes_0` name assembly at boot gives it) does,
 *   not when /.aws/mdadm.conf is non-empty: after a stop/start the instance has new, empty disks while
 *   the root volume still holds the old file;
 * - the units are ordered `Before=local-fs.target` (bind mounts also `RequiresMountsFor=` the array), so at
 *   a reboot they are mounted before eksnode-local-disks.service looks; the mounts are made with `mount`
 *   and the units are enabled, so the same code runs with or without a running systemd;
 * - services are started again with `systemctl start --no-block`: this runs inside
 *   eksnode-local-disks.service, which containerd and kubelet are ordered after, so a blocking start
 *   would wait for itself;
 * - existing content is copied with `cp -a SRC/. DST/` (upstream's `cp -a SRC/ DST/` nests SRC inside DST
 *   when DST already exists, e.g. after an interrupted run).
 */
import { dir, exec, file } from "../../lib/changes.ts";
import { DeviceError } from "../../lib/errors.ts";
import type { Change } from "../../lib/step.ts";
import { rootArgs } from "../../lib/systemd.ts";
import { escapeUnitPath } from "../../lib/systemd_quote.ts";
import type { LocalStorageStrategy } from "../api/nodeconfig.ts";
import type { DisabledMount } from "../api/values.ts";
export { mountDirProblem } from "../api/values.ts";

/** What `eksnode setup-local-disks` accepts (the script's argument). */
export const DISK_SETUPS = ["raid0", "raid10", "mount", "none"] as const;
export type DiskSetup = (typeof DISK_SETUPS)[number];

/** Where the file systems are mounted unless `--dir` / `localStorage.mountPath` says otherwise. */
export const DEFAULT_MOUNT_DIR = "/mnt/k8s-disks";
/** Where udev lists disks by id; instance-store disks are `nvme-Amazon_EC2_NVMe_Instance_Storage_<serial>`. */
export const DISK_BY_ID_DIR = "/dev/disk/by-id";
/** The part of a by-id name that marks an instance-store disk (the script: `-name '*NVMe_Instance_Storage_*'`). */
export const INSTANCE_STORE_MARK = "NVMe_Instance_Storage_";
/** Name of the md array (mdadm `--name`). */
export const MD_NAME = "kubernetes";
/** The array's device as mdadm creates it. */
export const MD_DEVICE = `/dev/md/${MD_NAME}`;
/** Where `mdadm --detail --scan` is kept (upstream's path). */
export const MD_CONFIG = "/.aws/mdadm.conf";
/** Where the mount units go. */
export const MOUNT_UNIT_DIR = "/etc/systemd/system";
/** Mount options of the array and the disks. */
export const MOUNT_OPTIONS = "defaults,noatime";
/** The services whose state directories are bind-mounted from the array, and their users. */
export const BIND_TARGETS = [
  { name: "kubelet", path: "/var/lib/kubelet", units: ["kubelet.service"] },
  { name: "containerd", path: "/var/lib/containerd", units: ["containerd.service"] },
  // The SOCI snapshotter's store (FastImagePull), as templates/al2023/runtime/bin/setup-local-disks @ 81fec2e8.
  { name: "soci", path: "/var/lib/soci-snapshotter-grpc", units: ["soci-snapshotter.service"] },
  { name: "pods-logs", path: "/var/log/pods", units: ["kubelet.service"] },
] as const;
export type BindName = (typeof BIND_TARGETS)[number]["name"];

/** The minimum number of disks of a RAID-10 (the script refuses fewer). */
export const RAID10_MIN_DISKS = 4;

/** `cp -a` of a state directory may be large (a baked image caches container images): its timeout. */
const COPY_TIMEOUT_MS = 3_600_000;

/** What is asked. Paths are absolute, inside the root. */
export interface LocalDiskOptions {
  setup: Exclude<DiskSetup, "none">;
  dir: string;
  /** Bind mounts wanted (RAID only). */
  bind: Record<BindName, boolean>;
}

/** What `blkid -p` found on a device: nothing, or a file system / RAID member with its UUID. */
export interface DeviceProbe {
  type?: string;
  uuid?: string;
}

/** A line of /proc/self/mountinfo that matters here. */
export interface MountEntry {
  /** Source device, resolved (`/dev/md127`, `/dev/nvme1n1`). */
  source: string;
  /** Where it is mounted (a real path). */
  mountPoint: string;
  /** Directory of the source file system mounted there (`/` for a whole one, `/kubelet` for a bind). */
  fsRoot: string;
}

/** What is on the machine, gathered before planning. */
export interface DiskFacts {
  /** The instance-store disks: devices, sorted, unique. */
  disks: string[];
  /** `blkid -p` of each disk, and of the array when it exists. */
  probes: Record<string, DeviceProbe>;
  /** The array's device (resolved) when it exists. */
  mdDevice?: string;
  /** Non-empty {@link MD_CONFIG} exists. */
  mdConfig: boolean;
  mounts: MountEntry[];
  /** The root directory (`/`, or `--root`): mount points and argv use real paths. */
  root: string;
  /** systemd runs this system (not under another --root, /run/systemd/system exists). */
  systemd: boolean;
  /** Services of {@link BIND_TARGETS} that are active now. */
  activeUnits: string[];
  /** In-root directories that exist (of {@link pathsToCheck}). */
  dirs: string[];
  /** Current text of the unit files (of {@link pathsToCheck}); a missing file is absent. */
  unitTexts: Record<string, string>;
  /** Units whose `systemctl enable` links exist. */
  enabled: string[];
  /** UUIDs for new file systems, used in order. */
  newUuids: string[];
}

/** One thing to do, in order. Paths in `mkdir` and `write` are inside the root; argv uses real paths. */
export type DiskAction =
  | { kind: "run"; argv: string[]; why: string; timeoutMs?: number }
  | { kind: "capture"; argv: string[]; to: string; mode: number; why: string }
  | { kind: "mkdir"; path: string }
  | { kind: "write"; path: string; text: string }
  | { kind: "enable"; unit: string };

/** The plan: the actions, what they amount to, and lines that say what was found and kept. */
export interface DiskPlan {
  actions: DiskAction[];
  /** Where the file systems are (or will be) mounted, in-root. */
  mountPoints: string[];
  /** Bind mounts (in-root targets) in place or made. */
  bindMounts: string[];
  notes: string[];
}

/**
 * The argv of `eksnode setup-local-disks` for a NodeConfig `localStorage`, as nodeadm turned it into the
 * script's arguments (nodeadm/internal/system/local_disk.go before its Go port: the strategy lowercased,
 * `--dir` for mountPath, `--no-bind-containerd` / `--no-bind-pods-logs` / `--no-bind-soci` for disabledMounts;
 * nodeadm/internal/system/local_disk.go @ 81fec2e8 for SOCI).
 * @example localDisksArgs({ strategy: "RAID0", disabledMounts: ["PodLogs"] }) // ["raid0", "--no-bind-pods-logs"]
 */
export function localDisksArgs(ls: LocalStorageSettings): string[] {
  const args: string[] = [ls.strategy.toLowerCase()];
  if (ls.mountPath) args.push("--dir", ls.mountPath);
  const disabled = new Set(ls.disabledMounts ?? []);
  if (disabled.has("Containerd")) args.push("--no-bind-containerd");
  if (disabled.has("PodLogs")) args.push("--no-bind-pods-logs");
  if (disabled.has("SOCI")) args.push("--no-bind-soci");
  return args;
}

/** NodeConfig `spec.instance.localStorage` with a strategy set. */
export interface LocalStorageSettings {
  strategy: LocalStorageStrategy;
  mountPath?: string;
  /** `SOCI` is carried for the SOCI snapshotter's directory; setup-local-disks binds only the other two. */
  disabledMounts?: readonly DisabledMount[];
}

/**
 * The devices of the instance-store disks from the names in a by-id directory and a resolver of each
 * link (realpath): resolved, sorted, unique. Names that do not resolve are left out.
 */
export function instanceStoreDisks(names: readonly string[], resolve: (name: string) => string | undefined) {
  const devices = names.filter((n) => n.includes(INSTANCE_STORE_MARK)).map(resolve).filter((d): d is string =>
    d !== undefined
  );
  return [...new Set(devices)].sort();
}

/**
 * The `blkid -p -o export DEV` output as a probe (exit 2, nothing found, is an empty output). A partition
 * table (`PTTYPE=gpt`, no `TYPE`) counts as a signature too: `gpt partition table`.
 * @example parseBlkid("DEVNAME=/dev/loop0\nUUID=1b4e...\nTYPE=xfs\n") // { type: "xfs", uuid: "1b4e..." }
 */
export function parseBlkid(text: string): DeviceProbe {
  const probe: DeviceProbe = {};
  let table: string | undefined;
  for (const line of text.split("\n")) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    if (m[1] === "TYPE") probe.type = m[2];
    if (m[1] === "UUID") probe.uuid = m[2];
    if (m[1] === "PTTYPE") table = m[2];
  }
  if (!probe.type && table) probe.type = `${table} partition table`;
  return probe;
}

/** Decodes the octal escapes (`\040` for a space) of /proc/self/mountinfo fields. */
function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/**
 * The entries of a /proc/self/mountinfo text (proc(5)): root, mount point, and the source after the `-`.
 * Sources are as the kernel lists them; the caller resolves device paths.
 */
export function parseMountInfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split("\n")) {
    const fields = line.split(" ");
    const dash = fields.indexOf("-");
    if (dash < 6 || fields.length < dash + 3) continue;
    out.push({
      fsRoot: unescapeMountField(fields[3]),
      mountPoint: unescapeMountField(fields[4]),
      source: unescapeMountField(fields[dash + 2]),
    });
  }
  return out;
}

/** `/dir/x` under the root, as a real path. */
function realPath(root: string, inRoot: string): string {
  return root === "/" ? inRoot : root + inRoot;
}

/** The mount unit's file for a mount point (inside the root). */
export function mountUnitPath(where: string): string {
  return `${MOUNT_UNIT_DIR}/${mountUnitName(where)}`;
}

/** The mount unit's name for a mount point, e.g. `mnt-k8s\x2ddisks-0.mount`. */
export function mountUnitName(where: string): string {
  return `${escapeUnitPath(where)}.mount`;
}

const UNIT_HEADER = "# Written by eksnode setup-local-disks; a later run overwrites changes made here.\n";

/** The mount unit of a file system (the array, or one disk) by UUID. */
export function renderFsMountUnit(description: string, uuid: string, where: string): string {
  return `${UNIT_HEADER}[Unit]
Description=${description}
Before=local-fs.target

[Mount]
What=UUID=${uuid}
Where=${where}
Type=xfs
Options=${MOUNT_OPTIONS}

[Install]
WantedBy=multi-user.target
`;
}

/** The bind mount unit of a state directory onto the array. */
export function renderBindMountUnit(level: string, what: string, where: string, array: string): string {
  return `${UNIT_HEADER}[Unit]
Description=Mount ${where} on EC2 Instance Store NVMe ${level}
RequiresMountsFor=${array}
Before=local-fs.target

[Mount]
What=${what}
Where=${where}
Type=none
Options=bind

[Install]
WantedBy=multi-user.target
`;
}

/** The in-root directories and unit files a plan looks at, for the caller to gather. */
export function pathsToCheck(opts: LocalDiskOptions, diskCount: number): { dirs: string[]; units: string[] } {
  if (opts.setup === "mount") {
    const points = Array.from({ length: diskCount }, (_, i) => `${opts.dir}/${i + 1}`);
    return { dirs: points, units: points.map(mountUnitPath) };
  }
  const array = `${opts.dir}/0`;
  const binds = BIND_TARGETS.filter((b) => opts.bind[b.name]);
  return {
    dirs: [array, ...binds.flatMap((b) => [b.path, `${array}/${baseName(b.path)}`])],
    units: [array, ...binds.map((b) => b.path)].map(mountUnitPath),
  };
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** What is wrong with a device's probe for a new file system, or undefined when it is blank. */
function refuseSignature(device: string, probe: DeviceProbe | undefined, what: string): never | void {
  if (!probe?.type) return;
  const hint = probe.type === "linux_raid_member"
    ? "an array from an earlier boot is not assembled: `mdadm --assemble --scan`, or wipe the disk (`wipefs -a`) if its data can go"
    : `eksnode formats only blank disks: wipe it (\`wipefs -a ${device}\`) if its data can go, or use strategy none`;
  throw new DeviceError(`${device} holds a ${probe.type} signature; it is not ${what}`, hint);
}

/**
 * The ordered actions that set up the disks as `opts` asks, given `facts`; empty when all is in place.
 * Throws a {@link DeviceError} when a device holds something eksnode did not make, a mount point is taken
 * by another device, or raid10 has fewer than 4 disks. The options themselves are checked by the caller.
 */
export function planLocalDisks(opts: LocalDiskOptions, facts: DiskFacts): DiskPlan {
  const p = new DiskPlanner(facts);
  /** Services stopped while their state moved, started again at the end. */
  let restart: string[] = [];
  if (opts.setup === "mount") {
    facts.disks.forEach((disk, i) => planDiskMount(p, opts, disk, i));
  } else {
    const { array, label } = planArray(p, opts);
    restart = planBindMounts(p, opts, array, label);
  }
  return p.finish(restart);
}

/** The plan being built, with what it has decided so far and the facts it decides from. */
class DiskPlanner {
  readonly plan: DiskPlan = { actions: [], mountPoints: [], bindMounts: [], notes: [] };
  private readonly uuids: string[];
  /** Unit files written, and units to enable at the end. */
  private readonly written: string[] = [];
  private readonly enable: string[] = [];

  constructor(readonly facts: DiskFacts) {
    this.uuids = [...facts.newUuids];
  }

  /** A UUID for a new file system. */
  takeUuid(): string {
    const u = this.uuids.shift();
    if (!u) throw new Error("planLocalDisks: no UUID left for a new file system");
    return u;
  }

  /** The unit file (when different), its enable (when not enabled). */
  unit(where: string, text: string): void {
    const path = mountUnitPath(where);
    if (this.facts.unitTexts[path] !== text) {
      this.plan.actions.push({ kind: "write", path, text });
      this.written.push(path);
    }
    if (!this.facts.enabled.includes(mountUnitName(where))) this.enable.push(mountUnitName(where));
  }

  /** The directory, when missing. */
  mkdir(path: string): void {
    if (!this.facts.dirs.includes(path)) this.plan.actions.push({ kind: "mkdir", path });
  }

  /** The real path of an in-root path. */
  real(path: string): string {
    return realPath(this.facts.root, path);
  }

  /** Where `device` is mounted as a whole file system (not a bind mount). */
  mountedAt(device: string): string[] {
    return this.facts.mounts.filter((m) => m.source === device && m.fsRoot === "/").map((m) => m.mountPoint);
  }

  /** The mounts on the in-root `where`. */
  mountedOn(where: string): MountEntry[] {
    return this.facts.mounts.filter((m) => m.mountPoint === this.real(where));
  }

  /** Mounts `device` at `where` unless it is there already; refuses when another device is. */
  mount(device: string, where: string): void {
    const here = this.mountedOn(where);
    if (here.some((m) => m.source === device && m.fsRoot === "/")) {
      this.plan.notes.push(`${device} is already mounted at ${where}`);
      return;
    }
    if (here.length > 0) {
      throw new DeviceError(
        `${where} is a mount point of ${here.at(-1)!.source}, not of ${device}`,
        "unmount it, or pass another --dir (localStorage.mountPath)",
      );
    }
    this.plan.actions.push({
      kind: "run",
      argv: ["mount", "-t", "xfs", "-o", MOUNT_OPTIONS, device, this.real(where)],
      why: `mount ${device}`,
    });
  }

  /** The xfs file system of `device`: kept when it holds one, else made (refused when it holds anything else). */
  fileSystem(
    device: string,
    probe: DeviceProbe | undefined,
    mkfs: string[],
    why: string,
    what: string,
  ): string {
    if (probe?.type === "xfs" && probe.uuid) return probe.uuid;
    refuseSignature(device, probe, what);
    const uuid = this.takeUuid();
    this.plan.actions.push({ kind: "run", argv: ["mkfs.xfs", ...mkfs, "-m", `uuid=${uuid}`, device], why });
    return uuid;
  }

  /** The plan, ended by the daemon-reload, the restarts and the enables it needs. */
  finish(restart: string[]): DiskPlan {
    const { actions } = this.plan;
    if (this.written.length > 0 && this.facts.systemd) {
      actions.push({ kind: "run", argv: ["systemctl", "daemon-reload"], why: "mount units written" });
    }
    if (restart.length > 0) {
      actions.push({
        kind: "run",
        argv: ["systemctl", "start", "--no-block", ...restart],
        why: "started again",
      });
    }
    for (const u of this.enable) actions.push({ kind: "enable", unit: u });
    return this.plan;
  }
}

/** Strategy mount: the `i`th disk's own xfs file system at `<dir>/<i+1>`. */
function planDiskMount(p: DiskPlanner, opts: LocalDiskOptions, disk: string, i: number): void {
  const where = `${opts.dir}/${i + 1}`;
  const probe = p.facts.probes[disk];
  if (probe?.type === "xfs" && probe.uuid) {
    p.plan.notes.push(`${disk} already holds xfs (UUID ${probe.uuid}): kept`);
  }
  const uuid = p.fileSystem(
    disk,
    probe,
    ["-l", "su=8b"],
    "blank disk",
    "an xfs file system of an instance-store disk",
  );
  const elsewhere = p.mountedAt(disk).filter((m) => m !== p.real(where));
  if (elsewhere.length > 0) {
    p.plan.notes.push(`${disk} is already mounted at ${elsewhere[0]}: left there`);
    return;
  }
  p.mkdir(where);
  p.unit(where, renderFsMountUnit(`Mount EC2 Instance Store NVMe disk ${i + 1}`, uuid, where));
  p.mount(disk, where);
  p.plan.mountPoints.push(where);
}

/** Strategies raid0 and raid10: the array (made, or kept), recorded, its xfs file system mounted at `<dir>/0`. */
function planArray(p: DiskPlanner, opts: LocalDiskOptions): { array: string; label: string } {
  const { facts, plan } = p;
  const level = opts.setup === "raid0" ? "0" : "10";
  const label = `RAID${level}`;
  const array = `${opts.dir}/0`;
  let md = facts.mdDevice;
  let created = false;
  if (md) {
    plan.notes.push(`array ${md} exists: kept`);
  } else {
    if (opts.setup === "raid10" && facts.disks.length < RAID10_MIN_DISKS) {
      throw new DeviceError(
        `raid10 needs at least ${RAID10_MIN_DISKS} instance-store disks, found ${facts.disks.length} (${
          facts.disks.join(", ")
        })`,
        "use raid0 or mount on this instance type",
      );
    }
    for (const d of facts.disks) refuseSignature(d, facts.probes[d], "a blank instance-store disk");
    md = MD_DEVICE;
    created = true;
    plan.actions.push({
      kind: "run",
      argv: [
        "mdadm",
        "--create",
        "--force",
        "--verbose",
        "--run",
        MD_DEVICE,
        `--level=${level}`,
        `--name=${MD_NAME}`,
        `--raid-devices=${facts.disks.length}`,
        ...facts.disks,
      ],
      why: `${label} of ${facts.disks.length} disks`,
    });
  }
  if (created || !facts.mdConfig) {
    plan.actions.push({
      kind: "capture",
      argv: ["mdadm", "--detail", "--scan"],
      to: MD_CONFIG,
      mode: 0o600,
      why: "record the array",
    });
  }
  const probe = created ? undefined : facts.probes[md];
  const uuid = p.fileSystem(md, probe, ["-K", "-l", "su=8b"], "blank array", "an xfs file system");
  const elsewhere = created ? [] : p.mountedAt(md).filter((m) => m !== p.real(array));
  if (elsewhere.length > 0) {
    throw new DeviceError(
      `array ${md} is mounted at ${elsewhere[0]}, not at ${array}`,
      "pass that directory's parent as --dir (localStorage.mountPath), or unmount it",
    );
  }
  p.mkdir(array);
  p.unit(array, renderFsMountUnit(`Mount EC2 Instance Store NVMe disk ${label}`, uuid, array));
  p.mount(md, array);
  plan.mountPoints.push(array);
  return { array, label };
}

/**
 * The bind mounts onto the array not in place yet, each directory's state copied over first; the
 * services using them are stopped meanwhile. Returns the services to start again.
 */
function planBindMounts(p: DiskPlanner, opts: LocalDiskOptions, array: string, label: string): string[] {
  const { facts, plan } = p;
  const binds = BIND_TARGETS.filter((b) => opts.bind[b.name]);
  const needed = binds.filter((b) => {
    if (p.mountedOn(b.path).length === 0) return true;
    plan.notes.push(`${b.path} is already a mount point: left as it is`);
    plan.bindMounts.push(b.path);
    return false;
  });
  const stop = new Set(needed.flatMap((b) => b.units).filter((u) => facts.activeUnits.includes(u)));
  // kubelet requires containerd: stopping containerd stops it, so it is started again too.
  if (stop.has("containerd.service") && facts.activeUnits.includes("kubelet.service")) {
    stop.add("kubelet.service");
  }
  const stopped = [...stop].sort();
  if (stopped.length > 0) {
    plan.actions.push({ kind: "run", argv: ["systemctl", "stop", ...stopped], why: "their state moves" });
  }
  for (const b of needed) {
    const sub = `${array}/${baseName(b.path)}`;
    p.mkdir(b.path);
    p.mkdir(sub);
    plan.actions.push({
      kind: "run",
      argv: ["cp", "-a", `${p.real(b.path)}/.`, `${p.real(sub)}/`],
      why: `move ${b.path} onto the array`,
      timeoutMs: COPY_TIMEOUT_MS,
    });
    p.unit(b.path, renderBindMountUnit(label, sub, b.path, array));
    plan.actions.push({
      kind: "run",
      argv: ["mount", "--bind", p.real(sub), p.real(b.path)],
      why: "bind mount",
    });
    plan.bindMounts.push(b.path);
  }
  return stopped;
}

/**
 * The plan's actions as Changes for the change engine (lib/changes.ts), applied through the {@link Host}
 * like every step's: commands with their timeout (10 minutes unless the action says), the array's
 * record written from `mdadm --detail --scan`, directories 0755, unit files 0644, units enabled under
 * `root` (the host's real root).
 */
export function diskChanges(plan: DiskPlan, root: string): Change[] {
  return plan.actions.map((a): Change => {
    switch (a.kind) {
      case "run":
        return exec(a.argv, { why: a.why, timeoutMs: a.timeoutMs ?? 600_000 });
      case "capture":
        return {
          kind: "exec",
          key: `capture:${a.to}`,
          describe: () => describeAction(a),
          satisfied: () => Promise.resolve(false),
          async apply({ host }) {
            const r = await host.exec(a.argv);
            await host.writeFile(a.to, r.stdout, { mode: a.mode });
          },
        };
      case "mkdir":
        return dir(a.path, { mode: 0o755 });
      case "write":
        return file(a.path, a.text, { mode: 0o644 });
      case "enable":
        return exec(["systemctl", ...rootArgs(root), "enable", a.unit], { key: `enable:${a.unit}` });
    }
  });
}

/** One line of a plan, as `--dry-run` prints it. */
export function describeAction(a: DiskAction): string {
  switch (a.kind) {
    case "run":
      return `run ${a.argv.join(" ")}  (${a.why})`;
    case "capture":
      return `run ${a.argv.join(" ")} > ${a.to}  (${a.why})`;
    case "mkdir":
      return `dir ${a.path}`;
    case "write":
      return `file ${a.path}`;
    case "enable":
      return `enable ${a.unit}`;
  }
}
