/**
 * `eksnode setup-local-disks raid0|raid10|mount|none`: sets up the EC2 instance-store NVMe disks as
 * amazon-eks-ami's setup-local-disks script did (eks/disks/local_disks.ts has what it does and where eksnode
 * differs): one RAID-0 or RAID-10 array mounted at DIR/0 with /var/lib/kubelet, /var/lib/containerd,
 * /var/lib/soci-snapshotter-grpc and /var/log/pods bind-mounted onto it, or one xfs file system a disk at DIR/1, DIR/2, ... `eksnode init`
 * writes eksnode-local-disks.service to run it at boot for NodeConfig `instance.localStorage`.
 *
 * It reads what is there (disks, `blkid -p` of each, the array, /proc/self/mountinfo, units), plans
 * (a pure function), then runs the plan through the host: argv arrays, unit files written atomically.
 * What is in place is kept, so a second run changes nothing; a disk holding a file system it did not make
 * is refused (exit 11) before anything runs.
 */
import { Command } from "@commander-js/extra-typings";
import { CommandError, UsageError } from "../lib/errors.ts";
import { jsonText, type OutputFormat, outputOption } from "./output.ts";
import type { ApplyContext } from "../lib/step.ts";
import { examples } from "./help.ts";

/** Flags of `eksnode setup-local-disks`. */
export interface SetupLocalDisksFlags {
  dir: string;
  bindKubelet: boolean;
  bindContainerd: boolean;
  bindPodsLogs: boolean;
  bindSoci: boolean;
  bindMounts: boolean;
  device?: string[];
  root: string;
  dryRun?: boolean;
  output: OutputFormat;
}

/** What was found and done (the JSON output). */
export interface SetupLocalDisksReport {
  strategy: string;
  disks: string[];
  /** Where the file systems are mounted (in-root paths). */
  mountPoints: string[];
  bindMounts: string[];
  /** The plan's actions, as `--dry-run` prints them; run unless dryRun. */
  actions: string[];
  dryRun: boolean;
  /** What was found in place and kept, and why nothing was done. */
  notes: string[];
}

/** Where the command reads the machine; tests point them elsewhere. */
export interface SetupLocalDisksDeps {
  /** Directory listing disks by id (default /dev/disk/by-id). */
  byIdDir?: string;
  /** Directory of md device names (default /dev/md). */
  mdDir?: string;
  /** The mount table (default /proc/self/mountinfo). */
  mountInfo?: string;
  /** UUIDs for new file systems (default random). */
  newUuid?: () => string;
  progress?: (line: string) => void;
  env?: Record<string, string | undefined>;
}

function realPathOrUndefined(path: string): string | undefined {
  try {
    return Deno.realPathSync(path);
  } catch {
    return undefined;
  }
}

