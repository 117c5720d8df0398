import assert from "node:assert/strict";
import { ConfigError, UsageError } from "../../lib/errors.ts";
import { BOOTSTRAP_FLAGS, parseBootstrapArgs } from "../../cli/bootstrap_flags.ts";
import { findBootstrapInvocations } from "../../eks/api/bootstrap_script.ts";
import { parseNodeConfigDocument } from "../../eks/api/nodeconfig.ts";
import { ShellSyntaxError, splitShellWords } from "../../lib/shell_words.ts";

const CA = btoa("-----BEGIN CERTIFICATE-----\nMIIBfzCCASWgAwIBAgIU\n-----END CERTIFICATE-----\n");
const ENDPOINT = "https://ABC.gr7.us-west-2.eks.amazonaws.com";

/** Runs `flag value` in both spellings and returns the two results, which must agree. */
function both(flag: string, value: string) {
  const spaced = parseBootstrapArgs(["my-cluster", flag, value]);
  const joined = parseBootstrapArgs([`${flag}=${value}`, "my-cluster"]);
  assert.deepEqual(joined, spaced, `${flag}: --flag value and --flag=value agree`);
  return spaced;
}

Deno.test("every bootstrap.sh flag, as --flag value and --flag=value", () => {
  const cases: {
    flag: string;
    value: string;
    spec?: Record<string, unknown>;
    legacy?: Record<string, unknown>;
  }[] = [
    { flag: "--apiserver-endpoint", value: ENDPOINT, spec: { cluster: { apiServerEndpoint: ENDPOINT } } },
    { flag: "--aws-api-retry-attempts", value: "5", legacy: { awsApiRetryAttempts: 5 } },
    { flag: "--b64-cluster-ca", value: CA, spec: { cluster: { certificateAuthority: CA } } },
    { flag: "--cluster-id", value: "0a1b2c3d-id", spec: { cluster: { id: "0a1b2c3d-id" } } },
    { flag: "--container-runtime", value: "containerd" },
    {
      flag: "--containerd-config-file",
      value: "/etc/my/containerd.toml",
      legacy: { containerdConfigFile: "/etc/my/containerd.toml" },
    },
    { flag: "--dns-cluster-ip", value: "10.100.0.10", legacy: { dnsClusterIp: ["10.100.0.10"] } },
    {
      flag: "--dns-cluster-ip",
      value: "169.254.20.10,fd00::a",
      legacy: { dnsClusterIp: ["169.254.20.10", "fd00::a"] },
    },
    { flag: "--enable-docker-bridge", value: "false" },
    { flag: "--enable-local-outpost", value: "true", spec: { cluster: { enableOutpost: true } } },
    { flag: "--enable-local-outpost", value: "false", spec: { cluster: { enableOutpost: false } } },
    { flag: "--ip-family", value: "IPv6", legacy: { ipFamily: "ipv6" } },
    { flag: "--ip-family", value: "ipv4", legacy: { ipFamily: "ipv4" } },
    {
      flag: "--kubelet-extra-args",
      value: `--node-labels=a=b,c=d --register-with-taints="x=y:NoSchedule" --v 4`,
      spec: {
        kubelet: { flags: ["--node-labels=a=b,c=d", "--register-with-taints=x=y:NoSchedule", "--v", "4"] },
      },
    },
    {
      flag: "--local-disks",
      value: "raid0",
      spec: { instance: { localStorage: { strategy: "RAID0" } } },
      legacy: { localDisks: "raid0" },
    },
    {
      flag: "--local-disks",
      value: "raid10",
      spec: { instance: { localStorage: { strategy: "RAID10" } } },
      legacy: { localDisks: "raid10" },
    },
    {
      flag: "--local-disks",
      value: "mount",
      spec: { instance: { localStorage: { strategy: "Mount" } } },
      legacy: { localDisks: "mount" },
    },
    { flag: "--local-disks", value: "none", legacy: { localDisks: "none" } },
    { flag: "--mount-bpf-fs", value: "false", legacy: { mountBpfFs: false } },
    {
      flag: "--pause-container-account",
      value: "602401143452",
      legacy: { pauseContainerAccount: "602401143452" },
    },
    { flag: "--pause-container-version", value: "3.10", legacy: { pauseContainerVersion: "3.10" } },
    {
      flag: "--service-ipv4-cidr",
      value: "172.20.0.0/16",
      spec: { cluster: { cidr: "172.20.0.0/16" } },
      legacy: { serviceIpv4Cidr: "172.20.0.0/16" },
    },
    {
      flag: "--service-ipv6-cidr",
      value: "fd00:1234::/108",
      spec: { cluster: { cidr: "fd00:1234::/108" } },
      legacy: { serviceIpv6Cidr: "fd00:1234::/108", ipFamily: "ipv6" },
    },
    { flag: "--use-max-pods", value: "false", legacy: { useMaxPods: false } },
    { flag: "--use-max-pods", value: "true", legacy: { useMaxPods: true } },
  ];
  for (const c of cases) {
    const got = both(c.flag, c.value);
    const spec = c.spec ?? {};
    const cluster = { name: "my-cluster", ...(spec.cluster as Record<string, unknown> | undefined) };
    assert.deepEqual(got.nodeConfig, {
      apiVersion: "node.eks.aws/v1alpha1",
      kind: "NodeConfig",
      spec: { ...spec, cluster },
    }, `${c.flag} ${c.value}`);
    assert.deepEqual(got.legacy, c.legacy ?? {}, `${c.flag} ${c.value}`);
    // The part is a valid NodeConfig document.
    parseNodeConfigDocument(got.nodeConfig, "bootstrap.sh flags");
  }
  // Every flag bootstrap.sh's print_help lists (bar --docker-config-json, covered below) has a case.
  const covered = new Set(cases.map((c) => c.flag));
  for (const f of BOOTSTRAP_FLAGS) {
    if (f.flag !== "--docker-config-json") assert.ok(covered.has(f.flag), `no case for ${f.flag}`);
  }
});

