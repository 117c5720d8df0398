/**
 * `eksnode init` steps 1-9 against temp roots, on NodeSettings: which services a changed input rewrites and
 * restarts, removals, dry runs, the errors a user meets, and systemd's own reading of what the steps write.
 * The golden cases (what init writes for a node shape, through the real CLI) are
 * tests/steps/init/init_golden_test.ts.
 */
import { tempDir } from "../../../fakes/temp.ts";
import assert from "node:assert/strict";
import { parse as parseYaml } from "yaml";
import { kubeletArgs } from "../../../eks/kubelet/args.ts";
import {
  BOOTSTRAP_KUBECONFIG,
  BPF_MOUNT_UNIT,
  CA_CERT,
  CONTAINERD_CONFIG,
  CONTAINERD_ENV_DROPIN,
  EKS_KUBELET_UNIT,
  KUBECONFIG,
  KUBELET_CONFIG,
  KUBELET_CONFIG_DIR,
  KUBELET_CONFIG_DROPIN,
  KUBELET_ENV_DROPIN,
  KUBELET_UNIT,
  LOCAL_DISKS_UNIT,
  SOCI_CONFIG,
  SOCI_DEPENDENCY_DROPIN,
  SYSTEM_ENV_CONF,
} from "../../../eks/paths/node.ts";
import { ecrRegistryRegion } from "../../../eks/system/node_units.ts";
import { applyContext } from "../../support/helpers.ts";
import { ConfigError } from "../../../lib/errors.ts";
import { Host } from "../../../lib/host.ts";
import { placeOf } from "../../../lib/place.ts";
import { memoryLogger } from "../../../lib/log.ts";
import { runSteps, type RunSummary } from "../../../lib/runner.ts";
import type { Change } from "../../../lib/step.ts";
import { quoteExecArg } from "../../../lib/systemd_quote.ts";
import { unitInstalled } from "../../../lib/systemd.ts";
import { splitShellWords } from "../../../lib/shell_words.ts";
import { step as daemonReloadStep } from "../../../steps/init/08_daemon_reload.ts";
import { RESTART_TRIGGERS, step as startStep } from "../../../steps/init/09_start_services.ts";
import type { InitContext, NodeSettings } from "../../../steps/init/context.ts";
import { INIT_STEPS } from "../../../steps/init/index.ts";
import { testNode } from "../../../fakes/node_settings.ts";
import { assertValid as assertValidVerdict, have as haveTool } from "../../support/tool_verdicts.ts";
import { validateKubeconfig, type Verdict, verifyUnits } from "../../support/validators/mod.ts";

// ---------------------------------------------------------------------------------------------
// Fixtures: what `eksnode ami` leaves on the image (containerd.service, kubelet) plus the targets
// `systemd-analyze verify --root` needs to load the units. They are not outputs.

const FIXTURES: Record<string, { text: string; mode: number }> = {
  "/usr/lib/systemd/system/containerd.service": {
    text:
      "[Unit]\nDescription=containerd\n[Service]\nExecStart=/usr/bin/containerd\n[Install]\nWantedBy=multi-user.target\n",
    mode: 0o644,
  },
  "/usr/bin/kubelet": { text: "#!/bin/sh\nexit 0\n", mode: 0o755 },
  "/usr/bin/mount": { text: "#!/bin/sh\nexit 0\n", mode: 0o755 },
  // iptables comes with the image (`eksnode ami` step 2), rm with the base OS.
  "/sbin/iptables": { text: "#!/bin/sh\nexit 0\n", mode: 0o755 },
  "/bin/rm": { text: "#!/bin/sh\nexit 0\n", mode: 0o755 },
  "/usr/bin/aws-iam-authenticator": { text: "#!/bin/sh\nexit 0\n", mode: 0o755 },
  "/usr/bin/containerd": { text: "#!/bin/sh\nexit 0\n", mode: 0o755 },
  // What an image with the SOCI snapshotter has (the fast-image-pull case's drop-in requires the unit).
  "/usr/lib/systemd/system/soci-snapshotter.service": {
    text: "[Unit]\nDescription=soci-snapshotter (test fixture)\n[Service]\nType=notify\n" +
      "ExecStart=/usr/bin/soci-snapshotter-grpc\n",
    mode: 0o644,
  },
  "/usr/bin/soci-snapshotter-grpc": { text: "#!/bin/sh\nexit 0\n", mode: 0o755 },
  ...Object.fromEntries(
    ["sysinit.target", "basic.target", "shutdown.target", "network-online.target", "multi-user.target"].map((
      t,
    ) => [
      `/usr/lib/systemd/system/${t}`,
      { text: `[Unit]\nDescription=${t} (test fixture)\n`, mode: 0o644 },
    ]),
  ),
};

