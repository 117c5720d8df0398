import assert from "node:assert/strict";
import { ConfigError } from "../../../lib/errors.ts";
import type { ClusterInfo } from "../../../eks/aws/eks_api.ts";
import type { InstanceMetadata } from "../../../eks/aws/imds.ts";
import {
  countProcessors,
  kubeletVersionOutput,
  kubernetesMinor,
  maxPodsOverride,
  missingClusterFields,
  needsInstanceTypeLookup,
  type NodeInputs,
  releaseKubernetesVersion,
  resolveNodeSettings,
} from "../../../eks/api/resolve_node_settings.ts";
import type { NodeConfigInput, NodeConfigSpec } from "../../../eks/api/nodeconfig.ts";

const PEM = "-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n";
const CA = btoa(PEM);
const ENDPOINT = "https://ABC.gr7.us-west-2.eks.amazonaws.com";

function instance(over: Partial<InstanceMetadata> = {}): InstanceMetadata {
  return {
    instanceId: "i-0123456789abcdef0",
    instanceType: "m5.large",
    region: "us-west-2",
    availabilityZone: "us-west-2a",
    localIpv4: "10.0.1.23",
    mac: "0e:49:61:0f:c3:11",
    vpcIpv4Cidrs: ["10.0.0.0/16"],
    hostname: "ip-10-0-1-23.us-west-2.compute.internal",
    localHostname: "ip-10-0-1-23.us-west-2.compute.internal",
    ...over,
  };
}

function config(spec: NodeConfigSpec): NodeConfigInput {
  return { apiVersion: "node.eks.aws/v1alpha1", kind: "NodeConfig", spec };
}

const FULL_CLUSTER = {
  name: "prod",
  apiServerEndpoint: ENDPOINT,
  certificateAuthority: CA,
  cidr: "10.100.0.0/16",
};

function inputs(over: Partial<NodeInputs> = {}): NodeInputs {
  return {
    nodeConfig: config({ cluster: FULL_CLUSTER }),
    origin: "user data",
    kind: "nodeconfig",
    instance: instance(),
    installedKubernetesVersion: "1.32.3",
    privateDnsName: "ip-10-0-1-23.us-west-2.compute.internal",
    cpuCount: 2,
    ...over,
  };
}

function described(over: Partial<ClusterInfo> = {}, fromCache = false): NodeInputs["described"] {
  return {
    info: {
      endpoint: ENDPOINT,
      certificateAuthority: CA,
      serviceIpv4Cidr: "172.20.0.0/16",
      ipFamily: "ipv4",
      version: "1.31",
      ...over,
    },
    fromCache,
  };
}

Deno.test("node settings: a complete NodeConfig on m5.large resolves every field without AWS answers", () => {
  const s = resolveNodeSettings(inputs());
  assert.deepEqual(s.cluster, {
    name: "prod",
    endpoint: ENDPOINT,
    certificateAuthorityPem: PEM,
    ipFamily: "ipv4",
    serviceCidr: "10.100.0.0/16",
    enableOutpost: false,
    source: "nodeconfig",
  });
  assert.equal(s.kubernetesVersion, "1.32");
  assert.equal(s.region, "us-west-2");
  assert.equal(s.partition, "aws");
  assert.equal(s.dnsSuffix, "amazonaws.com");
  assert.equal(s.nodeIp, "10.0.1.23");
  assert.equal(s.nodeName, "ip-10-0-1-23.us-west-2.compute.internal");
  assert.equal(s.providerId, "aws:///us-west-2a/i-0123456789abcdef0");
  assert.deepEqual(s.clusterDns, ["10.100.0.10"]);
  assert.equal(s.maxPods, 29);
  assert.equal(s.maxPodsSource, "eni-table");
  assert.deepEqual(s.kubeReserved, { cpu: "70m", "ephemeral-storage": "1Gi", memory: "574Mi" });
  assert.deepEqual(s.evictionHard, {
    "memory.available": "100Mi",
    "nodefs.available": "10%",
    "nodefs.inodesFree": "5%",
  });
  assert.equal(s.sandboxImage, "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.10");
  assert.equal(s.sandboxRegistry, "602401143452.dkr.ecr.us-west-2.amazonaws.com");
  assert.deepEqual(s.kubeletFlags, []);
  assert.deepEqual(s.kubeletConfigOverrides, {});
  assert.deepEqual(s.environment, {});
  assert.equal(s.containerdConfigOverride, undefined);
  assert.equal(s.containerdConfigReplacement, undefined);
});

