/**
 * The input side of `eksnode init`, through the real CLI (`deno run main.ts init`) against loopback
 * IMDS, EKS and EC2 fakes: what is read, which AWS calls are made, the resolved values, and that a bad
 * input ends with one error line, the right exit code and nothing written under --root.
 */
import { tempDir } from "../../fakes/temp.ts";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import * as fakeEc2 from "../../fakes/ec2.ts";
import * as fakeEks from "../../fakes/eks.ts";
import * as fakeImds from "../../fakes/imds.ts";
import { deadPort } from "../../fakes/common.ts";
import { snapshotTree } from "../support/helpers.ts";
import { type CliResult, eksnode } from "../support/cli_run.ts";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const PEM = "-----BEGIN CERTIFICATE-----\nFAKE\n-----END CERTIFICATE-----\n";
const CA = btoa(PEM);
const ENDPOINT = "https://ABCDEF0123456789.gr7.us-west-2.eks.amazonaws.com";

interface Cloud {
  imds: fakeImds.FakeImds;
  eks: ReturnType<typeof fakeEks.start>;
  ec2: ReturnType<typeof fakeEc2.start>;
}

interface CloudOptions {
  imds?: fakeImds.FakeImdsOptions;
  eks?: fakeEks.FakeEksOptions;
  ec2?: fakeEc2.FakeEc2Options;
}

/** Starts the three fakes, runs `fn`, shuts them down. */
async function withCloud(opts: CloudOptions, fn: (cloud: Cloud) => Promise<void>): Promise<void> {
  const cloud: Cloud = {
    imds: fakeImds.start(opts.imds),
    eks: fakeEks.start({ clusters: { prod: fakeEks.clusterJson("prod") }, ...opts.eks }),
    ec2: fakeEc2.start(opts.ec2),
  };
  try {
    await fn(cloud);
  } finally {
    await Promise.all([cloud.imds.close(), cloud.eks.close(), cloud.ec2.close()]);
  }
}

/** Runs `eksnode init ARGS` with an environment holding only the fakes' endpoints and test keys. */
async function runInit(args: string[], env: Record<string, string>): Promise<CliResult> {
  return await eksnode(["init", ...args], {
    cwd: REPO,
    isolated: true,
    env: { AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: "test-secret", ...env },
  });
}

function cloudEnv(cloud: Cloud): Record<string, string> {
  return {
    AWS_EC2_METADATA_SERVICE_ENDPOINT: cloud.imds.url,
    AWS_ENDPOINT_URL_EKS: cloud.eks.url,
    AWS_ENDPOINT_URL_EC2: cloud.ec2.url,
  };
}

/** A temp root; with `release`, holding /etc/eks/release as `eksnode ami` writes it. */
async function tempRoot(release = true): Promise<string> {
  const root = await tempDir({ prefix: "eksnode-init-" });
  if (release) {
    await Deno.mkdir(`${root}/etc/eks`, { recursive: true });
    await Deno.writeTextFile(`${root}/etc/eks/release`, "ARCH='x86_64'\nKUBERNETES_VERSION='1.32.3'\n");
  }
  return root;
}