async function fixtureHost(): Promise<Host> {
  const host = await Host.open(await tempDir({ prefix: "eksnode-init-" }), {
    PATH: Deno.env.get("PATH"),
  });
  for (const [path, f] of Object.entries(FIXTURES)) await host.writeFile(path, f.text, { mode: f.mode });
  return host;
}

function context(
  host: Host,
  node: NodeSettings,
  dryRun = false,
): InitContext & { log: ReturnType<typeof memoryLogger> } {
  return { host, log: memoryLogger(), dryRun, node };
}

async function runInit(host: Host, node: NodeSettings, dryRun = false): Promise<RunSummary> {
  return await runSteps(INIT_STEPS, context(host, node, dryRun), { process: "init", dryRun });
}

async function run(argv: string[]): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command(argv[0], { args: argv.slice(1), stdout: "piped", stderr: "piped" })
    .output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

/** A validator's verdict must accept; a missing tool prints one line and is not an error. */
function assertValid(v: Verdict): void {
  assertValidVerdict(v, "init_steps_test");
}

/** True when `command` is installed; otherwise prints one line saying what is not checked. */
function have(command: string): boolean {
  return haveTool(command, "init_steps_test");
}

/** A containerd config override (NodeConfig containerd.config) for the restart table. */
const CONTAINERD_MERGE = `[plugins.'io.containerd.cri.v1.images']
max_concurrent_downloads = 10

[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
BinaryName = "/usr/local/sbin/runc"
`;

// ---------------------------------------------------------------------------------------------
// What a changed input rewrites, and what it restarts.

/** Keys of the changes steps 1-7 would apply now (what the runner would record as changed). */
async function pendingKeys(host: Host, node: NodeSettings): Promise<Set<string>> {
  const ctx = context(host, node);
  const actx = applyContext(ctx);
  const keys = new Set<string>();
  for (const s of INIT_STEPS.filter((s) => s.number <= 7)) {
    for (const c of await s.plan(ctx)) {
      if (!c.informational && !(await c.satisfied(actx))) keys.add(c.key);
    }
  }
  return keys;
}

/** The host seen as the running system, so steps 8-9 plan real restarts (nothing is applied). */
function asSystemRoot(host: Host): Host {
  // A booted system: systemd runs as PID 1 (lib/place.ts looks for /run/systemd/system).
  Deno.mkdirSync(`${host.root}/run/systemd/system`, { recursive: true });
  return Object.create(host, { isSystemRoot: { value: true } }) as Host;
}

/** Which trigger-driven changes (restart, daemon-reload) of steps 8-9 would run given `changed`. */
async function triggered(host: Host, node: NodeSettings, changed: Set<string>): Promise<string[]> {
  const ctx = context(asSystemRoot(host), node);
  const actx = { ...applyContext(ctx), run: { changed, dryRun: true } };
  const plan: Change[] = [...(await daemonReloadStep.plan(ctx)), ...(await startStep.plan(ctx))];
  const out: string[] = [];
  for (const c of plan) {
    if (c.key === "systemd:daemon-reload" || c.key.startsWith("unit-restarted:")) {
      if (!(await c.satisfied(actx))) out.push(c.key);
    }
  }
  return out;
}