Deno.test("node settings: cluster source and fields from the inputs, DescribeCluster or its cache", () => {
  const cases: {
    name: string;
    in: Partial<NodeInputs>;
    source: string;
    cidr?: string;
    dns: string[];
    k8s: string;
  }[] = [
    {
      name: "all given",
      in: {},
      source: "nodeconfig",
      cidr: "10.100.0.0/16",
      dns: ["10.100.0.10"],
      k8s: "1.32",
    },
    {
      name: "bootstrap flags with everything",
      in: { kind: "bootstrap-flags", origin: "bootstrap.sh flags" },
      source: "bootstrap-flags",
      cidr: "10.100.0.0/16",
      dns: ["10.100.0.10"],
      k8s: "1.32",
    },
    {
      name: "CA missing: DescribeCluster fills it and the CIDR; installed version still wins",
      in: {
        nodeConfig: config({ cluster: { name: "prod", apiServerEndpoint: ENDPOINT } }),
        described: described(),
      },
      source: "describe-cluster",
      cidr: "172.20.0.0/16",
      dns: ["172.20.0.10"],
      k8s: "1.32",
    },
    {
      name: "both missing, answer from the cache, no installed version: the cluster's",
      in: {
        nodeConfig: config({ cluster: { name: "prod" } }),
        described: described({}, true),
        installedKubernetesVersion: undefined,
      },
      source: "cache",
      cidr: "172.20.0.0/16",
      dns: ["172.20.0.10"],
      k8s: "1.31",
    },
    {
      name: "no CIDR anywhere: bootstrap.sh's VPC heuristic (10.x VPC)",
      in: {
        nodeConfig: config({
          cluster: { name: "prod", apiServerEndpoint: ENDPOINT, certificateAuthority: CA },
        }),
      },
      source: "nodeconfig",
      cidr: undefined,
      dns: ["172.20.0.10"],
      k8s: "1.32",
    },
  ];
  for (const c of cases) {
    const s = resolveNodeSettings(inputs(c.in));
    assert.equal(s.cluster.source, c.source, c.name);
    assert.equal(s.cluster.serviceCidr, c.cidr, c.name);
    assert.deepEqual(s.clusterDns, c.dns, c.name);
    assert.equal(s.kubernetesVersion, c.k8s, c.name);
    assert.equal(s.cluster.certificateAuthorityPem, PEM, c.name);
  }
});

Deno.test("node settings: an IPv6 cluster from DescribeCluster takes the IPv6 address, CIDR and DNS", () => {
  const s = resolveNodeSettings(inputs({
    nodeConfig: config({ cluster: { name: "v6" } }),
    instance: instance({ ipv6: "2600:1f14:abc:de00::1" }),
    described: described({ ipFamily: "ipv6", serviceIpv6Cidr: "fd00:1234::/108" }),
  }));
  assert.equal(s.cluster.ipFamily, "ipv6");
  assert.equal(s.cluster.serviceCidr, "fd00:1234::/108");
  assert.deepEqual(s.clusterDns, ["fd00:1234::a"]);
  assert.equal(s.nodeIp, "2600:1f14:abc:de00::1");
});

