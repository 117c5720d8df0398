/**
 * `testNode(overrides)`: NodeSettings for tests of the init steps, as eks/api/resolve_node_settings.ts would
 * resolve them for an m5.large in us-west-2 on Kubernetes 1.32. Region-dependent values (partition,
 * DNS suffix, pause image, endpoint, DNS names) follow `region` unless given.
 */
import { ecrRegistry, partitionOf } from "../eks/aws/ecr_registry.ts";
import type { InstanceMetadata } from "../eks/aws/imds.ts";
import { sandboxImage } from "../eks/containerd/sandbox_image.ts";
import type { NodeSettings } from "../steps/init/context.ts";

/** A self-signed EC P-256 certificate (CN=kubernetes), made for these tests with openssl. */
export const TEST_CA_PEM = `-----BEGIN CERTIFICATE-----
MIIBfjCCASWgAwIBAgIUPfJnjyxqMOhkE+ve+FqvsF+s8WEwCgYIKoZIzj0EAwIw
FTETMBEGA1UEAwwKa3ViZXJuZXRlczAeFw0yNjExMjUwOTUwNDBaFw0zNjExMjIw
OTUwNDBaMBUxEzARBgNVBAMMCmt1YmVybmV0ZXMwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAR0TspEOFJR7Li9S0zIiRlEJHgWkhyrjzOR8w64Av0KA1Od66pZLVBQ
UxFNHQJoYqA49NNLugaRMqpRjlGE3GA+o1MwUTAdBgNVHQ4EFgQUIkxq48ojNUvT
v503GA2Jf3CPq/IwHwYDVR0jBBgwFoAUIkxq48ojNUvTv503GA2Jf3CPq/IwDwYD
VR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNHADBEAiByf+6fEc7C+Oi3isMp1+fO
8bD2c7r+OVodhXUmDHarBwIgFmK7qmkE7GtTTDoATCtj2UlI7/b0/3no7LRWbmFf
aHQ=
-----END CERTIFICATE-----
`;

/** What a test may override; `cluster` and `instance` are merged field by field. */
export type TestNodeOverrides =
  & Partial<Omit<NodeSettings, "cluster" | "instance">>
  & {
    cluster?: Partial<NodeSettings["cluster"]>;
    instance?: Partial<InstanceMetadata>;
    /** Use the FIPS pause registry (as `--fips` / a FIPS host would). */
    fips?: boolean;
  };

/** NodeSettings for a test, with `overrides` applied. */
export function testNode(overrides: TestNodeOverrides = {}): NodeSettings {
  const { cluster, instance, fips, ...rest } = overrides;
  const region = rest.region ?? instance?.region ?? "us-west-2";
  const partition = partitionOf(region);
  const localIpv4 = instance?.localIpv4 ?? "10.0.1.23";
  const dnsZone = region === "us-east-1" ? "ec2.internal" : `${region}.compute.internal`;
  const inst: InstanceMetadata = {
    instanceId: "i-0123456789abcdef0",
    instanceType: "m5.large",
    region,
    availabilityZone: `${region}a`,
    localIpv4,
    mac: "0e:12:34:56:78:9a",
    vpcIpv4Cidrs: ["10.0.0.0/16"],
    hostname: `ip-${localIpv4.replaceAll(".", "-")}.${dnsZone}`,
    localHostname: `ip-${localIpv4.replaceAll(".", "-")}.${dnsZone}`,
    ...instance,
  };
  const node: NodeSettings = {
    kubernetesVersion: "1.32",
    cluster: {
      name: "demo",
      endpoint: `https://0123456789ABCDEF0123456789ABCDEF.gr7.${region}.eks.${partition.dnsSuffix}`,
      certificateAuthorityPem: TEST_CA_PEM,
      ipFamily: "ipv4",
      serviceCidr: "10.100.0.0/16",
      enableOutpost: false,
      source: "describe-cluster",
      ...cluster,
    },
    instance: inst,
    region,
    partition: partition.id,
    dnsSuffix: partition.dnsSuffix,
    nodeIp: inst.localIpv4,
    nodeName: inst.hostname,
    providerId: `aws:///${inst.availabilityZone}/${inst.instanceId}`,
    clusterDns: ["10.100.0.10"],
    maxPods: 29,
    maxPodsSource: "eni-table",
    kubeReserved: { cpu: "70m", "ephemeral-storage": "1Gi", memory: "574Mi" },
    evictionHard: { "memory.available": "100Mi", "nodefs.available": "10%", "nodefs.inodesFree": "5%" },
    sandboxImage: sandboxImage({ region, fips, dnsSuffix: partition.dnsSuffix }),
    sandboxRegistry: ecrRegistry({ region, fips, dnsSuffix: partition.dnsSuffix }).registry,
    kubeletFlags: [],
    kubeletConfigOverrides: {},
    environment: {},
    featureGates: { InstanceIdNodeName: false, FastImagePull: false },
    ...rest,
  };
  return node;
}