function nodeConfigYaml(cluster: Record<string, string>, extra = ""): string {
  const lines = Object.entries(cluster).map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`);
  return `apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  cluster:\n${
    lines.join("\n")
  }\n${extra}`;
}

/**
 * These tests are about the inputs: the 9 steps are skipped (step 9 wants containerd installed under the
 * root), except in the first test, which runs the rendering steps 1-7 in a dry run.
 */
const INPUTS_ONLY = ["--skip", "1-9"];

const FULL = { name: "prod", apiServerEndpoint: ENDPOINT, certificateAuthority: CA, cidr: "10.100.0.0/16" };

function assertOneErrorLine(run: CliResult, message: RegExp): void {
  const errors = run.stderr.split("\n").filter((l) => l.startsWith("error: "));
  assert.equal(errors.length, 1, `one error line in:\n${run.stderr}`);
  assert.match(errors[0], message);
}

Deno.test("init --dry-run: NodeConfig user data on m5.large gives max pods 29, no AWS API call, nothing written", async () => {
  const root = await tempRoot();
  await Deno.mkdir(`${root}/proc`);
  const cpuinfo = Array.from({ length: 8 }, (_, i) => `processor\t: ${i}\nmodel name\t: test\n`).join("\n");
  await Deno.writeTextFile(`${root}/proc/cpuinfo`, cpuinfo);
  const before = await snapshotTree(root);
  await withCloud({ imds: { userData: nodeConfigYaml(FULL) } }, async (cloud) => {
    const run = await runInit(["--root", root, "--dry-run", "--only", "1-7"], cloudEnv(cloud));
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /max pods 29 \(eni-table\)/);
    assert.match(
      run.stdout,
      /kube-reserved cpu=90m, ephemeral-storage=1Gi, memory=574Mi/,
      "8 processors in cpuinfo",
    );
    assert.match(run.stdout, /cluster prod: https:\/\/ABCDEF0123456789\S+ \(from nodeconfig\)/);
    assert.match(run.stdout, /kubernetes 1\.32; node ip-10-0-1-23\.us-west-2\.compute\.internal/);
    assert.match(run.stdout, /cluster DNS 10\.100\.0\.10/);
    assert.match(
      run.stdout,
      /sandbox image 602401143452\.dkr\.ecr\.us-west-2\.amazonaws\.com\/eks\/pause:3\.10/,
    );
    assert.ok(cloud.imds.calls.paths.includes("user-data"));
    assert.equal(cloud.eks.calls.length, 0, "endpoint and CA were given: no DescribeCluster");
    assert.deepEqual(
      cloud.ec2.calls.map((c) => c.action),
      ["DescribeInstances"],
      "m5.large is in the ENI table: only the node name is asked for",
    );
  });
  assert.deepEqual(await snapshotTree(root), before, "a dry run writes nothing");
  await Deno.remove(root, { recursive: true });
});

Deno.test("init: IMDS unreachable → exit 8, one error line, root left empty", async () => {
  const root = await tempRoot(false);
  const run = await runInit(["--root", root], {
    AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://127.0.0.1:${deadPort()}`,
    AWS_METADATA_SERVICE_NUM_ATTEMPTS: "3",
  });
  assert.equal(run.code, 8, run.stderr);
  assertOneErrorLine(run, /cannot read instance metadata \S+ from http:\/\/127\.0\.0\.1:\d+ \(3 tries\)/);
  assert.deepEqual(await snapshotTree(root), {});
  await Deno.remove(root, { recursive: true });
});

Deno.test("init: DescribeCluster throttled twice then answers; the answer is cached and a second run calls EKS 0 times", async () => {
  const root = await tempRoot();
  await withCloud(
    { imds: { userData: nodeConfigYaml({ name: "prod" }) }, eks: { throttleFirst: 2 } },
    async (cloud) => {
      const dry = await runInit(["--root", root, "--dry-run", ...INPUTS_ONLY], cloudEnv(cloud));
      assert.equal(dry.code, 0, dry.stderr);
      assert.equal(cloud.eks.calls.length, 3, "two throttled tries, then the answer");
      assert.deepEqual(cloud.eks.calls.map((c) => c.status), [429, 429, 200]);
      assert.equal(
        dry.stdout.match(/warning: DescribeCluster: ThrottlingException.*; retry \d in \d+ ms/g)?.length,
        2,
      );
      assert.equal(cloud.eks.calls[2].region, "us-west-2", "the region comes from IMDS");
      assert.match(dry.stdout, /\(from describe-cluster\).*service CIDR 172\.20\.0\.0\/16/);
      assert.match(dry.stdout, /cluster DNS 172\.20\.0\.10/);
      assert.equal(
        await exists(`${root}/var/lib/eksnode/cluster-prod.json`),
        false,
        "a dry run writes no cache",
      );

      // A real run with every step skipped: only the inputs are resolved, and the cache is written.
      const real = await runInit(["--root", root, ...INPUTS_ONLY], cloudEnv(cloud));
      assert.equal(real.code, 0, real.stderr);
      assert.equal(cloud.eks.calls.length, 4);
      const cache = await Deno.stat(`${root}/var/lib/eksnode/cluster-prod.json`);
      assert.equal((cache.mode ?? 0) & 0o777, 0o600);

      const again = await runInit(["--root", root, "--dry-run", ...INPUTS_ONLY], cloudEnv(cloud));
      assert.equal(again.code, 0, again.stderr);
      assert.equal(cloud.eks.calls.length, 4, "the second run reads the cache: 0 EKS calls");
      assert.match(again.stdout, /\(from cache\)/);
    },
  );
  await Deno.remove(root, { recursive: true });
});

