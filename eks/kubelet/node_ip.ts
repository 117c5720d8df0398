/**
 * The kubelet's `--node-ip` and `providerID`.
 *
 * Sources (awslabs/amazon-eks-ami): nodeadm `nodeadm/internal/kubelet/config.go` (commit 01375496)
 * `getNodeIp` (ipv4 → IMDS `local-ipv4`; ipv6 → IMDS `network/interfaces/macs/MAC/ipv6s`) and
 * `getProviderId` (`aws:///ZONE/INSTANCE_ID`); bootstrap.sh (commit 029f7c7d) does the same.
 */
import { MetadataError } from "../../lib/errors.ts";
import { type IpFamily, parseIpv4, parseIpv6 } from "../../lib/cidr.ts";

/** Inputs of {@link nodeIp}: the family and what IMDS returned. */
export interface NodeIpInput {
  ipFamily: IpFamily;
  /** IMDS `local-ipv4`. */
  localIpv4?: string;
  /** IMDS `network/interfaces/macs/MAC/ipv6s` (one address a line: the first is used). */
  ipv6?: string;
}

/** The node IP for the cluster's family. Example: `{ ipFamily: "ipv4", localIpv4: "10.0.1.5" }` → "10.0.1.5". */
export function nodeIp(input: NodeIpInput): string {
  if (input.ipFamily === "ipv4") {
    const ip = input.localIpv4?.trim() ?? "";
    if (parseIpv4(ip) === undefined) {
      throw new MetadataError(
        `instance metadata local-ipv4 is ${
          ip === "" ? "empty" : `not an IPv4 address: ${JSON.stringify(ip)}`
        }`,
        "an IPv4 cluster needs the instance's private IPv4 address from IMDS",
      );
    }
    return ip;
  }
  const first = (input.ipv6 ?? "").split(/\s+/).find((s) => s !== "") ?? "";
  if (parseIpv6(first) === undefined) {
    throw new MetadataError(
      `instance metadata ipv6s is ${
        first === "" ? "empty" : `not an IPv6 address: ${JSON.stringify(first)}`
      }`,
      "an IPv6 cluster needs an IPv6 address on the primary interface (check the subnet's IPv6 CIDR and auto-assign)",
    );
  }
  return first;
}

/** The kubelet providerID. Example: `providerId("us-west-2a", "i-0123")` → "aws:///us-west-2a/i-0123". */
export function providerId(zone: string, instanceId: string): string {
  if (!/^[a-z0-9-]+$/.test(zone)) {
    throw new MetadataError(
      `availability zone ${JSON.stringify(zone)} is not a zone name`,
      "check IMDS placement/availability-zone",
    );
  }
  if (!/^i-[0-9a-f]+$/.test(instanceId)) {
    throw new MetadataError(
      `instance id ${JSON.stringify(instanceId)} is not an EC2 instance id`,
      "check IMDS instance-id",
    );
  }
  return `aws:///${zone}/${instanceId}`;
}
