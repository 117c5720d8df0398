/**
 * containerd's config, base runtime spec and FastImagePull files against nodeadm's e2e cases
 * (fakes/nodeadm_containerd_cases.ts): every run of the containerdv1-* and containerdv2-* cases
 * rendered for the same node and compared as containerd reads it, version-2 results loaded by the real
 * containerd here (`containerd config dump`, side by side with nodeadm's expected file), every result
 * through tests/support/validators/containerd.ts; the schema rules, the v2→v3 migration and the base runtime spec.
 */
import assert from "node:assert/strict";
import { parse as parseToml } from "smol-toml";
import { renderBaseRuntimeSpec } from "../../../eks/containerd/base_runtime_spec.ts";
import { CRI_IMAGES, CRI_RUNTIME, CRI_V2, migrateToVersion3 } from "../../../eks/containerd/migrate.ts";
import { NVIDIA_RUNTIME, RUNC_RUNTIME } from "../../../eks/containerd/runtime.ts";
import { memTotalBytes, useSociSnapshotter } from "../../../eks/containerd/soci.ts";
import { generatedConfig } from "../../../eks/containerd/templates.ts";
import {
  containerdMajor,
  containerdVersionIn,
  isVersion3Config,
  releaseContainerdVersion,
  schemaFor,
} from "../../../eks/containerd/version.ts";
import { renderContainerdConfig } from "../../../eks/containerd/config.ts";
import { parseNodeConfigDocument } from "../../../eks/api/nodeconfig.ts";
import { ConfigError } from "../../../lib/errors.ts";
import { parse as parseYaml } from "yaml";
import {
  caseFile,
  caseNodeConfig,
  compareWithCase,
  CONTAINERD_RUNS,
  expectedConfig,
  haveCases,
  NODEADM_SANDBOX_IMAGE,
  NVIDIA_CTK_STAND_IN,
  oursWithoutImports,
  runName,
} from "../../../fakes/nodeadm_containerd_cases.ts";
import { testNode } from "../../../fakes/node_settings.ts";
import {
  accepted,
  describeVerdict,
  findTool,
  runTool,
  validateContainerdConfig,
} from "../../support/validators/mod.ts";

/** Parsed TOML (and JSON) documents are walked by known keys. */
// deno-lint-ignore no-explicit-any -- test data of a known shape, checked by the assertions
type Toml = any;

const SANDBOX = testNode().sandboxImage;
const CASES = haveCases();
if (!CASES) {
  console.warn(
    "containerd_config_test: shared/reference/nodeadm-e2e is not beside the repository: case tests skipped",
  );
}
const CONTAINERD = findTool("containerd");
if (!CONTAINERD) {
  console.warn("containerd_config_test: containerd not installed: `containerd config dump` checks skipped");
}

/** The config init writes for one case run. */
function render(r: (typeof CONTAINERD_RUNS)[number]): string {
  const config = caseNodeConfig(r.case, r.config).spec.containerd.config as string;
  return renderContainerdConfig(testNode({
    kubernetesVersion: r.kubelet.split(".").slice(0, 2).join("."),
    containerdVersion: r.containerd,
    nvidiaRuntimeInstalled: r.nvidia,
    containerdConfigOverride: config,
  }));
}

/** `containerd config dump` of a config text (its imports pointed at an empty directory), parsed. */
async function dump(text: string, dir: string, name: string): Promise<Record<string, unknown>> {
  const doc = parseToml(text) as Record<string, unknown>;
  if (doc.imports) doc.imports = [`${dir}/config.d/*.toml`];
  const path = `${dir}/${name}.toml`;
  await Deno.mkdir(`${dir}/config.d`, { recursive: true });
  // smol-toml's stringify keeps every value; containerd reads the same document.
  const { stringify } = await import("smol-toml");
  await Deno.writeTextFile(path, stringify(doc));
  const r = await runTool([CONTAINERD!, "--config", path, "config", "dump"]);
  assert.equal(r.code, 0, `containerd config dump ${name}: ${r.stderr}`);
  const out = JSON.parse(JSON.stringify(parseToml(r.stdout))) as Record<string, unknown>;
  // `imports` lists the files read, the main one first: only the others say something about the config.
  out.imports = (out.imports as string[] ?? []).filter((f) => f !== path);
  return out;
}

