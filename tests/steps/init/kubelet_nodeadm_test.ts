/**
 * nodeadm's end-to-end cases for kubelet (tests/golden/kubelet-nodeadm/SOURCE: awslabs/amazon-eks-ami
 * commit 81fec2e8), replayed on eksnode: the same NodeConfig on the same mock instance must give kubelet
 * the same effective configuration, flags and files. nodeadm splits the kubelet config into config.json
 * and the drop-in config.json.d/40-nodeadm.conf; eksnode's main file holds both, so its expectation is
 * nodeadm's two files merged the way kubelet merges a drop-in (objects field by field, lists and scalars
 * replaced: kubernetes.io "Kubelet Configuration Directory Merging"), and its 40-nodeadm.conf is nodeadm's.
 * Init runs in-process (gatherInputs, then the steps) into a temp root, against loopback IMDS and EC2 fakes
 * describing nodeadm's mock instance.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { gatherInputs, type GatherOptions } from "../../../cli/init_inputs.ts";
import { kubeletArgs } from "../../../eks/kubelet/args.ts";
import type { HostLookup } from "../../../eks/system/api_server_hosts.ts";
import {
  CREDENTIAL_PROVIDER_CONFIG,
  KUBECONFIG,
  KUBELET_CONFIG,
  KUBELET_CONFIG_DIR,
  KUBELET_CONFIG_DROPIN,
} from "../../../eks/paths/node.ts";
import { configDirEnvironment } from "../../../eks/kubelet/config_dir.ts";
import { Host } from "../../../lib/host.ts";
import { memoryLogger } from "../../../lib/log.ts";
import { runSteps } from "../../../lib/runner.ts";
import { INIT_STEPS } from "../../../steps/init/index.ts";
import type { NodeSettings } from "../../../steps/init/context.ts";
import * as fakeEc2 from "../../../fakes/ec2.ts";
import * as fakeImds from "../../../fakes/imds.ts";
import { TEST_CA_PEM } from "../../../fakes/node_settings.ts";

const CASES = fileURLToPath(new URL("../../golden/kubelet-nodeadm/", import.meta.url));

// nodeadm's mock instance (nodeadm/test/e2e/infra/aemm-default-config.json) and the EC2 API's answer.
const INSTANCE_ID = "i-1234567890abcdef0";
/** The CA every nodeadm case uses: base64 of the word "certificateAuthority". */
const NODEADM_CASE_CA = "Y2VydGlmaWNhdGVBdXRob3JpdHk=";
const HOSTNAME = "ip-172-16-34-43.ec2.internal";

function aemmMetadata(instanceType = "m4.xlarge"): Record<string, string> {
  const nic = `meta-data/network/interfaces/macs/${fakeImds.FAKE_MAC}`;
  return {
    "meta-data/instance-id": INSTANCE_ID,
    "meta-data/instance-type": instanceType,
    "meta-data/placement/region": "us-west-2",
    "meta-data/placement/availability-zone": "us-west-2f",
    "meta-data/local-ipv4": "172.16.34.43",
    "meta-data/mac": fakeImds.FAKE_MAC,
    "meta-data/hostname": HOSTNAME,
    "meta-data/local-hostname": HOSTNAME,
    [`${nic}/vpc-ipv4-cidr-blocks`]: "172.16.0.0/16",
  };
}

/** kubelet's drop-in merge: objects merged key by key, anything else (lists too) replaced. */
function kubeletDropInMerge(base: unknown, dropIn: unknown): unknown {
  const isObj = (v: unknown): v is Record<string, unknown> =>
    v !== null && typeof v === "object" && !Array.isArray(v);
  if (!isObj(base) || !isObj(dropIn)) return dropIn;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(dropIn)) out[k] = k in base ? kubeletDropInMerge(base[k], v) : v;
  return out;
}

async function readJson(path: string): Promise<unknown> {
  return JSON.parse(await Deno.readTextFile(path));
}

/** Which files of a case are NodeConfig inputs (`config.yaml`, `config.*.yaml`). */
async function configFiles(name: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(`${CASES}${name}`)) {
    if (/^config(\..+)?\.yaml$/.test(e.name)) out.push(`${CASES}${name}/${e.name}`);
  }
  return out.sort();
}

interface Run {
  node: NodeSettings;
  host: Host;
  read(path: string): Promise<string>;
}

/**
 * Runs init (inputs, then steps 1, 5 and 7) for NodeConfig `config` with kubelet `version` installed,
 * in a fresh root; `fn` looks at the result. The root and the fakes are gone afterwards.
 */
