/**
 * nodeadm's e2e cases (awslabs/amazon-eks-ami nodeadm/test/e2e/cases at 81fec2e8), each translated from
 * its `run.sh` (kept beside the data as `nodeadm-run.sh`) into data: what eksnode is asked, in order, on
 * one node, and what must hold afterwards. File names are relative to the case directory
 * `tests/e2e/nodeadm/cases/<name>/`. Expectations name what a daemon sees (see views.ts), never a path
 * of nodeadm's layout.
 */

/** The image the node runs, as nodeadm's `mock::kubelet VERSION` and its two test images set it. */
export interface Image {
  /** `kubelet --version` of the image (nodeadm: `mock::kubelet`). */
  kubelet?: string;
  /** containerd of the image: nodeadm runs `containerdv2-*` on containerd 2.0.5, the rest on 1.7. */
  containerd?: "1.7" | "2.0";
}

/** What must hold after a run. */
export type Expect =
  /** kubelet's effective KubeletConfiguration equals nodeadm's `base` merged with its `dropIn`. */
  | { kind: "kubeletConfig"; base: string; dropIn?: string }
  /** kubelet's effective KubeletConfiguration has none of these top-level fields. */
  | { kind: "kubeletConfigLacks"; fields: string[] }
  /** kubelet's effective flags: a value (string), a pattern (RegExp) or absent (null). */
  | { kind: "kubeletFlags"; flags: Record<string, string | RegExp | null> }
  /** containerd's config equals nodeadm's version-2 file (written for containerd 1.7). */
  | { kind: "containerdConfig"; file: string }
  /**
   * containerd 2's reading of the config equals nodeadm's `containerd config dump` (`file`, after
   * containerd 2.0.5 migrated nodeadm's version-2 file); `template` is nodeadm's version-3 file for the
   * same node (what nodeadm itself sets, as opposed to containerd's defaults).
   */
  | { kind: "containerdDump"; file: string; template: string; user: string }
  /** The default runtime's base OCI spec equals this file. */
  | { kind: "baseRuntimeSpec"; file: string }
  /** The file kubelet's `--image-credential-provider-config` names equals this JSON. */
  | { kind: "credentialProvider"; file: string }
  /** The file kubelet's `--kubeconfig` names means the same as this kubeconfig. */
  | { kind: "kubeconfig"; file: string }
  /**
   * The environment units get from NodeConfig: `default` (systemd's DefaultEnvironment, every unit),
   * `kubelet` and `containerd` (their own); a file of nodeadm's, or null for "nothing".
   */
  | { kind: "environment"; default: string | null; kubelet: string | null; containerd: string | null }
  /** systemd-resolved's [Resolve] settings equal this resolved.conf drop-in's. */
  | { kind: "resolved"; file: string }
  /** /etc/hosts maps `name` to at least these addresses. */
  | { kind: "hosts"; name: string; addresses: string[] }
  /** An enabled unit runs `setup-local-disks` with this strategy (nodeadm runs it during init). */
  | { kind: "localDisks"; strategy: string }
  /** The cached NodeConfig's spec (at `cache`) equals this JSON. */
  | { kind: "cachedSpec"; cache: string; file: string }
  /** The EC2 API calls that went through the proxy, as nodeadm's proxy logs them. */
  | { kind: "proxyTraffic"; file: string };

/** One command run on the node. */
export interface Run {
  /** `init` (nodeadm init) or `config check`. */
  command: "init" | "config check";
  /**
   * `--config-source` values: a file or directory of the case (`file://` + its copy), `imds://user-data`,
   * or `root:PATH` (`file://` + that in-root path of the node).
   */
  sources?: string[];
  /** nodeadm's `--skip` phases. */
  skip?: ("config" | "run")[];
  /** nodeadm's `--config-cache PATH` (an in-root path). */
  configCache?: string;
  /** The image before this run (nodeadm: `mock::kubelet` between runs). */
  image?: Image;
  /** Extra environment of the process (e.g. AWS_MAX_ATTEMPTS). */
  env?: Record<string, string>;
  /** Files written into (string) or removed from (null) the node before the run, by in-root path. */
  before?: Record<string, string | null>;
  /** Directories made in the node before the run (nodeadm: `mktemp -d`). */
  dirs?: string[];
  /** Written into the node from a case file before the run: in-root path → case file. */
  copy?: Record<string, string>;
  /** Exit: 0, non-zero, or either (nodeadm: `|| true`). */
  exit: "ok" | "fail" | "any";
  /** Bounds of the wall-clock time the run takes, in seconds. */
  seconds?: { min?: number; max?: number };
  /** The run must still be running after this many seconds (then it is killed). */
  stillRunningAfter?: number;
  /** The IMDS starts this many seconds after the run (nodeadm: imds-timeouts). */
  imdsStartsAfter?: number;
  /** No IMDS answers at all during this run. */
  noImds?: boolean;
  /** A logging HTTP proxy listens during this run. */
  proxy?: boolean;
  expect?: Expect[];
}

