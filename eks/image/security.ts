/**
 * FIPS mode and SELinux labels of the AL2023 phase, as Amazon Linux 2023's EKS image build does them:
 * awslabs/amazon-eks-ami templates/al2023/provisioners/enable-fips.sh (with `enable_fips`: install the
 * crypto policy tools, `fips-mode-setup --enable`) and configure-selinux.sh (`restorecon -R` of /usr/bin,
 * /etc/systemd/system and /etc/eks, then `matchpathcon -V` of what they hold), both @ 81fec2e8.
 */
import type { Host } from "../../lib/host.ts";

/** What enable-fips.sh installs before switching (docs.aws.amazon.com/linux/al2023/ug/fips-mode.html). */
export const FIPS_PACKAGES: readonly { name: string }[] = [
  { name: "crypto-policies" },
  { name: "crypto-policies-scripts" },
];

/** The command that turns FIPS mode on: the FIPS crypto policy now, `fips=1` on every boot entry. */
export const FIPS_ENABLE: readonly string[] = ["fips-mode-setup", "--enable"];

/** The system's crypto policy, which `fips-mode-setup --enable` sets to FIPS. */
export const CRYPTO_POLICY_CONFIG = "/etc/crypto-policies/config";

/**
 * True when a crypto-policies config selects FIPS (`FIPS`, or FIPS with sub-policies as `FIPS:OSPP`).
 * @example fipsPolicy("FIPS\n") // true
 */
export function fipsPolicy(text: string | undefined): boolean {
  const line = (text ?? "").split("\n").map((l) => l.replace(/#.*/, "").trim()).find(Boolean);
  return line !== undefined && /^FIPS(:|$)/.test(line);
}

/** The directories configure-selinux.sh relabels: where eksnode's binaries, units and /etc/eks live. */
export const SELINUX_RELABEL_DIRS: readonly string[] = ["/usr/bin", "/etc/systemd/system", "/etc/eks"];

/** The image's SELinux configuration. */
export const SELINUX_CONFIG = "/etc/selinux/config";

/**
 * The image's SELinux policy type (SELINUXTYPE of /etc/selinux/config, e.g. `targeted`) when the image has
 * that policy's file contexts; undefined for an image without SELinux (Debian, Ubuntu: no policy).
 */
export async function selinuxPolicy(host: Host): Promise<string | undefined> {
  const text = await host.readText(SELINUX_CONFIG);
  const type = text === undefined ? undefined : /^\s*SELINUXTYPE\s*=\s*(\S+)\s*$/m.exec(text)?.[1];
  if (!type || !/^[\w.-]+$/.test(type)) return undefined;
  return (await host.exists(`/etc/selinux/${type}/contexts/files/file_contexts`)) ? type : undefined;
}

/** True when SELinux runs on this system (selinuxfs mounted): restorecon and matchpathcon can work. */
export async function selinuxRunning(host: Host): Promise<boolean> {
  return host.isSystemRoot && await host.exists("/sys/fs/selinux/enforce");
}