async function withInit(
  config: string,
  version: string,
  fn: (run: Run) => Promise<void>,
  opts: { instanceType?: string; gather?: GatherOptions } = {},
): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "eksnode-nodeadm-case-" });
  const imds = fakeImds.start({ metadata: aemmMetadata(opts.instanceType) });
  const ec2 = fakeEc2.start({ instances: { [INSTANCE_ID]: { privateDnsName: HOSTNAME } } });
  try {
    await Deno.mkdir(`${root}/etc/eks`, { recursive: true });
    await Deno.mkdir(`${root}/proc`, { recursive: true });
    // nodeadm's `mock::kubelet VERSION` answers `kubelet --version`; eksnode reads its image's release file.
    await Deno.writeTextFile(`${root}/etc/eks/release`, `KUBERNETES_VERSION='${version}'\n`);
    // The mock machine's 2 CPUs (nodeadm/test/e2e/infra/mock/cpu).
    await Deno.writeTextFile(`${root}/proc/cpuinfo`, "processor\t: 0\n\nprocessor\t: 1\n");
    const host = await Host.open(root);
    const log = memoryLogger();
    const env = {
      AWS_ACCESS_KEY_ID: "AKIDNODEADMCASES",
      AWS_SECRET_ACCESS_KEY: "nodeadm-cases-not-real",
      AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url,
      AWS_ENDPOINT_URL_EC2: ec2.url,
    };
    // nodeadm's cases carry base64("certificateAuthority") as the CA, which eksnode's NodeConfig checks
    // refuse (not PEM; the NodeConfig schema's business, not kubelet's): a real test CA stands in.
    const text = (await Deno.readTextFile(config)).replace(NODEADM_CASE_CA, btoa(TEST_CA_PEM));
    const configCopy = `${root}/nodeconfig.yaml`;
    await Deno.writeTextFile(configCopy, text);
    const request = { configSources: [`file://${configCopy}`], fips: false, prefixDelegation: false };
    const { node } = await gatherInputs(host, log, request, env, opts.gather);
    const ctx = { host, log, dryRun: false, node };
    // Steps 1, 5 and 7: the credential provider config, the kubeconfig, the kubelet config.
    await runSteps(INIT_STEPS.filter((s) => [1, 5, 7].includes(s.number)), ctx, {
      process: "init",
      dryRun: false,
    });
    await fn({ node, host, read: async (p) => (await host.readText(p))! });
  } finally {
    await Promise.all([imds.close(), ec2.close()]);
    await Deno.remove(root, { recursive: true });
  }
}

for (
  const [name, version, instanceType] of [
    ["kubelet-config-dir", "1.29.0", undefined],
    ["kubelet-config-new-instance-type", "1.35.0", "mock-type.large"],
    ["kubelet-config-set-empty", "1.35.0", undefined],
  ] as const
) {
  Deno.test(`nodeadm case ${name}: kubelet's effective config is nodeadm's config.json + drop-in`, async () => {
    const want = kubeletDropInMerge(
      await readJson(`${CASES}${name}/expected-kubelet-config.json`),
      await readJson(`${CASES}${name}/expected-kubelet-config-drop-in.json`),
    );
    const configs = await configFiles(name);
    assert.ok(configs.length > 0);
    const dropIn = await readJson(`${CASES}${name}/expected-kubelet-config-drop-in.json`);
    for (const config of configs) {
      await withInit(config, version, async ({ node, read }) => {
        assert.deepEqual(JSON.parse(await read(KUBELET_CONFIG)), want, config);
        // nodeadm's drop-in, read from the directory nodeadm's flag names, with its environment.
        assert.deepEqual(JSON.parse(await read(KUBELET_CONFIG_DROPIN)), dropIn, config);
        assert.ok(kubeletArgs(node).includes(`--config-dir=${KUBELET_CONFIG_DIR}`), config);
        assert.deepEqual(
          configDirEnvironment(node),
          version.startsWith("1.29.") ? { KUBELET_CONFIG_DROPIN_DIR_ALPHA: "on" } : {},
          config,
        );
      }, { instanceType });
    }
  });
}

Deno.test("nodeadm case kubelet-config-set-empty: --hostname-override is EC2's PrivateDnsName (ip-….ec2.internal)", async () => {
  const [config] = await configFiles("kubelet-config-set-empty");
  await withInit(config, "1.35.0", ({ node }) => {
    const args = kubeletArgs(node);
    assert.ok(args.includes(`--hostname-override=${HOSTNAME}`), args.join(" "));
    assert.ok(args.some((a) => /^--hostname-override=ip.*ec2\.internal$/.test(a)));
    assert.ok(args.includes("--cloud-provider=external"));
    assert.ok(args.includes("--runtime-cgroups=/runtime.slice/containerd.service"));
    return Promise.resolve();
  });
});

Deno.test("nodeadm cases kubelet-version and pod-infra-container (1.35): no kubeAPIQPS/Burst, no --pod-infra-container-image", async () => {
  for (
    const [name, version] of [["kubelet-version", "1.35.0-eks-5e0fdde"], ["pod-infra-container", "1.35.0"]]
  ) {
    const [config] = await configFiles(name);
    await withInit(config, version, async ({ node, read }) => {
      const text = await read(KUBELET_CONFIG);
      assert.doesNotMatch(text, /"kubeAPIQPS"|"kubeAPIBurst"/, name);
      assert.ok(!kubeletArgs(node).some((a) => a.includes("pod-infra-container-image")), name);
      assert.equal(node.kubernetesVersion, "1.35");
    });
  }
});