/** One nodeadm case. */
export interface Case {
  name: string;
  /** What it checks, one line (docs/nodeadm-compat.md's table). */
  checks: string;
  /** The image at the start (default kubelet 1.35.0, containerd 1.7). */
  image?: Image;
  /** IMDS: nodeadm's default mock config, or a case file replacing it; instance type override. */
  imds?: { config?: string; instanceType?: string };
  /** The AWS API: a moto-like fake (default) or an endpoint that accepts connections and never answers. */
  aws?: "fake" | "blackhole";
  runs: Run[];
}

/** The drop-in config-cache's run.sh writes into /etc/eks/nodeadm.d/ (a partial NodeConfig). */
const CONFIG_CACHE_DROPIN = `---
apiVersion: node.eks.aws/v1alpha1
kind: NodeConfig
spec:
  containerd:
    config: |
      version = 2

      [grpc]
      address = "/run/foo/foo.sock"

      [plugins."io.containerd.grpc.v1.cri".containerd]
      discard_unpacked_layers = false
`;

const CONFIG_V1_EXPECTED = (file: string): Expect[] => [{ kind: "containerdConfig", file }];

/** nodeadm's cases, in its directory order. */
export const CASES: Case[] = [
  {
    name: "aws-api-connection-timeout",
    checks: "AWS API calls give up after AWS_MAX_ATTEMPTS × 30 s connect timeout; by default retry longer",
    image: { kubelet: "1.29.0" },
    aws: "blackhole",
    runs: [
      {
        command: "init",
        sources: ["config.yaml"],
        skip: ["run"],
        env: { AWS_MAX_ATTEMPTS: "1" },
        exit: "any",
        seconds: { min: 30, max: 35 },
      },
      { command: "init", sources: ["config.yaml"], skip: ["run"], exit: "any", stillRunningAfter: 120 },
    ],
  },
  {
    name: "config-cache",
    checks: "--config-cache writes the resolved NodeConfig, reuses it, and falls back to it",
    image: { kubelet: "1.31.0" },
    runs: [
      {
        command: "init",
        skip: ["run"],
        configCache: "/run/eks/nodeadm/config.json",
        exit: "ok",
        expect: [{ kind: "cachedSpec", cache: "/run/eks/nodeadm/config.json", file: "cached-config-1.json" }],
      },
      {
        command: "init",
        skip: ["config", "run"],
        configCache: "/run/eks/nodeadm/config.json",
        exit: "ok",
        expect: [{ kind: "cachedSpec", cache: "/run/eks/nodeadm/config.json", file: "cached-config-1.json" }],
      },
      {
        command: "init",
        skip: ["config", "run"],
        before: { "/etc/eks/nodeadm.d/test.yaml": CONFIG_CACHE_DROPIN },
        sources: ["root:/etc/eks/nodeadm.d"],
        configCache: "/run/eks/nodeadm/config.json",
        exit: "fail",
      },
      {
        command: "init",
        skip: ["config", "run"],
        sources: ["imds://user-data", "root:/etc/eks/nodeadm.d"],
        configCache: "/run/eks/nodeadm/config.json",
        exit: "ok",
        expect: [{ kind: "cachedSpec", cache: "/run/eks/nodeadm/config.json", file: "cached-config-2.json" }],
      },
      {
        command: "init",
        skip: ["config", "run"],
        before: { "/etc/eks/nodeadm.d/test.yaml": null },
        sources: ["root:/etc/eks/nodeadm.d"],
        configCache: "/run/eks/nodeadm/config.json",
        exit: "ok",
      },
    ],
  },
  {
    name: "config-check",
    checks:
      "`config check` accepts a valid NodeConfig, refuses one without cluster.name (unknown fields warn)",
    image: { kubelet: "1.31.0" },
    runs: [
      { command: "config check", sources: ["config-good.yaml"], exit: "ok" },
      { command: "config check", sources: ["config-bad.yaml"], exit: "fail" },
    ],
  },
  {
    name: "config-provider-chain",
    checks: "several --config-source (file, empty directory, directory of drop-ins) chain",
    image: { kubelet: "1.31.0" },
    runs: [
      {
        command: "init",
        dirs: ["/tmp/chain"],
        sources: ["config.yaml", "root:/tmp/chain"],
        skip: ["run"],
        exit: "ok",
      },
      {
        command: "init",
        copy: { "/tmp/chain/config.yaml": "config.yaml" },
        sources: ["root:/tmp/chain"],
        skip: ["run"],
        exit: "ok",
      },
      { command: "init", sources: ["config.yaml", "root:/tmp/chain"], skip: ["run"], exit: "ok" },
    ],
  },
  {
    name: "containerd-base-runtime-spec",
    checks: "containerd.baseRuntimeSpec merged into the default runtime's base OCI spec",
    image: { kubelet: "1.27.0", containerd: "2.0" },
    runs: [
      {
        command: "init",
        sources: ["config.yaml"],
        skip: ["run"],
        exit: "ok",
        expect: [{ kind: "baseRuntimeSpec", file: "expected-base-runtime-spec.json" }],
      },
      {
        command: "init",
        image: { containerd: "1.7" },
        sources: ["config.yaml"],
        skip: ["run"],
        exit: "ok",
        expect: [{ kind: "baseRuntimeSpec", file: "expected-base-runtime-spec.json" }],
      },
    ],
  },
  {
    name: "containerdv1-config",
    checks:
      "containerd 1.7: version-2 config with containerd.config merged, CDI from 1.32, version 3 refused",
    image: { containerd: "1.7" },
    runs: [
      {
        command: "init",
        image: { kubelet: "1.31.0" },
        sources: ["configv2.yaml"],
        skip: ["run"],
        exit: "ok",
        expect: CONFIG_V1_EXPECTED("expected-containerd-config-pre-1.32.toml"),
      },
      {
        command: "init",
        image: { kubelet: "1.32.0" },
        sources: ["configv2.yaml"],
        skip: ["run"],
        exit: "ok",
        expect: CONFIG_V1_EXPECTED("expected-containerd-config.toml"),
      },
      { command: "init", sources: ["configv3.yaml"], skip: ["run"], exit: "fail" },
    ],
  },
  {
    name: "containerdv1-runtime-config-neuron",
    checks: "containerd 1.7 without a Neuron device: the plain runc config; version 3 refused",
    image: { kubelet: "1.27.0", containerd: "1.7" },
    runs: [
      {
        command: "init",
        sources: ["configv2.yaml"],
        skip: ["run"],
        exit: "ok",
        expect: CONFIG_V1_EXPECTED("expected-containerd-config.toml"),
      },
      { command: "init", sources: ["configv3.yaml"], skip: ["run"], exit: "fail" },
    ],
  },
  {
    name: "containerdv1-runtime-config-nvidia",
    checks: "containerd 1.7 with nvidia-container-runtime: nvidia is the default runtime; version 3 refused",
    image: { kubelet: "1.27.0", containerd: "1.7" },
    runs: [
      {
        command: "init",
        before: { "/usr/bin/nvidia-container-runtime": "" },
        sources: ["configv2.yaml"],
        skip: ["run"],
        exit: "ok",
        expect: CONFIG_V1_EXPECTED("expected-containerd-config.toml"),
      },
      { command: "init", sources: ["configv3.yaml"], skip: ["run"], exit: "fail" },
    ],
  },
  {
    name: "containerdv2-config",
    checks: "containerd 2: version-2 containerd.config migrated, version-3 merged",
    image: { kubelet: "1.32.0", containerd: "2.0" },
    runs: [
      {
        command: "init",
        sources: ["configv2.yaml"],
        skip: ["run"],
        exit: "ok",
        expect: [{
          kind: "containerdDump",
          file: "expected-containerd-configv2.toml",
          template: "expected-containerd-configv3.toml",
          user: "configv2.yaml",
        }],
      },
      {
        command: "init",
        sources: ["configv3.yaml"],
        skip: ["run"],
        exit: "ok",
        expect: [{ kind: "containerdConfig", file: "expected-containerd-configv3.toml" }],
      },
    ],
  },
  {
    name: "containerdv2-runtime-config-neuron",
    checks: "containerd 2 without a Neuron device: the plain runc config, version 2 and 3 inputs",
    image: { kubelet: "1.32.0", containerd: "2.0" },
    runs: [
      {
        command: "init",
        sources: ["configv2.yaml"],
        skip: ["run"],
        exit: "ok",
        expect: [{
          kind: "containerdDump",
          file: "expected-containerd-configv2.toml",
          template: "expected-containerd-configv3.toml",
          user: "configv2.yaml",
        }],
      },
      {
        command: "init",
        sources: ["configv3.yaml"],
        skip: ["run"],
        exit: "ok",
        expect: [{ kind: "containerdConfig", file: "expected-containerd-configv3.toml" }],
      },
    ],
  },
  {
    name: "containerdv2-runtime-config-nvidia",
    checks: "containerd 2 with nvidia-container-runtime: nvidia is the default runtime",
    image: { kubelet: "1.32.0", containerd: "2.0" },
    runs: [
      {
        command: "init",
        before: { "/usr/bin/nvidia-container-runtime": "" },
        sources: ["configv2.yaml"],
        skip: ["run"],
        exit: "ok",
        expect: [{
          kind: "containerdDump",
          file: "expected-containerd-configv2.toml",
          template: "expected-containerd-configv3.toml",
          user: "configv2.yaml",
        }],
      },
      {
        command: "init",
        sources: ["configv3.yaml"],
        skip: ["run"],
        exit: "ok",
        expect: [{ kind: "containerdConfig", file: "expected-containerd-configv3.toml" }],
      },
    ],
  },
  {
    name: "custom-max-pods-expression",
    checks:
      "kubelet.maxPodsExpression (CEL over ENI facts) sets maxPods and kube-reserved; config.maxPods wins",
    image: { kubelet: "1.32.0" },
    runs: [
      {
        command: "init",
        sources: ["scenarios/custom-networking/config.yaml"],
        skip: ["run"],
        exit: "ok",
        expect: [{ kind: "kubeletConfig", base: "scenarios/custom-networking/expected.json" }],
      },
      {
        command: "init",
        sources: ["scenarios/kubelet-config-max-pods/config.yaml"],
        skip: ["run"],
        exit: "ok",
        // run.sh compares the drop-in only if a file that never exists exists; what kubelet reads is
        // the base config with the drop-in's maxPods: 1 over it, so both files are checked here.
        expect: [{
          kind: "kubeletConfig",
          base: "scenarios/kubelet-config-max-pods/expected.json",
          dropIn: "scenarios/kubelet-config-max-pods/expected-dropin.json",
        }],
      },
    ],
  },
  {
    name: "image-credential-provider",
    checks: "the ECR credential provider config for kubelet 1.31 and 1.36 (ecr-public.aws.com from 1.32)",
    runs: [
      {
        command: "init",
        image: { kubelet: "1.31.0" },
        sources: ["config.yaml"],
        skip: ["run"],
        exit: "ok",
        expect: [{ kind: "credentialProvider", file: "expected-image-credential-provider-config-1.31.json" }],
      },
      {
        command: "init",
        image: { kubelet: "1.36.0" },
        sources: ["config.yaml"],
        skip: ["run"],
        exit: "ok",
        expect: [{ kind: "credentialProvider", file: "expected-image-credential-provider-config.json" }],
      },
    ],
  },
  {
    name: "imds-timeouts",
    checks: "init fails without IMDS, and waits for an IMDS that comes up 10 s late",
    image: { kubelet: "1.29.0" },
    runs: [
      { command: "init", skip: ["run"], noImds: true, exit: "fail" },
      { command: "init", skip: ["run"], imdsStartsAfter: 10, exit: "ok" },
    ],
  },
  {
    name: "kubeconfig-outpost",
    checks: "local Outposts cluster: /etc/hosts keeps resolving localhost (127.0.0.1 and ::1)",
    image: { kubelet: "1.35.0" },
    runs: [
      {
        command: "init",
        sources: ["config.yaml"],
        skip: ["run"],
        exit: "ok",
        expect: [{ kind: "hosts", name: "localhost", addresses: ["127.0.0.1", "::1"] }],
      },
    ],
  },
  {
    name: "kubeconfig",
    checks: "kubelet's kubeconfig: aws eks get-token with cluster name and region, for 1.29 and 1.35",
    runs: [
      {
        command: "init",
        image: { kubelet: "1.29.0" },
        sources: ["config.yaml"],
        skip: ["run"],
        exit: "ok",
        expect: [{ kind: "kubeconfig", file: "expected-kubeconfig.yaml" }],
      },
      {
        command: "init",
        image: { kubelet: "1.35.0" },
        sources: ["config.yaml"],
        skip: ["run"],
        exit: "ok",
        expect: [{ kind: "kubeconfig", file: "expected-kubeconfig.yaml" }],
      },
    ],
  },
  {
    name: "kubelet-config-dir",
    checks: "kubelet.config (JSON or YAML) goes to a drop-in over the base config (kubelet 1.29)",
    image: { kubelet: "1.29.0" },
    runs: ["config.kubelet-config-json.yaml", "config.kubelet-config-yaml.yaml"].map((c): Run => ({
      command: "init",
      sources: [c],
      skip: ["run"],
      exit: "ok",
      expect: [{
        kind: "kubeletConfig",
        base: "expected-kubelet-config.json",
        dropIn: "expected-kubelet-config-drop-in.json",
      }],
    })),
  },
  {
    name: "kubelet-config-new-instance-type",
    checks: "an instance type in no table and unknown to EC2: maxPods 110 and its kube-reserved",
    image: { kubelet: "1.35.0" },
    imds: { instanceType: "mock-type.large" },
    runs: [{
      command: "init",
      sources: ["config.kubelet-config-json.yaml"],
      skip: ["run"],
      exit: "ok",
      expect: [{
        kind: "kubeletConfig",
        base: "expected-kubelet-config.json",
        dropIn: "expected-kubelet-config-drop-in.json",
      }],
    }],
  },
  {
    name: "kubelet-config-set-empty",
    checks: 'kubelet.config can set fields to "" (reserved cgroups); node name is the EC2 private DNS name',
    image: { kubelet: "1.35.0" },
    runs: [{
      command: "init",
      sources: ["config.yaml"],
      skip: ["run"],
      exit: "ok",
      expect: [
        {
          kind: "kubeletConfig",
          base: "expected-kubelet-config.json",
          dropIn: "expected-kubelet-config-drop-in.json",
        },
        { kind: "kubeletFlags", flags: { "--hostname-override": /^ip.*ec2\.internal$/ } },
      ],
    }],
  },
  {
    name: "kubelet-flags",
    checks: "kubelet.flags appended last; feature gate InstanceIdNodeName names the node by instance id",
    image: { kubelet: "1.35.0" },
    runs: [{
      command: "init",
      sources: ["config.yaml"],
      skip: ["run"],
      exit: "ok",
      expect: [{
        kind: "kubeletFlags",
        flags: {
          "--v": "5",
          "--node-labels": "foo=bar,foo2=baz",
          "--register-with-taints": "foo=bar:NoSchedule",
          "--hostname-override": "i-1234567890abcdef0",
        },
      }],
    }],
  },
  {
    name: "kubelet-version",
    checks: "a kubelet version with a build suffix (1.35.0-eks-5e0fdde) is read: no kubeAPIQPS/kubeAPIBurst",
    runs: [{
      command: "init",
      image: { kubelet: "1.35.0-eks-5e0fdde" },
      sources: ["config.yaml"],
      skip: ["run"],
      exit: "ok",
      expect: [{ kind: "kubeletConfigLacks", fields: ["kubeAPIQPS", "kubeAPIBurst"] }],
    }],
  },
  {
    name: "local-disks",
    checks: "instance.localStorage RAID0 runs setup-local-disks raid0",
    image: { kubelet: "1.35.0" },
    runs: [{
      command: "init",
      sources: ["config.yaml"],
      exit: "ok",
      expect: [{ kind: "localDisks", strategy: "raid0" }],
    }],
  },
  {
    name: "mime-userdata-merge",
    checks: "MIME multipart user data: NodeConfig parts merged in order, shell parts ignored",
    image: { kubelet: "1.35.0" },
    runs: [{
      command: "init",
      sources: ["config.yaml"],
      skip: ["run"],
      exit: "ok",
      expect: [{
        kind: "kubeletConfig",
        base: "expected-kubelet-config.json",
        dropIn: "expected-kubelet-config-drop-in.json",
      }],
    }],
  },
  {
    name: "network-name-resolution",
    checks: "instance.network nameservers and search domains reach systemd-resolved",
    image: { kubelet: "1.31.0" },
    runs: [{
      command: "init",
      sources: ["config.yaml"],
      skip: ["run"],
      exit: "ok",
      expect: [{ kind: "resolved", file: "expected-resolved.conf" }],
    }],
  },
  {
    name: "nodeadm-environment-config",
    checks: "instance.environment default/kubelet/containerd: systemd DefaultEnvironment and unit drop-ins",
    image: { kubelet: "1.34.0" },
    runs: [
      {
        command: "init",
        sources: ["config-basic-env.yaml"],
        skip: ["run"],
        exit: "ok",
        expect: [{
          kind: "environment",
          default: "expected-config-basic-env.conf",
          kubelet: null,
          containerd: null,
        }],
      },
      {
        command: "init",
        sources: ["config-quote-escaping.yaml"],
        skip: ["run"],
        exit: "ok",
        expect: [{
          kind: "environment",
          default: "expected-config-quote-escaping.conf",
          kubelet: null,
          containerd: null,
        }],
      },
      {
        command: "init",
        sources: ["config-service-specific.yaml"],
        skip: ["run"],
        exit: "ok",
        expect: [{
          kind: "environment",
          default: "expected-config-service-specific-default.conf",
          kubelet: "expected-config-service-specific-kubelet.conf",
          containerd: "expected-config-service-specific-containerd.conf",
        }],
      },
      {
        command: "init",
        sources: ["config-service-only.yaml"],
        skip: ["run"],
        exit: "ok",
        expect: [{
          kind: "environment",
          default: null,
          kubelet: "expected-config-service-only-kubelet.conf",
          containerd: "expected-config-service-only-containerd.conf",
        }],
      },
      {
        command: "init",
        sources: ["config-no-env.yaml"],
        skip: ["run"],
        exit: "ok",
        expect: [{ kind: "environment", default: null, kubelet: null, containerd: null }],
      },
      {
        command: "init",
        sources: ["config-empty-env.yaml"],
        skip: ["run"],
        exit: "ok",
        expect: [{ kind: "environment", default: null, kubelet: null, containerd: null }],
      },
    ],
  },
  {
    name: "nodeadm-http-proxy",
    checks: "instance.environment HTTP(S)_PROXY from user data routes init's own EC2 API calls via the proxy",
    image: { kubelet: "1.34.0" },
    imds: { config: "http-proxy-imds-mock.json" },
    runs: [
      {
        command: "init",
        skip: ["run"],
        proxy: true,
        exit: "ok",
        expect: [{ kind: "proxyTraffic", file: "expected-nodeadm-config-traffic.log" }],
      },
      {
        command: "init",
        skip: ["config"],
        proxy: true,
        exit: "ok",
        expect: [{ kind: "proxyTraffic", file: "expected-nodeadm-run-traffic.log" }],
      },
      {
        command: "init",
        proxy: true,
        exit: "ok",
        expect: [{ kind: "proxyTraffic", file: "expected-nodeadm-traffic.log" }],
      },
    ],
  },
  {
    name: "pod-infra-container",
    checks: "kubelet 1.35 gets no --pod-infra-container-image",
    image: { kubelet: "1.35.0" },
    runs: [{
      command: "init",
      sources: ["config.yaml"],
      skip: ["run"],
      exit: "ok",
      expect: [{ kind: "kubeletFlags", flags: { "--pod-infra-container-image": null } }],
    }],
  },
];
