/**
 * `eksnode verify --benchmark`: a tree baked by `eksnode ami` and joined by `eksnode init` (the real CLI,
 * the loopback mirror and the fakes of tests/support/cli_fixtures.ts) passes every automated control of the CIS
 * Amazon EKS Benchmark's worker-node section, in kube-bench's format and as JSON; a deliberately weakened
 * kubelet (anonymous auth on, read-only port 10255, kubeconfig 0666) fails those controls by id with exit 5;
 * flags from a unit drop-in and a `--config-dir` drop-in win over the config file as in kubelet; an image
 * that has not been joined yet is a config error.
 */
import assert from "node:assert/strict";
import { assertFailed, bakeDir, runInit } from "../../support/cli_fixtures.ts";
import { eksnode } from "../../support/cli_run.ts";
import { startMirror } from "../../../fakes/mirror.ts";
import { tempDir } from "../../../fakes/temp.ts";
import { expandExecStart, parseKubeletFlags } from "../../../eks/verify/cis/evaluate.ts";
import { CIS_EKS_1_2_0, CIS_EKS_1_8_0 } from "../../../eks/verify/cis/controls.ts";

const ENV = { SOURCE_DATE_EPOCH: "1767225600" };
const KUBELET_CONFIG = "/etc/kubernetes/kubelet/kubelet-config.json";

let baked: Promise<string> | undefined;
/** One tree baked and then joined, made once; each test works on its own copy. */
function joinedTree(): Promise<string> {
  baked ??= (async () => {
    const mirror = await startMirror({});
    try {
      const { dir, args } = await bakeDir(mirror.bakeToml);
      const root = `${dir}/root`;
      const ami = await eksnode(args(root), { env: ENV });
      assert.equal(ami.code, 0, ami.stderr);
      const init = await runInit({ root });
      assert.equal(init.run.code, 0, init.run.stderr);
      return root;
    } finally {
      await mirror.close();
    }
  })();
  return baked;
}

async function copyOf(root: string): Promise<string> {
  const dir = await tempDir({ prefix: "eksnode-cis-" });
  const cp = await new Deno.Command("cp", { args: ["-a", `${root}/.`, dir] }).output();
  assert.ok(cp.success, new TextDecoder().decode(cp.stderr));
  return dir;
}

interface Result {
  id: string;
  state: string;
  found: string;
  note?: string;
}

Deno.test("cis: a baked and joined tree passes every automated control of cis-eks (kube-bench's lines, JSON)", async () => {
  const root = await joinedTree();
  const text = await eksnode(["verify", "--root", root, "--benchmark", "cis-eks"]);
  assert.equal(text.code, 0, text.stdout + text.stderr);
  const ids = CIS_EKS_1_8_0.groups.flatMap((g) => g.controls.map((c) => c.id));
  for (const c of CIS_EKS_1_8_0.groups.flatMap((g) => g.controls)) {
    assert.ok(text.stdout.includes(`[PASS] ${c.id} ${c.text}\n`), `${c.id} passes:\n${text.stdout}`);
  }
  assert.match(text.stdout, /^\[INFO\] 3 Worker Nodes$/m);
  assert.match(text.stdout, /^\[INFO\] 3\.1 Worker Node Configuration Files$/m);
  assert.match(
    text.stdout,
    new RegExp(
      `^== Summary node ==\n${ids.length} checks PASS\n0 checks FAIL\n0 checks WARN\n0 checks INFO$`,
      "m",
    ),
  );

  const json = await eksnode(["verify", "--root", root, "--benchmark", "cis-eks", "--output", "json"]);
  assert.equal(json.code, 0, json.stderr);
  const report = JSON.parse(json.stdout);
  assert.equal(report.benchmark, "cis-eks-1.8.0");
  assert.equal(report.kubeBench, "eks-1.8.0");
  assert.deepEqual(report.counts, { pass: ids.length, fail: 0, warn: 0, info: 0 });
  const byId = new Map((report.controls as Result[]).map((c) => [c.id, c]));
  assert.deepEqual([...byId.keys()], ids);
  assert.equal(byId.get("3.1.1")!.found, "/var/lib/kubelet/kubeconfig permissions=600");
  assert.equal(byId.get("3.1.2")!.found, "/var/lib/kubelet/kubeconfig owner 0:0");
  assert.match(
    byId.get("3.2.4")!.found,
    /^readOnlyPort 0 \(\/etc\/kubernetes\/kubelet\/kubelet-config\.json\)$/,
  );
});

