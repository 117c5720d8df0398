/** Step 33's release files, `eksnode verify` and `eksnode collect-logs` on a baked root. */
import { tempDir } from "../../../fakes/temp.ts";
import assert from "node:assert/strict";
import { runCollectLogs } from "../../../cli/collect_logs.ts";
import { isSecretPath, redactSecrets } from "../../../eks/system/log_bundle.ts";
import { Host } from "../../../lib/host.ts";
import { readTar } from "../../../lib/tar.ts";
import { compareKernelVersions, shellValue } from "../../../steps/ami/33_release_file.ts";
import { file } from "../../../lib/changes.ts";
import { runSteps } from "../../../lib/runner.ts";
import { expectFile } from "../../../eks/verify/expected_path.ts";
import { runNodeChecks } from "../../../eks/verify/node_checks.ts";
import { leavesFor } from "../../../eks/verify/expected_path.ts";
import type { AmiStepDef } from "../../../steps/ami/context.ts";
import { AMI_STEPS, imageLeaves, imageUnits } from "../../../steps/ami/index.ts";
import { KUBE_STEPS, kubeBake } from "./ami_kube_fixture.ts";
import { sha256 } from "../../support/helpers.ts";

const EPOCH = 1_700_000_000; // 2023-11-14T22:13:20Z

async function write(path: string, text: string, mode = 0o644) {
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  await Deno.writeTextFile(path, text, { mode });
  await Deno.chmod(path, mode);
}