Deno.test("init: --aws-api-retry-attempts bounds the DescribeCluster tries", async () => {
  const root = await tempRoot();
  await withCloud({ eks: { throttleFirst: 2 } }, async (cloud) => {
    const run = await runInit(["prod", "--aws-api-retry-attempts", "2", "--root", root], cloudEnv(cloud));
    assert.equal(run.code, 9, run.stderr);
    assert.equal(cloud.eks.calls.length, 2);
    assertOneErrorLine(
      run,
      /DescribeCluster for EKS cluster "prod" .*failed after 2 tries: ThrottlingException/,
    );
  });
  assert.deepEqual(Object.keys(await snapshotTree(root)), ["/etc", "/etc/eks", "/etc/eks/release"]);
  await Deno.remove(root, { recursive: true });
});

Deno.test("init: DescribeCluster denied → exit 9, one error line, nothing written", async () => {
  const root = await tempRoot();
  const before = await snapshotTree(root);
  await withCloud(
    {
      imds: { userData: nodeConfigYaml({ name: "prod" }) },
      eks: { failWith: { status: 403, type: "AccessDeniedException" } },
    },
    async (cloud) => {
      const run = await runInit(["--root", root], cloudEnv(cloud));
      assert.equal(run.code, 9, run.stderr);
      assertOneErrorLine(run, /DescribeCluster for EKS cluster "prod" in us-west-2 .*AccessDeniedException/);
      assert.match(run.stderr, /hint: the credentials lack eks:DescribeCluster/);
      assert.equal(cloud.eks.calls.length, 1, "a 403 is not retried");
    },
  );
  assert.deepEqual(await snapshotTree(root), before, "no cache, no journal, no step output");
  await Deno.remove(root, { recursive: true });
});

Deno.test("init: an instance type missing from the ENI table is looked up with DescribeInstanceTypes", async () => {
  const root = await tempRoot();
  const metadata = { ...fakeImds.defaultMetadata(), "meta-data/instance-type": "zz9.large" };
  await withCloud(
    {
      imds: { metadata, userData: nodeConfigYaml(FULL) },
      ec2: { types: { "zz9.large": { enis: 4, ipsPerEni: 15, vcpus: 4, hypervisor: "nitro" } } },
    },
    async (cloud) => {
      const run = await runInit(["--root", root, "--dry-run", ...INPUTS_ONLY], cloudEnv(cloud));
      assert.equal(run.code, 0, run.stderr);
      const types = cloud.ec2.calls.filter((c) => c.action === "DescribeInstanceTypes");
      assert.equal(types.length, 1);
      assert.deepEqual(types[0].instanceTypes, ["zz9.large"]);
      assert.match(
        run.stdout,
        /max pods 58 \(ec2-describe-instance-types\); kube-reserved cpu=80m, ephemeral-storage=1Gi, memory=893Mi/,
      );
    },
  );
  await Deno.remove(root, { recursive: true });
});