for (const r of CONTAINERD_RUNS) {
  Deno.test({
    name: `nodeadm case ${runName(r)}`,
    ignore: !CASES,
    fn: async () => {
      if (!r.expected) {
        // run.sh: `if nodeadm init ... configv3.yaml; then ... exit 1` — containerd 1.x cannot read it.
        assert.throws(
          () => render(r),
          (e: unknown) => e instanceof ConfigError && /version-3 properties/.test(e.message),
        );
        return;
      }
      const ours = render(r);
      const schema = r.containerd.startsWith("1.") ? 2 : 3;
      assert.equal(
        (parseToml(ours) as { version: number }).version,
        schema,
        "schema of the node's containerd",
      );
      assert.deepEqual(compareWithCase(r, ours, SANDBOX), []);

      const dir = await Deno.makeTempDir({ prefix: "eksnode-containerd-case-" });
      try {
        await Deno.writeTextFile(`${dir}/config.toml`, ours);
        const verdict = await validateContainerdConfig(`${dir}/config.toml`);
        if (verdict.notChecked) console.warn(describeVerdict(verdict));
        else assert.ok(accepted(verdict), describeVerdict(verdict));
        // containerd 1.x reads version 2: both files loaded by it must come out the same.
        if (CONTAINERD && schema === 2) {
          const expected = caseFile(r.case, r.expected.file).replaceAll(NODEADM_SANDBOX_IMAGE, SANDBOX);
          assert.deepEqual(await dump(ours, dir, "eksnode"), await dump(expected, dir, "nodeadm"));
        }
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}

Deno.test({
  name: "nodeadm case containerdv2-config: the user's own sandbox image wins over eksnode's in both schemas",
  ignore: !CASES,
  fn: () => {
    for (const r of CONTAINERD_RUNS.filter((r) => r.case === "containerdv2-config")) {
      const doc = parseToml(render(r)) as Toml;
      assert.equal(doc.plugins[CRI_IMAGES].pinned_images.sandbox, "registry.k8s.io/pause:3.10", r.config);
      assert.equal(expectedConfig(r, SANDBOX).version, 3);
    }
  },
});

Deno.test({
  name: "nodeadm case containerd-base-runtime-spec: the merged spec is nodeadm's byte for byte",
  ignore: !CASES,
  fn: () => {
    const spec =
      caseNodeConfig("containerd-base-runtime-spec", "config.yaml").spec.containerd.baseRuntimeSpec;
    const expected = caseFile("containerd-base-runtime-spec", "expected-base-runtime-spec.json");
    assert.equal(renderBaseRuntimeSpec(spec), expected);
    const parsed = JSON.parse(renderBaseRuntimeSpec(spec));
    assert.deepEqual(parsed.process.rlimits, [{ hard: 12345, soft: 12345, type: "RLIMIT_NOFILE" }]);
    assert.equal(parsed.foo, "bar");
  },
});

Deno.test("base runtime spec: the default is nodeadm's (RLIMIT_NOFILE 65536/1048576), an empty override keeps it", () => {
  const def = renderBaseRuntimeSpec();
  assert.equal(renderBaseRuntimeSpec({}), def);
  const spec = JSON.parse(def);
  assert.deepEqual(spec.process.rlimits, [{ type: "RLIMIT_NOFILE", soft: 65536, hard: 1048576 }]);
  assert.equal(spec.ociVersion, "1.1.0");
  // A nested override merges: the other capabilities lists stay.
  const merged = JSON.parse(renderBaseRuntimeSpec({ process: { capabilities: { bounding: ["CAP_KILL"] } } }));
  assert.deepEqual(merged.process.capabilities.bounding, ["CAP_KILL"]);
  assert.deepEqual(merged.process.capabilities.effective, spec.process.capabilities.effective);
  assert.deepEqual(merged.process.rlimits, spec.process.rlimits);
});

Deno.test("schema: containerd 1 → 2, containerd 2 → 3 unless the user's config is version 2; v3 refused on 1.x", () => {
  const v2 =
    'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd]\ndiscard_unpacked_layers = false\n';
  const v3 = "version = 3\n[plugins.'io.containerd.cri.v1.images']\ndiscard_unpacked_layers = false\n";
  assert.deepEqual(schemaFor(1, undefined), { template: 2, written: 2 });
  assert.deepEqual(schemaFor(1, v2), { template: 2, written: 2 });
  assert.throws(() => schemaFor(1, v3), ConfigError);
  assert.deepEqual(schemaFor(2, undefined), { template: 3, written: 3 });
  assert.deepEqual(schemaFor(2, v3), { template: 3, written: 3 });
  assert.deepEqual(schemaFor(2, v2), { template: 2, written: 3 });
  // A config without CRI sections (e.g. only [grpc]) is not version 3: nodeadm's text test.
  assert.deepEqual(schemaFor(2, '[grpc]\naddress = "/run/x.sock"\n'), { template: 2, written: 3 });
  assert.equal(isVersion3Config(v3), true);
  assert.equal(isVersion3Config(v2), false);
});

Deno.test("containerd version: from --version output, nodeadm's version file and /etc/eks/release", async () => {
  const table: [string, string | undefined][] = [
    [
      "containerd github.com/containerd/containerd/v2 v2.1.4 75cb2b7193e4e490e9fbdc236c0e811ccaba3376",
      "2.1.4",
    ],
    ["containerd github.com/containerd/containerd 1.7.27 05044ec0a9a75232cad458027ca83437aae3f4da", "1.7.27"],
    ["containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+deb12u3", "1.6.20"],
    ["1.7.20\n", "1.7.20"],
    ["no version here", undefined],
  ];
  for (const [text, want] of table) assert.equal(containerdVersionIn(text), want, text);
  assert.equal(
    releaseContainerdVersion("KUBERNETES_VERSION='1.32.3'\nCONTAINERD_VERSION='2.1.4'\n"),
    "2.1.4",
  );
  assert.equal(releaseContainerdVersion("KUBERNETES_VERSION='1.32.3'\n"), undefined);
  assert.equal(containerdMajor("1.7.27"), 1);
  assert.equal(containerdMajor(undefined), undefined);
  if (CONTAINERD) {
    // The real binary's output parses to a version it prints.
    const out = (await runTool([CONTAINERD, "--version"])).stdout;
    const v = containerdVersionIn(out);
    assert.ok(v !== undefined && out.includes(v), out);
  }
});

Deno.test("migration to version 3: containerd 2's rules for a version-2 config", () => {
  const v2 = {
    version: 2,
    grpc: { address: "/run/foo/foo.sock" },
    plugins: {
      [CRI_V2]: {
        sandbox_image: "p:1",
        enable_cdi: true,
        max_concurrent_downloads: 5,
        stream_server_port: "10010",
        registry: { config_path: "/etc/containerd/certs.d" },
        containerd: {
          default_runtime_name: "runc",
          discard_unpacked_layers: false,
          snapshotter: "soci",
          runtimes: { runc: { runtime_type: "io.containerd.runc.v2", sandbox_mode: "podsandbox" } },
        },
        cni: { bin_dir: "/opt/cni/bin" },
      },
      "io.containerd.gc.v1.scheduler": { pause_threshold: 0.02 },
    },
  };
  assert.deepEqual(migrateToVersion3(v2), {
    version: 3,
    grpc: { address: "/run/foo/foo.sock" },
    plugins: {
      [CRI_V2]: { stream_server_port: "10010" },
      [CRI_IMAGES]: {
        pinned_images: { sandbox: "p:1" },
        discard_unpacked_layers: false,
        snapshotter: "soci",
        registry: { config_path: "/etc/containerd/certs.d" },
        max_concurrent_downloads: 5,
      },
      [CRI_RUNTIME]: {
        enable_cdi: true,
        cni: { bin_dir: "/opt/cni/bin" },
        containerd: {
          default_runtime_name: "runc",
          runtimes: { runc: { runtime_type: "io.containerd.runc.v2", sandboxer: "podsandbox" } },
        },
      },
      "io.containerd.gc.v1.scheduler": { pause_threshold: 0.02 },
    },
  });
  // The input is not changed; a version-3 config only gets its version.
  assert.equal(v2.plugins[CRI_V2].sandbox_image, "p:1");
  assert.deepEqual(migrateToVersion3({ version: 3, plugins: { [CRI_IMAGES]: {} } }), {
    version: 3,
    plugins: { [CRI_IMAGES]: {} },
  });
});

Deno.test("runtime: nvidia when nvidia-container-runtime is on the node; the nvidia-ctk stand-in agrees", async () => {
  const nvidia = parseToml(
    renderContainerdConfig(testNode({ containerdVersion: "1.7.27", nvidiaRuntimeInstalled: true })),
  );
  const runc = parseToml(renderContainerdConfig(testNode({ containerdVersion: "1.7.27" })));
  const cri = (d: Toml) => d.plugins[CRI_V2].containerd;
  assert.equal(cri(nvidia).default_runtime_name, "nvidia");
  assert.deepEqual(Object.keys(cri(nvidia).runtimes), ["nvidia"]);
  assert.equal(cri(nvidia).runtimes.nvidia.options.BinaryName, NVIDIA_RUNTIME.binaryName);
  assert.equal(cri(runc).default_runtime_name, "runc");
  assert.equal(cri(runc).runtimes.runc.options.BinaryName, RUNC_RUNTIME.binaryName);
  // What NVIDIA's tool (the e2e image's stand-in) configures: the same runtime name, type and binary.
  const bash = findTool("bash");
  if (!bash) return console.warn("bash not installed: the nvidia-ctk stand-in is not run");
  const ctk = parseToml(
    (await runTool([bash, NVIDIA_CTK_STAND_IN, "runtime", "configure", "--dry-run"])).stdout,
  );
  const ctkRt = cri(ctk).runtimes.nvidia;
  assert.equal(cri(ctk).default_runtime_name, cri(nvidia).default_runtime_name);
  assert.equal(ctkRt.runtime_type, cri(nvidia).runtimes.nvidia.runtime_type);
  assert.equal(ctkRt.options.BinaryName, cri(nvidia).runtimes.nvidia.options.BinaryName);
});

Deno.test("FastImagePull: SOCI for big enough nodes with the snapshotter installed, in both schemas", async () => {
  const GiB = 2 ** 30;
  assert.deepEqual(useSociSnapshotter({ gate: false, memoryBytes: 64 * GiB, cpus: 16, installed: true }), {
    use: false,
  });
  assert.deepEqual(useSociSnapshotter({ gate: true, memoryBytes: 7.5 * GiB, cpus: 4, installed: true }), {
    use: true,
  });
  assert.match(
    useSociSnapshotter({ gate: true, memoryBytes: 6.9 * GiB, cpus: 8, installed: true }).why!,
    /7 GiB/,
  );
  assert.match(
    useSociSnapshotter({ gate: true, memoryBytes: 16 * GiB, cpus: 2, installed: true }).why!,
    /4 CPUs/,
  );
  assert.match(
    useSociSnapshotter({ gate: true, memoryBytes: 16 * GiB, cpus: 4, installed: false }).why!,
    /not installed/,
  );
  assert.equal(memTotalBytes("MemTotal:       16006516 kB\nMemFree: 1 kB\n"), 16006516 * 1024);
  assert.equal(memTotalBytes("nothing\n"), undefined);

  for (const schema of [2, 3] as const) {
    const doc = parseToml(
      generatedConfig({ schema, sandboxImage: SANDBOX, kubernetesVersion: "1.32", soci: true }),
    ) as Toml;
    const images = schema === 2 ? doc.plugins[CRI_V2].containerd : doc.plugins[CRI_IMAGES];
    assert.equal(images.snapshotter, "soci");
    assert.equal(images.disable_snapshot_annotations, false);
    assert.deepEqual(JSON.parse(JSON.stringify(doc.proxy_plugins.soci)), {
      type: "snapshot",
      address: "/run/soci-snapshotter-grpc/soci-snapshotter-grpc.sock",
      exports: { root: "/var/lib/soci-snapshotter-grpc" },
    });
  }
  if (!CONTAINERD) return;
  const dir = await Deno.makeTempDir({ prefix: "eksnode-containerd-soci-" });
  try {
    const text = generatedConfig({ schema: 2, sandboxImage: SANDBOX, kubernetesVersion: "1.32", soci: true });
    await Deno.writeTextFile(`${dir}/config.toml`, text);
    const verdict = await validateContainerdConfig(`${dir}/config.toml`);
    // A proxy plugin's `exports` is newer than containerd 1.6: the validator notes it unjudged there.
    assert.ok(accepted(verdict), describeVerdict(verdict));
    const d = (await dump(text, dir, "soci")) as Toml;
    assert.equal(d.proxy_plugins.soci.address, "/run/soci-snapshotter-grpc/soci-snapshotter-grpc.sock");
    assert.equal(d.plugins[CRI_V2].containerd.snapshotter, "soci");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("no containerd.config: containerd 1.x gets nodeadm's version-2 template, 2.x its version-3 one", () => {
  for (const [containerdVersion, version] of [["1.7.27", 2], ["2.1.4", 3], [undefined, 3]] as const) {
    const doc = oursWithoutImports(renderContainerdConfig(testNode({ containerdVersion })));
    assert.equal(doc.version, version, String(containerdVersion));
  }
});

Deno.test("docs/containerd.md: its NodeConfig examples are accepted and mean what the page says", async () => {
  const page = await Deno.readTextFile(new URL("../../../docs/containerd.md", import.meta.url));
  const blocks = [...page.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.equal(blocks.length, 3);
  const [migrated, spec, fast] = blocks.map((b, i) =>
    parseNodeConfigDocument(parseYaml(b), `docs example ${i + 1}`)
  );
  const config = migrated.spec!.containerd!.config!;
  const on2 = parseToml(
    renderContainerdConfig(testNode({ containerdVersion: "2.1.4", containerdConfigOverride: config })),
  ) as Toml;
  assert.equal(on2.version, 3);
  assert.equal(on2.plugins[CRI_IMAGES].discard_unpacked_layers, false);
  assert.equal(on2.plugins[CRI_IMAGES].pinned_images.sandbox, "registry.k8s.io/pause:3.10");
  assert.equal(on2.plugins[CRI_V2], undefined, "no version-2 section left for containerd 2 to ignore");
  const on1 = parseToml(
    renderContainerdConfig(testNode({ containerdVersion: "1.7.27", containerdConfigOverride: config })),
  ) as Toml;
  assert.equal(on1.version, 2);
  assert.equal(on1.plugins[CRI_V2].sandbox_image, "registry.k8s.io/pause:3.10");
  assert.equal(on1.plugins[CRI_V2].containerd.discard_unpacked_layers, false);
  const rendered = JSON.parse(renderBaseRuntimeSpec(spec.spec!.containerd!.baseRuntimeSpec));
  assert.deepEqual(rendered.process.rlimits, [{ hard: 12345, soft: 12345, type: "RLIMIT_NOFILE" }]);
  assert.equal(fast.spec!.featureGates!.FastImagePull, true);
  assert.deepEqual(fast.spec!.instance!.localStorage!.disabledMounts, ["SOCI"]);
});