Deno.test("node settings: max pods from flags, kubelet config, ENI table, EC2, prefix delegation, --use-max-pods", () => {
  const ec2 = { enis: 4, ipsPerEni: 15, vcpus: 4 };
  const cases: {
    name: string;
    in: Partial<NodeInputs>;
    maxPods: number | undefined;
    source: string;
    reserved: { cpu: string; memory: string };
  }[] = [
    {
      name: "ENI table",
      in: {},
      maxPods: 29,
      source: "eni-table",
      reserved: { cpu: "70m", memory: "574Mi" },
    },
    {
      name: "kubelet config maxPods",
      in: { nodeConfig: config({ cluster: FULL_CLUSTER, kubelet: { config: { maxPods: 50 } } }) },
      maxPods: 50,
      source: "override",
      reserved: { cpu: "70m", memory: "805Mi" },
    },
    {
      name: "--max-pods flag wins over the config, as in the kubelet",
      in: {
        nodeConfig: config({
          cluster: FULL_CLUSTER,
          kubelet: { config: { maxPods: 50 }, flags: ["--node-labels=a=b", "--max-pods", "110"] },
        }),
      },
      maxPods: 110,
      source: "override",
      reserved: { cpu: "70m", memory: "1465Mi" },
    },
    {
      // amazon-eks-ami#1698: kubelet admits its default 110 pods, so reserve for 110, not the ENI's 29.
      name: "--use-max-pods false: nothing written, reserved for kubelet's 110",
      in: { legacy: { useMaxPods: false } },
      maxPods: undefined,
      source: "kubelet-default",
      reserved: { cpu: "70m", memory: "1465Mi" },
    },
    {
      // nodeadm e2e case kubelet-config-new-instance-type: maxPods 110, kubeReserved memory 1465Mi.
      name: "a type neither the table nor EC2 knows: 110 written and reserved for",
      in: { instance: instance({ instanceType: "mock-type.large" }) },
      maxPods: 110,
      source: "default",
      reserved: { cpu: "70m", memory: "1465Mi" },
    },
    {
      name: "prefix delegation on 2 vCPUs: capped at 110",
      in: { prefixDelegation: true },
      maxPods: 110,
      source: "prefix-delegation",
      reserved: { cpu: "70m", memory: "1465Mi" },
    },
    {
      name: "unknown type: DescribeInstanceTypes limits and vCPUs (not the CPU count)",
      in: { instance: instance({ instanceType: "zz9.large" }), instanceType: ec2, cpuCount: 96 },
      maxPods: 58,
      source: "ec2-describe-instance-types",
      reserved: { cpu: "80m", memory: "893Mi" },
    },
    {
      name: "CPU count sizes kube-reserved when EC2 was not asked",
      in: { cpuCount: 96 },
      maxPods: 29,
      source: "eni-table",
      reserved: { cpu: "310m", memory: "574Mi" },
    },
    {
      name: "unknown type with an override needs no limits",
      in: {
        instance: instance({ instanceType: "zz9.large" }),
        nodeConfig: config({ cluster: FULL_CLUSTER, kubelet: { flags: ["--max-pods=20"] } }),
      },
      maxPods: 20,
      source: "override",
      reserved: { cpu: "70m", memory: "475Mi" },
    },
  ];
  for (const c of cases) {
    const s = resolveNodeSettings(inputs(c.in));
    assert.equal(s.maxPods, c.maxPods, c.name);
    assert.equal(s.maxPodsSource, c.source, c.name);
    assert.equal(s.kubeReserved.cpu, c.reserved.cpu, c.name);
    assert.equal(s.kubeReserved.memory, c.reserved.memory, c.name);
  }
});