/** Seconds in a Go duration string ("12h", "12h0m0s", "90s"). */
function goDurationSeconds(text: string): number {
  const parts = [...text.matchAll(/(\d+)(h|m|s)/g)];
  assert.equal(parts.map((p) => p[0]).join(""), text, `${text} is a duration of h, m and s`);
  return parts.reduce((sum, [, n, unit]) => sum + Number(n) * { h: 3600, m: 60, s: 1 }[unit]!, 0);
}

/**
 * A CredentialProviderConfig as kubelet reads it: the cache duration as a length of time (nodeadm's Go
 * prints "12h0m0s", eksnode "12h"), matchImages as a set (kubelet hands an image to a provider when any
 * pattern matches, whatever their order).
 */
// deno-lint-ignore no-explicit-any -- parsed JSON, walked by known keys
function asKubeletReadsIt(config: any): unknown {
  return {
    ...config,
    // deno-lint-ignore no-explicit-any -- as above
    providers: config.providers.map((p: any) => ({
      ...p,
      defaultCacheDuration: goDurationSeconds(p.defaultCacheDuration),
      matchImages: [...p.matchImages].sort(),
    })),
  };
}

Deno.test("nodeadm case image-credential-provider: the config for kubelet 1.31 and 1.36", async () => {
  const [config] = await configFiles("image-credential-provider");
  for (
    const [version, expected] of [
      ["1.31.0", "expected-image-credential-provider-config-1.31.json"],
      ["1.36.0", "expected-image-credential-provider-config.json"],
    ]
  ) {
    await withInit(config, version, async ({ read }) => {
      assert.deepEqual(
        asKubeletReadsIt(JSON.parse(await read(CREDENTIAL_PROVIDER_CONFIG))),
        asKubeletReadsIt(await readJson(`${CASES}image-credential-provider/${expected}`)),
        version,
      );
    });
  }
});

Deno.test("nodeadm case kubeconfig: server, CA and the token for cluster my-cluster in us-west-2 (1.29 and 1.35)", async () => {
  const [config] = await configFiles("kubeconfig");
  // deno-lint-ignore no-explicit-any -- parsed YAML, walked by known keys
  const want = parseYaml(await Deno.readTextFile(`${CASES}kubeconfig/expected-kubeconfig.yaml`)) as any;
  for (const version of ["1.29.0", "1.35.0"]) {
    await withInit(config, version, async ({ read }) => {
      // deno-lint-ignore no-explicit-any -- parsed YAML, walked by known keys
      const got = parseYaml(await read(KUBECONFIG)) as any;
      // Everything but the exec command (nodeadm: `aws` on PATH; eksnode: /usr/bin/aws, or
      // aws-iam-authenticator on images that have it) is nodeadm's, field for field.
      const { command: _wc, args: wantArgs, ...wantExec } = want.users[0].user.exec;
      const { command: _gc, args: gotArgs, ...gotExec } = got.users[0].user.exec;
      assert.deepEqual({ ...got, users: [] }, { ...want, users: [] }, version);
      assert.deepEqual(gotExec, wantExec);
      assert.equal(got.users[0].name, want.users[0].name);
      // The same STS token: `aws eks get-token` for the same cluster and region.
      assert.deepEqual(gotArgs.slice(0, 6), wantArgs, version);
    });
  }
});

Deno.test("nodeadm case kubeconfig-outpost: http://localhost is accepted; /etc/hosts pins 127.0.0.1 and ::1 as nodeadm writes them", async () => {
  const [config] = await configFiles("kubeconfig-outpost");
  // What the resolver of nodeadm's container answers for localhost (a stand-in: this machine's may differ).
  const lookupHost: HostLookup = (name, via) =>
    Promise.resolve(
      via === "dns" && name === "localhost" ? { addresses: ["127.0.0.1", "::1"] } : { addresses: [] },
    );
  await withInit(config, "1.35.0", async ({ node, read }) => {
    assert.equal(node.cluster.enableOutpost, true);
    assert.equal(node.cluster.endpoint, "http://localhost");
    const hosts = await read("/etc/hosts");
    // nodeadm's assertions: `assert::file-contains /etc/hosts $'127.0.0.1\tlocalhost'` and `$'::1\tlocalhost'`.
    assert.match(hosts, /^127\.0\.0\.1\tlocalhost$/m);
    assert.match(hosts, /^::1\tlocalhost$/m);
    assert.ok(kubeletArgs(node).includes("--bootstrap-kubeconfig=/var/lib/kubelet/bootstrap-kubeconfig"));
    // deno-lint-ignore no-explicit-any -- parsed YAML
    const kc = parseYaml(await read("/var/lib/kubelet/bootstrap-kubeconfig")) as any;
    assert.equal(kc.clusters[0].cluster.server, "http://localhost");
  }, { gather: { lookupHost } });
});
