/**
 * What Amazon Linux 2023's EKS image build adds around the worker, as pure data and renderers for the AL2023
 * phase of `eksnode ami` (steps 39-, docs/al2023.md). Sources, awslabs/amazon-eks-ami @ 81fec2e8:
 *
 * - templates/al2023/provisioners/set-clocksource.sh: `set-kernel-arg "clocksource=tsc tsc=reliable"` on
 *   every image; limit-c-states.sh: `intel_idle.max_cstate=1 processor.max_cstate=1` when EFA is enabled.
 *   runtime/bin/set-kernel-arg adds them to the boot entries (grubby) and to GRUB_CMDLINE_LINUX of
 *   /etc/default/grub, so a regenerated boot config keeps them.
 * - runtime/rootfs/etc/systemd/system/ebs-initialize-bin@.service and runtime/bin/ebs-initialize: read a
 *   binary once at boot so its EBS blocks are fetched before it is needed (install-worker.sh enables the
 *   containerd and kubelet instances).
 * - runtime/rootfs/etc/systemd/system/soci-snapshotter.{service,socket}: the snapshotter socket-activated
 *   (`--address fd://`), the socket enabled at bake (install-worker.sh "SOCI Snapshotter").
 * - provisioners/generate-version-info.sh: a JSON record of the image's packages, binaries and images.
 */
import { SOCI_SERVICE, SOCI_SOCKET } from "../containerd/soci.ts";
import { SOCI_CONFIG } from "../paths/node.ts";

/** The kernel arguments of set-clocksource.sh: the TSC clock source (x86_64 only: arm64 has no TSC). */
export const CLOCKSOURCE_ARGS: readonly string[] = ["clocksource=tsc", "tsc=reliable"];
/** The kernel arguments of limit-c-states.sh (EFA images): no deep C-states. */
export const CSTATE_ARGS: readonly string[] = ["intel_idle.max_cstate=1", "processor.max_cstate=1"];

/**
 * The kernel arguments an image gets: the TSC clock source on x86_64, and with EFA the C-state limit (also
 * x86_64: intel_idle and processor.max_cstate are x86 drivers' parameters).
 * @example kernelArgs("x86_64", false) // ["clocksource=tsc", "tsc=reliable"]
 */
export function kernelArgs(arch: "x86_64" | "aarch64", efa: boolean): string[] {
  if (arch !== "x86_64") return [];
  return [...CLOCKSOURCE_ARGS, ...(efa ? CSTATE_ARGS : [])];
}

/** The words of a kernel command line (no quoting: GRUB_CMDLINE_LINUX holds space-separated words). */
function words(cmdline: string): string[] {
  return cmdline.split(/\s+/).filter(Boolean);
}

/**
 * /etc/default/grub with every one of `args` in GRUB_CMDLINE_LINUX (appended when missing; the line is
 * added when there is none), as set-kernel-arg does. Other lines stay as they are; a second pass
 * changes nothing.
 * @example withGrubArgs('GRUB_CMDLINE_LINUX="quiet"\n', ["tsc=reliable"]) // 'GRUB_CMDLINE_LINUX="quiet tsc=reliable"\n'
 */
