/**
 * The instance facts `eksnode init` gathers the way nodeadm does (awslabs/amazon-eks-ami commit 81fec2e8):
 * the node name from EC2 DescribeInstances' PrivateDnsName, AWS_MAX_ATTEMPTS and nodeadm's generous AWS
 * retries, and an IMDS that comes up late. In-process through `gatherInputs` where a wait is shortened
 * through its seam (GatherOptions.aws), through the real CLI where the real waits are short.
 */
import assert from "node:assert/strict";
import { gatherInputs, INIT_AWS_ATTEMPTS, type InitRequest } from "../../cli/init_inputs.ts";
import { AwsApiError, ConfigError } from "../../lib/errors.ts";
import { Host } from "../../lib/host.ts";
import { memoryLogger } from "../../lib/log.ts";
import { eksnode } from "../support/cli_run.ts";
import { deadPort } from "../../fakes/common.ts";
import * as fakeEc2 from "../../fakes/ec2.ts";
import * as fakeImds from "../../fakes/imds.ts";
import { TEST_CA_PEM } from "../../fakes/node_settings.ts";

const CA = btoa(TEST_CA_PEM);
const ENDPOINT = "https://0123456789ABCDEF0123456789ABCDEF.gr7.us-west-2.eks.amazonaws.com";
const KEYS = { AWS_ACCESS_KEY_ID: "AKIDFACTSTEST", AWS_SECRET_ACCESS_KEY: "facts-secret-not-real" };

/** A NodeConfig with a complete cluster (no DescribeCluster); `more` goes under `spec:`. */
function userData(more = ""): string {
  return `apiVersion: node.eks.aws/v1alpha1
kind: NodeConfig
spec:
  cluster:
    name: prod
    apiServerEndpoint: ${ENDPOINT}
    certificateAuthority: ${CA}
    cidr: 10.100.0.0/16
${more}`;
}

/** A temp root holding the release file of a Kubernetes `version` image. */
async function tempRoot(version = "1.35.0"): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "eksnode-facts-" });
  await Deno.mkdir(`${root}/etc/eks`, { recursive: true });
  await Deno.writeTextFile(`${root}/etc/eks/release`, `KUBERNETES_VERSION='${version}'\n`);
  return root;
}

const REQUEST: InitRequest = { configSources: ["imds://user-data"], fips: false, prefixDelegation: false };

/**
 * A loopback TCP port that accepts connections and never answers: what a firewall that drops packets
 * looks like to a client with a timeout (nodeadm's case aws-api-connection-timeout drops them with
 * iptables). Counts the connections.
 */
function blackHole(): { url: string; connections: () => number; close(): Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    try {
      for await (const conn of listener) held.push(conn);
    } catch {
      // closed
    }
  })();
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    connections: () => held.length,
    async close() {
      listener.close();
      for (const c of held) {
        try {
          c.close();
        } catch {
          // already closed by the client
        }
      }
      await accepting;
    },
  };
}

