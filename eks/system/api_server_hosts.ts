/**
 * Local EKS clusters on AWS Outposts: the API server's addresses pinned in /etc/hosts, so worker nodes
 * keep reaching the control plane while the Outpost is disconnected from its region (and DNS with it).
 *
 * Source: awslabs/amazon-eks-ami `templates/al2/runtime/bootstrap.sh` (commit 9e910f87; `files/bootstrap.sh`
 * before the templates/ move): with ENABLE_LOCAL_OUTPOST=true it takes the host of APISERVER_ENDPOINT (port
 * stripped) and runs `getent hosts "$DOMAIN_NAME" | shuf >> /etc/hosts`, shuffled to spread the nodes over
 * the control-plane instances, appended again on every run. Its `set -o errexit -o pipefail` ends the
 * script when getent finds nothing.
 *
 * eksnode differs where bootstrap.sh's way breaks on a second run:
 * - the lines live in one block between marker comments naming eksnode and the cluster, replaced in place
 *   (never appended again), and removed when the node is no longer an Outposts node;
 * - the order is shuffled, but seeded by the instance id, so the same answers give the same file;
 * - `getent ahosts` (getaddrinfo: IPv4 and IPv6, families the node has no address of left out) instead of
 *   `getent hosts` (gethostbyname2: the IPv6 addresses, or failing those the IPv4 ones, never both);
 * - fresh answers despite our own block: NSS stops at the first source that knows the name, and `files`
 *   comes first on every EKS AMI, so once the block is there a plain `getent` only echoes it back (which is
 *   why bootstrap.sh's re-append never refreshes anything). eksnode asks the hosts sources of
 *   /etc/nsswitch.conf without `files` first (`getent -s hosts:SERVICES`); when they give nothing it asks
 *   the whole resolver and drops the addresses of its own block (what is left came from the admin's own
 *   /etc/hosts lines or another source); when that gives nothing either, the Outpost is likely
 *   disconnected: the block is kept as it is, with a warning. systemd-resolved (`resolve`, and the
 *   127.0.0.53 stub behind `dns` there) reads /etc/hosts itself (ReadEtcHosts=yes): on such a host a
 *   rerun keeps the pinned addresses, as bootstrap.sh would;
 * - nothing resolved and no block to keep: a warning, not an error. The pins only matter once the Outpost
 *   disconnects; failing init would keep kubelet from ever starting, while kubelet retries the name and
 *   joins as soon as DNS answers (the next `eksnode init` pins the addresses).
 */
import { createHash } from "node:crypto";
import { parseIpv4, parseIpv6 } from "../../lib/cidr.ts";
import type { ExecOptions, ExecResult } from "../../lib/host.ts";

/** Where the block goes (inside --root). */
export const HOSTS_FILE = "/etc/hosts";

const BEGIN = "# BEGIN eksnode: API server of the local EKS cluster";
const END = "# END eksnode: API server of the local EKS cluster";

/** True for an IPv4 or IPv6 address literal (lib/cidr.ts parsers; no `node:net`, which init would load only for this). */
function isIpAddress(text: string): boolean {
  return parseIpv4(text) !== undefined || parseIpv6(text) !== undefined;
}

/** The host name of an API server endpoint URL (port stripped), or undefined when it is an IP literal. */
export function apiServerHostName(endpoint: string): string | undefined {
  let host: string;
  try {
    host = new URL(endpoint).hostname;
  } catch {
    return undefined;
  }
  if (host === "" || isIpAddress(host.replace(/^\[|\]$/g, ""))) return undefined;
  return host.toLowerCase();
}

/**
 * The addresses in the first column of `getent ahosts|hosts` output, deduplicated in order of appearance
 * (ahosts prints each address once per socket type).
 * @example getentAddresses("10.0.0.1  STREAM h\n10.0.0.1  DGRAM\n") // ["10.0.0.1"]
 */
export function getentAddresses(output: string): string[] {
  const seen = new Set<string>();
  for (const line of output.split("\n")) {
    const first = line.trim().split(/\s+/)[0];
    if (first && isIpAddress(first)) seen.add(first.toLowerCase());
  }
  return [...seen];
}

/**
 * The hosts line of an nsswitch.conf text without `files` (and the `[...]` actions that follow it), for
 * `getent -s hosts:SERVICES`. Without a hosts line glibc's default (`dns [!UNAVAIL=return] files`) gives
 * `dns`; a line naming only `files` gives undefined (no source besides /etc/hosts).
 * @example hostsServicesWithoutFiles("hosts: files dns\n") // "dns"
 */
