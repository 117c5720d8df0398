/**
 * Small, strict IPv4/IPv6 address and CIDR helpers for the EKS calculations (cluster DNS, node IP).
 * IPv6 text output follows RFC 5952 (lowercase, longest zero run compressed to "::").
 */
import { ConfigError } from "./errors.ts";

/** The IP family of a cluster, as EKS and nodeadm name it. */
export type IpFamily = "ipv4" | "ipv6";

/** A parsed CIDR: the family, the address as an integer, and the prefix length. */
export interface Cidr {
  family: IpFamily;
  /** The address as written (host bits may be set). */
  address: bigint;
  prefix: number;
}

const IPV4_BITS = 32;
const IPV6_BITS = 128;

/** Parses dotted-quad IPv4 text, or returns undefined. Example: "10.0.0.1" → 167772161n. */
export function parseIpv4(text: string): bigint | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) return undefined;
    value = (value << 8n) | BigInt(p);
  }
  return value;
}

/** Parses IPv6 text (with "::" and an optional dotted-quad tail), or returns undefined. */
export function parseIpv6(text: string): bigint | undefined {
  if (text.includes("%")) return undefined; // zone ids have no place in a CIDR
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string): number[] | undefined => {
    if (s === "") return [];
    const out: number[] = [];
    const parts = s.split(":");
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (i === parts.length - 1 && p.includes(".")) {
        const v4 = parseIpv4(p);
        if (v4 === undefined) return undefined;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) {
        out.push(parseInt(p, 16));
      } else {
        return undefined;
      }
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  let value = 0n;
  for (const g of [...head, ...new Array<number>(missing).fill(0), ...tail]) {
    value = (value << 16n) | BigInt(g);
  }
  return value;
}

/** Formats an IPv4 integer as dotted-quad text. */
export function formatIpv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join(".");
}

/** Formats an IPv6 integer as RFC 5952 text. Example: 0xfd00…000an → "fd00::a". */
export function formatIpv6(value: bigint): string {
  const groups: number[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(Number((value >> s) & 0xffffn));
  // Longest run of two or more zero groups; the first one wins a tie.
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) [bestStart, bestLen] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

/** Parses "ADDRESS/PREFIX" of either family; throws ConfigError naming `what` when it is not one. */
export function parseCidr(text: string, what = "CIDR"): Cidr {
  const trimmed = text.trim();
  const slash = trimmed.indexOf("/");
  const bad = () =>
    new ConfigError(
      `${what} ${JSON.stringify(text)} is not an IPv4 or IPv6 CIDR`,
      'write it as ADDRESS/PREFIX, e.g. "10.100.0.0/16" or "fd00::/108"',
    );
  if (slash < 0) throw bad();
  const addr = trimmed.slice(0, slash), prefixText = trimmed.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(prefixText)) throw bad();
  const prefix = Number(prefixText);
  const v4 = parseIpv4(addr);
  if (v4 !== undefined && prefix <= IPV4_BITS) return { family: "ipv4", address: v4, prefix };
  const v6 = v4 === undefined ? parseIpv6(addr) : undefined;
  if (v6 !== undefined && prefix <= IPV6_BITS) return { family: "ipv6", address: v6, prefix };
  throw bad();
}

/** The IP family of a CIDR, as nodeadm's GetCIDRIpFamily decides it. Example: "fd00::/108" → "ipv6". */
export function ipFamilyOfCidr(cidr: string): IpFamily {
  return parseCidr(cidr).family;
}

/**
 * The address `offset` past the network address of `cidr` (host bits cleared first), as text.
 * Throws ConfigError when the block is too small to hold it. Example: ("10.100.0.0/16", 10n) → "10.100.0.10".
 */
export function addressInCidr(cidr: Cidr, offset: bigint, what = "CIDR"): string {
  const bits = cidr.family === "ipv4" ? IPV4_BITS : IPV6_BITS;
  const hostBits = BigInt(bits - cidr.prefix);
  if (offset >= (1n << hostBits)) {
    throw new ConfigError(
      `${what} /${cidr.prefix} is too small to hold address offset ${offset}`,
      "use the cluster's service CIDR (IPv4 /12–/24, IPv6 /108)",
    );
  }
  const network = (cidr.address >> hostBits) << hostBits;
  return cidr.family === "ipv4" ? formatIpv4(network + offset) : formatIpv6(network + offset);
}
