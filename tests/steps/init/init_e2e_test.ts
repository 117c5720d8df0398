/**
 * Golden end-to-end cases for `eksnode init`, run through the real CLI (`deno run -A main.ts init --root T`)
 * against loopback IMDS, EKS and EC2 fakes. Each case is a row: the command line and/or user data, the
 * instance IMDS describes, the clusters EKS knows and the instance types EC2 knows. The runner bakes a
 * minimal image into a temp root, runs init, compares every file init wrote (plus a MODES listing and the
 * normalized stdout) with tests/golden/init-e2e/<case>/, then runs init again and expects no change and
 * no EKS call. Regenerate with `UPDATE_GOLDEN=1 deno test -A tests/steps/init/init_e2e_test.ts` and review the diff.
 */
import assert from "node:assert/strict";
import { eksnode } from "../../support/cli_run.ts";
import { type FakeInstanceType, start as startEc2 } from "../../../fakes/ec2.ts";
import { clusterJson, start as startEks } from "../../../fakes/eks.ts";
import { defaultMetadata, FAKE_MAC, start as startImds } from "../../../fakes/imds.ts";
import { BAKED, bakedRoot } from "../../../fakes/baked_root.ts";
import { TEST_CA_PEM } from "../../../fakes/node_settings.ts";
import { compareOrUpdate } from "../../support/golden.ts";
import { octalMode, snapshotTree } from "../../support/helpers.ts";

// ---------------------------------------------------------------------------------------------
// Inputs shared by the cases.

/** The test CA as NodeConfig `certificateAuthority` / bootstrap.sh `--b64-cluster-ca` carry it. */
const CA_B64 = btoa(TEST_CA_PEM);

/** An EKS API server endpoint of the shape EKS hands out, in `region`'s partition domain. */
function endpoint(region = "us-west-2", suffix = "amazonaws.com"): string {
  return `https://0123456789ABCDEF0123456789ABCDEF.gr7.${region}.eks.${suffix}`;
}

/** bootstrap.sh arguments that skip DescribeCluster: cluster name, CA and endpoint. */
function bootstrap(cluster: string, region = "us-west-2", suffix = "amazonaws.com"): string[] {
  return [cluster, "--b64-cluster-ca", CA_B64, "--apiserver-endpoint", endpoint(region, suffix)];
}

/** A NodeConfig document with a complete `spec.cluster`; `more` is YAML appended under `spec:`. */
function nodeConfig(more = "", cluster = "my-cluster", cidr = "10.100.0.0/16"): string {
  return `apiVersion: node.eks.aws/v1alpha1
kind: NodeConfig
spec:
  cluster:
    name: ${cluster}
    apiServerEndpoint: ${endpoint()}
    certificateAuthority: ${CA_B64}
    cidr: ${cidr}
${more}`;
}

/** What IMDS says about the instance; unset fields keep fakes/imds.ts defaults (m5.large, us-west-2). */
interface InstanceShape {
  region?: string;
  instanceType?: string;
  /** Give the primary interface an IPv6 address and the VPC an IPv6 block (default: IPv4 only). */
  ipv6?: boolean;
  /**
   * The VPC's DHCP option set names its own domain: IMDS `hostname` ends in it, while EC2's PrivateDnsName
   * (DescribeInstances) stays `ip-….compute.internal` (default: IMDS and EC2 agree).
   */
  dhcpDomain?: string;
}

/** EC2's PrivateDnsName of the instance in `region` (EC2 user guide: ec2.internal in us-east-1). */
function privateDnsName(region: string): string {
  return `ip-10-0-1-23.${region === "us-east-1" ? "ec2.internal" : `${region}.compute.internal`}`;
}

