/**
 * Image hygiene: what the instance an image was baked on leaves behind and no node started from the
 * image may share — SSH host keys, the machine id, host name, resolver config, cloud-init's instance
 * state and logs, DHCP leases, authorized keys, package manager history and caches, login records and
 * the audit log. The list follows Amazon Linux 2023's EKS image build: awslabs/amazon-eks-ami
 * templates/al2023/provisioners/cleanup.sh and validate.sh at commit 81fec2e8 (2026-07-23), with the
 * default user's `authorized_keys` taken for every user under /home (ec2-user on AL2023, admin on
 * Debian), D-Bus's copy of the machine id (Debian) and the apt caches beside dnf's.
 */
import type { Host } from "../../lib/host.ts";
import { unitInstalled } from "../../lib/systemd.ts";

/** What is done with a leftover: removed, or emptied in place (a file something still holds open). */
export type HygieneAction = "remove" | "empty";

/** One rule: a path whose last component may hold `*`, and what to do with what matches. */
export interface HygieneRule {
  pattern: string;
  action: HygieneAction;
  /** Why it must not ship, in a few words. */
  why: string;
}

/** The rules, in cleanup.sh's order. */
export const HYGIENE_RULES: readonly HygieneRule[] = [
  { pattern: "/etc/hostname", action: "remove", why: "the build instance's host name" },
  // systemd generates a new id at first boot when the file is empty (cleanup.sh: rm, then touch).
  { pattern: "/etc/machine-id", action: "empty", why: "the build instance's machine id" },
  // Not in cleanup.sh (AL2023 keeps none): Debian's dbus writes a copy of the id here, and systemd's first
  // boot takes a regular file here as the id to use (machine-id-setup), so the node would get the
  // builder's. D-Bus reads /etc/machine-id when this is gone. Found by the boot test (tests/e2e).
  { pattern: "/var/lib/dbus/machine-id", action: "remove", why: "D-Bus's copy of the machine id" },
  { pattern: "/etc/resolv.conf", action: "remove", why: "the build VPC's resolver" },
  { pattern: "/etc/ssh/ssh_host*", action: "remove", why: "SSH host keys every node would share" },
  { pattern: "/root/.ssh/authorized_keys", action: "remove", why: "the builder's SSH key" },
  { pattern: "/home/*/.ssh/authorized_keys", action: "remove", why: "the builder's SSH key" },
  { pattern: "/var/lib/cloud/data", action: "remove", why: "cloud-init's instance state" },
  { pattern: "/var/lib/cloud/instance", action: "remove", why: "cloud-init's instance state" },
  { pattern: "/var/lib/cloud/instances", action: "remove", why: "cloud-init's instance state" },
  { pattern: "/var/lib/cloud/sem", action: "remove", why: "cloud-init's run-once markers" },
  { pattern: "/var/lib/dhclient/*", action: "remove", why: "the build instance's DHCP leases" },
  { pattern: "/var/lib/dhcp/dhclient.*", action: "remove", why: "the build instance's DHCP leases" },
  { pattern: "/var/lib/yum/history", action: "remove", why: "package manager history" },
  { pattern: "/var/lib/dnf/history*", action: "remove", why: "package manager history" },
  { pattern: "/var/cache/dnf", action: "remove", why: "package manager cache" },
  { pattern: "/var/cache/yum", action: "remove", why: "package manager cache" },
  { pattern: "/var/cache/apt/archives/*.deb", action: "remove", why: "package manager cache" },
  { pattern: "/var/cache/apt/*.bin", action: "remove", why: "package manager cache" },
  { pattern: "/var/log/cloud-init-output.log", action: "remove", why: "the build's cloud-init log" },
  { pattern: "/var/log/cloud-init.log", action: "remove", why: "the build's cloud-init log" },
  { pattern: "/var/log/secure", action: "remove", why: "the build's logins" },
  { pattern: "/var/log/wtmp", action: "remove", why: "the build's logins" },
  { pattern: "/var/log/messages", action: "remove", why: "the build's system log" },
  // auditd keeps its log open: emptied in place, so the build's records go whatever auditd does.
  { pattern: "/var/log/audit/audit.log", action: "empty", why: "the build's audit records" },
  { pattern: "/var/log/audit/audit.log.*", action: "remove", why: "the build's audit records" },
];