/** Sets the disks up as `strategy` asks; returns what was found and done. */
export async function runSetupLocalDisks(
  strategy: string,
  flags: Omit<SetupLocalDisksFlags, "output">,
  deps: SetupLocalDisksDeps = {},
): Promise<SetupLocalDisksReport> {
  const ld = await import("../eks/disks/local_disks.ts");
  const progress = deps.progress ?? ((line: string) => console.error(line));
  if (!(ld.DISK_SETUPS as readonly string[]).includes(strategy)) {
    throw new UsageError(
      `setup-local-disks: strategy "${strategy}" is not one of ${ld.DISK_SETUPS.join(", ")}`,
      "e.g. eksnode setup-local-disks raid0",
    );
  }
  const dirProblem = ld.mountDirProblem(flags.dir);
  if (dirProblem) {
    throw new UsageError(`--dir ${JSON.stringify(flags.dir)} ${dirProblem}`, "e.g. --dir /mnt/k8s-disks");
  }
  if (!flags.root.startsWith("/")) {
    throw new UsageError(`--root must be an absolute path, got "${flags.root}"`);
  }
  if (!flags.dryRun && strategy !== "none" && Deno.uid() !== 0) {
    throw new UsageError(
      "setup-local-disks must run as root (it formats and mounts disks)",
      "run it with sudo",
    );
  }
  const devices: string[] = [];
  for (const d of flags.device ?? []) {
    let st: Deno.FileInfo | undefined;
    try {
      st = d.startsWith("/") ? Deno.statSync(d) : undefined;
    } catch {
      st = undefined;
    }
    if (!st?.isBlockDevice) {
      throw new UsageError(`--device ${d}: not a block device`, "give a device path such as /dev/nvme1n1");
    }
    devices.push(Deno.realPathSync(d));
  }
  const report: SetupLocalDisksReport = {
    strategy,
    disks: [],
    mountPoints: [],
    bindMounts: [],
    actions: [],
    dryRun: flags.dryRun === true,
    notes: [],
  };
  if (strategy === "none") {
    report.notes.push("disk setup is none: nothing to do");
    return report;
  }
  const byId = deps.byIdDir ?? ld.DISK_BY_ID_DIR;
  const disks = devices.length > 0 ? [...new Set(devices)].sort() : ld.instanceStoreDisks(
    listDir(byId),
    (name) => realPathOrUndefined(`${byId}/${name}`),
  );
  report.disks = disks;
  if (disks.length === 0) {
    report.notes.push(`no NVMe instance storage disks found (in ${byId}): nothing to do`);
    return report;
  }

  const { Host } = await import("../lib/host.ts");
  const { enabledByLinks, unitActive } = await import("../lib/systemd.ts");
  const { createLogger } = await import("../lib/log.ts");
  const host = await Host.open(flags.root, deps.env ?? Deno.env.toObject());
  const all = !flags.bindMounts ? false : undefined;
  const opts = {
    setup: strategy as "raid0" | "raid10" | "mount",
    dir: flags.dir.replace(/\/+$/, "") || "/",
    bind: {
      kubelet: all ?? flags.bindKubelet,
      containerd: all ?? flags.bindContainerd,
      soci: all ?? flags.bindSoci,
      "pods-logs": all ?? flags.bindPodsLogs,
    },
  };

  // Facts: what the plan depends on, read once.
  const probe = async (device: string) => {
    const r = await host.exec(["blkid", "-p", "-o", "export", device], { allowFailure: true });
    // blkid: 2 when nothing was found on the device.
    if (r.code === 2) return {};
    if (r.code !== 0) {
      throw new CommandError(
        `blkid -p ${device} failed (exit ${r.code}): ${r.stderr.trim().split("\n").at(-1)}`,
      );
    }
    return ld.parseBlkid(r.stdout);
  };
  const probes: Record<string, { type?: string; uuid?: string }> = {};
  for (const d of disks) probes[d] = await probe(d);
  const mdDir = deps.mdDir ?? "/dev/md";
  const mdName = listDir(mdDir).filter((n) => new RegExp(`^${ld.MD_NAME}(_?[0-9a-z]+)?$`).test(n)).sort().at(
    -1,
  );
  const mdDevice = mdName ? realPathOrUndefined(`${mdDir}/${mdName}`) : undefined;
  if (mdDevice && opts.setup !== "mount") probes[mdDevice] = await probe(mdDevice);
  const mounts = ld.parseMountInfo(readOr(deps.mountInfo ?? "/proc/self/mountinfo")).map((m) => ({
    ...m,
    source: m.source.startsWith("/dev/") ? realPathOrUndefined(m.source) ?? m.source : m.source,
  }));
  // systemd runs this system (sd_booted(3) tests the same directory).
  const systemd = host.isSystemRoot && realPathOrUndefined("/run/systemd/system") !== undefined;
  const activeUnits: string[] = [];
  if (systemd) {
    for (const u of ["containerd.service", "kubelet.service"]) {
      if (await unitActive(host, u)) activeUnits.push(u);
    }
  }
  const check = ld.pathsToCheck(opts, disks.length);
  const dirs: string[] = [];
  for (const d of check.dirs) if ((await host.stat(d))?.isDirectory) dirs.push(d);
  const unitTexts: Record<string, string> = {};
  const enabled: string[] = [];
  for (const u of check.units) {
    const text = await host.readText(u);
    if (text !== undefined) unitTexts[u] = text;
    const name = u.slice(u.lastIndexOf("/") + 1);
    if (await enabledByLinks(host, name)) enabled.push(name);
  }
  const newUuid = deps.newUuid ?? (() => crypto.randomUUID());
  const plan = ld.planLocalDisks(opts, {
    disks,
    probes,
    mdDevice,
    mdConfig: ((await host.readText(ld.MD_CONFIG)) ?? "").trim() !== "",
    mounts,
    root: host.root,
    systemd,
    activeUnits,
    dirs,
    unitTexts,
    enabled,
    newUuids: Array.from({ length: disks.length + 1 }, newUuid),
  });
  report.mountPoints = plan.mountPoints;
  report.bindMounts = plan.bindMounts;
  report.notes = plan.notes;
  report.actions = plan.actions.map(ld.describeAction);
  for (const n of plan.notes) progress(`setup-local-disks: ${n}`);
  if (flags.dryRun) return report;

  // Applied on the change engine, through the host, as every step's changes are.
  const changes = ld.diskChanges(plan, host.root);
  const applyCtx: ApplyContext = {
    host,
    log: createLogger({ write: () => {} }),
    run: { changed: new Set(), dryRun: false },
  };
  for (const [i, change] of changes.entries()) {
    progress(`setup-local-disks: ${ld.describeAction(plan.actions[i])}`);
    if (await change.satisfied(applyCtx)) continue;
    await change.apply(applyCtx);
    applyCtx.run.changed.add(change.key);
  }
  return report;
}