Deno.test("a full AL2 command line maps onto one NodeConfig part", () => {
  const got = parseBootstrapArgs([
    "my-cluster",
    "--b64-cluster-ca",
    CA,
    "--apiserver-endpoint",
    ENDPOINT,
    "--service-ipv4-cidr=10.100.0.0/16",
    "--kubelet-extra-args",
    "--node-labels=eks.amazonaws.com/nodegroup=ng --max-pods=30",
    "--use-max-pods",
    "false",
  ]);
  assert.deepEqual(got.nodeConfig.spec, {
    cluster: {
      name: "my-cluster",
      certificateAuthority: CA,
      apiServerEndpoint: ENDPOINT,
      cidr: "10.100.0.0/16",
    },
    kubelet: { flags: ["--node-labels=eks.amazonaws.com/nodegroup=ng", "--max-pods=30"] },
  });
  assert.deepEqual(got.legacy, { serviceIpv4Cidr: "10.100.0.0/16", useMaxPods: false });
  assert.equal(got.help, false);
});

Deno.test("bootstrap.sh semantics: later flag wins, value may start with --, ipv6 cidr wins for ipv6", () => {
  assert.deepEqual(
    parseBootstrapArgs(["c", "--use-max-pods", "true", "--use-max-pods", "false"]).legacy,
    { useMaxPods: false },
  );
  assert.deepEqual(
    parseBootstrapArgs(["c", "--kubelet-extra-args", "--v=2"]).nodeConfig.spec?.kubelet,
    { flags: ["--v=2"] },
  );
  const dual = parseBootstrapArgs([
    "c",
    "--service-ipv4-cidr",
    "10.0.0.0/16",
    "--service-ipv6-cidr",
    "fd00::/108",
  ]);
  assert.equal(dual.nodeConfig.spec?.cluster?.cidr, "fd00::/108");
  assert.equal(dual.legacy.ipFamily, "ipv6");
  assert.equal(parseBootstrapArgs(["--help"]).help, true);
  assert.equal(parseBootstrapArgs(["-h", "c"]).nodeConfig.spec?.cluster?.name, "c");
  assert.deepEqual(parseBootstrapArgs(["c", "--kubelet-extra-args", ""]).nodeConfig.spec, {
    cluster: { name: "c" },
  });
});