/** A leftover found under the root. */
export interface Leftover {
  path: string;
  action: HygieneAction;
  why: string;
  /** For `empty`: the file's mode, kept when it is emptied. */
  mode?: number;
}

/** Does `name` match a pattern component with `*` wildcards? */
export function matchesComponent(pattern: string, name: string): boolean {
  const re = new RegExp(
    `^${pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`,
  );
  return re.test(name);
}

/** The paths a pattern matches under the root (a `*` may stand in any component). */
async function expand(host: Host, pattern: string): Promise<string[]> {
  let paths = [""];
  for (const part of pattern.split("/").slice(1)) {
    const next: string[] = [];
    for (const base of paths) {
      if (!part.includes("*")) {
        next.push(`${base}/${part}`);
        continue;
      }
      const st = await host.stat(base || "/");
      if (!st?.isDirectory) continue;
      for (const name of (await host.readDir(base || "/")) ?? []) {
        if (matchesComponent(part, name)) next.push(`${base}/${name}`);
      }
    }
    paths = next;
  }
  return paths;
}

/**
 * Every leftover under the root: what exists of a `remove` rule, and what of an `empty` rule is a
 * file with content (an empty /etc/machine-id is what systemd's first boot fills with a new id).
 */
export async function findLeftovers(host: Host): Promise<Leftover[]> {
  const out: Leftover[] = [];
  for (const rule of HYGIENE_RULES) {
    for (const path of await expand(host, rule.pattern)) {
      const st = await host.stat(path);
      if (rule.action === "remove") {
        if (st) out.push({ path, action: "remove", why: rule.why });
      } else if (st?.isFile && st.size > 0) {
        out.push({ path, action: "empty", why: rule.why, mode: st.mode });
      }
    }
  }
  return out;
}

/** Where OpenSSH's server is on every distribution eksnode bakes (AL2023, Debian, Ubuntu). */
export const SSHD = "/usr/sbin/sshd";

/**
 * The unit that makes missing SSH host keys at boot on Amazon Linux 2023 (Fedora's openssh-server:
 * `sshd.service` wants `sshd-keygen.target`, which starts `sshd-keygen@rsa`, `@ecdsa`, `@ed25519`). Debian
 * and Ubuntu have none: their openssh-server makes the keys in its postinst, and their `ssh.service` fails
 * (`sshd -t`: no hostkeys available) when the keys are gone, unless cloud-init's ssh module makes new ones.
 */
export const DISTRO_SSH_KEYGEN_UNIT = "sshd-keygen@.service";

/** The unit step 38 adds where the image's sshd makes no host keys of its own at boot. */
export const SSH_KEYGEN_UNIT = "eksnode-ssh-host-keys.service";

/**
 * `eksnode-ssh-host-keys.service`: `ssh-keygen -A` (each missing key type, nothing else) before sshd
 * starts, at every boot, so that a node from an image whose host keys hygiene removed gets its own. The
 * default dependencies order it after sysinit.target, so after cloud-init's early stage, which makes the
 * keys itself where it is installed; then there is nothing left to make.
 */
export function renderSshKeygenUnit(): string {
  return `# Written by eksnode ami --hygiene (step 38). The image's SSH host keys were removed so that no two
# nodes share them, and this image's openssh-server makes none at boot (it has no ${DISTRO_SSH_KEYGEN_UNIT},
# as Amazon Linux 2023's has). This makes the missing ones before sshd starts.
[Unit]
Description=Generate the SSH host keys this node lacks
Before=ssh.service sshd.service
ConditionPathExists=${SSHD}

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=multi-user.target
`;
}

/**
 * True when the image has sshd but nothing that makes host keys at boot (no {@link DISTRO_SSH_KEYGEN_UNIT}):
 * there step 38 installs {@link SSH_KEYGEN_UNIT}.
 */
export async function needsSshKeygenUnit(host: Host): Promise<boolean> {
  return await host.exists(SSHD) && !(await unitInstalled(host, DISTRO_SSH_KEYGEN_UNIT));
}
