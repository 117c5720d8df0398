/**
 * The NodeConfig API of nodeadm (awslabs/amazon-eks-ami commit 81fec2e8) through the real CLI: nodeadm's
 * own e2e cases (tests/golden/nodeadm_cases/, inputs beside expected files) run with `eksnode init --root`
 * against the fake IMDS and `eksnode config check|dump`, plus what eksnode adds around them: warnings for
 * unknown fields and eksnode's old flat environment, `config check --strict`, bootstrap.sh flags in
 * `config dump`, and instance.environment.default proxies reaching eksnode's own AWS calls.
 */
import assert from "node:assert/strict";
import { parse as parseYaml } from "yaml";
import { eksnode } from "../support/cli_run.ts";
import { CA_B64, runInit } from "../support/cli_fixtures.ts";
import { bakedRoot } from "../../fakes/baked_root.ts";
import { serveLoopback } from "../../fakes/common.ts";
import * as fakeEks from "../../fakes/eks.ts";
import * as fakeImds from "../../fakes/imds.ts";

const CASES = new URL("../golden/nodeadm_cases/", import.meta.url).pathname;
const KUBELET_CONFIG = "/etc/kubernetes/kubelet/kubelet-config.json";
const KUBELET_UNIT = "/etc/systemd/system/kubelet.service";

/** The instance nodeadm's e2e cases run on (their aemm mock): an m5.xlarge in us-west-2f. */
function caseInstance(): fakeImds.FakeImdsOptions {
  const metadata = fakeImds.defaultMetadata();
  const doc = JSON.parse(metadata["dynamic/instance-identity/document"]);
  Object.assign(metadata, {
    "meta-data/instance-id": "i-1234567890abcdef0",
    "meta-data/instance-type": "m5.xlarge",
    "meta-data/placement/availability-zone": "us-west-2f",
    "dynamic/instance-identity/document": JSON.stringify({
      ...doc,
      instanceId: "i-1234567890abcdef0",
      instanceType: "m5.xlarge",
      availabilityZone: "us-west-2f",
    }),
  });
  return { metadata };
}

/** `eksnode init --root ROOT --config-source file://CASE_FILE` on the case instance; fails the test on a non-zero exit. */
async function initCase(root: string, file: string, env: Record<string, string> = {}) {
  const { run } = await runInit({
    root,
    imds: caseInstance(),
    args: ["--config-source", `file://${CASES}${file}`],
    env,
  });
  assert.equal(run.code, 0, `init with ${file}: ${run.stdout}\n${run.stderr}`);
  return run;
}

