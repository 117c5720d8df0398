/**
 * The container runtime's sysctls (/etc/sysctl.d/99-kubernetes-cri.conf) and the ports kept
 * out of the ephemeral range for host-network add-ons (/etc/sysctl.d/67-eks-reserved-ports.conf, as on
 * nodeadm's AL2023 image). The content is
 * checked by a parser here and, where procps's sysctl knows `--dry-run` (procps-ng 3.3.12+; AL2's
 * 3.3.10 does not), by `sysctl --dry-run -p FILE`: a syntax error fails the step, a key this machine's
 * kernel does not have (net.bridge.* before br_netfilter is loaded) is only logged.
 */
import criConf from "../../assets/templates/sysctl-kubernetes-cri.conf" with { type: "text" };
import reservedPortsConf from "../../assets/templates/sysctl-eks-reserved-ports.conf" with { type: "text" };
import { checkedFile, type ValidationResult } from "../../lib/changes.ts";
import type { Host } from "../../lib/host.ts";
import type { AmiStepDef } from "./context.ts";
import { SYSCTL_RESERVED_PORTS_FILE } from "../../eks/paths/node.ts";
import { expectFile } from "../../eks/verify/expected_path.ts";

/** The file's content. */
export const SYSCTL_CRI: string = criConf;
/** {@link SYSCTL_RESERVED_PORTS_FILE}'s content. */
export const SYSCTL_RESERVED_PORTS: string = reservedPortsConf;

/** sysctl.d(5) syntax problems of a text: each non-comment line is `key = value` (a `-` prefix allowed). */
export function sysctlSyntaxErrors(text: string): string[] {
  const errors: string[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith(";")) return;
    if (!/^-?[A-Za-z0-9_.*/-]+\s*=\s*\S.*$/.test(line)) {
      errors.push(`line ${i + 1}: ${JSON.stringify(line)} is not key = value`);
    }
  });
  return errors;
}

/** Parser check, then `sysctl --dry-run -p` where it exists. */
export async function validateSysctl(candidate: string, host: Host): Promise<ValidationResult> {
  const syntax = sysctlSyntaxErrors(await Deno.readTextFile(candidate));
  if (syntax.length) return { ok: false, detail: syntax.join("; ") };
  const sysctl = (await host.which("sysctl")) ?? (await host.which("/sbin/sysctl"));
  if (!sysctl) return { ok: true, detail: "sysctl not found here: checked by the parser only" };
  const r = await host.exec([sysctl, "--dry-run", "-p", candidate], {
    allowFailure: true,
    timeoutMs: 30_000,
  });
  if (r.code === 0) return { ok: true };
  if (/unrecognized option|invalid option/i.test(r.stderr)) {
    return { ok: true, detail: "this sysctl has no --dry-run: checked by the parser only" };
  }
  const lines = r.stderr.split("\n").map((l) => l.trim()).filter(Boolean);
  const bad = lines.filter((l) => /invalid syntax/i.test(l));
  if (bad.length) return { ok: false, detail: bad.join(" | ").replaceAll(candidate, "the file") };
  return {
    ok: true,
    detail: `keys this kernel does not have now: ${lines.join(" | ").replaceAll(candidate, "the file")}`,
  };
}

/** The step. */
export const step: AmiStepDef = {
  title: "Install /etc/sysctl.d/99-kubernetes-cri.conf and 67-eks-reserved-ports.conf",
  group: "Containerd",
  leaves: [expectFile("/etc/sysctl.d/99-kubernetes-cri.conf"), expectFile(SYSCTL_RESERVED_PORTS_FILE)],
  plan: () => [
    checkedFile("/etc/sysctl.d/99-kubernetes-cri.conf", SYSCTL_CRI, {}, "sysctl --dry-run", validateSysctl),
    checkedFile(SYSCTL_RESERVED_PORTS_FILE, SYSCTL_RESERVED_PORTS, {}, "sysctl --dry-run", validateSysctl),
  ],
};
