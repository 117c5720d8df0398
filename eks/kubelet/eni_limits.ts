/**
 * Default ENI limits per EC2 instance type, from the table nodeadm embeds (see the `source` field of
 * `assets/eni_limits.json`; regenerate it with `tools/gen_eni_limits.ts`).
 */
import data from "../../assets/eni_limits.json" with { type: "json" };

/** Default network interfaces of an instance type and the IPv4 addresses each can hold. */
export interface EniLimits {
  /** `NetworkInfo.DefaultNetworkCardIndex`'s MaximumNetworkInterfaces (EC2 DescribeInstanceTypes). */
  enis: number;
  /** `NetworkInfo.Ipv4AddressesPerInterface`, the primary address included. */
  ipsPerEni: number;
}

/** Where the ENI table came from (repository, path, commit, date). */
export const ENI_LIMITS_SOURCE: string = data.source;

const TYPES: Readonly<Record<string, readonly number[]>> = data.types;

/**
 * The ENI limits of `instanceType`, or undefined when the table does not know it (then ask EC2
 * DescribeInstanceTypes, as nodeadm does). Example: `eniLimits("m5.large")` → `{ enis: 3, ipsPerEni: 10 }`.
 */
export function eniLimits(instanceType: string): EniLimits | undefined {
  if (!Object.hasOwn(TYPES, instanceType)) return undefined;
  const [enis, ipsPerEni] = TYPES[instanceType];
  return { enis, ipsPerEni };
}

/** How many instance types the table holds (for reports and tests). */
export function eniTableSize(): number {
  return Object.keys(TYPES).length;
}