Deno.test("init: an instance type EC2 does not know either → a warning, 110 pods and kube-reserved for 110 (nodeadm)", async () => {
  const root = await tempRoot();
  // Two processors, whatever this machine has: with the type unknown, init counts them under --root and
  // sizes kube-reserved CPU on them (70m for 2).
  await Deno.mkdir(`${root}/proc`, { recursive: true });
  await Deno.writeTextFile(`${root}/proc/cpuinfo`, "processor\t: 0\nprocessor\t: 1\n");
  const metadata = { ...fakeImds.defaultMetadata(), "meta-data/instance-type": "zz9.large" };
  await withCloud({ imds: { metadata, userData: nodeConfigYaml(FULL) } }, async (cloud) => {
    const run = await runInit(["--root", root, "--dry-run", ...INPUTS_ONLY], cloudEnv(cloud));
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stdout,
      /warning: EC2 does not know instance type "zz9\.large" .*: max pods falls back to kubelet's default of 110/,
    );
    assert.match(
      run.stdout,
      /max pods 110 \(default\); kube-reserved cpu=70m, ephemeral-storage=1Gi, memory=1465Mi/,
    );
  });
  await Deno.remove(root, { recursive: true });
});

Deno.test("init: EC2 throttling an unknown instance type's lookup past AWS_MAX_ATTEMPTS also falls back to 110", async () => {
  const root = await tempRoot();
  const metadata = { ...fakeImds.defaultMetadata(), "meta-data/instance-type": "zz9.large" };
  // Throttled past the tries: the type stays unknown, init goes on (as nodeadm on any lookup error);
  // the DescribeInstances after it is answered.
  await withCloud(
    { imds: { metadata, userData: nodeConfigYaml(FULL) }, ec2: { throttleFirst: 2 } },
    async (cloud) => {
      const run = await runInit(
        ["--root", root, "--dry-run", ...INPUTS_ONLY],
        { ...cloudEnv(cloud), AWS_MAX_ATTEMPTS: "2" },
      );
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /max pods 110 \(default\)/);
      // Which of the two parallel EC2 calls meets the throttling first is up to the scheduler.
      assert.match(
        run.stdout,
        /warning: .*instance type "zz9\.large".*: max pods falls back to kubelet's default of 110/,
      );
    },
  );
  await Deno.remove(root, { recursive: true });
});

Deno.test("init: bad user data → exit 3 naming the MIME part and field, without echoing the user data", async () => {
  const root = await tempRoot();
  const before = await snapshotTree(root);
  const userData = [
    'Content-Type: multipart/mixed; boundary="//"',
    "MIME-Version: 1.0",
    "",
    "--//",
    "Content-Type: text/x-shellscript",
    "",
    "#!/bin/bash\necho SECRET-TOKEN-abc123",
    "--//",
    "Content-Type: application/node.eks.aws",
    "",
    // A wrong type (an unknown field would only be a warning: nodeadm ignores those).
    nodeConfigYaml({ name: "prod" }, '  kubelet:\n    flags: "--v=2"\n'),
    "--//--",
    "",
  ].join("\n");
  await withCloud({ imds: { userData } }, async (cloud) => {
    const run = await runInit(["--root", root], cloudEnv(cloud));
    assert.equal(run.code, 3, run.stderr);
    assertOneErrorLine(
      run,
      /invalid NodeConfig in user data part 2 \(application\/node\.eks\.aws\): spec\.kubelet\.flags: expected array/,
    );
    assert.doesNotMatch(run.stdout + run.stderr, /SECRET-TOKEN/);
    assert.equal(cloud.eks.calls.length, 0);
  });
  assert.deepEqual(await snapshotTree(root), before);
  await Deno.remove(root, { recursive: true });
});

Deno.test("init: user data without a NodeConfig is a config error that says what was found", async () => {
  const root = await tempRoot();
  await withCloud({ imds: { userData: "#!/bin/bash\n/etc/eks/bootstrap.sh prod\n" } }, async (cloud) => {
    const run = await runInit(["--root", root, "--dry-run", ...INPUTS_ONLY], cloudEnv(cloud));
    assert.equal(run.code, 3, run.stderr);
    assertOneErrorLine(run, /no NodeConfig in imds:\/\/user-data \(found only text\/x-shellscript\)/);
  });
  await Deno.remove(root, { recursive: true });
});

