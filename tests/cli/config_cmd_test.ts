/**
 * `eksnode config check|dump`: the NodeConfig init would use, read the way init reads it: drop-in files
 * merged in order, MIME user data from the IMDS fake, bootstrap.sh flags; errors as init reports them;
 * by default the boot units' sources; what `--strict` fails on.
 */
import { tempDir } from "../../fakes/temp.ts";
import assert from "node:assert/strict";
import { parse as parseYaml } from "yaml";
import { startDemoCloud } from "../../fakes/demo_cloud.ts";
import { eksnode } from "../support/cli_run.ts";
import { checkConfig } from "../../cli/config.ts";
import { BOOT_CONFIG_SOURCES } from "../../eks/paths/node.ts";

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

Deno.test("config check without --config-source reads what the boot units read: user data, then the drop-ins", async () => {
  const cloud = await startDemoCloud();
  const dir = await tempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/10-labels.yaml`,
      "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  kubelet: { flags: [--v=4] }\n",
    );
    // The boot units' sources, with a drop-in directory of the test's own in place of /etc/eks/nodeadm.d/.
    const r = await checkConfig(undefined, {}, cloud.env, ["imds://user-data", `file://${dir}/`]);
    assert.equal(r.origin, `imds://user-data, file://${dir}/`);
    assert.equal(r.parts.at(-1), `${dir}/10-labels.yaml`);
    assert.equal(r.cluster, "demo-cluster");
    // A drop-in directory that is not there (a machine not baked by eksnode ami) is named and skipped.
    const absent = await checkConfig(undefined, {}, cloud.env, ["imds://user-data", `file://${dir}/absent/`]);
    assert.equal(absent.origin, "imds://user-data");
    assert.deepEqual(absent.skipped.find((s) => s.origin === `${dir}/absent/`)?.contentType, "directory");
    // Given by name, a missing path is an error, as for nodeadm.
    const named = await eksnode(["config", "check", "--config-source", `file://${dir}/absent/`]);
    assert.equal(named.code, 3, named.stderr);

    // The real default: BOOT_CONFIG_SOURCES, the list the boot units are rendered from.
    const cli = await eksnode(["config", "check", "--output", "json"], { env: cloud.env, isolated: true });
    assert.equal(cli.code, 0, cli.stderr);
    const report = JSON.parse(cli.stdout);
    const dropIns = BOOT_CONFIG_SOURCES[1].slice("file://".length);
    if (await Deno.stat(dropIns).then(() => true, () => false)) {
      assert.equal(report.origin, BOOT_CONFIG_SOURCES.join(", "));
    } else {
      assert.equal(report.origin, "imds://user-data");
      assert.ok(report.skipped.some((s: { origin: string }) => s.origin === dropIns), cli.stdout);
    }
    assert.deepEqual(BOOT_CONFIG_SOURCES, ["imds://user-data", "file:///etc/eks/nodeadm.d/"]);
  } finally {
    await cloud.close();
  }
});