Deno.test("bad bootstrap.sh arguments are UsageErrors naming the flag", () => {
  const docker = /docker is not supported since Kubernetes 1\.24.*containerd/;
  const cases: [string[], RegExp][] = [
    [["c", "--container-runtime", "dockerd"], docker],
    [["c", "--container-runtime=dockerd"], docker],
    [["c", "--enable-docker-bridge", "true"], docker],
    [["c", "--docker-config-json", "{}"], docker],
    [
      ["c", "--container-runtime", "cri-o"],
      /--container-runtime "cri-o": the only container runtime is containerd/,
    ],
    [["c", "--enable-docker-bridge", "yes"], /--enable-docker-bridge "yes": must be true or false/],
    [["c", "--no-such-flag", "x"], /unknown bootstrap\.sh flag --no-such-flag/],
    [["c", "--kubelet-extra-arg=--v=2"], /unknown bootstrap\.sh flag --kubelet-extra-arg$/],
    [["c", "--apiserver-endpoint"], /--apiserver-endpoint needs a value/],
    [
      ["c", "--apiserver-endpoint", "ftp://x"],
      /--apiserver-endpoint "ftp:\/\/x": must use https:\/\/ \(got ftp:\/\/\)/,
    ],
    [["c", "--b64-cluster-ca", "not-base64!"], /--b64-cluster-ca: must be standard base64/],
    [["c", "--aws-api-retry-attempts", "three"], /--aws-api-retry-attempts "three"/],
    [["c", "--cluster-id="], /--cluster-id "": must be a cluster id/],
    [["c", "--cluster-id=a b"], /--cluster-id "a b": must be a cluster id/],
    [["c", "--containerd-config-file="], /--containerd-config-file "": must name a file/],
    [["c", "--dns-cluster-ip", "10.100.0.10,10.100.0"], /"10\.100\.0" is not an IP address/],
    [["c", "--enable-local-outpost", "1"], /must be true or false/],
    [["c", "--ip-family", "dual"], /only ipv4 or ipv6/],
    [["c", "--kubelet-extra-args", "--node-labels='a=b"], /--kubelet-extra-args: unterminated single quote/],
    [["c", "--local-disks", "raid5"], /raid0, raid10, mount, none/],
    [["c", "--mount-bpf-fs", "no"], /must be true or false/],
    [["c", "--pause-container-account", "60240114345"], /12-digit/],
    [["c", "--pause-container-version", "3.10 latest"], /image tag/],
    [["c", "--service-ipv4-cidr", "fd00::/108"], /IPv4 CIDR/],
    [["c", "--service-ipv6-cidr", "10.0.0.0/16"], /IPv6 CIDR/],
    [["c", "--use-max-pods", "TRUE"], /must be true or false/],
    [["c", "--ip-family", "ipv4", "--service-ipv6-cidr", "fd00::/108"], /conflicts with --service-ipv6-cidr/],
    [[], /needs the cluster name/],
    [["--use-max-pods", "false"], /needs the cluster name/],
    [["c", "extra"], /one cluster name, got 2 arguments/],
    [["bad name!"], /CLUSTER_NAME "bad name!"/],
  ];
  for (const [argv, re] of cases) {
    assert.throws(() => parseBootstrapArgs(argv), (err: unknown) => {
      assert.ok(err instanceof UsageError, `${argv.join(" ")}: ${err}`);
      assert.match(err.message, re, argv.join(" "));
      return true;
    });
  }
});

Deno.test("splitShellWords honours quotes and backslashes and expands nothing", () => {
  const cases: [string, string[]][] = [
    ["", []],
    ["  --a   --b  ", ["--a", "--b"]],
    [`--x='a b' --y="c d"`, ["--x=a b", "--y=c d"]],
    [`--x="say \\"hi\\" \\$HOME" --z=\\ w`, [`--x=say "hi" $HOME`, "--z= w"]],
    [`'$HOME' "$HOME" $HOME`, ["$HOME", "$HOME", "$HOME"]],
    ["a\\\nb c", ["ab", "c"]],
    [`'' ""`, ["", ""]],
    ["a;b|c>d", ["a;b|c>d"]],
  ];
  for (const [input, want] of cases) assert.deepEqual(splitShellWords(input), want, input);
  assert.throws(() => splitShellWords(`"open`), ShellSyntaxError);
});

Deno.test("findBootstrapInvocations finds bootstrap.sh calls in shell scripts", () => {
  const cases: { script: string; want: { line: number; argv: string[]; dynamic: string[] }[] }[] = [
    { script: "#!/bin/bash\n/etc/eks/bootstrap.sh c\n", want: [{ line: 2, argv: ["c"], dynamic: [] }] },
    {
      script:
        "#!/bin/bash\nset -ex\n/etc/eks/bootstrap.sh c \\\n  --kubelet-extra-args '--a=1 --b=2' \\\n  --use-max-pods false\n",
      want: [{
        line: 3,
        argv: ["c", "--kubelet-extra-args", "--a=1 --b=2", "--use-max-pods", "false"],
        dynamic: [],
      }],
    },
    {
      script: "sudo -E /etc/eks/bootstrap.sh c > /var/log/b.log 2>&1 && echo done # comment\n",
      want: [{ line: 1, argv: ["c"], dynamic: [] }],
    },
    {
      script: 'B64=x\n/etc/eks/bootstrap.sh "${CLUSTER}" --b64-cluster-ca "$B64"; exit $?\n',
      want: [{ line: 2, argv: ["${CLUSTER}", "--b64-cluster-ca", "$B64"], dynamic: ["${CLUSTER}", "$B64"] }],
    },
    {
      script:
        "cat <<'EOF' > /tmp/x\n/etc/eks/bootstrap.sh not-this-one\nEOF\nexec bash /etc/eks/bootstrap.sh this-one\n",
      want: [{ line: 4, argv: ["this-one"], dynamic: [] }],
    },
    {
      script:
        "if [ -x /etc/eks/bootstrap.sh ]; then /etc/eks/bootstrap.sh c; fi\ncp /etc/eks/bootstrap.sh /tmp\n",
      want: [{ line: 1, argv: ["c"], dynamic: [] }],
    },
    { script: "#!/bin/bash\necho no bootstrap here\n# /etc/eks/bootstrap.sh commented\n", want: [] },
  ];
  for (const c of cases) assert.deepEqual(findBootstrapInvocations(c.script, "user data"), c.want, c.script);
  assert.throws(() => findBootstrapInvocations("/etc/eks/bootstrap.sh 'c\n", "user data"), ConfigError);
});