Deno.test("init: bootstrap.sh arguments configure the node without reading user data", async () => {
  const root = await tempRoot();
  await withCloud({ imds: { userData: "not even yaml: [" } }, async (cloud) => {
    const run = await runInit([
      "prod",
      "--root",
      root,
      "--dry-run",
      `--apiserver-endpoint=${ENDPOINT}`,
      "--b64-cluster-ca",
      CA,
      "--dns-cluster-ip",
      "10.100.0.10",
      "--kubelet-extra-args",
      "--node-labels=team=a --max-pods=110",
      "--pause-container-version=3.9",
      ...INPUTS_ONLY,
    ], cloudEnv(cloud));
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /cluster prod: \S+ \(from bootstrap-flags\)/);
    assert.match(run.stdout, /max pods 110 \(override\)/);
    assert.match(run.stdout, /cluster DNS 10\.100\.0\.10/);
    assert.match(run.stdout, /eks\/pause:3\.9/);
    assert.ok(!cloud.imds.calls.paths.includes("user-data"), "bootstrap mode does not read user data");
    assert.equal(cloud.eks.calls.length, 0);
  });
  await Deno.remove(root, { recursive: true });
});

Deno.test("init: flag errors are usage errors (exit 2) naming the flag", async () => {
  const root = await tempRoot();
  const cases: [string[], RegExp][] = [
    [["--no-such-flag"], /unknown option '--no-such-flag'/],
    [["prod", "--use-max-pods", "maybe"], /--use-max-pods "maybe": must be true or false/],
    [["prod", "--config-source", "file:///etc/x.yaml"], /--config-source cannot be combined/],
    [["--config-source", "s3://bucket/x"], /unsupported config source "s3:\/\/bucket\/x"/],
  ];
  for (const [args, message] of cases) {
    const run = await runInit(["--root", root, ...args], {
      AWS_EC2_METADATA_SERVICE_ENDPOINT: "http://127.0.0.1:9",
    });
    assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
    assertOneErrorLine(run, message);
  }
  await Deno.remove(root, { recursive: true });
});

Deno.test("init: --config-source file:// drop-in directory on the running system, merged in order", async () => {
  const root = await tempRoot();
  const dir = await tempDir({ prefix: "eksnode-config-d-" });
  await Deno.writeTextFile(`${dir}/10-cluster.yaml`, nodeConfigYaml(FULL));
  await Deno.writeTextFile(
    `${dir}/20-kubelet.yaml`,
    "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  kubelet:\n    config:\n      maxPods: 50\n",
  );
  await Deno.writeTextFile(`${dir}/README`, "ignored: not *.yaml");
  await withCloud({}, async (cloud) => {
    const run = await runInit(
      ["--root", root, "--dry-run", "--config-source", `file://${dir}`, ...INPUTS_ONLY],
      cloudEnv(cloud),
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /2 parts merged/);
    assert.match(
      run.stdout,
      /max pods 50 \(override\); kube-reserved cpu=\d+m, ephemeral-storage=1Gi, memory=805Mi/,
    );
    assert.ok(!cloud.imds.calls.paths.includes("user-data"));
  });
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(root, { recursive: true });
});

Deno.test("init: without /etc/eks/release and DescribeCluster the Kubernetes version is a config error", async () => {
  const root = await tempRoot(false);
  await withCloud({ imds: { userData: nodeConfigYaml(FULL) } }, async (cloud) => {
    const run = await runInit(["--root", root, "--dry-run", ...INPUTS_ONLY], cloudEnv(cloud));
    assert.equal(run.code, 3, run.stderr);
    assertOneErrorLine(run, /cannot tell the Kubernetes version of this node \(cluster prod\)/);
  });
  assert.deepEqual(await snapshotTree(root), {});
  await Deno.remove(root, { recursive: true });
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