Deno.test("node name: EC2's PrivateDnsName, not the IMDS hostname of a custom DHCP domain", async () => {
  const root = await tempRoot();
  const imds = fakeImds.start({
    userData: userData(),
    metadata: { ...fakeImds.defaultMetadata(), "meta-data/hostname": "ip-10-0-1-23.corp.example.com" },
  });
  const ec2 = fakeEc2.start();
  try {
    const log = memoryLogger();
    const env = { ...KEYS, AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url, AWS_ENDPOINT_URL_EC2: ec2.url };
    const { node } = await gatherInputs(await Host.open(root), log, REQUEST, env);
    assert.equal(node.nodeName, "ip-10-0-1-23.us-west-2.compute.internal");
    assert.deepEqual(ec2.calls.map((c) => [c.action, c.instanceIds, c.region]), [
      ["DescribeInstances", ["i-0123456789abcdef0"], "us-west-2"],
    ]);
    assert.match(log.lines.join("\n"), /IMDS hostname ip-10-0-1-23\.corp\.example\.com differs/);
  } finally {
    await Promise.all([imds.close(), ec2.close()]);
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("node name: DescribeInstances waits out eventual consistency (NotFound, then an empty name)", async () => {
  const root = await tempRoot();
  const imds = fakeImds.start({ userData: userData() });
  const ec2 = fakeEc2.start({
    instances: {
      "i-0123456789abcdef0": {
        privateDnsName: "ip-10-0-1-23.us-west-2.compute.internal",
        notFoundFirst: 1,
        emptyFirst: 1,
      },
    },
  });
  try {
    const env = { ...KEYS, AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url, AWS_ENDPOINT_URL_EC2: ec2.url };
    const { node } = await gatherInputs(await Host.open(root), memoryLogger(), REQUEST, env, {
      aws: { retry: { baseMs: 1, maxMs: 5 } },
    });
    assert.equal(node.nodeName, "ip-10-0-1-23.us-west-2.compute.internal");
    assert.deepEqual(ec2.calls.map((c) => c.status), [400, 200, 200], "NotFound, empty name, the name");
  } finally {
    await Promise.all([imds.close(), ec2.close()]);
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("node name: InstanceIdNodeName, and kubelet before 1.26, ask EC2 nothing", async () => {
  for (
    const [version, more, want] of [
      ["1.35.0", "  featureGates:\n    InstanceIdNodeName: true\n", "i-0123456789abcdef0"],
      ["1.25.16", "", "ip-10-0-1-23.us-west-2.compute.internal"],
    ]
  ) {
    const root = await tempRoot(version);
    const imds = fakeImds.start({ userData: userData(more) });
    const ec2 = fakeEc2.start();
    try {
      const env = { ...KEYS, AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url, AWS_ENDPOINT_URL_EC2: ec2.url };
      const { node } = await gatherInputs(await Host.open(root), memoryLogger(), REQUEST, env);
      assert.equal(node.nodeName, want, version);
      assert.equal(ec2.calls.length, 0, version);
    } finally {
      await Promise.all([imds.close(), ec2.close()]);
      await Deno.remove(root, { recursive: true });
    }
  }
});

Deno.test("AWS_MAX_ATTEMPTS=1 against a black-holed EC2: one try of one per-try timeout, then AwsApiError", async () => {
  const root = await tempRoot();
  const imds = fakeImds.start({ userData: userData() });
  const hole = blackHole();
  try {
    const env = {
      ...KEYS,
      AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url,
      AWS_ENDPOINT_URL_EC2: hole.url,
      AWS_MAX_ATTEMPTS: "1",
    };
    const t0 = performance.now();
    // The seam: 300 ms a try instead of init's 30 s (INIT_AWS_TRY_TIMEOUT_MS, the Go SDK's dial timeout).
    const err = await gatherInputs(await Host.open(root), memoryLogger(), REQUEST, env, {
      aws: { timeoutMs: 300 },
    }).then(() => assert.fail("expected an AwsApiError"), (e) => e);
    const ms = performance.now() - t0;
    assert.ok(err instanceof AwsApiError, String(err));
    assert.match(
      err.message,
      /DescribeInstances for instance i-0123456789abcdef0 .* failed after 1 try: .*timed out/,
    );
    assert.match(err.hint ?? "", /ec2:DescribeInstances|InstanceIdNodeName/);
    assert.equal(hole.connections(), 1, "one connection: one try");
    assert.ok(ms >= 300 && ms < 5000, `${ms.toFixed(0)} ms`);
  } finally {
    await Promise.all([imds.close(), hole.close()]);
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("without AWS_MAX_ATTEMPTS init makes nodeadm's 30 tries; a bad AWS_MAX_ATTEMPTS is a ConfigError", async () => {
  const root = await tempRoot();
  const imds = fakeImds.start({ userData: userData() });
  const hole = blackHole();
  try {
    const env = { ...KEYS, AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url, AWS_ENDPOINT_URL_EC2: hole.url };
    const err = await gatherInputs(await Host.open(root), memoryLogger(), REQUEST, env, {
      aws: { timeoutMs: 40, retry: { baseMs: 1, maxMs: 2 } },
    }).then(() => assert.fail("expected an AwsApiError"), (e) => e);
    assert.ok(err instanceof AwsApiError, String(err));
    assert.match(err.message, new RegExp(`failed after ${INIT_AWS_ATTEMPTS} tries`));
    assert.equal(INIT_AWS_ATTEMPTS, 30);

    await assert.rejects(
      async () =>
        await gatherInputs(await Host.open(root), memoryLogger(), REQUEST, {
          ...env,
          AWS_MAX_ATTEMPTS: "many",
        }),
      (e: unknown) => e instanceof ConfigError && /AWS_MAX_ATTEMPTS="many"/.test(e.message),
    );
  } finally {
    await Promise.all([imds.close(), hole.close()]);
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("init (CLI): IMDS that comes up 3 s after init starts is waited for, and the node joins", async () => {
  // nodeadm's case imds-timeouts starts IMDS 10 s in; the default wait (eks/aws/imds.ts IMDS_RETRY, about a
  // minute) is checked against 10 s on a virtual clock in imds_test.ts. Here the real thing, shorter.
  const root = await tempRoot();
  const port = deadPort();
  const ec2 = fakeEc2.start();
  let imds: fakeImds.FakeImds | undefined;
  const late = setTimeout(() => {
    imds = fakeImds.start({ userData: userData(), port });
  }, 3000);
  try {
    const t0 = performance.now();
    const run = await eksnode(["init", "--root", root, "--skip", "1-9"], {
      isolated: true,
      env: {
        ...KEYS,
        AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://127.0.0.1:${port}`,
        AWS_ENDPOINT_URL_EC2: ec2.url,
      },
    });
    const ms = performance.now() - t0;
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    assert.ok(ms >= 3000, `returned after ${ms.toFixed(0)} ms, before IMDS was up`);
    assert.match(run.stdout, /kubernetes 1\.35; node ip-10-0-1-23\.us-west-2\.compute\.internal/);
    assert.ok(imds && imds.calls.paths.includes("user-data"));
  } finally {
    clearTimeout(late);
    await Promise.all([imds?.close(), ec2.close()]);
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("Kubernetes version: nodeadm's /etc/eks/kubelet-version.txt when the image has no /etc/eks/release", async () => {
  const root = await Deno.makeTempDir({ prefix: "eksnode-facts-" });
  const imds = fakeImds.start({ userData: userData() });
  const ec2 = fakeEc2.start();
  try {
    await Deno.mkdir(`${root}/etc/eks`, { recursive: true });
    // What nodeadm's AMI build keeps: `kubelet --version` output.
    await Deno.writeTextFile(`${root}/etc/eks/kubelet-version.txt`, "Kubernetes v1.35.0-eks-5e0fdde\n");
    const env = { ...KEYS, AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url, AWS_ENDPOINT_URL_EC2: ec2.url };
    const { node } = await gatherInputs(await Host.open(root), memoryLogger(), REQUEST, env);
    assert.equal(node.kubernetesVersion, "1.35");
  } finally {
    await Promise.all([imds.close(), ec2.close()]);
    await Deno.remove(root, { recursive: true });
  }
});