Deno.test("bootstrap.sh flags: a CA that is not a PEM certificate is a warning, as in a NodeConfig (the help's example runs)", async () => {
  // `eksnode config dump --help`'s bootstrap.sh example, run as written.
  const help = await eksnode(["config", "dump", "--help"]);
  const example = help.stdout.split("\nExamples:\n")[1].replace(/\\\n\s*/g, "").split("\n").map((l) =>
    l.trim()
  )
    .find((l) => l.startsWith("eksnode config dump my-cluster"));
  assert.ok(example, help.stdout);
  const args = example.split(/\s+/).slice(1);
  assert.ok(args.includes("--b64-cluster-ca") && args.includes("Q0EK"), example);
  const dump = await eksnode(args);
  assert.equal(dump.code, 0, dump.stderr);
  assert.equal(parseYaml(dump.stdout).spec.cluster.certificateAuthority, "Q0EK");
  assert.match(
    dump.stderr,
    /^warning: bootstrap\.sh flags: --b64-cluster-ca decodes to something that is not a PEM certificate .*kubelet will not trust the API server$/m,
  );

  const flags = args.slice(2);
  const check = await eksnode(["config", "check", ...flags, "--output", "json"]);
  assert.equal(check.code, 0, check.stderr);
  assert.deepEqual(
    JSON.parse(check.stdout).warnings.map((w: { message: string }) => w.message.split(" ")[0]),
    [
      "--b64-cluster-ca",
    ],
  );
  const strict = await eksnode(["config", "check", ...flags, "--strict"]);
  assert.equal(strict.code, 3);
  assert.match(strict.stderr, /error: config check --strict: 1 warning \(about --b64-cluster-ca\)/);
  // A plain-http endpoint is a warning too; what does not decode is still refused.
  const http = await eksnode([
    "config",
    "check",
    "c",
    "--apiserver-endpoint",
    "http://example.com",
    "--b64-cluster-ca",
    CA,
  ]);
  assert.equal(http.code, 0, http.stderr);
  assert.match(http.stderr, /warning: bootstrap\.sh flags: --apiserver-endpoint is plain http:\/\//);
  const bad = await eksnode(["config", "check", "c", "--b64-cluster-ca", "not base64!"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /bootstrap\.sh --b64-cluster-ca: must be standard base64/);

  // init takes it too, and says so.
  const cloud = await startDemoCloud();
  const root = await tempDir();
  await Deno.mkdir(`${root}/etc/eks`, { recursive: true });
  await Deno.writeTextFile(`${root}/etc/eks/release`, "KUBERNETES_VERSION=1.32.3\n");
  try {
    const init = await eksnode(["init", "--root", root, "--skip", "1-9", ...flags], {
      env: cloud.env,
      isolated: true,
    });
    assert.equal(init.code, 0, `${init.stdout}\n${init.stderr}`);
    assert.match(
      init.stdout + init.stderr,
      /bootstrap\.sh flags: --b64-cluster-ca decodes to something that is not a PEM/,
    );
  } finally {
    await cloud.close();
  }
});

Deno.test("config check --strict: the error names what it failed on (unknown fields, other warnings) and the hint fits", async () => {
  const dir = await tempDir();
  const base = [
    "apiVersion: node.eks.aws/v1alpha1",
    "kind: NodeConfig",
    "spec:",
    "  cluster: { name: c, apiServerEndpoint: https://example.com, certificateAuthority: Q0EK, cidr: 10.100.0.0/16 }",
  ];
  await Deno.writeTextFile(`${dir}/ca.yaml`, base.join("\n") + "\n");
  await Deno.writeTextFile(
    `${dir}/unknown.yaml`,
    [
      ...base.slice(0, 3),
      `  cluster: { name: c, apiServerEndpoint: https://example.com, certificateAuthority: ${CA}, cidr: 10.100.0.0/16, nmae: x }`,
    ].join("\n") + "\n",
  );
  await Deno.writeTextFile(`${dir}/both.yaml`, [...base, "  kubelt: {}"].join("\n") + "\n");
  const run = (name: string) =>
    eksnode(["config", "check", "--strict", "--config-source", `file://${dir}/${name}`]);

  // Only a warning (the placeholder CA): no word of unknown fields.
  const ca = await run("ca.yaml");
  assert.equal(ca.code, 3);
  assert.match(
    ca.stderr,
    /^error: config check --strict: 1 warning \(about spec\.cluster\.certificateAuthority\)$/m,
  );
  assert.match(
    ca.stderr,
    /^hint: correct the values warned about above \(init warns about them and goes on\), or run without --strict$/m,
  );
  assert.doesNotMatch(ca.stderr, /unknown field/);

  const unknown = await run("unknown.yaml");
  assert.equal(unknown.code, 3);
  assert.match(
    unknown.stderr,
    /^error: config check --strict: 1 warning \(unknown field: spec\.cluster\.nmae\)$/m,
  );
  assert.match(
    unknown.stderr,
    /^hint: remove or correct the unknown fields \(init ignores them, as nodeadm does\), or run without --strict$/m,
  );

  const both = await run("both.yaml");
  assert.equal(both.code, 3);
  assert.match(
    both.stderr,
    /^error: config check --strict: 2 warnings \(unknown field: spec\.kubelt; about spec\.cluster\.certificateAuthority\)$/m,
  );
  assert.match(
    both.stderr,
    /^hint: remove or correct the unknown fields .*; correct the values warned about/m,
  );
  // Without --strict each is a warning and the check passes.
  assert.equal((await eksnode(["config", "check", "--config-source", `file://${dir}/both.yaml`])).code, 0);
});

Deno.test("localStorage: strategy raid0 is RAID0 (nodeadm lowercases it); an unknown disabled mount is a warning, not an error", async () => {
  const dir = await tempDir();
  await Deno.writeTextFile(
    `${dir}/disks.yaml`,
    [
      "apiVersion: node.eks.aws/v1alpha1",
      "kind: NodeConfig",
      "spec:",
      `  cluster: { name: c, apiServerEndpoint: https://example.com, certificateAuthority: ${CA}, cidr: 10.100.0.0/16 }`,
      "  instance:",
      "    localStorage: { strategy: raid0, disabledMounts: [podlogs, Containerd] }",
      "",
    ].join("\n"),
  );
  const check = await eksnode(["config", "check", "--config-source", `file://${dir}/disks.yaml`]);
  assert.equal(check.code, 0, check.stderr);
  assert.match(
    check.stderr,
    /^warning: .*disks\.yaml: spec\.instance\.localStorage\.disabledMounts\[0\]: "podlogs" is not a mount nodeadm knows .*did you mean PodLogs\?$/m,
  );
  const dump = await eksnode([
    "config",
    "dump",
    "--config-source",
    `file://${dir}/disks.yaml`,
    "--output",
    "json",
  ]);
  assert.equal(dump.code, 0, dump.stderr);
  assert.deepEqual(JSON.parse(dump.stdout).spec.instance.localStorage, {
    strategy: "RAID0",
    disabledMounts: ["Containerd"],
  });
  const strict = await eksnode([
    "config",
    "check",
    "--strict",
    "--config-source",
    `file://${dir}/disks.yaml`,
  ]);
  assert.equal(strict.code, 3);
  assert.match(strict.stderr, /\(about spec\.instance\.localStorage\.disabledMounts\[0\]\)/);
});
