import assert from "node:assert/strict";
import { ConfigError, MetadataError } from "../../../lib/errors.ts";
import { eniLimits } from "../../../eks/kubelet/eni_limits.ts";
import {
  DEFAULT_MAX_PODS,
  maxPods,
  type MaxPodsInput,
  resolveMaxPods,
} from "../../../eks/kubelet/max_pods.ts";
import {
  cpuMillicoresToReserve,
  evictionHard,
  kubeReserved,
  memoryMebibytesToReserve,
} from "../../../eks/kubelet/reserved.ts";
import { formatIpv6, ipFamilyOfCidr, parseIpv4, parseIpv6 } from "../../../lib/cidr.ts";
import {
  clusterDnsFromCidr,
  type ClusterDnsInput,
  legacyClusterDns,
  resolveClusterDns,
} from "../../../eks/kubelet/cluster_dns.ts";
import { nodeIp, providerId } from "../../../eks/kubelet/node_ip.ts";

function limits(type: string): { enis: number; ipsPerEni: number } {
  const l = eniLimits(type);
  assert.ok(l, `${type} is in the ENI table`);
  return l;
}

Deno.test("max pods: secondary-IP formula on the ENI table, uncapped by default like bootstrap.sh", () => {
  const table: [string, number][] = [
    ["t3.micro", 4], // 2 × (2 − 1) + 2
    ["m5.large", 29], // 3 × 9 + 2
    ["m5.xlarge", 58], // 4 × 14 + 2
    ["m5.8xlarge", 234], // 8 × 29 + 2
    ["m5.24xlarge", 737], // 15 × 49 + 2: the table value, no ceiling
  ];
  for (const [type, want] of table) {
    const r = maxPods(limits(type));
    assert.equal(r.maxPods, want, type);
    assert.equal(r.uncapped, want, type);
    assert.equal(r.mode, "secondary-ips");
    assert.equal(r.ceiling, undefined);
  }
});

Deno.test("max pods: prefix delegation × 16 with the 110 / 250 ceiling (250 only above 30 vCPUs)", () => {
  const table: [
    string,
    MaxPodsInput,
    { maxPods: number; uncapped: number; ceiling: number; assumed: boolean },
  ][] = [
    ["t3.micro PD, under the ceiling", { ...limits("t3.micro"), prefixDelegation: true, vcpus: 2 }, {
      maxPods: 34, // 2 × (1 × 16) + 2
      uncapped: 34,
      ceiling: 110,
      assumed: false,
    }],
    ["m5.large PD", { ...limits("m5.large"), prefixDelegation: true, vcpus: 2 }, {
      maxPods: 110,
      uncapped: 434, // 3 × (9 × 16) + 2
      ceiling: 110,
      assumed: false,
    }],
    ["m5.xlarge PD", { ...limits("m5.xlarge"), prefixDelegation: true, vcpus: 4 }, {
      maxPods: 110,
      uncapped: 898,
      ceiling: 110,
      assumed: false,
    }],
    ["exactly 30 vCPUs stays at 110", { enis: 8, ipsPerEni: 30, prefixDelegation: true, vcpus: 30 }, {
      maxPods: 110,
      uncapped: 3714,
      ceiling: 110,
      assumed: false,
    }],
    ["m5.8xlarge PD, 32 vCPUs", { ...limits("m5.8xlarge"), prefixDelegation: true, vcpus: 32 }, {
      maxPods: 250,
      uncapped: 3714,
      ceiling: 250,
      assumed: false,
    }],
    ["vCPUs unknown: the low ceiling is assumed", { ...limits("m5.8xlarge"), prefixDelegation: true }, {
      maxPods: 110,
      uncapped: 3714,
      ceiling: 110,
      assumed: true,
    }],
    ["ceiling asked for on secondary IPs (max-pods-calculator.sh)", {
      ...limits("m5.24xlarge"),
      ceiling: true,
      vcpus: 96,
    }, {
      maxPods: 250,
      uncapped: 737,
      ceiling: 250,
      assumed: false,
    }],
  ];
  for (const [name, input, want] of table) {
    const r = maxPods(input);
    assert.deepEqual(
      { maxPods: r.maxPods, uncapped: r.uncapped, ceiling: r.ceiling, assumed: r.vcpusAssumed },
      want,
      name,
    );
  }
  assert.equal(maxPods({ ...limits("m5.large"), prefixDelegation: true, ceiling: false }).maxPods, 434);
  assert.equal(maxPods({ ...limits("m5.large"), prefixDelegation: true }).mode, "prefix-delegation");
});

Deno.test("max pods: custom networking drops an ENI, maxEnis caps them, bad input is a ConfigError", () => {
  assert.equal(maxPods({ ...limits("m5.large"), customNetworking: true }).maxPods, 20); // 2 × 9 + 2
  assert.equal(maxPods({ ...limits("m5.xlarge"), maxEnis: 2 }).maxPods, 30); // 2 × 14 + 2
  assert.equal(maxPods({ ...limits("m5.xlarge"), maxEnis: 9 }).maxPods, 58);
  for (
    const bad of [{ enis: 0, ipsPerEni: 10 }, { enis: 3, ipsPerEni: 1.5 }, {
      enis: 3,
      ipsPerEni: 10,
      vcpus: 0,
    }]
  ) {
    assert.throws(() => maxPods(bad), ConfigError, JSON.stringify(bad));
  }
});