export function hostsServicesWithoutFiles(nsswitch: string | undefined): string | undefined {
  let line: string | undefined;
  for (const raw of (nsswitch ?? "").split("\n")) {
    const m = /^\s*hosts\s*:(.*)$/.exec(raw.replace(/#.*/, ""));
    if (m) line = m[1];
  }
  if (line === undefined) return "dns";
  const tokens = line.match(/\[[^\]]*\]|[^\s[]+/g) ?? [];
  const kept: string[] = [];
  let dropping = false;
  for (const t of tokens) {
    if (t.startsWith("[")) {
      if (!dropping && kept.length > 0) kept.push(t);
      continue;
    }
    dropping = t === "files";
    if (!dropping) kept.push(t);
  }
  return kept.length > 0 ? kept.join(" ") : undefined;
}

/** What one lookup gave: the addresses, or why there are none. */
export interface LookupResult {
  addresses: string[];
  problem?: string;
}

/**
 * Looks a name up: `via: "dns"` with the system's hosts sources except /etc/hosts, `via: "system"` with the
 * whole system resolver (/etc/hosts included).
 */
export type HostLookup = (name: string, via: "dns" | "system") => Promise<LookupResult>;

/** What runs getent: {@link Host.exec} (or a test's stand-in). */
export type Exec = (argv: string[], opts: ExecOptions) => Promise<ExecResult>;

/**
 * A {@link HostLookup} through the system's `getent ahosts` (argv, 30 s timeout). `nsswitch` is the text of
 * the running system's /etc/nsswitch.conf (undefined when missing).
 */
export function getentLookup(exec: Exec, nsswitch: string | undefined): HostLookup {
  return async (name, via) => {
    const services = via === "dns" ? hostsServicesWithoutFiles(nsswitch) : undefined;
    if (via === "dns" && services === undefined) {
      return { addresses: [], problem: "nsswitch.conf names no hosts source besides files" };
    }
    const argv = ["getent", ...(services ? ["-s", `hosts:${services}`] : []), "ahosts", name];
    let r: ExecResult;
    try {
      r = await exec(argv, { timeoutMs: 30_000, allowFailure: true });
    } catch (err) {
      return { addresses: [], problem: (err as Error).message };
    }
    const addresses = r.code === 0 ? getentAddresses(r.stdout) : [];
    if (addresses.length > 0) return { addresses };
    const why = r.code === 2
      ? "not found"
      : `exit code ${r.code}${r.stderr.trim() ? `: ${r.stderr.trim()}` : ""}`;
    return { addresses: [], problem: `${argv.join(" ")}: ${why}` };
  };
}

/** The outcome of {@link chooseApiServerAddresses}. */
export interface PinDecision {
  /** Addresses to pin (empty: no block). */
  addresses: string[];
  /** resolved: fresh answers; kept: the block's own addresses; none: nothing to pin. */
  how: "resolved" | "kept" | "none";
  /** One line for the log. */
  message: string;
  /** True when the message is a warning. */
  warn: boolean;
}

/**
 * Decides which addresses of `name` to pin, given the current /etc/hosts text: fresh answers without
 * /etc/hosts, else the whole resolver minus our own block, else the block kept (see the top of the file).
 */
export async function chooseApiServerAddresses(
  name: string,
  cluster: string,
  hostsText: string | undefined,
  lookup: HostLookup,
): Promise<PinDecision> {
  const pinned = pinnedAddresses(hostsText ?? "", name);
  const fresh = await lookup(name, "dns");
  if (fresh.addresses.length > 0) {
    return {
      addresses: fresh.addresses,
      how: "resolved",
      message: `${name} resolves to ${fresh.addresses.join(", ")}: pinned in ${HOSTS_FILE}`,
      warn: false,
    };
  }
  const all = await lookup(name, "system");
  const own = new Set(pinned);
  const others = all.addresses.filter((a) => !own.has(a));
  if (others.length > 0) {
    return {
      addresses: others,
      how: "resolved",
      message: `${name} resolves to ${others.join(", ")} through the system resolver ` +
        `(without ${HOSTS_FILE}: ${fresh.problem}): pinned in ${HOSTS_FILE}`,
      warn: false,
    };
  }
  const problem = fresh.problem ?? "no address";
  if (pinned.length > 0) {
    return {
      addresses: pinned,
      how: "kept",
      message: `cannot resolve ${name} (${problem}); the Outpost may be disconnected: keeping the ` +
        `${pinned.length} address${pinned.length === 1 ? "" : "es"} pinned in ${HOSTS_FILE}`,
      warn: true,
    };
  }
  return {
    addresses: [],
    how: "none",
    message:
      `cannot resolve ${name} (${problem}): the API server of local cluster ${cluster} is not pinned ` +
      `in ${HOSTS_FILE}; kubelet keeps trying the name, and the next eksnode init pins it`,
    warn: true,
  };
}

/** True for a line that opens or closes our block (CR and trailing blanks ignored). */
function isBegin(line: string): boolean {
  return line.trimEnd().startsWith(BEGIN);
}
function isEnd(line: string): boolean {
  return line.trimEnd().startsWith(END);
}

/** The lines of a text without its final newline ("" → none). CRs stay on their lines. */
function linesOf(text: string): string[] {
  if (text === "") return [];
  return (text.endsWith("\n") ? text.slice(0, -1) : text).split("\n");
}

/** Index ranges [begin, end] (inclusive) of our blocks; an unmatched BEGIN is a range of its own line. */
function blockRanges(lines: string[]): [number, number][] {
  const ranges: [number, number][] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!isBegin(lines[i])) continue;
    let j = i + 1;
    while (j < lines.length && !isEnd(lines[j]) && !isBegin(lines[j])) j++;
    if (j < lines.length && isEnd(lines[j])) {
      ranges.push([i, j]);
      i = j;
    } else {
      ranges.push([i, i]); // no END: only the marker line is ours
    }
  }
  return ranges;
}

