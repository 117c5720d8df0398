/**
 * sysctl: `sysctl --dry-run -p FILE` (procps-ng) reads the file and, for each key, stats
 * /proc/sys/<key> without writing it. Seen with procps-ng 4.0.2: an unknown key is reported
 * ("cannot stat /proc/sys/...") and exits 1, so no separate /proc/sys check is needed; a line that
 * is not `key = value` is reported ("invalid syntax, continuing...") but the exit code stays 0, so
 * the validator reads stderr rather than trusting the exit code. Keys that only exist once a kernel
 * module is loaded (net.bridge.* with br_netfilter) are a note, not a problem, when that module is
 * not loaded on this machine, and so are net.* keys the kernel shows only in the initial network
 * namespace when the tests run in another. This machine's settings are never changed.
 */
import { findTool, lines, notChecked, runTool, type Verdict } from "./common.ts";

const TOOL = "sysctl --dry-run -p";

/** Key prefixes that a kernel module brings, with the /proc/sys directory that shows it is loaded. */
const MODULE_KEYS: { prefix: string; module: string; dir: string }[] = [
  { prefix: "net.bridge.", module: "br_netfilter", dir: "/proc/sys/net/bridge" },
  { prefix: "net.netfilter.", module: "nf_conntrack", dir: "/proc/sys/net/netfilter" },
];

/**
 * True in a network namespace other than the initial one (a container, or the namespace of
 * `.ci/elsewhere`): the kernel shows some net.* keys (net.core.netdev_max_backlog, the neighbour table
 * thresholds) only in the initial namespace, so a missing net.* key says nothing about the file there.
 */
function inChildNetworkNamespace(): boolean {
  return !exists("/proc/sys/net/core/netdev_max_backlog");
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Validates one sysctl.d file with this machine's sysctl, without applying it. */
export async function validateSysctlFile(file: string): Promise<Verdict> {
  const sysctl = findTool("sysctl");
  if (!sysctl) return notChecked(TOOL, file, "sysctl (procps)");
  const help = await runTool([sysctl, "--help"]);
  if (!/--dry-run/.test(help.stdout + help.stderr)) return notChecked(TOOL, file, "sysctl --dry-run");
  const verdict: Verdict = { tool: TOOL, subject: file, problems: [], notes: [] };
  const r = await runTool([sysctl, "--dry-run", "-p", file], { LC_ALL: "C" });
  for (const line of lines(r.stderr)) {
    const missing = /cannot stat \/proc\/sys\/(\S+?):/.exec(line);
    if (missing) {
      const key = missing[1].replaceAll("/", ".");
      const mod = MODULE_KEYS.find((m) => key.startsWith(m.prefix));
      if (mod && !exists(mod.dir)) {
        verdict.notes.push(`${key}: exists once ${mod.module} is loaded, which it is not here: not checked`);
      } else if (key.startsWith("net.") && inChildNetworkNamespace()) {
        verdict.notes.push(
          `${key}: not shown in this network namespace (only in the initial one): not checked`,
        );
      } else {verdict.problems.push(
          `${key}: this kernel has no such key (${line.replaceAll(file, "the file")})`,
        );}
      continue;
    }
    verdict.problems.push(line.replaceAll(file, "the file"));
  }
  if (r.code !== 0 && verdict.problems.length === 0 && verdict.notes.length === 0) {
    verdict.problems.push(`exit ${r.code}`);
  }
  return verdict;
}