Deno.test("resolveMaxPods: says where the value came from", () => {
  const table = maxPods(limits("m5.large"));
  const pd = maxPods({ ...limits("m5.large"), prefixDelegation: true, vcpus: 2 });
  const cases: [string, Parameters<typeof resolveMaxPods>[0], ReturnType<typeof resolveMaxPods>][] = [
    ["table", { computed: table }, { kubeletMaxPods: 29, reservedForPods: 29, source: "eni-table" }],
    ["useMaxPods true", { computed: table, useMaxPods: true }, {
      kubeletMaxPods: 29,
      reservedForPods: 29,
      source: "eni-table",
    }],
    ["prefix delegation", { computed: pd }, {
      kubeletMaxPods: 110,
      reservedForPods: 110,
      source: "prefix-delegation",
    }],
    ["override wins", { computed: pd, kubeletConfigMaxPods: 58, useMaxPods: false }, {
      kubeletMaxPods: 58,
      reservedForPods: 58,
      source: "override",
    }],
    // amazon-eks-ami#1698: the kubelet keeps its default of 110 pods, so reserve for 110, not 29.
    ["--use-max-pods false", { computed: table, useMaxPods: false }, {
      reservedForPods: DEFAULT_MAX_PODS,
      source: "kubelet-default",
    }],
    ["unknown instance type", {}, {
      kubeletMaxPods: DEFAULT_MAX_PODS,
      reservedForPods: 110,
      source: "default",
    }],
  ];
  for (const [name, input, want] of cases) assert.deepEqual(resolveMaxPods(input), want, name);
  assert.throws(() => resolveMaxPods({ kubeletConfigMaxPods: 0 }), ConfigError);
});

Deno.test("kube-reserved memory: 11 × maxPods + 255 Mi", () => {
  for (const [pods, mi] of [[29, 574], [58, 893], [110, 1465], [250, 3005], [737, 8362]]) {
    assert.equal(memoryMebibytesToReserve(pods), mi, `${pods} pods`);
  }
  assert.throws(() => memoryMebibytesToReserve(0), ConfigError);
});

Deno.test("kube-reserved CPU: 6% / 1% / 0.5% / 0.25% bands", () => {
  const table: [number, number][] = [
    [1, 60], // 6% of 1000m
    [2, 70], // + 1% of the second core
    [3, 75], // + 0.5% of the third
    [4, 80],
    [8, 90], // + 0.25% of 4000m
    [48, 190],
    [96, 310], // 80 + 0.25% of 92000m
  ];
  for (const [cores, milli] of table) assert.equal(cpuMillicoresToReserve(cores), milli, `${cores} cores`);
  assert.throws(() => cpuMillicoresToReserve(0), ConfigError);
  assert.throws(() => cpuMillicoresToReserve(2.5), ConfigError);
});

Deno.test("kubeReserved map and evictionHard match bootstrap.sh / nodeadm", () => {
  assert.deepEqual(kubeReserved({ maxPods: 29, vcpus: 2 }), {
    cpu: "70m",
    "ephemeral-storage": "1Gi",
    memory: "574Mi",
  });
  assert.deepEqual(kubeReserved({ maxPods: 250, vcpus: 96 }), {
    cpu: "310m",
    "ephemeral-storage": "1Gi",
    memory: "3005Mi",
  });
  assert.deepEqual(evictionHard(), {
    "memory.available": "100Mi",
    "nodefs.available": "10%",
    "nodefs.inodesFree": "5%",
  });
  const e = evictionHard();
  e["imagefs.available"] = "15%";
  assert.equal(evictionHard()["imagefs.available"], undefined, "each call returns a fresh copy");
});

Deno.test("cluster DNS from the service CIDR: IPv4 .10 of the network, IPv6 ::a", () => {
  const table: [string, string][] = [
    ["10.100.0.0/16", "10.100.0.10"],
    ["172.20.0.0/16", "172.20.0.10"],
    ["192.168.0.0/24", "192.168.0.10"],
    ["10.0.0.0/28", "10.0.0.10"],
    ["10.100.5.0/16", "10.100.0.10"], // host bits cleared (the text rule would say 10.100.5.10)
    [" 10.100.0.0/16\n", "10.100.0.10"],
    ["fd00::/108", "fd00::a"],
    ["fd12:3456:789a:1::/108", "fd12:3456:789a:1::a"],
    ["FD00:0:0:0:0:0:0:0/108", "fd00::a"],
  ];
  for (const [cidr, want] of table) assert.equal(clusterDnsFromCidr(cidr), want, cidr);
  for (
    const bad of ["10.100.0.0", "10.100.0.0/33", "banana/16", "10.0.0.0/29", "fd00::/125", "1.2.3/8", ""]
  ) {
    assert.throws(() => clusterDnsFromCidr(bad), ConfigError, bad);
  }
});