/**
 * The addresses our block pins for `name`, in file order.
 * @example pinnedAddresses(renderHostsBlock("c", "h", ["10.0.0.1"], "i-1") + "", "h") // ["10.0.0.1"]
 */
export function pinnedAddresses(hostsText: string, name: string): string[] {
  const lines = linesOf(hostsText);
  const out: string[] = [];
  for (const [b, e] of blockRanges(lines)) {
    for (const line of lines.slice(b + 1, e)) {
      const [addr, ...names] = line.trim().split(/\s+/);
      if (addr && isIpAddress(addr) && names.some((n) => n.toLowerCase() === name) && !out.includes(addr)) {
        out.push(addr);
      }
    }
  }
  return out;
}

/**
 * The addresses in a shuffled order that only depends on the set and the seed (the instance id): sorted
 * first, then a Fisher-Yates shuffle driven by SHA-256 of the seed, so nodes spread over the control-plane
 * instances as bootstrap.sh's `shuf` does, and a rerun with the same answers writes the same file.
 */
export function shuffledAddresses(addresses: string[], seed: string): string[] {
  const out = [...new Set(addresses)].sort();
  let pool = createHash("sha256").update(seed).digest();
  let used = 0;
  const next = (): number => {
    if (used + 4 > pool.length) {
      pool = createHash("sha256").update(pool).digest();
      used = 0;
    }
    const n = pool.readUInt32BE(used);
    used += 4;
    return n;
  };
  for (let i = out.length - 1; i > 0; i--) {
    const j = next() % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * The block for /etc/hosts: marker lines naming eksnode and the cluster around one `ADDRESS NAME` line per
 * address, in {@link shuffledAddresses} order; every line ends with LF.
 */
export function renderHostsBlock(cluster: string, name: string, addresses: string[], seed: string): string {
  return [
    `${BEGIN} ${cluster} on Outposts (eksnode init rewrites it)`,
    // "ADDRESS<TAB>NAME", as nodeadm appends them (kubelet/config.go withOutpostSetup, commit 81fec2e8).
    ...shuffledAddresses(addresses, seed).map((a) => `${a}\t${name}`),
    `${END} ${cluster}`,
  ].join("\n") + "\n";
}

/**
 * /etc/hosts with our block(s) replaced by `block` (in place of the first one, else at the end), or
 * removed when `block` is undefined. Every other line is kept byte for byte (CRLF included); a last line
 * without a newline gets one when the block follows it. Returns undefined when the file is missing and
 * there is nothing to write.
 */
export function replaceHostsBlock(
  hostsText: string | undefined,
  block: string | undefined,
): string | undefined {
  if (hostsText === undefined) return block;
  const lines = linesOf(hostsText);
  const ranges = blockRanges(lines);
  const blockLines = block === undefined ? [] : linesOf(block);
  const out: string[] = [];
  let placed = false;
  let r = 0;
  for (let i = 0; i < lines.length; i++) {
    if (r < ranges.length && i === ranges[r][0]) {
      if (!placed) out.push(...blockLines);
      placed = true;
      i = ranges[r][1];
      r++;
      continue;
    }
    out.push(lines[i]);
  }
  const endsWithBlock = !placed && blockLines.length > 0;
  if (endsWithBlock) out.push(...blockLines);
  if (out.length === 0) return "";
  // The last line was ours: what precedes it had a newline, and so does a block put in its place.
  const lastWasOurs = ranges.length > 0 && ranges[ranges.length - 1][1] === lines.length - 1;
  const finalNewline = hostsText.endsWith("\n") || lastWasOurs || endsWithBlock;
  return out.join("\n") + (finalNewline ? "\n" : "");
}