/** The IMDS tree for `shape`: region, zone, DNS names and identity document kept consistent. */
function instanceTree(shape: InstanceShape = {}): Record<string, string> {
  const tree = defaultMetadata();
  const region = shape.region ?? "us-west-2";
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

const CONTAINERD_MERGE = `[plugins.'io.containerd.cri.v1.images']
max_concurrent_downloads = 10

[plugins.'io.containerd.cri.v1.images'.registry]
config_path = "/etc/containerd/certs.d"
`;

/** Multipart user data: two NodeConfig parts (the second overrides and appends) around a shell part. */
const MIME_MERGE = `MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="==BOUNDARY=="

--==BOUNDARY==
Content-Type: application/node.eks.aws

${
  nodeConfig(`  kubelet:
    config:
      maxPods: 20
      serializeImagePulls: true
    flags:
      - --node-labels=nodegroup=general
`)
}
--==BOUNDARY==
Content-Type: text/x-shellscript; charset="us-ascii"

#!/bin/bash
echo "not for eksnode" > /var/log/custom.log

--==BOUNDARY==
Content-Type: application/node.eks.aws

apiVersion: node.eks.aws/v1alpha1
kind: NodeConfig
spec:
  kubelet:
    config:
      maxPods: 40
    flags:
      - --register-with-taints=dedicated=general:NoSchedule
  instance:
    environment:
      HTTPS_PROXY: http://proxy.internal:3128

--==BOUNDARY==--
`;

// ---------------------------------------------------------------------------------------------
// The cases.

interface Case {
  /** Golden directory under tests/golden/init-e2e/. */
  name: string;
  /** Arguments after `init` (the runner appends `--root T`). */
  args?: string[];
  /** User data IMDS serves (none: 404). */
  userData?: string;
  instance?: InstanceShape;
  /** Clusters the EKS fake answers DescribeCluster for. */
  clusters?: Record<string, Record<string, unknown>>;
  /** The EKS fake answers this many calls with ThrottlingException first. */
  throttleFirst?: number;
  /** Instance types the EC2 fake knows (default: m5.large). */
  ec2Types?: Record<string, FakeInstanceType>;
  /**
   * API calls the first run must make (default: no EKS call, no DescribeInstanceTypes, one
   * DescribeInstances for the node name).
   */
  calls?: { eks?: number; describeInstanceTypes?: number; describeInstances?: number };
  /** KUBERNETES_VERSION of the baked image (default: fakes/baked_root.ts's 1.32.3). */
  kubernetesVersion?: string;
  /** Files of the machine to put under the root before init (not outputs), e.g. sysfs entries. */
  machine?: Record<string, string>;
  /** Lines (or parts of lines) the first run's stdout must contain: what a user would check. */
  says: string[];
}

const CASES: Case[] = [
  {
    name: "minimal-bootstrap-flags",
    args: bootstrap("my-cluster"),
    // No service CIDR: bootstrap.sh's guess, 172.20.0.10 because the VPC has a 10.x block.
    says: [
      "(from bootstrap-flags), ipv4",
      "cluster DNS 172.20.0.10",
      "max pods 29 (eni-table); kube-reserved cpu=70m, ephemeral-storage=1Gi, memory=574Mi",
      "sandbox image 602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.10",
    ],
  },
  {
    name: "minimal-nodeconfig",
    userData: nodeConfig(),
    says: ["NodeConfig from imds://user-data: 1 part merged", "(from nodeconfig)", "cluster DNS 10.100.0.10"],
  },
  {
    name: "mime-multipart-merge",
    userData: MIME_MERGE,
    says: ["2 parts merged", "max pods 40 (override)"],
  },
  {
    name: "kubelet-config-override",
    userData: nodeConfig(`  kubelet:
    config:
      maxPods: 58
      clusterDNS: [169.254.20.10]
      featureGates:
        InPlacePodVerticalScaling: true
      kubeReserved:
        memory: 1Gi
      registerWithTaints:
        - key: dedicated
          value: batch
          effect: NoSchedule
`),
    says: ["cluster DNS 169.254.20.10", "max pods 58 (override)"],
  },
  {
    name: "extra-kubelet-flags",
    args: [
      ...bootstrap("my-cluster"),
      "--kubelet-extra-args",
      `--node-labels=team=data,tier=1  --register-with-taints="dedicated=gpu:NoSchedule" ` +
      `--eviction-hard='memory.available<5%' --v=4`,
    ],
    says: ["max pods 29 (eni-table)"],
  },
  {
    name: "containerd-config-merge",
    userData: nodeConfig(`  containerd:
    config: |
${CONTAINERD_MERGE.replace(/^/gm, "      ")}
`),
    says: ["sandbox image 602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.10"],
  },
  {
    name: "prefix-delegation",
    args: [...bootstrap("my-cluster"), "--service-ipv4-cidr", "10.100.0.0/16", "--prefix-delegation"],
    // m5.large: 3 ENIs × (10 − 1) × 16 + 2 = 434, capped at 110 (2 vCPUs).
    says: ["max pods 110 (prefix-delegation)"],
  },
  {
    name: "unknown-instance-type",
    userData: nodeConfig(),
    instance: { instanceType: "zz9.large" },
    ec2Types: { "zz9.large": { enis: 4, ipsPerEni: 15, vcpus: 4, hypervisor: "nitro" } },
    calls: { describeInstanceTypes: 1, describeInstances: 1 },
    // 4 × (15 − 1) + 2 = 58; kube-reserved for 4 vCPUs (from EC2, not the 2 in /proc/cpuinfo).
    says: ["zz9.large in us-west-2a", "max pods 58", "cpu=80m", "memory=893Mi"],
  },
  {
    name: "ipv6",
    userData: nodeConfig("", "my-cluster", "fd30:1c53:5f8a::/108"),
    instance: { ipv6: true },
    says: [
      "ipv6, service CIDR fd30:1c53:5f8a::/108",
      "node IP 2600:1f14:abc:de00::1",
      "cluster DNS fd30:1c53:5f8a::a",
    ],
  },
  {
    name: "describe-cluster-throttled",
    userData:
      "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  cluster:\n    name: lazy-cluster\n",
    clusters: {
      "lazy-cluster": clusterJson("lazy-cluster", {
        version: "1.32",
        endpoint: endpoint(),
        certificateAuthority: { data: CA_B64 },
        kubernetesNetworkConfig: { serviceIpv4Cidr: "10.100.0.0/16", ipFamily: "ipv4" },
      }),
    },
    throttleFirst: 2,
    calls: { eks: 3 },
    says: ["read with EKS DescribeCluster", "(from describe-cluster)", "cluster DNS 10.100.0.10"],
  },
  {
    name: "custom-pause-registry",
    args: [
      ...bootstrap("my-cluster"),
      "--pause-container-account",
      "123456789012",
      "--pause-container-version",
      "3.9",
    ],
    says: ["sandbox image 123456789012.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.9"],
  },
  {
    name: "fips-us-east-1",
    args: [...bootstrap("my-cluster", "us-east-1"), "--fips"],
    instance: { region: "us-east-1" },
    says: [
      "node ip-10-0-1-23.ec2.internal",
      "sandbox image 602401143452.dkr.ecr-fips.us-east-1.amazonaws.com/eks/pause:3.10",
    ],
  },
  {
    name: "china-cn-north-1",
    args: bootstrap("my-cluster", "cn-north-1", "amazonaws.com.cn"),
    instance: { region: "cn-north-1" },
    says: [
      "region cn-north-1 (partition aws-cn, amazonaws.com.cn)",
      "sandbox image 918309763551.dkr.ecr.cn-north-1.amazonaws.com.cn/eks/pause:3.10",
    ],
  },
  {
    name: "govcloud-us-gov-west-1",
    args: bootstrap("my-cluster", "us-gov-west-1"),
    instance: { region: "us-gov-west-1" },
    says: [
      "region us-gov-west-1 (partition aws-us-gov, amazonaws.com)",
      "sandbox image 013241004608.dkr.ecr.us-gov-west-1.amazonaws.com/eks/pause:3.10",
    ],
  },
  {
    // nodeadm e2e kubelet-config-new-instance-type: EC2 does not know the type either → maxPods 110 and
    // kube-reserved for 110 (1465Mi), not an error.
    name: "instance-type-nobody-knows",
    userData: nodeConfig(),
    instance: { instanceType: "mock-type.large" },
    kubernetesVersion: "1.35.0",
    calls: { describeInstanceTypes: 1, describeInstances: 1 },
    says: [
      'EC2 does not know instance type "mock-type.large"',
      "max pods falls back to kubelet's default of 110",
      "max pods 110 (default); kube-reserved cpu=70m, ephemeral-storage=1Gi, memory=1465Mi",
    ],
  },
  {
    // The node is named after EC2's PrivateDnsName, not the IMDS hostname of a custom DHCP domain
    // (amazon-eks-ami#1264), or the AWS cloud controller manager cannot find it.
    name: "custom-dhcp-domain",
    userData: nodeConfig(),
    instance: { dhcpDomain: "corp.example.com" },
    says: [
      "node name ip-10-0-1-23.us-west-2.compute.internal: EC2 PrivateDnsName",
      "IMDS hostname ip-10-0-1-23.corp.example.com differs",
      "node ip-10-0-1-23.us-west-2.compute.internal (aws:///us-west-2a/",
    ],
  },
  {
    // nodeadm e2e kubelet-config-set-empty on 1.35: the user's empty cgroups win; DRA, the CSI count
    // gate and graceful shutdown are on; an NVIDIA card gets the GPU label.
    name: "kubelet-1.35-gpu",
    userData: nodeConfig(`  kubelet:
    config:
      kubeReservedCgroup: ""
      systemReservedCgroup: ""
`),
    kubernetesVersion: "1.35.0",
    machine: {
      "/sys/bus/pci/devices/0000:00:1e.0/vendor": "0x10de\n",
      "/sys/bus/pci/devices/0000:00:03.0/vendor": "0x1d0f\n",
    },
    says: ["kubernetes 1.35; node ip-10-0-1-23.us-west-2.compute.internal"],
  },
  {
    // amazon-eks-ami#1698: with --use-max-pods false kubelet admits its default 110 pods, so
    // kube-reserved is sized for 110 (1465Mi), not the ENI table's 29 (574Mi).
    name: "use-max-pods-false",
    args: [...bootstrap("my-cluster"), "--use-max-pods", "false"],
    says: [
      "max pods unset (kubelet default) (kubelet-default); kube-reserved cpu=70m, ephemeral-storage=1Gi, memory=1465Mi",
    ],
  },
  {
    // The InstanceIdNodeName feature gate names the node by its id: no DescribeInstances.
    name: "instance-id-node-name",
    userData: nodeConfig(`  featureGates:
    InstanceIdNodeName: true
`),
    calls: { describeInstances: 0 },
    says: ["node i-0123456789abcdef0 (aws:///us-west-2a/i-0123456789abcdef0)"],
  },
];

// ---------------------------------------------------------------------------------------------
// The runner.

/** The runner's journal holds timestamps; it is runner state, not an output of the steps. */
const JOURNAL = /^\/var\/lib\/eksnode\/journal(\/|$)/;

/**
 * The files init wrote under `root` (golden-relative path → text; the DescribeCluster cache's fetch time
 * replaced), and MODES: one line for each file, symlink and empty directory.
 */
async function outputs(root: string, machine: Record<string, string> = {}): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  const modes: string[] = [];
  /** Walks `rel`; returns whether it has any entry at all (baked and journal ones included). */
  const walk = async (rel: string): Promise<boolean> => {
    let any = false;
    for await (const e of Deno.readDir(`${root}${rel}`)) {
      any = true;
      const p = `${rel}/${e.name}`;
      if (p in BAKED || p in machine || JOURNAL.test(p)) continue;
      const st = await Deno.lstat(`${root}${p}`);
      const mode = octalMode(st);
      if (st.isSymlink) modes.push(`link ${p} -> ${await Deno.readLink(`${root}${p}`)}`);
      else if (st.isDirectory) {
        if (!(await walk(p))) modes.push(`${mode} ${p}/`);
      } else {
        files[p.slice(1)] = (await Deno.readTextFile(`${root}${p}`))
          .replace(/"fetchedAt": "[^"]+"/, '"fetchedAt": "<FETCHED_AT>"');
        modes.push(`${mode} ${p}`);
      }
    }
    return any;
  };
  await walk("");
  return { ...files, MODES: modes.sort().join("\n") + "\n" };
}

