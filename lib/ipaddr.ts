/**
 * Syntax checks for IP addresses and CIDR blocks (no DNS, no I/O). Used to validate user input
 * such as NodeConfig `spec.cluster.cidr` and bootstrap.sh's `--dns-cluster-ip`.
 */

/** True when `text` is a dotted-quad IPv4 address without leading zeros, e.g. `10.100.0.10`. */
export function isIpv4(text: string): boolean {
  const octets = text.split(".");
  return octets.length === 4 && octets.every((o) => /^(0|[1-9][0-9]{0,2})$/.test(o) && Number(o) <= 255);
}

/** True when `text` is an IPv6 address in RFC 4291 text form (`::` compression, optional IPv4 tail). */
export function isIpv6(text: string): boolean {
  if (text.length === 0 || text.includes("%")) return false;
  let groups = 8;
  let body = text;
  const lastColon = text.lastIndexOf(":");
  if (lastColon >= 0 && text.slice(lastColon + 1).includes(".")) {
    if (!isIpv4(text.slice(lastColon + 1))) return false;
    body = text.slice(0, lastColon + 1) + "0";
    groups = 7;
  }
  const halves = body.split("::");
  if (halves.length > 2) return false;
  const hex = /^[0-9a-fA-F]{1,4}$/;
  const parts = (h: string) => (h === "" ? [] : h.split(":"));
  if (halves.length === 1) {
    const all = parts(halves[0]);
    return all.length === groups && all.every((g) => hex.test(g));
  }
  const [head, tail] = [parts(halves[0]), parts(halves[1])];
  return head.length + tail.length < groups && [...head, ...tail].every((g) => hex.test(g));
}

/** An IP family: what {@link parseCidr} reports for a block. */
export type IpFamily = "ipv4" | "ipv6";

/**
 * Parses `addr/prefix` and returns its family, or undefined when the text is not a CIDR block.
 * @example parseCidr("10.100.0.0/16") // "ipv4"
 */
export function parseCidr(text: string): IpFamily | undefined {
  const slash = text.indexOf("/");
  if (slash < 0) return undefined;
  const addr = text.slice(0, slash);
  const prefix = text.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefix)) return undefined;
  const bits = Number(prefix);
  if (isIpv4(addr)) return bits <= 32 ? "ipv4" : undefined;
  if (isIpv6(addr)) return bits <= 128 ? "ipv6" : undefined;
  return undefined;
}
