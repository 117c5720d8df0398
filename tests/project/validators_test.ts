/**
 * The validators themselves: each accepts a file eksnode writes and catches a deliberately broken
 * one (a misspelled unit key, containerd key, sysctl name, kubeconfig key, logrotate directive,
 * sshd algorithm, kubelet config field or type, shell syntax), so that a pass in
 * golden_validate_test means something. A validator whose tool is missing is skipped with one line.
 */
import assert from "node:assert/strict";
import { SSHD_CRYPTO } from "../../steps/ami/06_ssh_hardening.ts";
import { LOGROTATE_CONF } from "../../steps/ami/07_logrotate_conf.ts";
import { SYSCTL_CRI } from "../../steps/ami/15_sysctl_cri.ts";
import { containerdMajorMinor, toVersion2, v3PathToV2 } from "../support/validators/containerd.ts";
import { checkType } from "../support/validators/kubelet_config.ts";
import {
  accepted,
  addBaseOs,
  describeVerdict,
  enableUnits,
  findTool,
  kubeletConfigProblems,
  validateContainerdConfig,
  validateCredentialProviderConfig,
  validateKubeconfig,
  validateKubeletConfig,
  validateLogrotateFile,
  validateShellScript,
  validateSshdFile,
  validateSysctlFile,
  type Verdict,
  verifyUnits,
  withScratch,
} from "../support/validators/mod.ts";
import { GOLDEN_ROOT } from "../support/golden.ts";

const GOLDEN_INIT = `${GOLDEN_ROOT}init/minimal-nodeconfig/expected`;
const GOLDEN_CONTAINERD = `${GOLDEN_INIT}/etc/containerd/config.toml`;
const GOLDEN_KUBECONFIG = `${GOLDEN_INIT}/var/lib/kubelet/kubeconfig`;
const GOLDEN_KUBELET = `${GOLDEN_INIT}/etc/kubernetes/kubelet/kubelet-config.json`;

/** Test options for a validator needing `tool`: skipped with one line when it is missing. */
function needs(tool: string, what: string): { name: string; ignore: boolean } {
  const missing = !findTool(tool);
  if (missing) console.log(`validators_test: ${tool} not installed: ${what} is not checked`);
  return { name: `${what}${missing ? ` (skipped: ${tool} not installed)` : ""}`, ignore: missing };
}

/** Writes `text` to a scratch file and validates it. */
function withFile(name: string, text: string, fn: (path: string) => Promise<Verdict>): Promise<Verdict> {
  return withScratch("validate", async (dir) => {
    await Deno.writeTextFile(`${dir}/${name}`, text);
    return await fn(`${dir}/${name}`);
  });
}

function assertAccepted(v: Verdict): void {
  assert.ok(accepted(v), describeVerdict(v));
}

function assertProblem(v: Verdict, re: RegExp): void {
  assert.equal(v.notChecked, undefined, describeVerdict(v));
  assert.ok(v.problems.some((p) => re.test(p)), `want a problem matching ${re}:\n${describeVerdict(v)}`);
}

// -- containerd --------------------------------------------------------------------------------

Deno.test("containerd: version-3 keys map to version 2 as containerd 2's migration does, backwards", () => {
  const cri = "io.containerd.grpc.v1.cri";
  const table: [string[], string[] | undefined][] = [
    [["plugins", "io.containerd.cri.v1.images", "pinned_images", "sandbox"], [
      "plugins",
      cri,
      "sandbox_image",
    ]],
    [["plugins", "io.containerd.cri.v1.images", "discard_unpacked_layers"], [
      "plugins",
      cri,
      "containerd",
      "discard_unpacked_layers",
    ]],
    [["plugins", "io.containerd.cri.v1.images", "registry", "config_path"], [
      "plugins",
      cri,
      "registry",
      "config_path",
    ]],
    [["plugins", "io.containerd.cri.v1.runtime", "cni", "bin_dir"], ["plugins", cri, "cni", "bin_dir"]],
    [["plugins", "io.containerd.cri.v1.runtime", "cni", "bin_dirs"], ["plugins", cri, "cni", "bin_dir"]],
    [["plugins", "io.containerd.cri.v1.images", "runtime_platform", "runc", "snapshotter"], undefined],
    [["grpc", "address"], ["grpc", "address"]],
  ];
  for (const [v3, v2] of table) assert.deepEqual(v3PathToV2(v3), v2, v3.join("."));
  const v2 = toVersion2({
    version: 3,
    plugins: { "io.containerd.cri.v1.runtime": { cni: { bin_dirs: ["/a", "/b"] } } },
  });
  assert.equal(v2.doc.version, 2);
  assert.deepEqual(v2.untranslated, [["plugins", "io.containerd.cri.v1.runtime", "cni", "bin_dirs"]]);
  assert.deepEqual(
    containerdMajorMinor("containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1"),
    [
      1,
      6,
    ],
  );
  assert.deepEqual(containerdMajorMinor("containerd github.com/containerd/containerd/v2 v2.1.4 75cb2b7"), [
    2,
    1,
  ]);
});