function listDir(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].map((e) => e.name);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
}

function readOr(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return "";
    throw err;
  }
}

/** The summary line of a run. */
export function summaryLine(r: SetupLocalDisksReport): string {
  if (r.disks.length === 0 || r.strategy === "none") {
    return `setup-local-disks: ${r.notes.at(-1) ?? "nothing to do"}`;
  }
  const what = r.strategy === "mount"
    ? `${r.disks.length} disk(s) mounted at ${r.mountPoints.join(", ")}`
    : `${r.strategy.toUpperCase()} of ${r.disks.join(", ")} mounted at ${r.mountPoints.join(", ")}${
      r.bindMounts.length ? `; bind mounts ${r.bindMounts.join(", ")}` : ""
    }`;
  const done = r.dryRun
    ? `${r.actions.length} action(s) planned, none run (--dry-run)`
    : `${r.actions.length} change(s)`;
  return `setup-local-disks: ${what}: ${done}`;
}

/** The `setup-local-disks` command. */
export function setupLocalDisksCommand() {
  return new Command("setup-local-disks")
    .addHelpText(
      "after",
      examples([
        [
          "what would be done with the instance-store disks, without doing it",
          "sudo eksnode setup-local-disks raid0 --dry-run",
        ],
        ["one RAID-0 array holding kubelet's and containerd's state", "sudo eksnode setup-local-disks raid0"],
      ]),
    )
    .description(
      "Set up the EC2 instance-store NVMe disks: one RAID-0/RAID-10 array with kubelet's and containerd's state on it, or one xfs file system a disk",
    )
    .argument("<strategy>", "raid0, raid10, mount or none")
    .option(
      "-d, --dir <dir>",
      "where the file systems are mounted (array: DIR/0; mount: DIR/1, DIR/2, ...)",
      "/mnt/k8s-disks",
    )
    .option("--no-bind-kubelet", "do not move /var/lib/kubelet onto the array")
    .option("--no-bind-containerd", "do not move /var/lib/containerd onto the array")
    .option("--no-bind-pods-logs", "do not move /var/log/pods onto the array")
    .option(
      "--no-bind-soci",
      "do not move /var/lib/soci-snapshotter-grpc (the SOCI snapshotter's store) onto the array",
    )
    .option("--no-bind-mounts", "no bind mounts at all: only make and mount the array")
    .option(
      "--device <path>",
      "set up this disk instead of the instance-store disks found in /dev/disk/by-id (repeatable)",
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
    )
    .option(
      "--root <dir>",
      "mount points, unit files and state directories lie under DIR (devices do not)",
      "/",
    )
    .option("--dry-run", "print what would be done; change nothing")
    .addOption(outputOption())
    .option("--debug", "show stack traces")
    .action(async (strategy, opts) => {
      const report = await runSetupLocalDisks(strategy, opts);
      if (opts.output === "json") console.log(jsonText(report));
      else {
        if (opts.dryRun) { for (const a of report.actions) console.log(a); }
        console.log(summaryLine(report));
      }
    });
}