Deno.test("node settings: bootstrap.sh legacy settings, FIPS, node name gate, NodeConfig pass-through", () => {
  const s = resolveNodeSettings(inputs({
    kind: "bootstrap-flags",
    origin: "bootstrap.sh flags",
    instance: instance({ region: "us-east-1", availabilityZone: "us-east-1b" }),
    legacy: {
      dnsClusterIp: ["169.254.20.10", "10.100.0.10"],
      pauseContainerAccount: "123456789012",
      pauseContainerVersion: "3.9",
    },
    fips: true,
    containerdConfigReplacement: "version = 2\n",
    nodeConfig: config({
      cluster: FULL_CLUSTER,
      featureGates: { InstanceIdNodeName: true },
      kubelet: { config: { clusterDNS: ["9.9.9.9"], serializeImagePulls: true }, flags: ["--v=4"] },
      containerd: { config: "[plugins]\n" },
      instance: { environment: { default: { HTTP_PROXY: "http://proxy:3128" } } },
    }),
  }));
  assert.deepEqual(s.clusterDns, ["169.254.20.10", "10.100.0.10"], "--dns-cluster-ip wins over clusterDNS");
  assert.equal(s.sandboxImage, "123456789012.dkr.ecr-fips.us-east-1.amazonaws.com/eks/pause:3.9");
  assert.equal(s.sandboxRegistry, "123456789012.dkr.ecr-fips.us-east-1.amazonaws.com");
  assert.equal(s.nodeName, "i-0123456789abcdef0");
  assert.equal(s.providerId, "aws:///us-east-1b/i-0123456789abcdef0");
  assert.deepEqual(s.kubeletFlags, ["--v=4"]);
  assert.deepEqual(s.kubeletConfigOverrides, { clusterDNS: ["9.9.9.9"], serializeImagePulls: true });
  assert.equal(s.containerdConfigOverride, "[plugins]\n");
  assert.equal(s.containerdConfigReplacement, "version = 2\n");
  assert.deepEqual(s.environment, { default: { HTTP_PROXY: "http://proxy:3128" } });

  const noLegacyDns = resolveNodeSettings(inputs({
    nodeConfig: config({ cluster: FULL_CLUSTER, kubelet: { config: { clusterDNS: ["9.9.9.9"] } } }),
  }));
  assert.deepEqual(noLegacyDns.clusterDns, ["9.9.9.9"], "kubelet config clusterDNS wins over the CIDR");

  const cn = resolveNodeSettings(
    inputs({ instance: instance({ region: "cn-north-1", availabilityZone: "cn-north-1a" }) }),
  );
  assert.equal(cn.partition, "aws-cn");
  assert.equal(cn.dnsSuffix, "amazonaws.com.cn");
  assert.equal(cn.sandboxImage, "918309763551.dkr.ecr.cn-north-1.amazonaws.com.cn/eks/pause:3.10");
});

Deno.test("node settings: instance.localStorage passes through when a strategy is set", () => {
  const ls = { strategy: "RAID10" as const, mountPath: "/mnt/fast", disabledMounts: ["PodLogs" as const] };
  const s = resolveNodeSettings(
    inputs({ nodeConfig: config({ cluster: FULL_CLUSTER, instance: { localStorage: ls } }) }),
  );
  assert.deepEqual(s.localStorage, ls);
  assert.equal(resolveNodeSettings(inputs()).localStorage, undefined, "no localStorage: no unit");
  const noStrategy = config({
    cluster: FULL_CLUSTER,
    instance: { localStorage: { mountPath: "/mnt/fast" } },
  });
  assert.equal(
    resolveNodeSettings(inputs({ nodeConfig: noStrategy })).localStorage,
    undefined,
    "no strategy: nothing",
  );
});

Deno.test("node settings: local Outposts clusters need an id, from the inputs or DescribeCluster", () => {
  const fromApi = resolveNodeSettings(inputs({
    nodeConfig: config({ cluster: { name: "edge" } }),
    described: described({
      id: "c0ffee00-1111-2222-3333-444455556666",
      outpost: { outpostArns: ["arn:op"] },
    }),
  }));
  assert.equal(fromApi.cluster.enableOutpost, true);
  assert.equal(fromApi.cluster.id, "c0ffee00-1111-2222-3333-444455556666");

  assert.throws(
    () =>
      resolveNodeSettings(
        inputs({ nodeConfig: config({ cluster: { ...FULL_CLUSTER, enableOutpost: true } }) }),
      ),
    (err) =>
      err instanceof ConfigError && /local Outposts cluster/.test(err.message) &&
      /spec\.cluster\.id/.test(err.hint ?? ""),
  );
});

