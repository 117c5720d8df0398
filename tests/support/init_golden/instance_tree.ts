/** The IMDS tree a golden init case's instance shape describes (fakes/imds.ts defaults for the rest). */
import { defaultMetadata, FAKE_MAC } from "../../../fakes/imds.ts";
import type { CaseInputs } from "./case_file.ts";

/** The instance shape of a case (`instance:` in case.yaml). */
export type InstanceShape = NonNullable<CaseInputs["instance"]>;

/** The region a case's instance is in (default us-west-2). */
export function regionOf(shape: InstanceShape = {}): string {
  return shape.region ?? "us-west-2";
}

/**
 * EC2's PrivateDnsName of the instance in `region` (EC2 user guide: ec2.internal in us-east-1).
 * @example privateDnsName("us-east-1") // "ip-10-0-1-23.ec2.internal"
 */
export function privateDnsName(region: string): string {
  return `ip-10-0-1-23.${region === "us-east-1" ? "ec2.internal" : `${region}.compute.internal`}`;
}

/** The IMDS tree for `shape`: region, zone, DNS names and identity document kept consistent. */
export function instanceTree(shape: InstanceShape = {}): Record<string, string> {
  const tree = defaultMetadata();
  const region = regionOf(shape);
  const instanceType = shape.instanceType ?? "m5.large";
  const host = shape.dhcpDomain ? `ip-10-0-1-23.${shape.dhcpDomain}` : privateDnsName(region);
  const nic = `meta-data/network/interfaces/macs/${FAKE_MAC}`;
  Object.assign(tree, {
    "meta-data/instance-type": instanceType,
    "meta-data/placement/region": region,
    "meta-data/placement/availability-zone": `${region}a`,
    "meta-data/hostname": host,
    "meta-data/local-hostname": host,
    "dynamic/instance-identity/document": JSON.stringify({
      ...JSON.parse(tree["dynamic/instance-identity/document"]),
      availabilityZone: `${region}a`,
      instanceType,
      region,
    }),
  });
  if (!shape.ipv6) {
    delete tree[`${nic}/ipv6s`];
    delete tree[`${nic}/vpc-ipv6-cidr-blocks`];
  }
  return tree;
}