/** CLI output without what changes from run to run: timings, the temp root, loopback ports, jitter. */
function normalize(text: string, root: string): string {
  return text
    .replaceAll(root, "<ROOT>")
    .replace(/http:\/\/127\.0\.0\.1:\d+/g, "http://127.0.0.1:<PORT>")
    // A change line shows its time only past 0.1 s, which a loaded machine reaches: drop it.
    .replace(/^(\s+\+ .*?) \(\d+\.\d+s\)$/gm, "$1")
    .replace(/\(\d+\.\d+s\)/g, "(<T>s)")
    .replace(/ in \d+\.\d+s\b/g, " in <T>s")
    .replace(/ in \d+ ms\b/g, " in <N> ms");
}

for (const c of CASES) {
  Deno.test(`init e2e: ${c.name}`, async () => {
    const root = await bakedRoot("eksnode-init-e2e-");
    const baked = { ...BAKED, ...c.machine };
    if (c.kubernetesVersion) baked["/etc/eks/release"] = `KUBERNETES_VERSION='${c.kubernetesVersion}'\n`;
    for (const [path, text] of Object.entries(baked)) {
      await Deno.mkdir(`${root}${path.slice(0, path.lastIndexOf("/"))}`, { recursive: true });
      await Deno.writeTextFile(`${root}${path}`, text);
    }
    const imds = startImds({ metadata: instanceTree(c.instance), userData: c.userData });
    const eks = startEks({ clusters: c.clusters ?? {}, throttleFirst: c.throttleFirst });
    const region = c.instance?.region ?? "us-west-2";
    const ec2 = startEc2({
      ...(c.ec2Types ? { types: c.ec2Types } : {}),
      instances: { "i-0123456789abcdef0": { privateDnsName: privateDnsName(region) } },
    });
    const ec2Calls = (action: string) => ec2.calls.filter((call) => call.action === action).length;
    const env = {
      AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url,
      AWS_ENDPOINT_URL_EKS: eks.url,
      AWS_ENDPOINT_URL_EC2: ec2.url,
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: "AKIDINITE2ETEST",
      AWS_SECRET_ACCESS_KEY: "init-e2e-secret-not-real",
      // Hermetic: the switches init also reads from the environment are off unless a flag says so.
      EKSNODE_FIPS: "false",
      EKSNODE_PREFIX_DELEGATION: "false",
    };
    const args = ["init", ...(c.args ?? []), "--root", root];
    try {
      const first = await eksnode(args, { env });
      assert.equal(first.code, 0, `exit ${first.code}\n${first.stdout}\n${first.stderr}`);
      assert.equal(eks.calls.length, c.calls?.eks ?? 0, "EKS calls on the first run");
      assert.equal(
        ec2Calls("DescribeInstanceTypes"),
        c.calls?.describeInstanceTypes ?? 0,
        "DescribeInstanceTypes",
      );
      assert.equal(ec2Calls("DescribeInstances"), c.calls?.describeInstances ?? 1, "DescribeInstances");
      for (const call of [...eks.calls, ...ec2.calls]) assert.equal(call.region, region, "signing region");
      for (const s of c.says) assert.ok(first.stdout.includes(s), `stdout lacks ${JSON.stringify(s)}`);
      assert.ok(!first.stdout.includes(CA_B64), "the CA is not printed");
      const stdout = normalize(first.stdout, root);
      const stderr = normalize(first.stderr, root);
      await compareOrUpdate(`init-e2e/${c.name}`, {
        ...(await outputs(root, c.machine)),
        STDOUT: stdout,
        ...(stderr ? { STDERR: stderr } : {}),
      });

      // A reboot: same inputs, nothing to do, and the cluster comes from the cache, not the API.
      const before = await snapshotTree(root, [JOURNAL]);
      const eksBefore = eks.calls.length;
      const second = await eksnode(args, { env });
      assert.equal(second.code, 0, `exit ${second.code}\n${second.stdout}\n${second.stderr}`);
      assert.match(second.stdout, /^init: 9 steps, 0 changes in /m);
      assert.equal(eks.calls.length - eksBefore, 0, "EKS calls on the second run");
      assert.deepEqual(await snapshotTree(root, [JOURNAL]), before, "the second run changed the tree");
      for (const [path, text] of Object.entries(baked)) {
        assert.equal(await Deno.readTextFile(`${root}${path}`), text, `${path} was modified`);
      }
    } finally {
      await Promise.all([imds.close(), eks.close(), ec2.close()]);
      await Deno.remove(root, { recursive: true });
    }
  });
}