Deno.test({
  ...needs(
    "containerd",
    "containerd config dump: our config is accepted; misspelled keys and bad TOML are caught",
  ),
  async fn() {
    assertAccepted(await validateContainerdConfig(GOLDEN_CONTAINERD));
    const good = await Deno.readTextFile(GOLDEN_CONTAINERD);
    const broken = good
      .replace(/^state = /m, "stat = ")
      .replace(/^discard_unpacked_layers = /m, "discard_unpackd_layers = ")
      .replace(/^config_path = /m, "confg_path = ")
      .replace(/^SystemdCgroup = /m, "SystemdCgroups = ");
    assert.notEqual(broken, good);
    const v = await withFile("config.toml", broken, validateContainerdConfig);
    assertProblem(v, /^stat is not in containerd's dump/);
    assertProblem(v, /discard_unpackd_layers is not in containerd's dump/);
    assertProblem(v, /registry\.confg_path is not in containerd's dump/);
    assertProblem(v, /options\.SystemdCgroups is not an option of the runc shim/);
    assert.equal(v.problems.length, 4, describeVerdict(v));
    // A key of the right name with a value containerd reads differently.
    const wrongType = await withFile(
      "config.toml",
      good.replace(/^discard_unpacked_layers = true$/m, 'discard_unpacked_layers = "yes"'),
      validateContainerdConfig,
    );
    assert.ok(!accepted(wrongType), describeVerdict(wrongType));
    assertProblem(
      await withFile("config.toml", "version = 3\n[plugins\n", validateContainerdConfig),
      /not valid TOML/,
    );
  },
});

// -- systemd -----------------------------------------------------------------------------------

async function unitRoot<T>(units: Record<string, string>, fn: (root: string) => Promise<T>): Promise<T> {
  return await withScratch("units", async (root) => {
    await Deno.mkdir(`${root}/etc/systemd/system`, { recursive: true });
    await Deno.mkdir(`${root}/usr/bin`, { recursive: true });
    await Deno.writeTextFile(`${root}/usr/bin/tool`, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    for (const [path, text] of Object.entries(units)) {
      await Deno.mkdir(`${root}/etc/systemd/system/${path}`.replace(/\/[^/]+$/, ""), { recursive: true });
      await Deno.writeTextFile(`${root}/etc/systemd/system/${path}`, text);
    }
    await addBaseOs(root);
    return await fn(root);
  });
}

const GOOD_UNIT = "[Unit]\nDescription=t\n[Service]\nType=oneshot\nExecStart=/usr/bin/tool\n" +
  "[Install]\nWantedBy=multi-user.target\n";

Deno.test({
  ...needs(
    "systemd-analyze",
    "systemd-analyze verify: a good unit passes; a key typo, a bad drop-in, a missing command fail",
  ),
  async fn() {
    await unitRoot({
      "good.service": GOOD_UNIT,
      "typo.service": GOOD_UNIT.replace("Type=oneshot", "Typ=oneshot"),
      "dropin.service": GOOD_UNIT,
      "dropin.service.d/10-env.conf": "[Service]\nEnviroment=A=b\n",
      "nocmd.service": GOOD_UNIT.replace("/usr/bin/tool", "/usr/bin/not-installed"),
    }, async (root) => {
      assertAccepted(await verifyUnits(root, ["good.service"]));
      assertProblem(await verifyUnits(root, ["typo.service"]), /Unknown key( name)? 'Typ'/);
      assertProblem(
        await verifyUnits(root, ["dropin.service"]),
        /10-env\.conf.*Unknown key( name)? 'Enviroment'/,
      );
      assertProblem(await verifyUnits(root, ["nocmd.service"]), /not-installed/);
    });
  },
});

Deno.test({
  ...needs(
    "systemctl",
    "systemctl --root enable: the WantedBy link is made; a unit without [Install] is caught",
  ),
  async fn() {
    await unitRoot({
      "good.service": GOOD_UNIT,
      "noinstall.service": GOOD_UNIT.replace(/\[Install\][^]*$/, ""),
      "other.service": GOOD_UNIT.replace("multi-user.target", "timers.target"),
    }, async (root) => {
      assertAccepted(await enableUnits(root, ["good.service"], ["multi-user.target.wants/good.service"]));
      assertProblem(
        await enableUnits(root, ["noinstall.service"], ["multi-user.target.wants/noinstall.service"]),
        /no link multi-user\.target\.wants\/noinstall\.service/,
      );
      assertProblem(
        await enableUnits(root, ["other.service"], ["multi-user.target.wants/other.service"]),
        /unexpected link timers\.target\.wants\/other\.service/,
      );
    });
  },
});

// -- kubectl -----------------------------------------------------------------------------------

Deno.test({
  ...needs(
    "kubectl",
    "kubectl config view: our kubeconfig shows its cluster; a misspelled key and broken YAML are caught",
  ),
  async fn() {
    assertAccepted(await validateKubeconfig(GOLDEN_KUBECONFIG));
    const good = await Deno.readTextFile(GOLDEN_KUBECONFIG);
    const serverr = await withFile(
      "kubeconfig",
      good.replace(/^(\s+)server:/m, "$1serverr:"),
      validateKubeconfig,
    );
    assertProblem(serverr, /no cluster server/);
    assertProblem(serverr, /serverr is not in kubectl's view/);
    const context = await withFile(
      "kubeconfig",
      good.replace(/^current-context: .*$/m, "current-context: nowhere"),
      validateKubeconfig,
    );
    assertProblem(context, /kubectl rejects it|no cluster server/);
    assertProblem(
      await withFile("kubeconfig", "clusters: [\n", validateKubeconfig),
      /not YAML|kubectl rejects it/,
    );
  },
});

// -- sysctl ------------------------------------------------------------------------------------

Deno.test({
  ...needs("sysctl", "sysctl --dry-run: our sysctls pass; an unknown key and a syntax error are caught"),
  async fn() {
    const cri = await withFile("99-kubernetes-cri.conf", SYSCTL_CRI, validateSysctlFile);
    assertAccepted(cri);
    const unknown = await withFile(
      "x.conf",
      "net.ipv4.ip_forwardd = 1\nkernel.pid_max = 4194304\n",
      validateSysctlFile,
    );
    assertProblem(unknown, /^net\.ipv4\.ip_forwardd: this kernel has no such key/);
    assert.equal(unknown.problems.length, 1, describeVerdict(unknown));
    assertProblem(
      await withFile("x.conf", "kernel.pid_max = 4194304\nnot a setting\n", validateSysctlFile),
      /invalid syntax/,
    );
  },
});

// -- logrotate, sshd, bash ---------------------------------------------------------------------

Deno.test({
  ...needs("logrotate", "logrotate -d: our logrotate.conf passes; a bad directive value is caught"),
  async fn() {
    await withScratch("logrotate-root", async (root) => {
      await Deno.mkdir(`${root}/etc/logrotate.d`, { recursive: true });
      await Deno.writeTextFile(`${root}/etc/logrotate.conf`, LOGROTATE_CONF);
      assertAccepted(await validateLogrotateFile(`${root}/etc/logrotate.conf`, root));
      // A broken file under the root's logrotate.d is reached through logrotate.conf's include.
      await Deno.writeTextFile(`${root}/etc/logrotate.d/x`, "/var/log/x.log {\n  rotate four\n}\n");
      assertProblem(await validateLogrotateFile(`${root}/etc/logrotate.conf`, root), /error/i);
    });
  },
});

Deno.test({
  ...needs("sshd", "sshd -t: our cipher drop-in passes; an unknown cipher and an unknown keyword are caught"),
  async fn() {
    assertAccepted(await withFile("05-crypto.conf", SSHD_CRYPTO, validateSshdFile));
    assertProblem(
      await withFile("05-crypto.conf", "Ciphers aes128-ctr,rot13-cbc\n", validateSshdFile),
      /cipher/i,
    );
    assertProblem(
      await withFile("05-crypto.conf", "Cipherz aes128-ctr\n", validateSshdFile),
      /Cipherz|unsupported/i,
    );
  },
});

Deno.test({
  ...needs("bash", "bash -n: a shell syntax error is caught"),
  async fn() {
    assertAccepted(await withFile("ok.sh", "#!/bin/bash\nif true; then echo ok; fi\n", validateShellScript));
    assertProblem(
      await withFile("bad.sh", "#!/bin/bash\nif true; then echo ok\n", validateShellScript),
      /syntax error/,
    );
  },
});

// -- kubelet config ----------------------------------------------------------------------------

Deno.test("KubeletConfiguration schema: our config passes; unknown fields and wrong types are caught", async () => {
  assertAccepted(await validateKubeletConfig(GOLDEN_KUBELET));
  const good = JSON.parse(await Deno.readTextFile(GOLDEN_KUBELET));
  const problems = (change: (c: Record<string, unknown>) => void) => {
    const c = structuredClone(good);
    change(c);
    return kubeletConfigProblems(c);
  };
  assert.deepEqual(problems(() => {}), []);
  assert.deepEqual(problems((c) => (c.MaxPods = 58)), ["MaxPods: unknown field (did you mean maxPods?)"]);
  assert.deepEqual(problems((c) => (c.maxPod = 58)), ["maxPod: unknown field"]);
  assert.deepEqual(problems((c) => (c.maxPods = "58")), ['maxPods: want int32, got string "58"']);
  assert.deepEqual(problems((c) => (c.maxPods = 2 ** 31)), ["maxPods: want int32, got number 2147483648"]);
  assert.deepEqual(problems((c) => (c.serializeImagePulls = "true")), [
    'serializeImagePulls: want bool, got string "true"',
  ]);
  assert.deepEqual(
    problems((c) => ((c.authentication as { webhook: Record<string, unknown> }).webhook.cacheTtl = "2m")),
    ["authentication.webhook.cacheTtl: unknown field (did you mean cacheTTL?)"],
  );
  assert.deepEqual(problems((c) => (c.syncFrequency = "1 minute")), [
    'syncFrequency: want duration, got string "1 minute"',
  ]);
  assert.deepEqual(problems((c) => (c.clusterDNS = "10.100.0.10")), [
    'clusterDNS: want list of string, got string "10.100.0.10"',
  ]);
  assert.deepEqual(
    problems((c) => (c.registerWithTaints = [{ key: "a", effect: "NoSchedule", efect: "x" }])),
    [
      "registerWithTaints[0].efect: unknown field",
    ],
  );
  assert.deepEqual(problems((c) => (c.featureGates = { A: "true" })), [
    'featureGates.A: want bool, got string "true"',
  ]);
  assert.deepEqual(problems((c) => (c.kind = "KubeletConfig")), [
    'kind is "KubeletConfig", want KubeletConfiguration',
  ]);
  assert.deepEqual(checkType("1h2m3.5s", "duration", "d"), []);
  assert.deepEqual(checkType(5_000_000_000, "durationOrNanoseconds", "d"), []);
  assert.deepEqual(checkType("100Mi", "quantity", "q"), []);
  assert.equal(checkType("100MB", "quantity", "q").length, 1);
  const notJson = await withFile("kubelet-config.json", "{ maxPods: 1 }", validateKubeletConfig);
  assertProblem(notJson, /^not JSON/);
});

Deno.test("CredentialProviderConfig schema: our config passes; a misspelled field is caught", async () => {
  const file = `${GOLDEN_INIT}/etc/eks/image-credential-provider/config.json`;
  assertAccepted(await validateCredentialProviderConfig(file));
  const text = (await Deno.readTextFile(file)).replace('"matchImages"', '"matchImage"');
  assertProblem(
    await withFile("config.json", text, validateCredentialProviderConfig),
    /providers\[0\]\.matchImage: unknown field/,
  );
});

Deno.test("a missing tool is reported as not checked, never as accepted", async () => {
  const path = Deno.env.get("PATH");
  Deno.env.set("PATH", "/nonexistent");
  try {
    const v = await validateKubeconfig(GOLDEN_KUBECONFIG);
    if (findTool("kubectl")) return; // kubectl lives in an sbin directory here: nothing to prove
    assert.equal(v.notChecked, "not checked: kubectl missing");
    assert.equal(accepted(v), false);
    assert.match(describeVerdict(v), /not checked: kubectl missing/);
  } finally {
    if (path === undefined) Deno.env.delete("PATH");
    else Deno.env.set("PATH", path);
  }
});