/** Runs bash to source a file and print the named variables, one per line. */
async function sourceVars(file: string, names: string[]): Promise<string[]> {
  const script = 'set -eu; . "$1"; shift; for n in "$@"; do printf \'%s\\n\' "${!n}"; done';
  const out = await new Deno.Command("bash", {
    args: ["-c", script, "bash", file, ...names],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).split("\n").slice(0, names.length);
}

Deno.test("release: SOURCE_DATE_EPOCH, newest /lib/modules kernel, every installed binary hashed from disk", async () => {
  const b = await kubeBake({
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", SOURCE_DATE_EPOCH: String(EPOCH) },
    editToml: (t) => t.replace("[versions]", `base_image = "ami-0123456789abcdef0"\n\n[versions]`),
  });
  try {
    for (const k of ["6.1.9-1.amzn2023.x86_64", "6.1.10-2.amzn2023.x86_64", "5.10.200-1.amzn2.x86_64"]) {
      await Deno.mkdir(b.at(`/lib/modules/${k}`), { recursive: true });
    }
    await write(b.at("/usr/bin/eksnode"), "#!/bin/sh\necho fake eksnode\n", 0o755);
    const summary = await b.run([10, 11, ...KUBE_STEPS]);
    assert.ok(summary.changeCount > 0);
    const m = JSON.parse(await Deno.readTextFile(b.at("/etc/eks/release.json")));
    assert.equal(m.buildTime, "2023-11-14T22:13:20.000Z");
    assert.equal(m.kernel, "6.1.10-2.amzn2023.x86_64");
    assert.equal(m.baseImage, "ami-0123456789abcdef0");
    assert.equal(m.arch, "x86_64");
    const byArtifact = new Map<string, string[]>();
    for (const a of m.artifacts) {
      assert.equal(a.sha256, sha256(await Deno.readFile(b.at(a.path))), a.path);
      byArtifact.set(a.artifact, [...(byArtifact.get(a.artifact) ?? []), a.path]);
    }
    assert.deepEqual(byArtifact.get("eksnode"), ["/usr/bin/eksnode"]);
    assert.deepEqual(byArtifact.get("runc"), ["/usr/sbin/runc"]);
    assert.deepEqual(byArtifact.get("containerd"), [
      "/usr/bin/containerd",
      "/usr/bin/containerd-shim-runc-v2",
      "/usr/bin/containerd-stress",
      "/usr/bin/ctr",
    ]);
    assert.deepEqual(byArtifact.get("kubelet"), ["/usr/bin/kubelet"]);
    assert.deepEqual(byArtifact.get("awsIamAuthenticator"), ["/usr/bin/aws-iam-authenticator"]);
    assert.deepEqual(byArtifact.get("ecrCredentialProvider"), [
      "/etc/eks/image-credential-provider/ecr-credential-provider",
    ]);
    assert.equal(byArtifact.get("cniPlugins")?.length, 7); // six plugins + LICENSE
    const cni = m.artifacts.find((a: { artifact: string }) => a.artifact === "cniPlugins");
    assert.equal(cni.source, b.mirror.artifacts.cniPlugins.upstream);

    const vars = await sourceVars(b.at("/etc/eks/release"), [
      "BASE_AMI_ID",
      "BUILD_TIME",
      "BUILD_KERNEL",
      "ARCH",
      "KUBERNETES_VERSION",
      "EKSNODE_VERSION",
      "RELEASE_MANIFEST_SHA256",
    ]);
    const kubeletVersion = (await b.context()).release.kubelet.version;
    assert.deepEqual(vars.slice(0, 5), [
      "ami-0123456789abcdef0",
      "2023-11-14T22:13:20.000Z",
      "6.1.10-2.amzn2023.x86_64",
      "x86_64",
      kubeletVersion,
    ]);
    assert.match(vars[5], /^\d+\.\d+\.\d+/);
    assert.equal(vars[6], sha256(await Deno.readFile(b.at("/etc/eks/release.json"))));
  } finally {
    await b.close();
  }
});

Deno.test("release: a step that declares what it installs is in release.json and the SBOM, and verify checks it", async () => {
  const b = await kubeBake({
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", SOURCE_DATE_EPOCH: String(EPOCH) },
  });
  try {
    // A new download step: its file and its line in the index, nothing else. Here it joins the bake's
    // steps as the index would add it; step 33 and verify derive everything from the steps.
    const widget: AmiStepDef = {
      title: "Install the widget",
      installs: () => [{
        artifact: "widget",
        source: "https://example.com/widget",
        version: "1.2.3",
        downloadSha256: "ab".repeat(32),
        paths: ["/usr/bin/widget"],
      }],
      leaves: [expectFile("/etc/widget.conf", 0o600)],
      plan: () => [
        file("/usr/bin/widget", "#!/bin/sh\n", { mode: 0o755 }),
        file("/etc/widget.conf", "", { mode: 0o600 }),
      ],
    };
    const ctx = await b.context();
    const steps = [...AMI_STEPS, { ...widget, id: "ami.99", number: 99 }];
    ctx.steps = steps;
    await runSteps(steps, ctx, { process: "ami", dryRun: false, only: [...KUBE_STEPS, 99] });
    // Step 33 ran before the widget: the real run lists it from the second bake on, as for any step.
    await runSteps(steps, ctx, { process: "ami", dryRun: false, only: [33] });
    const m = JSON.parse(await Deno.readTextFile(b.at("/etc/eks/release.json")));
    const row = m.artifacts.find((a: { artifact: string }) => a.artifact === "widget");
    assert.deepEqual(row, {
      path: "/usr/bin/widget",
      sha256: sha256(new TextEncoder().encode("#!/bin/sh\n")),
      source: "https://example.com/widget",
      artifact: "widget",
      mode: "0755",
    });
    const sbom = await Deno.readTextFile(b.at("/etc/eks/sbom.cdx.json"));
    assert.match(sbom, /"name": "widget"/);
    assert.match(sbom, /"version": "1\.2\.3"/);

    const host = await Host.open(b.root);
    const paths = [
      ...imageLeaves({}),
      ...steps.flatMap((s) => leavesFor(s.leaves, {})).filter((p) => p.path === "/etc/widget.conf"),
    ];
    const checks = await runNodeChecks(host, {
      phase: "ami",
      imagePaths: () => paths,
      nodePaths: [],
      imageUnits,
      nodeUnits: [],
      defaultContainerdAddress: "",
    });
    const files = (name: string) => checks.find((c) => c.group === "files" && c.name === name);
    assert.equal(files("/etc/widget.conf")?.status, "ok");
    assert.equal(
      files("/usr/bin/widget")?.detail,
      "file 0755",
      "release.json's mode of the artifact is checked",
    );
    await Deno.chmod(b.at("/etc/widget.conf"), 0o644);
    await Deno.chmod(b.at("/usr/bin/widget"), 0o644);
    const again = await runNodeChecks(host, {
      phase: "ami",
      imagePaths: () => paths,
      nodePaths: [],
      imageUnits,
      nodeUnits: [],
      defaultContainerdAddress: "",
    });
    assert.deepEqual(
      again.filter((c) => c.name === "/etc/widget.conf").map((c) => [c.status, c.detail]),
      [["fail", "mode 0644, want 0600"]],
    );
    assert.deepEqual(
      again.filter((c) => c.group === "files" && c.name === "/usr/bin/widget").map((
        c,
      ) => [c.status, c.detail]),
      [["fail", "mode 0644, want 0755"]],
    );
    // Every step's declared path is a verify row, in step order.
    const declared = imageLeaves({}).map((p) => p.path);
    assert.ok(declared.length > 30);
    const rows = checks.filter((c) => c.group === "files").map((c) => c.name);
    assert.deepEqual(rows.slice(0, declared.length), declared);
  } finally {
    await b.close();
  }
});

Deno.test("release: without SOURCE_DATE_EPOCH a rebake keeps the build time; a changed binary rewrites it", async () => {
  const b = await kubeBake();
  try {
    await b.run();
    const first = JSON.parse(await Deno.readTextFile(b.at("/etc/eks/release.json")));
    await new Promise((r) => setTimeout(r, 5));
    assert.equal((await b.run([33])).changeCount, 0);
    await Deno.writeTextFile(b.at("/usr/bin/kubelet"), "#!/bin/sh\necho replaced\n");
    const r = await b.run([33]);
    assert.equal(r.changeCount, 3, "release.json, release and the SBOM");
    const second = JSON.parse(await Deno.readTextFile(b.at("/etc/eks/release.json")));
    assert.notEqual(second.buildTime, first.buildTime);
  } finally {
    await b.close();
  }
});

Deno.test("collect-logs bundles journals, release, kubelet/containerd/sysctl config and never a secret", async () => {
  const b = await kubeBake();
  try {
    await b.run();
    const secrets = [
      "hunter2",
      "c2VjcmV0OnBhc3M=",
      "k8s-aws-v1.aHR0cHM6Ly9zdHMu",
      "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln",
      "S3CR3T-USERDATA",
      "pr0xyPass",
      "wJalrXUtnFEMI",
    ];
    await write(
      b.at("/var/lib/kubelet/kubeconfig"),
      `users:\n- name: kubelet\n  user:\n    token: ${secrets[2]}\n`,
    );
    await write(
      b.at("/etc/kubernetes/kubelet/config.json"),
      `{"kind":"KubeletConfiguration","authentication":{"webhook":{"enabled":true}},"maxPods":29}\n`,
    );
    await write(b.at("/etc/kubernetes/kubelet/bootstrap-kubeconfig"), `token: ${secrets[3]}\n`);
    await write(
      b.at("/etc/containerd/config.toml"),
      `version = 2\n[plugins."io.containerd.grpc.v1.cri".registry.configs."r.example".auth]\n  auth = "${
        secrets[1]
      }"\n  password = '${secrets[0]}'\n  username = "ops"\n`,
    );
    await write(b.at("/var/lib/cloud/instance/user-data.txt"), `#!/bin/sh\nexport X=${secrets[4]}\n`);
    await write(
      b.at("/etc/systemd/system/kubelet.service.d/environment.conf"),
      `[Service]\nEnvironment="HTTPS_PROXY=http://bob:${secrets[5]}@proxy:3128" "AWS_SECRET_ACCESS_KEY=${
        secrets[6]
      }"\n`,
    );
    await write(b.at("/etc/containerd/certs.d/r.example/client.key"), "-----BEGIN PRIVATE KEY-----\nabc\n");

    const output = `${b.dir}/out/logs.tar.gz`;
    const printed: string[] = [];
    const progress: string[] = [];
    const written = await runCollectLogs(
      { root: b.root, output, progress: (l) => progress.push(l) },
      (l) => printed.push(l),
      new Date(EPOCH * 1000),
    );
    assert.equal(written, output);
    assert.equal(((await Deno.stat(output)).mode ?? 0) & 0o777, 0o600);
    assert.match(printed[0], /^wrote .*logs\.tar\.gz: \d+ files\/logs/);
    // One progress line per item, numbered to the total.
    assert.match(progress[0], /^\[1\/(\d+)\] \//);
    const total = Number(/^\[1\/(\d+)\]/.exec(progress[0])![1]);
    assert.equal(progress.length, total);
    assert.ok(progress.some((l) => l.endsWith(" iptables-save")));

    const files = new Map<string, string>();
    const fh = await Deno.open(output);
    for await (const e of readTar(fh.readable, { gzip: true, archive: "logs.tar.gz" })) {
      if (e.type === "file") files.set(e.name, new TextDecoder().decode(e.data));
    }
    for (
      const want of [
        "eksnode-logs/var/lib/eksnode/journal/ami.json",
        "eksnode-logs/etc/eks/release",
        "eksnode-logs/etc/eks/release.json",
        "eksnode-logs/etc/kubernetes/kubelet/config.json",
        "eksnode-logs/etc/containerd/config.toml",
        "eksnode-logs/etc/sysctl.conf",
        "eksnode-logs/etc/systemd/system/kubelet.service.d/environment.conf",
        "eksnode-logs/etc/sysctl.d/99-amazon.conf",
        "eksnode-logs/COLLECTED.txt",
      ]
    ) assert.ok(files.has(want), `${want} missing; have ${[...files.keys()].join(", ")}`);
    assert.ok(
      ![...files.keys()].some((n) => /kubeconfig|user-data|client\.key/.test(n)),
      [...files.keys()].join("\n"),
    );
    const all = [...files.values()].join("\n");
    for (const s of secrets) assert.ok(!all.includes(s), `secret ${s} leaked`);
    assert.match(files.get("eksnode-logs/etc/containerd/config.toml")!, /username = "ops"/);
    assert.match(
      files.get("eksnode-logs/etc/kubernetes/kubelet/config.json")!,
      /"authentication":\{"webhook"/,
    );
    const summary = files.get("eksnode-logs/COLLECTED.txt")!;
    assert.match(summary, /bootstrap-kubeconfig: may hold credentials, never collected/);
    for (const unit of ["kubelet", "containerd", "sandbox-image"]) {
      assert.match(summary, new RegExp(`journalctl -u ${unit} .*: --root is not the running system`));
    }
    assert.match(summary, /iptables-save: --root is not the running system/);

    // Default output: under the root's /var/log, 0600.
    const host = await Host.open(b.root);
    const def = await runCollectLogs({ root: b.root, progress: () => {} }, () => {}, new Date(EPOCH * 1000));
    assert.equal(def, host.real("/var/log/eksnode-logs-20231114T221320Z.tar.gz"));
    assert.equal(((await Deno.stat(def)).mode ?? 0) & 0o777, 0o600);
  } finally {
    await b.close();
  }
});

Deno.test("redactSecrets and isSecretPath", () => {
  const R = "<redacted by eksnode>";
  const cases: [string, string][] = [
    ["token: abc.def", `token: ${R}`],
    ['  "password": "p@ss", "user": "u"', `  "password": "${R}", "user": "u"`],
    ["auth = 'xyz'", `auth = '${R}'`],
    [
      'Environment="AWS_SECRET_ACCESS_KEY=wJalr/K7" "AWS_REGION=us-west-2"',
      `Environment="AWS_SECRET_ACCESS_KEY=${R}" "AWS_REGION=us-west-2"`,
    ],
    ["AWS_SESSION_TOKEN=IQoJb3JpZ2lu", `AWS_SESSION_TOKEN=${R}`],
    ["HTTPS_PROXY=http://bob:pr0xy@proxy.internal:3128", `HTTPS_PROXY=http://${R}@proxy.internal:3128`],
    ["Authorization: Bearer abc123", `Authorization: Bearer ${R}`],
    ["GET with Bearer abc123 done", `GET with Bearer ${R} done`],
    ["x k8s-aws-v1.abcDEF_12 y", `x ${R} y`],
    ['"authentication": {"x509": {}}', '"authentication": {"x509": {}}'],
    ["maxPods: 29", "maxPods: 29"],
    ["HTTP_PROXY=http://proxy.internal:3128", "HTTP_PROXY=http://proxy.internal:3128"],
  ];
  for (const [input, want] of cases) assert.equal(redactSecrets(input), want, input);
  const paths: [string, boolean][] = [
    ["/var/lib/kubelet/kubeconfig", true],
    ["/etc/kubernetes/kubelet/bootstrap-kubeconfig", true],
    ["/etc/x/client.key", true],
    ["/var/lib/cloud/instance/user-data.txt", true],
    ["/etc/kubernetes/kubelet/config.json", false],
    ["/etc/sysctl.d/99-amazon.conf", false],
  ];
  for (const [p, want] of paths) assert.equal(isSecretPath(p), want, p);
});

Deno.test("compareKernelVersions and shellValue", async () => {
  assert.deepEqual(
    ["6.1.10-2.x", "5.10.200-1.x", "6.1.9-1.x", "6.10.1-1.x"].sort(compareKernelVersions),
    ["5.10.200-1.x", "6.1.9-1.x", "6.1.10-2.x", "6.10.1-1.x"],
  );
  const dir = await tempDir();
  try {
    const values = ["plain", "it's", "a b  c", "$(touch /tmp/eksnode-pwned)", "`x`", "\\n", ""];
    await Deno.writeTextFile(`${dir}/f`, values.map((v, i) => `V${i}=${shellValue(v)}`).join("\n") + "\n");
    assert.deepEqual(await sourceVars(`${dir}/f`, values.map((_, i) => `V${i}`)), values);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
