/**
 * `eksnode config check|dump`: the NodeConfig init would use, read the way init reads it: drop-in files
 * merged in order, MIME user data from the IMDS fake, bootstrap.sh flags; errors as init reports them.
 */
import { tempDir } from "../../fakes/temp.ts";
import assert from "node:assert/strict";
import { parse as parseYaml } from "yaml";
import { startDemoCloud } from "../../fakes/demo_cloud.ts";
import { eksnode } from "../support/cli_run.ts";

const EXAMPLE = new URL("../../examples/userdata/mime-multipart.txt", import.meta.url).pathname;
const CA = /certificateAuthority: (\S+)/.exec(await Deno.readTextFile(EXAMPLE))![1];

Deno.test("config dump: drop-ins merged in name order (later scalars win, kubelet flags append), YAML and JSON", async () => {
  const dir = await tempDir();
  await Deno.writeTextFile(
    `${dir}/10-cluster.yaml`,
    [
      "apiVersion: node.eks.aws/v1alpha1",
      "kind: NodeConfig",
      "spec:",
      "  cluster: { name: first, apiServerEndpoint: https://a.example, cidr: 10.100.0.0/16 }",
      "  kubelet: { flags: [--node-labels=a=1], config: { maxPods: 20 } }",
      "",
    ].join("\n"),
  );
  await Deno.writeTextFile(
    `${dir}/20-override.json`,
    JSON.stringify({
      apiVersion: "node.eks.aws/v1alpha1",
      kind: "NodeConfig",
      spec: {
        cluster: { name: "second" },
        kubelet: { flags: ["--v=4"], config: { serializeImagePulls: false } },
      },
    }),
  );
  await Deno.writeTextFile(`${dir}/README.txt`, "not a drop-in");
  const yaml = await eksnode(["config", "dump", "--config-source", `file://${dir}`]);
  assert.equal(yaml.code, 0, yaml.stderr);
  const merged = parseYaml(yaml.stdout);
  assert.deepEqual(merged, {
    apiVersion: "node.eks.aws/v1alpha1",
    kind: "NodeConfig",
    spec: {
      cluster: { name: "second", apiServerEndpoint: "https://a.example", cidr: "10.100.0.0/16" },
      kubelet: { flags: ["--node-labels=a=1", "--v=4"], config: { maxPods: 20, serializeImagePulls: false } },
    },
  });
  const json = await eksnode(["config", "dump", "--config-source", `file://${dir}`, "--output", "json"]);
  assert.equal(json.code, 0, json.stderr);
  assert.deepEqual(JSON.parse(json.stdout), merged);

  const check = await eksnode(["config", "check", "--config-source", `file://${dir}`, "--output", "json"]);
  assert.equal(check.code, 0, check.stderr);
  const r = JSON.parse(check.stdout);
  assert.equal(r.cluster, "second");
  assert.deepEqual(r.parts, [`${dir}/10-cluster.yaml`, `${dir}/20-override.json`]);
  assert.deepEqual(r.describeClusterFor, ["certificateAuthority"]);
});

Deno.test("config check: MIME user data from IMDS, bootstrap.sh flags, and the errors init would give", async () => {
  const cloud = await startDemoCloud();
  try {
    const fromImds = await eksnode(["config", "check"], { env: cloud.env, isolated: true });
    assert.equal(fromImds.code, 0, fromImds.stderr);
    assert.match(
      fromImds.stdout,
      /^ok: NodeConfig from imds:\/\/user-data: \d+ parts? merged, cluster demo-cluster/,
    );
  } finally {
    await cloud.close();
  }
  const mime = await eksnode(["config", "check", "--config-source", `file://${EXAMPLE}`]);
  assert.equal(mime.code, 0, mime.stderr);
  assert.match(
    mime.stdout,
    /cluster my-cluster; endpoint and CA given: no DescribeCluster; 1 non-NodeConfig part\(s\) ignored/,
  );

  const flags = await eksnode([
    "config",
    "dump",
    "flags-cluster",
    "--b64-cluster-ca",
    CA,
    "--apiserver-endpoint",
    "https://b.example",
    "--kubelet-extra-args",
    "--node-labels=team=a --v=2",
    "--output",
    "json",
  ]);
  assert.equal(flags.code, 0, flags.stderr);
  const cfg = JSON.parse(flags.stdout);
  assert.equal(cfg.spec.cluster.name, "flags-cluster");
  assert.equal(cfg.spec.cluster.apiServerEndpoint, "https://b.example");
  assert.deepEqual(cfg.spec.kubelet.flags, ["--node-labels=team=a", "--v=2"]);

  const dir = await tempDir();
  await Deno.writeTextFile(
    `${dir}/bad.yaml`,
    "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  kubelet:\n    flagz: []\n",
  );
  const bad = await eksnode(["config", "check", "--config-source", `file://${dir}/bad.yaml`]);
  assert.equal(bad.code, 3);
  // An unknown field is ignored (as nodeadm does) and named in the error of a config that then fails.
  assert.match(
    bad.stderr,
    /no cluster name in .*unknown field spec\.kubelet\.flagz \(known fields: config, flags,/,
  );
  await Deno.writeTextFile(
    `${dir}/noname.yaml`,
    "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec: {}\n",
  );
  const noName = await eksnode(["config", "check", "--config-source", `file://${dir}/noname.yaml`]);
  assert.equal(noName.code, 3);
  assert.match(noName.stderr, /no cluster name in file:\/\//);
  const both = await eksnode(["config", "check", "c", "--config-source", `file://${dir}/noname.yaml`]);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--config-source cannot be combined with a cluster name/);
  assert.equal((await eksnode(["config", "lint"])).code, 2);
});