async function readIn(root: string, path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(`${root}${path}`);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

async function withRoot(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await bakedRoot("eksnode-nodeconfig-api-");
  try {
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("nodeadm case nodeadm-environment-config: default and per-service environment files, one root, six configs in a row", async () => {
  const SYSTEM = "/etc/systemd/system.conf.d/environment.conf";
  const KUBELET = "/etc/systemd/system/kubelet.service.d/environment.conf";
  const CONTAINERD = "/etc/systemd/system/containerd.service.d/environment.conf";
  const dir = "nodeadm-environment-config";
  const expected = (name: string) => Deno.readTextFile(`${CASES}${dir}/expected-config-${name}.conf`);
  await withRoot(async (root) => {
    // The run.sh order: each init on the root the one before left, as nodeadm's case does.
    await initCase(root, `${dir}/config-basic-env.yaml`);
    assert.equal(await readIn(root, SYSTEM), await expected("basic-env"));

    await initCase(root, `${dir}/config-quote-escaping.yaml`);
    assert.equal(await readIn(root, SYSTEM), await expected("quote-escaping"));

    await initCase(root, `${dir}/config-service-specific.yaml`);
    assert.equal(await readIn(root, SYSTEM), await expected("service-specific-default"));
    assert.equal(await readIn(root, KUBELET), await expected("service-specific-kubelet"));
    assert.equal(await readIn(root, CONTAINERD), await expected("service-specific-containerd"));

    // nodeadm's run.sh deletes the files before the next three; eksnode removes what is no longer set.
    await initCase(root, `${dir}/config-service-only.yaml`);
    assert.equal(await readIn(root, SYSTEM), undefined, "no default: no system.conf.d file");
    assert.equal(await readIn(root, KUBELET), await expected("service-only-kubelet"));
    assert.equal(await readIn(root, CONTAINERD), await expected("service-only-containerd"));

    for (const config of ["config-no-env.yaml", "config-empty-env.yaml"]) {
      await initCase(root, `${dir}/${config}`);
      for (const p of [SYSTEM, KUBELET, CONTAINERD]) {
        assert.equal(await readIn(root, p), undefined, `${config}: ${p}`);
      }
    }
  });
});

Deno.test("nodeadm case network-name-resolution: /run/systemd/resolved.conf.d/40-eks.conf, removed again when unset", async () => {
  await withRoot(async (root) => {
    const run = await initCase(root, "network-name-resolution/config.yaml");
    assert.equal(
      await readIn(root, "/run/systemd/resolved.conf.d/40-eks.conf"),
      await Deno.readTextFile(`${CASES}network-name-resolution/expected-resolved.conf`),
    );
    assert.match(
      run.stdout + run.stderr,
      /restart of systemd-resolved skipped: --root is not the running system/,
    );
    await initCase(root, "config-check/config-good.yaml");
    assert.equal(await readIn(root, "/run/systemd/resolved.conf.d/40-eks.conf"), undefined);
  });
});

Deno.test("nodeadm case custom-max-pods-expression: each scenario's maxPods and kube-reserved", async () => {
  const dir = `${CASES}custom-max-pods-expression/scenarios`;
  const scenarios: string[] = [];
  for await (const e of Deno.readDir(dir)) scenarios.push(e.name);
  assert.deepEqual(scenarios.sort(), ["custom-networking", "kubelet-config-max-pods"]);
  for (const scenario of scenarios) {
    await withRoot(async (root) => {
      const run = await initCase(root, `custom-max-pods-expression/scenarios/${scenario}/config.yaml`);
      const got = JSON.parse((await readIn(root, KUBELET_CONFIG))!);
      const want = JSON.parse(await Deno.readTextFile(`${dir}/${scenario}/expected.json`));
      // nodeadm writes the expression's value in config.json and the user's kubelet config as a drop-in
      // (kubelet merges it over); eksnode writes the merge: the drop-in's maxPods wins where there is one.
      let dropIn: { maxPods?: number } = {};
      try {
        dropIn = JSON.parse(await Deno.readTextFile(`${dir}/${scenario}/expected-dropin.json`));
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      }
      assert.equal(got.maxPods, dropIn.maxPods ?? want.maxPods, scenario);
      // kube-reserved is sized on the expression's value, also when maxPods is the user's.
      assert.deepEqual(got.kubeReserved, want.kubeReserved, scenario);
      assert.equal(got.providerID, want.providerID, scenario);
      assert.match(
        run.stdout + run.stderr,
        /spec\.cluster\.apiServerEndpoint is plain http:\/\//,
        "http endpoint: warned, accepted",
      );
    });
  }
});

Deno.test("a max pods expression that cannot be evaluated: a warning and the standard value, as nodeadm", async () => {
  await withRoot(async (root) => {
    const dir = await Deno.makeTempDir({ prefix: "eksnode-maxpods-expr-" });
    try {
      const base = await Deno.readTextFile(`${CASES}custom-max-pods-expression/config.yaml`);
      await Deno.writeTextFile(
        `${dir}/bad.yaml`,
        base.replace(/maxPodsExpression: .*/, "maxPodsExpression: ips_per_enis * 2"),
      );
      const check = await eksnode(["config", "check", "--config-source", `file://${dir}/bad.yaml`]);
      assert.equal(check.code, 0, check.stderr);
      assert.match(
        check.stderr,
        /warning: .*maxPodsExpression "ips_per_enis \* 2".*init will use the standard max pods/,
      );
      const { run } = await runInit({
        root,
        imds: caseInstance(),
        args: ["--config-source", `file://${dir}/bad.yaml`],
      });
      assert.equal(run.code, 0, run.stderr);
      assert.match(
        run.stdout + run.stderr,
        /maxPodsExpression "ips_per_enis \* 2".*using the standard max pods 58/,
      );
      const got = JSON.parse((await readIn(root, KUBELET_CONFIG))!);
      assert.equal(got.maxPods, 58, "m5.xlarge: 4 ENIs × (15 − 1) + 2");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("nodeadm case mime-userdata-merge: both NodeConfig parts merged, the shell script part skipped", async () => {
  await withRoot(async (root) => {
    await initCase(root, "mime-userdata-merge/config.yaml");
    const got = JSON.parse((await readIn(root, KUBELET_CONFIG))!);
    const dropIn = JSON.parse(
      await Deno.readTextFile(`${CASES}mime-userdata-merge/expected-kubelet-config-drop-in.json`),
    );
    const want = JSON.parse(
      await Deno.readTextFile(`${CASES}mime-userdata-merge/expected-kubelet-config.json`),
    );
    // nodeadm's drop-in is the merged user config: every field of it is in effect in eksnode's config.
    for (const [k, v] of Object.entries(dropIn)) assert.deepEqual(got[k], v, k);
    assert.deepEqual(got.kubeReserved, want.kubeReserved);
  });
  const dump = await eksnode([
    "config",
    "dump",
    "--config-source",
    `file://${CASES}mime-userdata-merge/config.yaml`,
  ]);
  assert.equal(dump.code, 0, dump.stderr);
  assert.deepEqual(parseYaml(dump.stdout).spec.kubelet.config, {
    maxPods: 58,
    clusterDNS: ["1.1.1.1"],
    systemReserved: { cpu: "150m" },
  });
});

Deno.test("nodeadm case kubelet-flags: user flags last in order, InstanceIdNodeName names the node i-...", async () => {
  await withRoot(async (root) => {
    await initCase(root, "kubelet-flags/config.yaml");
    const unit = (await readIn(root, KUBELET_UNIT))!;
    const args = unit.split("\n").filter((l) => /^\s+\S/.test(l) || l.startsWith("ExecStart=")).map((l) =>
      l.trim().replace(/ \\$/, "")
    );
    assert.ok(args.includes("--hostname-override=i-1234567890abcdef0"), args.join("\n"));
    assert.deepEqual(args.slice(-3), [
      "--v=5",
      "--node-labels=foo=bar,foo2=baz",
      "--register-with-taints=foo=bar:NoSchedule",
    ]);
  });
});

Deno.test("nodeadm case config-check: good passes, bad fails naming the unknown field; --strict fails on unknown fields", async () => {
  const good = await eksnode([
    "config",
    "check",
    "--config-source",
    `file://${CASES}config-check/config-good.yaml`,
  ]);
  assert.equal(good.code, 0, good.stderr);
  const bad = await eksnode([
    "config",
    "check",
    "--config-source",
    `file://${CASES}config-check/config-bad.yaml`,
  ]);
  assert.equal(bad.code, 3, bad.stderr);
  assert.match(
    bad.stderr,
    /error: no cluster name in .*unknown field spec\.cluster\.name-not-real \(known fields: name,/,
  );

  const dir = await Deno.makeTempDir({ prefix: "eksnode-config-check-" });
  try {
    const goodText = await Deno.readTextFile(`${CASES}config-check/config-good.yaml`);
    await Deno.writeTextFile(
      `${dir}/extra.yaml`,
      `${goodText}  kubelet:\n    flagz: [--v=2]\n    config:\n      maxPods: 20\n  status: {}\n`,
    );
    const lax = await eksnode([
      "config",
      "check",
      "--config-source",
      `file://${dir}/extra.yaml`,
      "--output",
      "json",
    ]);
    assert.equal(lax.code, 0, lax.stderr);
    assert.deepEqual(JSON.parse(lax.stdout).unknownFields, ["spec.kubelet.flagz", "spec.status"]);
    const strict = await eksnode([
      "config",
      "check",
      "--strict",
      "--config-source",
      `file://${dir}/extra.yaml`,
    ]);
    assert.equal(strict.code, 3);
    assert.match(strict.stderr, /warning: .*unknown field spec\.kubelet\.flagz/);
    assert.match(
      strict.stderr,
      // The case's placeholder CA is warned about too, and named apart from the unknown fields.
      /error: config check --strict: 3 warnings \(unknown fields: spec\.kubelet\.flagz, spec\.status; about spec\.cluster\.certificateAuthority\)/,
    );

    // What init refuses, check refuses too (it used to say ok).
    await Deno.writeTextFile(
      `${dir}/lots.yaml`,
      goodText.replace("  cluster:", "  kubelet:\n    config:\n      maxPods: lots\n  cluster:"),
    );
    const lots = await eksnode(["config", "check", "--config-source", `file://${dir}/lots.yaml`]);
    assert.equal(lots.code, 3);
    assert.match(lots.stderr, /error: spec\.kubelet\.config\.maxPods in .* must be a whole number of pods/);
    await withRoot(async (root) => {
      const { run } = await runInit({
        root,
        imds: caseInstance(),
        args: ["--config-source", `file://${dir}/lots.yaml`],
      });
      assert.equal(run.code, 3);
      assert.match(run.stderr, /error: spec\.kubelet\.config\.maxPods in .* must be a whole number of pods/);
    });

    // Every field of nodeadm's v1alpha1 is accepted (SOCI, network, maxPodsExpression, known gates).
    await Deno.writeTextFile(
      `${dir}/all.yaml`,
      goodText +
        [
          "  featureGates: { InstanceIdNodeName: false, FastImagePull: true }",
          "  kubelet: { maxPodsExpression: 'max_pods < 30 ? max_pods : 30' }",
          "  instance:",
          "    localStorage: { strategy: RAID0, disabledMounts: [Containerd, PodLogs, SOCI] }",
          "    network: { nameservers: ['10.0.0.2'], domains: [ec2.internal] }",
          "    environment: { default: { NO_PROXY: localhost }, sandbox-image: { A: b } }",
          "",
        ].join("\n"),
    );
    const all = await eksnode([
      "config",
      "check",
      "--strict",
      "--config-source",
      `file://${dir}/all.yaml`,
      "--output",
      "json",
    ]);
    // Only the case's CA (not a PEM certificate) is warned about.
    assert.deepEqual(
      JSON.parse(all.stdout).warnings.map((w: { message: string }) => w.message.split(" ")[0]),
      [
        "spec.cluster.certificateAuthority",
      ],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("init: unknown fields, unknown feature gates and eksnode's flat environment are warnings, and init goes on", async () => {
  await withRoot(async (root) => {
    const userData = [
      "apiVersion: node.eks.aws/v1alpha1",
      "kind: NodeConfig",
      "spec:",
      "  cluster:",
      "    name: prod",
      "    apiServerEndpoint: https://example.com",
      `    certificateAuthority: ${CA_B64}`,
      "    cidr: 10.100.0.0/16",
      "    futureField: 1",
      "  featureGates: { SomethingNew: true }",
      "  instance:",
      "    environment: { HTTPS_PROXY: 'http://user:secret@proxy:3128', NO_PROXY: localhost }",
      "",
    ].join("\n");
    const { run } = await runInit({ root, imds: { ...caseInstance(), userData } });
    assert.equal(run.code, 0, run.stderr);
    const out = run.stdout + run.stderr;
    assert.match(out, /unknown field spec\.cluster\.futureField .*ignored, as nodeadm ignores it/);
    assert.match(
      out,
      /spec\.featureGates\.SomethingNew: unknown feature gate, it has no effect \(known: InstanceIdNodeName, FastImagePull\)/,
    );
    assert.match(
      out,
      /flat map of variables .* environment: \{ kubelet: \{ HTTPS_PROXY: \.\.\., NO_PROXY: \.\.\. \}, containerd: .*default:/,
    );
    assert.doesNotMatch(run.stdout + run.stderr, /secret/, "values are never logged");
    for (const unit of ["kubelet", "containerd"]) {
      assert.equal(
        await readIn(root, `/etc/systemd/system/${unit}.service.d/environment.conf`),
        '[Service]\nEnvironment="HTTPS_PROXY=http://user:secret@proxy:3128"\nEnvironment="NO_PROXY=localhost"\n',
      );
    }
    assert.equal(await readIn(root, "/etc/systemd/system.conf.d/environment.conf"), undefined);
  });
});

Deno.test("instance.environment.default HTTP_PROXY carries eksnode's own DescribeCluster call, and lands in DefaultEnvironment", async () => {
  const eks = fakeEks.start({ clusters: { prod: fakeEks.clusterJson("prod") } });
  const seen: string[] = [];
  // A forward proxy: gets absolute-form requests and passes them on to the fake EKS.
  const proxy = serveLoopback(async (req) => {
    seen.push(`${req.method} ${req.url}`);
    const u = new URL(req.url);
    const res = await fetch(`${eks.url}${u.pathname}${u.search}`, {
      method: req.method,
      headers: req.headers,
      body: req.body,
    });
    return new Response(res.body, { status: res.status, headers: res.headers });
  });
  try {
    await withRoot(async (root) => {
      const userData = [
        "apiVersion: node.eks.aws/v1alpha1",
        "kind: NodeConfig",
        "spec:",
        "  cluster: { name: prod }",
        "  instance:",
        "    environment:",
        "      default:",
        `        HTTP_PROXY: ${proxy.url}`,
        "        NO_PROXY: 169.254.169.254,localhost",
        "",
      ].join("\n");
      const { run } = await runInit({
        root,
        imds: { ...caseInstance(), userData },
        // A host that does not resolve: only the proxy can reach it.
        env: { AWS_ENDPOINT_URL_EKS: "http://eks.us-west-2.example.invalid" },
      });
      assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
      assert.deepEqual(seen, ["GET http://eks.us-west-2.example.invalid/clusters/prod"]);
      assert.equal(
        await readIn(root, "/etc/systemd/system.conf.d/environment.conf"),
        `[Manager]\nDefaultEnvironment="HTTP_PROXY=${proxy.url}"\nDefaultEnvironment="NO_PROXY=169.254.169.254,localhost"\n`,
      );
    });
  } finally {
    await Promise.all([proxy.close(), eks.close()]);
  }
});

Deno.test("config dump of bootstrap.sh flags carries --dns-cluster-ip and names what NodeConfig cannot hold", async () => {
  const dump = await eksnode([
    "config",
    "dump",
    "flags-cluster",
    "--b64-cluster-ca",
    CA_B64,
    "--apiserver-endpoint",
    "https://b.example",
    "--dns-cluster-ip",
    "10.100.0.10",
    "--use-max-pods",
    "false",
    "--pause-container-version",
    "3.9",
    "--local-disks",
    "raid0",
    "--output",
    "json",
  ]);
  assert.equal(dump.code, 0, dump.stderr);
  const cfg = JSON.parse(dump.stdout);
  assert.deepEqual(cfg.spec.kubelet.config, { clusterDNS: ["10.100.0.10"] });
  assert.equal(cfg.spec.instance.localStorage.strategy, "RAID0");
  assert.match(dump.stderr, /warning: not in the NodeConfig: --use-max-pods false: /);
  assert.match(dump.stderr, /warning: not in the NodeConfig: --pause-container-version: /);
  assert.doesNotMatch(dump.stderr, /dns-cluster-ip|local-disks/);
});

Deno.test("docs/nodeconfig.md: its example NodeConfig checks and applies as the doc says", async () => {
  const doc = await Deno.readTextFile(new URL("../../docs/nodeconfig.md", import.meta.url));
  const yaml = /```yaml\n([\s\S]*?)```/.exec(doc)![1];
  const dir = await Deno.makeTempDir({ prefix: "eksnode-docs-nodeconfig-" });
  try {
    await Deno.writeTextFile(`${dir}/nodeconfig.yaml`, yaml);
    const check = await eksnode(["config", "check", "--config-source", `file://${dir}/nodeconfig.yaml`]);
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, /^ok: /);
    assert.deepEqual(check.stderr.trim().split("\n").map((l) => l.replace(/ decodes.*/, "")), [
      "warning: merged NodeConfig: spec.cluster.certificateAuthority",
    ]);
    await withRoot(async (root) => {
      const { run } = await runInit({
        root,
        imds: caseInstance(),
        args: ["--config-source", `file://${dir}/nodeconfig.yaml`],
      });
      assert.equal(run.code, 0, run.stderr);
      assert.match(
        (await readIn(root, "/etc/systemd/system.conf.d/environment.conf"))!,
        /DefaultEnvironment="HTTPS_PROXY=http:\/\/proxy.internal:3128"/,
      );
      assert.equal(
        await readIn(root, "/etc/systemd/system/kubelet.service.d/environment.conf"),
        '[Service]\nEnvironment="KUBELET_ONLY=1"\n',
      );
      assert.equal(
        await readIn(root, "/run/systemd/resolved.conf.d/40-eks.conf"),
        "[Resolve]\nDNS=10.0.0.2\nDomains=corp.internal\n",
      );
      const kubelet = JSON.parse((await readIn(root, KUBELET_CONFIG))!);
      assert.equal(kubelet.maxPods, 30, "m5.xlarge: min(58, 30)");
      assert.match((await readIn(root, KUBELET_UNIT))!, /--hostname-override=i-1234567890abcdef0/);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