export function withGrubArgs(grub: string, args: readonly string[]): string {
  const lines = grub.split("\n");
  const i = lines.findIndex((l) => /^GRUB_CMDLINE_LINUX=/.test(l));
  const current = i === -1
    ? ""
    : lines[i].replace(/^GRUB_CMDLINE_LINUX=/, "").replace(/^(["'])(.*)\1$/, "$2");
  const have = words(current);
  const missing = args.filter((a) => !have.includes(a));
  if (i !== -1 && missing.length === 0) return grub;
  const line = `GRUB_CMDLINE_LINUX="${[...have, ...missing].join(" ")}"`;
  if (i !== -1) {
    lines[i] = line;
    return lines.join("\n");
  }
  if (grub === "") return `${line}\n`;
  return grub.endsWith("\n") ? `${grub}${line}\n` : `${grub}\n${line}\n`;
}

/** True when every one of `args` is a word of `cmdline` (e.g. an `args="..."` line of `grubby --info`). */
export function hasArgs(cmdline: string, args: readonly string[]): boolean {
  const have = words(cmdline);
  return args.every((a) => have.includes(a));
}

/** The template unit that reads a binary of /usr/bin once at boot (ebs-initialize-bin@.service). */
export const EBS_INITIALIZE_TEMPLATE = "ebs-initialize-bin@.service";
/** The binaries read at boot, as install-worker.sh enables them. */
export const EBS_INITIALIZE_BINARIES: readonly string[] = ["containerd", "kubelet"];
/** The enabled instances of the template, one a binary. */
export const EBS_INITIALIZE_UNITS: readonly string[] = EBS_INITIALIZE_BINARIES.map((b) =>
  `ebs-initialize-bin@${b}.service`
);

/**
 * The ebs-initialize template unit. AL2023 runs a script that is one `dd`; the unit runs `dd` itself
 * (EBS volumes from snapshots load blocks lazily: docs.aws.amazon.com/ebs/latest/userguide/ebs-initialize.html).
 */
export function renderEbsInitializeUnit(): string {
  return [
    "# Written by `eksnode ami` (step 41), after Amazon Linux 2023's ebs-initialize-bin@.service.",
    "[Unit]",
    "Description=Initialize critical binary (%i) from an EBS filesystem",
    "After=basic.target",
    "ConditionPathExists=/usr/bin/%i",
    "",
    "[Service]",
    "Type=oneshot",
    "ExecStart=/usr/bin/dd if=/usr/bin/%i of=/dev/null bs=1M",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/** The SOCI snapshotter's config directory (the config itself is `eksnode init`'s, with FastImagePull). */
export const SOCI_CONFIG_DIR: string = SOCI_CONFIG.slice(0, SOCI_CONFIG.lastIndexOf("/"));
/** The SOCI snapshotter's socket unit. */
export const SOCI_SOCKET_UNIT = "soci-snapshotter.socket";
/** Where the AL2023 phase installs its unit files (steps/ami/unit_changes.ts writes there). */
export const PHASE_UNIT_DIR = "/etc/systemd/system";
/** Where the snapshotter's binaries go (soci-snapshotter.service runs /usr/bin/soci-snapshotter-grpc). */
export const SOCI_BIN_DIR = "/usr/bin";
/** The snapshotter's binaries in the release tarball, installed into {@link SOCI_BIN_DIR}. */
export const SOCI_BINARIES: readonly string[] = ["soci", "soci-snapshotter-grpc"];

/** soci-snapshotter.service: started by its socket, serving on the socket it is handed (fd://). */
export function renderSociService(): string {
  return [
    "# Written by `eksnode ami` (step 43), after Amazon Linux 2023's soci-snapshotter.service.",
    "[Unit]",
    "Description=soci snapshotter containerd plugin",
    "Documentation=https://github.com/awslabs/soci-snapshotter",
    `Requires=${SOCI_SOCKET_UNIT}`,
    `After=${SOCI_SOCKET_UNIT}`,
    "",
    "[Service]",
    "Type=notify",
    "ExecStart=/usr/bin/soci-snapshotter-grpc --address fd://",
    "Restart=no",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/** soci-snapshotter.socket: the gRPC socket containerd's `soci` proxy plugin dials. */
export function renderSociSocket(): string {
  return [
    "# Written by `eksnode ami` (step 43), after Amazon Linux 2023's soci-snapshotter.socket.",
    "[Unit]",
    "Description=soci snapshotter containerd plugin (socket)",
    "Documentation=https://github.com/awslabs/soci-snapshotter",
    "",
    "[Socket]",
    `ListenStream=${SOCI_SOCKET}`,
    "SocketMode=0660",
    `Service=${SOCI_SERVICE}`,
    "",
    "[Install]",
    "WantedBy=sockets.target",
    "",
  ].join("\n");
}

/** Where the version-info manifest is kept in the image (AL2023 downloads it beside the AMI). */
export const VERSION_INFO_PATH = "/etc/eks/version-info.json";

/** A binary in the version-info manifest: its version and, for verify, its path and SHA-256. */
export interface VersionInfoBinary {
  version: string;
  path?: string;
  sha256?: string;
}

/** The version-info manifest (generate-version-info.sh's keys; binaries carry path and hash too). */
export interface VersionInfo {
  packages: Record<string, string>;
  binaries: Record<string, VersionInfoBinary>;
  images: string[];
}

/**
 * The manifest's text: keys sorted as `jq --sort-keys` sorts them, two-space JSON, a final newline.
 * @example renderVersionInfo({ packages: {}, binaries: {}, images: [] })
 */
export function renderVersionInfo(v: VersionInfo): string {
  const sorted = <T>(o: Record<string, T>) =>
    Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]])) as Record<string, T>;
  return JSON.stringify(
    { binaries: sorted(v.binaries), images: [...v.images].sort(), packages: sorted(v.packages) },
    null,
    2,
  ) + "\n";
}

/**
 * `NAME VERSION-RELEASE` lines (rpm --queryformat, dpkg-query -f) as a map; lines without a version skipped.
 * @example packageVersions("mdadm 4.2-3.amzn2023\n") // { mdadm: "4.2-3.amzn2023" }
 */
export function packageVersions(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const [name, version] = line.trim().split(/\s+/);
    if (name && version) out[name] = version;
  }
  return out;
}

/**
 * systemd's default link policy drop-in of AL2023's image (templates/al2023/runtime/rootfs/etc/systemd/
 * network/99-default.link.d/99-no-policy.conf @ 81fec2e8): MACAddressPolicy=none, so udev leaves the MAC
 * address of the links the VPC CNI creates (veth pairs) as the kernel made it, instead of the persistent
 * one systemd's 99-default.link would give them (aws/amazon-vpc-cni-k8s#2103, fixed by #2118).
 */
export const LINK_POLICY_DROPIN = "/etc/systemd/network/99-default.link.d/99-no-policy.conf";

/** The text of {@link LINK_POLICY_DROPIN}. */
export function renderLinkPolicyDropin(): string {
  return [
    "# Written by eksnode ami (AL2023 phase, step 52), as AL2023's EKS image has it: udev keeps the MAC",
    "# address the kernel gave each link (the VPC CNI's veth pairs) instead of systemd's persistent one.",
    "# See aws/amazon-vpc-cni-k8s#2103 and #2118.",
    "[Link]",
    "MACAddressPolicy=none",
    "",
  ].join("\n");
}