Deno.test("init: Outposts pins the API server in /etc/hosts beside the admin's lines; a plain node removes it", async () => {
  const host = await fixtureHost();
  try {
    const own = "127.0.0.1 localhost\r\n10.1.1.1 registry.internal # the admin's own\n";
    await host.writeFile("/etc/hosts", own, { mode: 0o640 });
    const cluster = { enableOutpost: true, id: "abc-123", apiServerAddresses: ["10.0.1.10", "10.0.2.11"] };
    const outpost = testNode({ cluster });
    await runInit(host, outpost);
    const pinned = (await host.readText("/etc/hosts"))!;
    assert.ok(pinned.startsWith(own), "the admin's lines stay first, byte for byte");
    const name = new URL(outpost.cluster.endpoint).hostname;
    assert.deepEqual(
      pinned.slice(own.length).split("\n").filter((l) => !l.startsWith("#") && l).sort(),
      [`10.0.1.10\t${name}`, `10.0.2.11\t${name}`],
    );
    assert.equal((await host.stat("/etc/hosts"))!.mode, 0o640, "mode kept");
    assert.equal((await runInit(host, outpost)).changeCount, 0, "a rerun changes nothing");

    // New answers replace the block in place (no second block).
    await runInit(host, testNode({ cluster: { ...cluster, apiServerAddresses: ["10.0.9.9"] } }));
    const again = (await host.readText("/etc/hosts"))!;
    assert.equal(again.match(/# BEGIN eksnode/g)?.length, 1);
    assert.match(again, new RegExp(`^10\\.0\\.9\\.9\\t${name.replaceAll(".", "\\.")}$`, "m"));
    assert.doesNotMatch(again, /10\.0\.1\.10/);

    // No longer an Outposts node: the block goes, the admin's lines stay.
    await runInit(host, testNode());
    assert.equal(await host.readText("/etc/hosts"), own);
    assert.equal((await host.stat("/etc/hosts"))!.mode, 0o640);
  } finally {
    await Deno.remove(host.root, { recursive: true });
  }
});

Deno.test("init: an Outposts node whose API server did not resolve keeps /etc/hosts as it is, and says so", async () => {
  const host = await fixtureHost();
  try {
    const node = testNode({ cluster: { enableOutpost: true, id: "abc-123", apiServerAddresses: [] } });
    const ctx = context(host, node);
    const summary = await runSteps(INIT_STEPS, ctx, { process: "init", dryRun: false });
    assert.equal(await host.exists("/etc/hosts"), false);
    assert.ok(summary.changeCount > 0);
    assert.match(ctx.log.lines.join("\n"), /did not resolve, so it is not pinned in \/etc\/hosts/);
  } finally {
    await Deno.remove(host.root, { recursive: true });
  }
});

Deno.test("init: changed kubelet overrides rewrite only the kubelet config files and restart only kubelet", async () => {
  const host = await fixtureHost();
  try {
    // Overrides already set: kubelet reads config.json.d (its unit does not change again below).
    await runInit(host, testNode({ kubeletConfigOverrides: { maxPods: 58 } }));
    const changedNode = testNode({ kubeletConfigOverrides: { maxPods: 110 } });
    const pending = await pendingKeys(host, changedNode);
    assert.deepEqual([...pending], [KUBELET_CONFIG, KUBELET_CONFIG_DROPIN]);
    assert.deepEqual(await triggered(host, changedNode, pending), ["unit-restarted:kubelet.service"]);

    const second = await runInit(host, changedNode);
    assert.deepEqual(second.steps.flatMap((s) => s.changes).map((c) => c.split(" ")[1]), [
      KUBELET_CONFIG,
      KUBELET_CONFIG_DROPIN,
    ]);
    assert.equal(JSON.parse((await host.readText(KUBELET_CONFIG))!).maxPods, 110);
    assert.deepEqual(await triggered(host, changedNode, new Set()), [], "nothing restarts without a change");
  } finally {
    await Deno.remove(host.root, { recursive: true });
  }
});

Deno.test("init: restart triggers follow the files that changed", async () => {
  const host = await fixtureHost();
  try {
    await runInit(host, testNode());
    const cases: [string, NodeSettings, string[]][] = [
      ["containerd override", testNode({ containerdConfigOverride: CONTAINERD_MERGE }), [
        "unit-restarted:containerd.service",
      ]],
      [
        "new pause image",
        testNode({ sandboxImage: "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.9" }),
        [
          "systemd:daemon-reload",
          "unit-restarted:containerd.service",
          "unit-restarted:sandbox-image.service",
        ],
      ],
      // The unit gets --config-dir: kubelet now reads config.json.d.
      ["kubelet.config", testNode({ kubeletConfigOverrides: { maxPods: 110 } }), [
        "systemd:daemon-reload",
        "unit-restarted:kubelet.service",
      ]],
      ["extra kubelet flag", testNode({ kubeletFlags: ["--v=4"] }), [
        "systemd:daemon-reload",
        "unit-restarted:kubelet.service",
      ]],
      ["environment", testNode({ environment: { kubelet: { A: "1" }, containerd: { A: "1" } } }), [
        "systemd:daemon-reload",
        "unit-restarted:containerd.service",
        "unit-restarted:sandbox-image.service",
        "unit-restarted:kubelet.service",
      ]],
      ["base runtime spec", testNode({ containerdBaseRuntimeSpec: { foo: "bar" } }), [
        "unit-restarted:containerd.service",
      ]],
      // kubelet too: its imageServiceEndpoint becomes the SOCI socket.
      ["FastImagePull", testNode({ sociSnapshotter: true }), [
        "systemd:daemon-reload",
        "unit-restarted:containerd.service",
        "unit-restarted:kubelet.service",
      ]],
      [
        "CA with trailing blank lines",
        testNode({
          cluster: {
            certificateAuthorityPem: testNode().cluster.certificateAuthorityPem + "\n\n",
          },
        }),
        [],
      ],
    ];
    for (const [what, node, expected] of cases) {
      assert.deepEqual(await triggered(host, node, await pendingKeys(host, node)), expected, what);
    }
    // Every restart trigger is a file some step writes.
    const fresh = await fixtureHost();
    const written = new Set<string>([
      ...await pendingKeys(fresh, testNode()),
      ...await pendingKeys(fresh, testNode({ sociSnapshotter: true })),
      ...await pendingKeys(fresh, testNode({ kubeletConfigOverrides: { maxPods: 110 } })),
      BOOTSTRAP_KUBECONFIG,
      CONTAINERD_ENV_DROPIN,
      KUBELET_ENV_DROPIN,
      SYSTEM_ENV_CONF,
      "/etc/systemd/system/sandbox-image.service.d/environment.conf",
    ]);
    for (const [unit, files] of Object.entries(RESTART_TRIGGERS)) {
      for (const f of files) assert.ok(written.has(f), `${unit} trigger ${f} is never written`);
    }
    await Deno.remove(fresh.root, { recursive: true });
  } finally {
    await Deno.remove(host.root, { recursive: true });
  }
});

Deno.test("init: FastImagePull off again removes the SOCI config and drop-in", async () => {
  const host = await fixtureHost();
  try {
    await runInit(host, testNode({ sociSnapshotter: true }));
    assert.equal(await host.exists(SOCI_DEPENDENCY_DROPIN), true);
    assert.match((await host.readText(CONTAINERD_CONFIG))!, /snapshotter = "soci"/);
    await runInit(host, testNode());
    assert.equal(await host.exists(SOCI_DEPENDENCY_DROPIN), false);
    assert.equal(await host.exists(SOCI_CONFIG), false);
    assert.doesNotMatch((await host.readText(CONTAINERD_CONFIG))!, /soci/);
  } finally {
    await Deno.remove(host.root, { recursive: true });
  }
});

Deno.test("init: emptying instance.environment removes the drop-ins", async () => {
  const host = await fixtureHost();
  try {
    await runInit(
      host,
      testNode({ environment: { kubelet: { HTTPS_PROXY: "http://p:3128" }, containerd: { A: "1" } } }),
    );
    assert.match((await host.readText(KUBELET_ENV_DROPIN))!, /Environment="HTTPS_PROXY=http:\/\/p:3128"/);
    const second = await runInit(host, testNode());
    assert.equal(await host.exists(KUBELET_ENV_DROPIN), false);
    assert.equal(await host.exists(CONTAINERD_ENV_DROPIN), false);
    assert.equal(await host.exists("/etc/systemd/system/sandbox-image.service.d/environment.conf"), false);
    assert.equal(second.changeCount, 3, "kubelet, containerd and sandbox-image drop-ins removed");
  } finally {
    await Deno.remove(host.root, { recursive: true });
  }
});

Deno.test("init: kubelet.config makes kubelet's drop-in directory (40-nodeadm.conf in it); without it kubelet does not read it", async () => {
  const host = await fixtureHost();
  try {
    const withConfig = testNode({ kubernetesVersion: "1.29", kubeletConfigOverrides: { maxPods: 58 } });
    await runInit(host, withConfig);
    assert.equal((await host.stat(KUBELET_CONFIG_DIR))?.mode, 0o755);
    assert.equal((await host.stat(KUBELET_CONFIG_DROPIN))?.mode, 0o644);
    assert.equal(JSON.parse((await host.readText(KUBELET_CONFIG_DROPIN))!).maxPods, 58);
    const unit = (await host.readText(KUBELET_UNIT))!;
    assert.match(unit, /--config-dir=\/etc\/kubernetes\/kubelet\/config\.json\.d /);
    assert.match(unit, /Environment="KUBELET_CONFIG_DROPIN_DIR_ALPHA=on"/);
    if (have("systemd-analyze")) {
      const argv = await systemdExecArgv(host.root, KUBELET_UNIT, "/usr/bin/kubelet");
      assert.equal(argv[2], `--config-dir=${KUBELET_CONFIG_DIR}`);
    }
    // A user's drop-in stays; kubelet.config emptied: eksnode's drop-in goes, and so does --config-dir.
    await host.writeFile(`${KUBELET_CONFIG_DIR}/50-user.conf`, new TextEncoder().encode("{}\n"), {
      mode: 0o644,
    });
    const second = await runInit(host, testNode({ kubernetesVersion: "1.29" }));
    const changed = second.steps.flatMap((st) => st.changes).filter((c) => c.includes(KUBELET_CONFIG_DIR));
    assert.deepEqual(changed.map((c) => c.split(" ").slice(0, 2).join(" ")), [
      `remove ${KUBELET_CONFIG_DROPIN}`,
    ]);
    assert.equal(await host.exists(KUBELET_CONFIG_DROPIN), false);
    assert.equal(await host.exists(`${KUBELET_CONFIG_DIR}/50-user.conf`), true);
    assert.doesNotMatch((await host.readText(KUBELET_UNIT))!, /config-dir|KUBELET_CONFIG_DROPIN_DIR_ALPHA/);
    // Again with kubelet.config: the drop-in is back; a third run with the same input changes nothing.
    await runInit(host, withConfig);
    assert.equal(await host.exists(KUBELET_CONFIG_DROPIN), true);
    assert.equal((await runInit(host, withConfig)).changeCount, 0);
  } finally {
    await Deno.remove(host.root, { recursive: true });
  }
});

Deno.test("init: --dry-run plans every file and writes none", async () => {
  const host = await fixtureHost();
  try {
    const plan = await runInit(host, testNode(), true);
    const planned = plan.steps.flatMap((s) => s.changes);
    for (
      const p of [KUBELET_CONFIG, KUBELET_UNIT, EKS_KUBELET_UNIT, KUBECONFIG, CA_CERT, CONTAINERD_CONFIG]
    ) {
      assert.ok(planned.some((c) => c.startsWith(`file ${p} `)), `${p} planned`);
      assert.equal(await host.exists(p), false, `${p} not written`);
    }
  } finally {
    await Deno.remove(host.root, { recursive: true });
  }
});

// ---------------------------------------------------------------------------------------------
// Errors a user would meet.

Deno.test("init: bad inputs fail with ConfigError naming the input", async () => {
  const host = await fixtureHost();
  try {
    const cases: [string, NodeSettings, RegExp][] = [
      [
        "TOML",
        testNode({ containerdConfigOverride: "[plugins\nx=" }),
        /NodeConfig containerd.config is not valid TOML/,
      ],
      [
        "replacement",
        testNode({ containerdConfigReplacement: "version = = 3" }),
        /--containerd-config-file config is not valid TOML/,
      ],
      ["outpost id", testNode({ cluster: { enableOutpost: true } }), /Outposts cluster but no cluster id/],
      [
        "env name",
        testNode({ environment: { kubelet: { "BAD-NAME": "x" } } }),
        /environment variable name "BAD-NAME"/,
      ],
      [
        "endpoint",
        testNode({ cluster: { endpoint: "ftp://insecure" } }),
        /not an https:\/\/ \(or http:\/\/\) URL/,
      ],
    ];
    for (const [what, node, message] of cases) {
      await assert.rejects(runInit(host, node, true), (err: unknown) => {
        assert.ok(err instanceof ConfigError, `${what}: ${err}`);
        assert.match(err.message, message, what);
        return true;
      });
    }
    await Deno.remove(host.real("/usr/lib/systemd/system/containerd.service"));
    await assert.rejects(runInit(host, testNode(), true), /containerd.service is not installed/);
  } finally {
    await Deno.remove(host.root, { recursive: true });
  }
});

Deno.test("init: containerd replacement keeps the user's file with SANDBOX_IMAGE filled in", async () => {
  const host = await fixtureHost();
  try {
    const replacement =
      'version = 3\n[plugins."io.containerd.cri.v1.images".pinned_images]\nsandbox = "SANDBOX_IMAGE"\n';
    const node = testNode({ containerdConfigReplacement: replacement });
    await runInit(host, node);
    assert.equal(
      await host.readText(CONTAINERD_CONFIG),
      replacement.replace("SANDBOX_IMAGE", node.sandboxImage),
    );
  } finally {
    await Deno.remove(host.root, { recursive: true });
  }
});

// ---------------------------------------------------------------------------------------------
// Pure pieces.

Deno.test("kubeletArgs: version toggles as nodeadm and bootstrap.sh", () => {
  const has = (v: string, flag: string) =>
    kubeletArgs(testNode({ kubernetesVersion: v })).some((a) => a.startsWith(flag));
  const table: [string, string, boolean][] = [
    ["1.25", "--cloud-provider=aws", true],
    ["1.25", "--hostname-override=", false],
    ["1.26", "--cloud-provider=external", true],
    ["1.26", "--container-runtime=remote", true],
    ["1.27", "--container-runtime=remote", false],
    ["1.28", "--pod-infra-container-image=", true],
    ["1.29", "--pod-infra-container-image=", false],
    ["1.34", "--hostname-override=ip-10-0-1-23.us-west-2.compute.internal", true],
  ];
  for (const [v, flag, want] of table) assert.equal(has(v, flag), want, `${v} ${flag}`);
  const args = kubeletArgs(testNode({ kubeletFlags: ["--v=4", "--node-labels=a=b"] }));
  assert.deepEqual(args.slice(-2), ["--v=4", "--node-labels=a=b"], "user flags come last");
});

Deno.test("ecrRegistryRegion: ECR hosts give their region, others none", () => {
  const table: [string, string | undefined][] = [
    ["602401143452.dkr.ecr.us-west-2.amazonaws.com", "us-west-2"],
    ["602401143452.dkr.ecr-fips.us-east-1.amazonaws.com", "us-east-1"],
    ["961992271922.dkr.ecr.cn-northwest-1.amazonaws.com.cn", "cn-northwest-1"],
    ["registry.example.internal", undefined],
    ["public.ecr.aws", undefined],
  ];
  for (const [host, region] of table) assert.equal(ecrRegistryRegion(host), region, host);
});

/**
 * ExecStart of `unit` as systemd itself reads it: `systemd-analyze verify` with debug logging dumps the
 * loaded unit, whose "Command Line:" shows the argv shell-quoted (`$$` still escaped, specifiers resolved).
 */
async function systemdExecArgv(root: string, unit: string, program: string): Promise<string[]> {
  const r = await new Deno.Command("systemd-analyze", {
    args: ["verify", "--man=no", `--root=${root}`, unit],
    env: { SYSTEMD_LOG_LEVEL: "debug" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
  // One "Command Line:" per Exec line (kubelet.service has an ExecStartPre): the one running `program`.
  const lines = [...text.matchAll(/Command Line: (.*)/g)].map((m) => splitShellWords(m[1]));
  const argv = lines.find((words) => words[0] === program);
  assert.ok(argv, `systemd-analyze printed the command line of ${program} in ${unit}`);
  return argv;
}

Deno.test("quoteExecArg: systemd reads back exactly the argv that was written", async () => {
  const table: [string, string][] = [
    ["--v=2", "--v=2"],
    ["a b", '"a b"'],
    ["100%", '"100%%"'],
    ["$HOME", '"$$HOME"'],
    ['say "hi"', '"say \\"hi\\""'],
    ["back\\slash", '"back\\\\slash"'],
    ["", '""'],
    [";", '";"'],
    ["tab\there", '"tab\\there"'],
  ];
  for (const [arg, quoted] of table) assert.equal(quoteExecArg(arg), quoted, arg);

  if (!(have("systemd-analyze"))) return;
  // systemd's own parser, through its debug dump of the loaded unit: "Command Line:" shows the argv
  // shell-quoted with `$$` still escaped (it becomes `$` at spawn) and specifiers resolved.
  const host = await fixtureHost();
  try {
    // Control characters are left out: the dump shows them as C escapes, which a shell reader keeps.
    const node = testNode({ kubeletFlags: table.map(([a]) => a).filter((a) => !/[\t\n]/.test(a)) });
    await runInit(host, node);
    const argv = (await systemdExecArgv(host.root, KUBELET_UNIT, "/usr/bin/kubelet")).map((w) =>
      w.replaceAll("$$", "$")
    );
    assert.deepEqual(argv, ["/usr/bin/kubelet", ...kubeletArgs(node)]);
  } finally {
    await Deno.remove(host.root, { recursive: true });
  }
});

Deno.test("--mount-bpf-fs: the bpffs unit is written and enabled by default; false removes it", async () => {
  const host = await fixtureHost();
  await runInit(host, testNode());
  assert.match(
    (await host.readText(BPF_MOUNT_UNIT))!,
    /^ExecStart=\/usr\/bin\/mount -t bpf .* bpffs \/sys\/fs\/bpf$/m,
  );
  if (have("systemctl")) {
    const r = await run(["systemctl", `--root=${host.root}`, "is-enabled", "eksnode-mount-bpf-fs.service"]);
    assert.equal(r.out.trim(), "enabled");
  }
  const off = await runInit(host, testNode({ mountBpfFs: false }));
  assert.equal(await host.exists(BPF_MOUNT_UNIT), false);
  assert.ok(off.steps[5].changes.some((c) => c === `remove ${BPF_MOUNT_UNIT}`), "step 6 removes the unit");
});

Deno.test("instance.localStorage: eksnode-local-disks.service runs setup-local-disks, started first; removed with the strategy", async () => {
  const host = await fixtureHost();
  try {
    const node = testNode({
      localStorage: { strategy: "RAID10", mountPath: "/mnt/fast", disabledMounts: ["Containerd"] },
    });
    const first = await runInit(host, node);
    const unit = (await host.readText(LOCAL_DISKS_UNIT))!;
    assert.match(unit, /^Type=oneshot$/m);
    assert.match(unit, /^RemainAfterExit=yes$/m);
    assert.match(unit, /^Before=containerd\.service kubelet\.service$/m);
    assert.match(unit, /^WantedBy=multi-user\.target$/m);
    // systemd reads the command line as the argv nodeadm gave the script.
    await Deno.mkdir(host.real("/usr/bin"), { recursive: true });
    await Deno.writeTextFile(host.real("/usr/bin/eksnode"), "#!/bin/sh\n", { mode: 0o755 });
    assertValid(await verifyUnits(host.root, ["eksnode-local-disks.service"]));
    if (have("systemd-analyze")) {
      // systemd's own reading of ExecStart (its debug dump, as in the quoteExecArg test): nodeadm's argv.
      assert.deepEqual(await systemdExecArgv(host.root, LOCAL_DISKS_UNIT, "/usr/bin/eksnode"), [
        "/usr/bin/eksnode",
        "setup-local-disks",
        "raid10",
        "--dir",
        "/mnt/fast",
        "--no-bind-containerd",
      ]);
    }
    // Step 9 enables it before anything else (under --root nothing is started: a note says so).
    const step9 = first.steps[8].changes;
    assert.match(step9[0], /^run systemctl --root=\S+ enable eksnode-local-disks\.service/, step9.join("\n"));
    if (have("systemctl")) {
      const r = await run(["systemctl", `--root=${host.root}`, "is-enabled", "eksnode-local-disks.service"]);
      assert.equal(r.out.trim(), "enabled");
    }
    const again = await runInit(host, node);
    assert.equal(again.changeCount, 0, JSON.stringify(again.steps.flatMap((s) => s.changes)));

    const off = await runInit(host, testNode());
    assert.equal(await host.exists(LOCAL_DISKS_UNIT), false);
    assert.equal(
      await host.exists("/etc/systemd/system/multi-user.target.wants/eksnode-local-disks.service"),
      false,
    );
    assert.ok(off.steps[5].changes.includes(`remove ${LOCAL_DISKS_UNIT}`), "step 6 removes the unit");
    assert.equal((await runInit(host, testNode())).changeCount, 0);
    // Step 9's plan on the running system (only planned; it needs containerd.service installed here).
    const system = await Host.open("/");
    if (!(await unitInstalled(system, "containerd.service"))) {
      console.log("init_steps_test: containerd.service not installed here: step 9's plan on / not checked");
      return;
    }
    const plan = await startStep.plan(context(system, node));
    const cannot = (await placeOf(system)).systemd;
    if (cannot) {
      // This machine does not run systemd (a container, a chroot): enabled, and starting is a note saying why.
      assert.deepEqual(plan.slice(0, 2).map((c) => c.describe()), [
        "run systemctl enable eksnode-local-disks.service  (start at boot)",
        `start eksnode-local-disks.service skipped: ${cannot}`,
      ], "on a running system without systemd: enabled, start noted");
      assert.match(plan[2].describe(), /enable eksnode-mount-bpf-fs\.service/);
    } else {
      assert.deepEqual(plan.slice(0, 3).map((c) => c.describe()), [
        "run systemctl enable eksnode-local-disks.service  (start at boot)",
        "run systemctl restart eksnode-local-disks.service  (its configuration changed)",
        "run systemctl start eksnode-local-disks.service  (not running)",
      ], "on the running system: enabled and started before bpffs and containerd");
      assert.match(plan[3].describe(), /enable eksnode-mount-bpf-fs\.service/);
    }
  } finally {
    await Deno.remove(host.root, { recursive: true });
  }
});

Deno.test("kubeconfig: without aws-iam-authenticator on the image (1.33+), the token comes from `aws eks get-token`", async () => {
  const host = await fixtureHost();
  await host.remove("/usr/bin/aws-iam-authenticator");
  await runInit(host, testNode());
  const cfg = parseYaml((await host.readText(KUBECONFIG))!) as {
    users: { user: { exec: { command: string; args: string[] } } }[];
  };
  const exec = cfg.users[0].user.exec;
  assert.equal(exec.command, "/usr/bin/aws");
  assert.deepEqual(exec.args.slice(0, 4), ["eks", "get-token", "--cluster-name", testNode().cluster.name]);
  assert.ok(exec.args.includes("--region"));
  assertValid(await validateKubeconfig(host.real(KUBECONFIG)));
  // Outposts: the token is for the cluster id.
  const outpost = testNode({ cluster: { ...testNode().cluster, enableOutpost: true, id: "abc-123" } });
  const host2 = await fixtureHost();
  await host2.remove("/usr/bin/aws-iam-authenticator");
  await runInit(host2, outpost);
  assert.match(
    (await host2.readText("/var/lib/kubelet/bootstrap-kubeconfig"))!,
    /- --cluster-id\n\s+- abc-123\n/,
  );
});