Deno.test("cluster DNS: override, service CIDR, then bootstrap.sh's VPC heuristic", () => {
  const cases: [string, ClusterDnsInput, string[], string][] = [
    ["override list", { override: "10.0.0.10, 10.0.0.11", serviceCidr: "172.20.0.0/16" }, [
      "10.0.0.10",
      "10.0.0.11",
    ], "override"],
    ["override array", { override: ["fd00::a"] }, ["fd00::a"], "override"],
    ["ipv4 CIDR", { serviceCidr: "172.20.0.0/16" }, ["172.20.0.10"], "service-cidr"],
    ["ipv6 CIDR, family inferred", { serviceCidr: "fd00::/108" }, ["fd00::a"], "service-cidr"],
    [
      "no CIDR, VPC not in 10/8",
      { vpcIpv4CidrBlocks: ["192.168.0.0/16"] },
      ["10.100.0.10"],
      "legacy-vpc-heuristic",
    ],
    ["CIDR None, VPC in 10/8", { serviceCidr: "None", vpcIpv4CidrBlocks: ["10.0.0.0/16"] }, [
      "172.20.0.10",
    ], "legacy-vpc-heuristic"],
    ["any block in 10/8 counts", { vpcIpv4CidrBlocks: ["172.31.0.0/16", "10.1.0.0/16"] }, [
      "172.20.0.10",
    ], "legacy-vpc-heuristic"],
    ["nothing known", {}, ["10.100.0.10"], "legacy-vpc-heuristic"],
    [
      "empty override ignored",
      { override: " , ", serviceCidr: "10.100.0.0/16" },
      ["10.100.0.10"],
      "service-cidr",
    ],
  ];
  for (const [name, input, ips, source] of cases) {
    assert.deepEqual(resolveClusterDns(input), { ips, source }, name);
  }
  assert.throws(() => resolveClusterDns({ ipFamily: "ipv6" }), ConfigError);
  assert.throws(() => resolveClusterDns({ ipFamily: "ipv4", serviceCidr: "fd00::/108" }), ConfigError);
  assert.equal(legacyClusterDns([" 10.0.0.0/16"]), "172.20.0.10");
  assert.equal(legacyClusterDns(["100.64.0.0/16"]), "10.100.0.10", "100.x is not 10.x");
});

Deno.test("CIDR helpers: strict parsing, RFC 5952 output, family", () => {
  assert.equal(parseIpv4("10.0.0.1"), 167772161n);
  for (const bad of ["01.2.3.4", "256.0.0.1", "1.2.3", "1.2.3.4.5", "a.b.c.d"]) {
    assert.equal(parseIpv4(bad), undefined, bad);
  }
  for (const bad of ["1::2::3", ":::", "12345::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "fe80::1%eth0"]) {
    assert.equal(parseIpv6(bad), undefined, bad);
  }
  const fmt: [string, string][] = [
    ["::", "::"],
    ["::1", "::1"],
    ["2001:DB8:0:0:0:0:0:1", "2001:db8::1"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"], // one zero group is not compressed
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"], // the longest run is
    ["::ffff:10.0.0.1", "::ffff:a00:1"],
  ];
  for (const [text, want] of fmt) assert.equal(formatIpv6(parseIpv6(text)!), want, text);
  assert.equal(ipFamilyOfCidr("10.100.0.0/16"), "ipv4");
  assert.equal(ipFamilyOfCidr("fd00::/108"), "ipv6");
});

Deno.test("node IP by IP family, and the provider ID", () => {
  assert.equal(nodeIp({ ipFamily: "ipv4", localIpv4: "10.0.1.5\n", ipv6: "2600:1f14::1" }), "10.0.1.5");
  assert.equal(
    nodeIp({ ipFamily: "ipv6", localIpv4: "10.0.1.5", ipv6: "2600:1f14:abc::1\n2600:1f14:abc::2" }),
    "2600:1f14:abc::1",
  );
  assert.throws(() => nodeIp({ ipFamily: "ipv4" }), MetadataError);
  assert.throws(() => nodeIp({ ipFamily: "ipv4", localIpv4: "not-an-ip" }), MetadataError);
  assert.throws(() => nodeIp({ ipFamily: "ipv6", localIpv4: "10.0.1.5", ipv6: "" }), MetadataError);
  assert.equal(providerId("us-west-2a", "i-0123456789abcdef0"), "aws:///us-west-2a/i-0123456789abcdef0");
  assert.equal(providerId("us-west-2-lax-1a", "i-0abc"), "aws:///us-west-2-lax-1a/i-0abc");
  assert.throws(() => providerId("us-west-2a/../x", "i-0abc"), MetadataError);
  assert.throws(() => providerId("us-west-2a", ""), MetadataError);
});