Deno.test("cis: cis-eks-1.2.0 (eleven kubelet controls and 3.3.1): automated ones pass; hostname-override is a WARN with the EKS reason", async () => {
  const root = await joinedTree();
  const r = await eksnode(["verify", "--root", root, "--benchmark", "cis-eks-1.2.0", "--output", "json"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const report = JSON.parse(r.stdout);
  const states = Object.fromEntries((report.controls as Result[]).map((c) => [c.id, c.state]));
  const all = CIS_EKS_1_2_0.groups.flatMap((g) => g.controls);
  assert.equal(all.length, 16);
  for (const c of all) {
    const want = c.id === "3.2.8" || c.id === "3.3.1" ? "WARN" : "PASS";
    assert.equal(states[c.id], want, `${c.id} ${c.text}`);
  }
  const hostname = (report.controls as Result[]).find((c) => c.id === "3.2.8")!;
  assert.match(hostname.found, /^--hostname-override=ip-10-0-1-23\.us-west-2\.compute\.internal /);
  assert.match(hostname.note!, /EKS needs it: with --cloud-provider=external/);
  const text = await eksnode(["verify", "--root", root, "--benchmark", "cis-eks-1.2.0"]);
  assert.match(
    text.stdout,
    /^\[WARN\] 3\.2\.8 Ensure that the --hostname-override argument is not set \(Manual\)$/m,
  );
  assert.match(text.stdout, /^ {2}EKS: EKS needs it/m);
  assert.match(text.stdout, /^14 checks PASS\n0 checks FAIL\n2 checks WARN$/m);
});

Deno.test("cis: anonymous auth on, read-only port 10255 and a 0666 kubeconfig fail 3.2.1, 3.2.4 and 3.1.1 with exit 5", async () => {
  const root = await copyOf(await joinedTree());
  const config = JSON.parse(await Deno.readTextFile(`${root}${KUBELET_CONFIG}`));
  config.authentication.anonymous.enabled = true;
  config.readOnlyPort = 10255;
  await Deno.writeTextFile(`${root}${KUBELET_CONFIG}`, JSON.stringify(config, null, 2));
  await Deno.chmod(`${root}/var/lib/kubelet/kubeconfig`, 0o666);

  const r = await eksnode(["verify", "--root", root, "--benchmark", "cis-eks"]);
  const line = assertFailed(r, 5, /^error: 3 automated controls of cis-eks-1\.8\.0 failed: 3\.1\.1 /);
  assert.match(line, /3\.1\.1 \(\/var\/lib\/kubelet\/kubeconfig permissions=666\)/);
  assert.match(line, /3\.2\.1 \(authentication\.anonymous\.enabled true /);
  assert.match(line, /3\.2\.4 \(readOnlyPort 10255 /);
  for (const id of ["3.1.1", "3.2.1", "3.2.4"]) assert.match(r.stdout, new RegExp(`^\\[FAIL\\] ${id} `, "m"));
  assert.match(
    r.stdout,
    /^3\.2\.4 Found: readOnlyPort 10255 \(\/etc\/kubernetes\/kubelet\/kubelet-config\.json\)\.$/m,
  );
  assert.match(r.stdout, /^ {2}Remediation: chmod 644 \/var\/lib\/kubelet\/kubeconfig/m);
  assert.match(r.stdout, /^10 checks PASS\n3 checks FAIL\n0 checks WARN$/m);
  const json = await eksnode(["verify", "--root", root, "--benchmark", "cis-eks", "--output", "json"]);
  assert.equal(json.code, 5);
  const report = JSON.parse(json.stdout);
  assert.equal(report.ok, false);
  assert.deepEqual(
    (report.controls as Result[]).filter((c) => c.state === "FAIL").map((c) => c.id),
    ["3.1.1", "3.2.1", "3.2.4"],
  );
});

Deno.test("cis: flags from a kubelet.service drop-in and its environment, and a --config-dir drop-in, are what kubelet would use", async () => {
  const root = await copyOf(await joinedTree());
  const unit = await Deno.readTextFile(`${root}/etc/systemd/system/kubelet.service`);
  const execStart = /^ExecStart=([\s\S]*?)\nRestart=/m.exec(unit)![1];
  await Deno.writeTextFile(
    `${root}/etc/systemd/system/kubelet.service.d/90-hardening-undone.conf`,
    [
      "[Service]",
      "Environment='KUBELET_EXTRA=--read-only-port 10255 --config-dir=/etc/kubernetes/kubelet/config.json.d'",
      "EnvironmentFile=-/etc/eks/kubelet-extra.env",
      "ExecStart=",
      `ExecStart=${execStart} \\\n    $KUBELET_EXTRA $MORE`,
      "",
    ].join("\n"),
  );
  await Deno.writeTextFile(
    `${root}/etc/eks/kubelet-extra.env`,
    'MORE="--feature-gates=RotateKubeletServerCertificate=false"\n',
  );
  await Deno.mkdir(`${root}/etc/kubernetes/kubelet/config.json.d`);
  await Deno.writeTextFile(
    `${root}/etc/kubernetes/kubelet/config.json.d/50-user.conf`,
    "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nstreamingConnectionIdleTimeout: 0s\n",
  );
  const r = await eksnode(["verify", "--root", root, "--benchmark", "cis-eks", "--output", "json"]);
  assert.equal(r.code, 5, r.stderr);
  const failed = (JSON.parse(r.stdout).controls as Result[]).filter((c) => c.state === "FAIL");
  assert.deepEqual(failed.map((c) => [c.id, c.found]), [
    ["3.2.4", 'readOnlyPort "10255" (flag --read-only-port)'],
    [
      "3.2.5",
      'streamingConnectionIdleTimeout "0s" (/etc/kubernetes/kubelet/kubelet-config.json + drop-ins)',
    ],
    ["3.2.9", 'featureGates.RotateKubeletServerCertificate "false" (flag --feature-gates)'],
  ]);
});

Deno.test("cis: an image not joined yet has no kubelet unit: a config error saying where to run it", async () => {
  const mirror = await startMirror({});
  try {
    const { dir, args } = await bakeDir(mirror.bakeToml);
    const root = `${dir}/root`;
    assert.equal((await eksnode(args(root, "--only", "8"), { env: ENV })).code, 0);
    const r = await eksnode(["verify", "--root", root, "--benchmark", "cis-eks"]);
    assertFailed(
      r,
      3,
      /^error: no kubelet\.service under .*: the benchmark's worker-node controls concern a configured node$/,
    );
    const bad = await eksnode(["verify", "--root", root, "--benchmark", "cis-gke"]);
    assert.equal(bad.code, 2);
  } finally {
    await mirror.close();
  }
});

Deno.test("cis: ExecStart expansion and kubelet flag parsing", () => {
  const env = new Map([["ARGS", "--node-ip=10.0.0.1 --v 2"], ["DIR", "/etc/k"]]);
  assert.deepEqual(
    expandExecStart('-/usr/bin/kubelet $ARGS --config=${DIR}/c.json "--eviction-hard=a<5%%"', env),
    [
      "/usr/bin/kubelet",
      "--node-ip=10.0.0.1",
      "--v",
      "2",
      "--config=/etc/k/c.json",
      "--eviction-hard=a<5%",
    ],
  );
  assert.deepEqual(
    [...parseKubeletFlags(["--anonymous-auth", "--read-only-port", "0", "--v=2", "--anonymous-auth=false"])],
    [["anonymous-auth", "false"], ["read-only-port", "0"], ["v", "2"]],
  );
});
