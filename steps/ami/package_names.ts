/**
 * What the ami steps' packages are called on each distribution, and where one does not exist.
 * The distribution follows from the package manager (dnf: Amazon Linux 2023, yum: Amazon Linux 2,
 * apt: Debian or Ubuntu, told apart by the root's /etc/os-release).
 *
 * Sources (checked 2025-11):
 * - awslabs/amazon-eks-ami templates/al2023/provisioners/install-worker.sh @ 0030ac57e8631fd3daf8baeaf6637f52794c30e6
 *   (dnf: iptables-nft "needed by kubelet", awscli, runc-VERSION, containerd-VERSION, amazon-ssm-agent) and
 *   templates/al2/provisioners/install-worker.sh @ 0061ba5d332785485ae6622a4ebc2b9a8351bada (yum: awscli,
 *   runc, containerd, amazon-ssm-agent; `yum remove ec2-net-utils`).
 * - AL2023 ships the legacy backend as the `iptables-legacy` package (AL2023 package list), selected
 *   with `alternatives`; AL2's `iptables` 1.8 is the legacy backend itself.
 * - Debian 12 / Ubuntu 22.04+: `iptables` carries both iptables-legacy and iptables-nft (switched with
 *   update-alternatives), `runc`, `containerd` (Debian's build, not containerd.io); `awscli` is a deb on
 *   Debian and on Ubuntu up to 22.04 (Ubuntu 24.04 dropped it for the `aws-cli` snap); the SSM agent
 *   is neither in Debian nor in Ubuntu's archive: Ubuntu ships it as the `amazon-ssm-agent` snap, Debian
 *   users install AWS's .deb (docs.aws.amazon.com/systems-manager/latest/userguide/agent-install-deb.html).
 */
import type { PackageManagerName } from "./context.ts";

/** Distributions the table knows. */
export type Distro = "al2023" | "al2" | "debian" | "ubuntu";

/** A package name, or why there is none to install with the package manager. */
export type PackageName = string | { unavailable: string };

/** Packages the ami steps install or remove, by their role. */
export type PackageRole =
  | "iptablesLegacy"
  | "awsCli"
  | "ssmAgent"
  | "ec2NetUtils"
  | "runc"
  | "containerd"
  | "versionlockPlugin"
  | Al2023PackageRole;

/**
 * The packages nodeadm relies on, which AL2023's install-worker.sh @ 81fec2e8 installs ("Packages"):
 * mdadm (RAID0 of instance stores, setup-local-disks), pigz (unpigz: the SOCI snapshotter's gzip
 * decompressor), conntrack (kube-proxy), ipvsadm (kube-proxy IPVS mode), nfs-utils (NFS volumes).
 */
export type Al2023PackageRole = "mdadm" | "pigz" | "conntrack" | "ipvsadm" | "nfsUtils";

/** The {@link Al2023PackageRole}s in install order (step 39). */
export const AL2023_PACKAGE_ROLES: readonly Al2023PackageRole[] = [
  "mdadm",
  "pigz",
  "conntrack",
  "ipvsadm",
  "nfsUtils",
];

/** The table: role → distribution → name. */
export const PACKAGE_NAMES: Readonly<Record<PackageRole, Readonly<Record<Distro, PackageName>>>> = {
  iptablesLegacy: { al2023: "iptables-legacy", al2: "iptables", debian: "iptables", ubuntu: "iptables" },
  awsCli: { al2023: "awscli", al2: "awscli", debian: "awscli", ubuntu: "awscli" },
  ssmAgent: {
    al2023: "amazon-ssm-agent",
    al2: "amazon-ssm-agent",
    debian: {
      unavailable: "amazon-ssm-agent is not in Debian's archive: install AWS's amazon-ssm-agent .deb",
    },
    ubuntu: {
      unavailable: "amazon-ssm-agent is a snap on Ubuntu (snap install amazon-ssm-agent --classic), not apt",
    },
  },
  ec2NetUtils: {
    al2023: "amazon-ec2-net-utils",
    al2: "ec2-net-utils",
    debian: { unavailable: "Debian has no ec2-net-utils package" },
    ubuntu: { unavailable: "Ubuntu has no ec2-net-utils package" },
  },
  runc: { al2023: "runc", al2: "runc", debian: "runc", ubuntu: "runc" },
  containerd: { al2023: "containerd", al2: "containerd", debian: "containerd", ubuntu: "containerd" },
  // The plugin that reads /etc/dnf/plugins/versionlock.list: AL2023's install-worker.sh @ 81fec2e8 installs
  // python3-dnf-plugin-versionlock before its `dnf versionlock` calls; AL2's yum has yum-plugin-versionlock.
  // Debian and Ubuntu hold packages with apt-mark instead.
  versionlockPlugin: {
    al2023: "python3-dnf-plugin-versionlock",
    al2: "yum-plugin-versionlock",
    debian: { unavailable: "apt has no versionlock plugin (apt-mark hold is its way)" },
    ubuntu: { unavailable: "apt has no versionlock plugin (apt-mark hold is its way)" },
  },
  mdadm: { al2023: "mdadm", al2: "mdadm", debian: "mdadm", ubuntu: "mdadm" },
  pigz: { al2023: "pigz", al2: "pigz", debian: "pigz", ubuntu: "pigz" },
  // install-worker.sh asks dnf for `conntrack`, which conntrack-tools provides; rpm -q (the installed
  // check) knows packages by name only, so the package's own name is used. Debian and Ubuntu call it conntrack.
  conntrack: { al2023: "conntrack-tools", al2: "conntrack-tools", debian: "conntrack", ubuntu: "conntrack" },
  ipvsadm: { al2023: "ipvsadm", al2: "ipvsadm", debian: "ipvsadm", ubuntu: "ipvsadm" },
  // Debian's NFS client is nfs-common (nfs-kernel-server is the server).
  nfsUtils: { al2023: "nfs-utils", al2: "nfs-utils", debian: "nfs-common", ubuntu: "nfs-common" },
};

/** The distribution a package manager implies; apt reads ID from the root's os-release text. */
export function distroOf(manager: PackageManagerName, osRelease?: string): Distro | undefined {
  if (manager === "dnf") return "al2023";
  if (manager === "yum") return "al2";
  if (manager === "apt") {
    const id = /^ID=("?)([^"\n]*)\1$/m.exec(osRelease ?? "")?.[2];
    return id === "ubuntu" ? "ubuntu" : "debian";
  }
  return undefined;
}

/**
 * The package name for a role. Without a distribution (package manager none) the Amazon Linux 2023
 * name is used, since that is what the plan would install by default.
 */
export function packageName(role: PackageRole, distro: Distro | undefined): PackageName {
  return PACKAGE_NAMES[role][distro ?? "al2023"];
}