Deno.test("node settings: missing or bad inputs are one ConfigError naming what", () => {
  const cases: { name: string; in: Partial<NodeInputs>; message: RegExp }[] = [
    {
      name: "no cluster name",
      in: { nodeConfig: config({ cluster: { apiServerEndpoint: ENDPOINT, certificateAuthority: CA } }) },
      message: /no cluster name in user data/,
    },
    {
      name: "no Kubernetes version anywhere",
      in: { installedKubernetesVersion: undefined },
      message: /cannot tell the Kubernetes version .*cluster prod/,
    },
    {
      name: "garbled installed version",
      in: { installedKubernetesVersion: "latest" },
      message: /installed Kubernetes version "latest"/,
    },
    {
      name: "1.26+ without the EC2 PrivateDnsName",
      in: { privateDnsName: undefined },
      message: /node name: EC2 DescribeInstances was not consulted/,
    },
    {
      name: "maxPods not a number",
      in: { nodeConfig: config({ cluster: FULL_CLUSTER, kubelet: { config: { maxPods: "lots" } } }) },
      message: /spec\.kubelet\.config\.maxPods in user data must be a whole number/,
    },
    {
      name: "endpoint missing and DescribeCluster not consulted",
      in: { nodeConfig: config({ cluster: { name: "prod", certificateAuthority: CA } }) },
      message: /no apiServerEndpoint in user data/,
    },
    {
      name: "DescribeCluster CA that is not a PEM",
      in: {
        nodeConfig: config({ cluster: { name: "prod" } }),
        described: described({ certificateAuthority: btoa("nope") }),
      },
      message: /certificate authority of cluster prod from DescribeCluster/,
    },
  ];
  for (const c of cases) {
    assert.throws(() => resolveNodeSettings(inputs(c.in)), (err) => {
      assert.ok(err instanceof ConfigError, `${c.name}: ${err}`);
      assert.match(err.message, c.message, c.name);
      return true;
    });
  }
});

Deno.test("node settings helpers: release file, kubelet --version, cpuinfo, minor versions", () => {
  const release: [string, string | undefined][] = [
    ["KUBERNETES_VERSION='1.32.3'\nARCH='x86_64'\n", "1.32.3"],
    ["# comment\nKUBERNETES_VERSION=1.32\n", "1.32"],
    ['KUBERNETES_VERSION="v1.31.7"', "1.31.7"],
    ["export KUBERNETES_VERSION=1.30.11\n", "1.30.11"],
    ["KUBERNETES_BUILD_DATE='2025-01-01'\n", undefined],
    ["", undefined],
  ];
  for (const [text, want] of release) {
    assert.equal(releaseKubernetesVersion(text), want, JSON.stringify(text));
  }

  assert.equal(kubeletVersionOutput("Kubernetes v1.32.3-eks-4096722\n"), "1.32.3");
  assert.equal(kubeletVersionOutput("kubelet: command not found"), undefined);

  assert.equal(countProcessors("processor\t: 0\nmodel name\t: x\n\nprocessor\t: 1\n"), 2);
  assert.equal(countProcessors("Processor : ARMv7\n"), undefined);

  const minors: [string, string | undefined][] = [
    ["1.32.3", "1.32"],
    ["1.32", "1.32"],
    ["v1.29.0-eks-abc", "1.29"],
    ["1", undefined],
    ["one.two", undefined],
  ];
  for (const [v, want] of minors) assert.equal(kubernetesMinor(v), want, v);
});

Deno.test("node settings helpers: which AWS calls the inputs need", () => {
  assert.deepEqual(missingClusterFields(config({ cluster: FULL_CLUSTER })), []);
  assert.deepEqual(missingClusterFields(config({ cluster: { name: "x", certificateAuthority: CA } })), [
    "apiServerEndpoint",
  ]);
  assert.deepEqual(missingClusterFields(config({})), ["apiServerEndpoint", "certificateAuthority"]);

  const plain = config({ cluster: FULL_CLUSTER });
  const pinned = config({ cluster: FULL_CLUSTER, kubelet: { flags: ["--max-pods=30"] } });
  assert.equal(needsInstanceTypeLookup("m5.large", plain, "user data"), false);
  assert.equal(needsInstanceTypeLookup("zz9.large", plain, "user data"), true);
  assert.equal(needsInstanceTypeLookup("zz9.large", pinned, "user data"), false);
  assert.equal(maxPodsOverride(pinned, "user data"), 30);
  assert.equal(maxPodsOverride(plain, "user data"), undefined);
  assert.throws(
    () => maxPodsOverride(config({ kubelet: { flags: ["--max-pods=0"] } }), "bootstrap.sh flags"),
    /kubelet flag --max-pods in bootstrap\.sh flags/,
  );
});
