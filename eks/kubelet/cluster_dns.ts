/**
 * The kubelet's clusterDNS address: the kube-dns Service IP that the EKS CoreDNS add-on takes.
 *
 * Sources (awslabs/amazon-eks-ami):
 * - `templates/al2/runtime/bootstrap.sh` (commit 029f7c7d): `--dns-cluster-ip` (comma-separated) wins;
 *   IPv6 → the service CIDR's address + "a" (an error without a CIDR); IPv4 with a service CIDR (not
 *   "None") → "x.y.z.10"; IPv4 without one → 10.100.0.10, or 172.20.0.10 when any line of IMDS
 *   `network/interfaces/macs/MAC/vpc-ipv4-cidr-blocks` starts with "10." (grep -c '^10\..*').
 * - nodeadm `ClusterDetails.GetClusterDns` (`nodeadm/internal/api`): the same IPv4/IPv6 rules on the
 *   NodeConfig's `spec.cluster.cidr`.
 * Both do it on text ("%s.10" after the last dot, "%sa" after the address). Here the network address is
 * computed and 10 added, which gives the same answer for every aligned CIDR (all EKS returns) and a
 * valid one for unaligned input (10.100.5.0/16 → 10.100.0.10, where the text rule gives 10.100.5.10).
 */
import { ConfigError } from "../../lib/errors.ts";
import { addressInCidr, type IpFamily, parseCidr } from "../../lib/cidr.ts";

/** The fallback when the VPC has no 10.x block (bootstrap.sh). */
export const LEGACY_DNS_IP = "10.100.0.10";
/** The fallback when any VPC IPv4 block is in 10.0.0.0/8, where EKS picks 172.20.0.0/16 (bootstrap.sh). */
export const LEGACY_DNS_IP_TEN_RANGE_VPC = "172.20.0.10";

/** Where {@link resolveClusterDns} found the address. */
export type ClusterDnsSource = "override" | "service-cidr" | "legacy-vpc-heuristic";

/** Inputs of {@link resolveClusterDns}. */
export interface ClusterDnsInput {
  /** `--dns-cluster-ip` / NodeConfig kubelet clusterDNS: one address, a comma-separated list, or a list. */
  override?: string | readonly string[];
  /** The cluster's service CIDR (IPv4 or IPv6); "None" (the AWS CLI's empty) counts as absent. */
  serviceCidr?: string;
  /** The cluster's IP family; default: the family of `serviceCidr`, else "ipv4". */
  ipFamily?: IpFamily;
  /** IMDS vpc-ipv4-cidr-blocks of the primary interface (only read by the legacy IPv4 fallback). */
  vpcIpv4CidrBlocks?: readonly string[];
}

/** The outcome of {@link resolveClusterDns}. */
export interface ClusterDnsResult {
  /** The kubelet's `clusterDNS` list. */
  ips: string[];
  source: ClusterDnsSource;
}

/** The kube-dns IP of a service CIDR: network + 10. Example: "10.100.0.0/16" → "10.100.0.10", "fd00::/108" → "fd00::a". */
export function clusterDnsFromCidr(serviceCidr: string): string {
  return addressInCidr(parseCidr(serviceCidr, "service CIDR"), 10n, `service CIDR ${serviceCidr}`);
}

/** bootstrap.sh's guess without a service CIDR: 172.20.0.10 if any VPC block starts with "10.", else 10.100.0.10. */
export function legacyClusterDns(vpcIpv4CidrBlocks: readonly string[]): string {
  return vpcIpv4CidrBlocks.some((b) => b.trim().startsWith("10."))
    ? LEGACY_DNS_IP_TEN_RANGE_VPC
    : LEGACY_DNS_IP;
}

/** Picks the clusterDNS list: override, then service CIDR, then (IPv4 only) the legacy VPC heuristic. */
export function resolveClusterDns(input: ClusterDnsInput): ClusterDnsResult {
  const override = input.override === undefined
    ? []
    : (typeof input.override === "string" ? input.override.split(",") : [...input.override])
      .map((s) => s.trim())
      .filter((s) => s !== "");
  if (override.length > 0) return { ips: override, source: "override" };

  const cidr = input.serviceCidr?.trim();
  const hasCidr = cidr !== undefined && cidr !== "" && cidr !== "None";
  const family = input.ipFamily ?? (hasCidr ? parseCidr(cidr, "service CIDR").family : "ipv4");
  if (hasCidr) {
    const cidrFamily = parseCidr(cidr, "service CIDR").family;
    if (cidrFamily !== family) {
      throw new ConfigError(
        `service CIDR ${cidr} is ${cidrFamily} but the cluster IP family is ${family}`,
        "give the service CIDR of the cluster's own IP family",
      );
    }
    return { ips: [clusterDnsFromCidr(cidr)], source: "service-cidr" };
  }
  if (family === "ipv6") {
    throw new ConfigError(
      "an IPv6 cluster needs its service CIDR or an explicit cluster DNS IP",
      "set spec.cluster.cidr (or --service-ipv6-cidr), or --dns-cluster-ip",
    );
  }
  return { ips: [legacyClusterDns(input.vpcIpv4CidrBlocks ?? [])], source: "legacy-vpc-heuristic" };
}
