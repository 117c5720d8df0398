import assert from "node:assert/strict";
import { parse as parseToml } from "smol-toml";
import { ConfigError } from "../../../lib/errors.ts";
import {
  describeUnknownField,
  type NodeConfigInput,
  nodeConfigWarnings,
  parseNodeConfigDocument,
  parseNodeConfigDocumentDetailed,
  validateNodeConfig,
} from "../../../eks/api/nodeconfig.ts";
import { certificateAuthorityPem, certificateAuthorityProblem } from "../../../eks/api/values.ts";
import { deepMerge, mergeNodeConfigs, mergeToml } from "../../../eks/api/merge.ts";

const PEM = "-----BEGIN CERTIFICATE-----\nMIIBfzCCASWgAwIBAgIU\n-----END CERTIFICATE-----\n";
const CA = btoa(PEM);
const ORIGIN = "user data part 2 (application/node.eks.aws)";

function doc(spec: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { apiVersion: "node.eks.aws/v1alpha1", kind: "NodeConfig", ...extra, spec };
}

const FULL_CLUSTER = {
  name: "my-cluster",
  apiServerEndpoint: "https://ABC.gr7.us-west-2.eks.amazonaws.com",
  certificateAuthority: CA,
  cidr: "10.100.0.0/16",
};

Deno.test("valid NodeConfig documents parse unchanged", () => {
  const cases: { name: string; doc: Record<string, unknown> }[] = [
    { name: "minimum required", doc: doc({ cluster: FULL_CLUSTER }) },
    { name: "partial part (kubelet only)", doc: doc({ kubelet: { flags: ["--v=2"] } }) },
    { name: "no spec at all", doc: doc({}) },
    { name: "ipv6 cidr", doc: doc({ cluster: { ...FULL_CLUSTER, cidr: "fd00:1234::/108" } }) },
    { name: "outpost", doc: doc({ cluster: { ...FULL_CLUSTER, enableOutpost: true, id: "abc-123" } }) },
    {
      name: "free-form kubelet config and baseRuntimeSpec keep unknown keys",
      doc: doc({
        kubelet: { config: { maxPods: 42, evictionHard: { "memory.available": "5%" }, anything: [1, 2] } },
        containerd: { baseRuntimeSpec: { process: { rlimits: [{ type: "RLIMIT_NOFILE", soft: 1024 }] } } },
      }),
    },
    {
      name: "containerd TOML, local storage, environment, feature gates, metadata",
      doc: doc({
        containerd: { config: '[plugins."io.containerd.grpc.v1.cri"]\nenable_cdi = true\n' },
        instance: {
          localStorage: { strategy: "RAID10", mountPath: "/mnt/disks", disabledMounts: ["PodLogs"] },
          environment: { default: { HTTPS_PROXY: "http://proxy:3128" }, kubelet: { NO_PROXY: "localhost" } },
          network: { nameservers: ["10.0.0.2", "fd00::2"], domains: ["ec2.internal"] },
        },
        featureGates: { InstanceIdNodeName: true, FastImagePull: false },
      }, { metadata: { name: "x", labels: { a: "b" } } }),
    },
  ];
  for (const c of cases) {
    assert.deepEqual(parseNodeConfigDocument(c.doc, ORIGIN), c.doc, c.name);
  }
});

Deno.test("invalid NodeConfig: one ConfigError naming the field path and the part", () => {
  const cases: { name: string; doc: unknown; path: string; says: RegExp }[] = [
    {
      // http is accepted as nodeadm accepts it (its case kubeconfig-outpost uses http://localhost).
      name: "an endpoint neither https nor http",
      doc: doc({ cluster: { apiServerEndpoint: "ftp://x.example.com" } }),
      path: "spec.cluster.apiServerEndpoint",
      says: /https/,
    },
    {
      name: "not a URL",
      doc: doc({ cluster: { apiServerEndpoint: "example" } }),
      path: "spec.cluster.apiServerEndpoint",
      says: /URL/,
    },
    {
      name: "PEM text instead of base64",
      doc: doc({ cluster: { certificateAuthority: PEM } }),
      path: "spec.cluster.certificateAuthority",
      says: /base64 encoding of the PEM/,
    },
    {
      name: "not base64",
      doc: doc({ cluster: { certificateAuthority: "not base64!" } }),
      path: "spec.cluster.certificateAuthority",
      says: /standard base64/,
    },
    {
      name: "bad cidr",
      doc: doc({ cluster: { cidr: "10.100.0.0" } }),
      path: "spec.cluster.cidr",
      says: /CIDR/,
    },
    {
      name: "bad name",
      doc: doc({ cluster: { name: "-bad name" } }),
      path: "spec.cluster.name",
      says: /cluster name/,
    },
    {
      name: "nameserver with a space",
      doc: doc({ instance: { network: { nameservers: ["8.8.8.8 1.1.1.1"] } } }),
      path: "spec.instance.network.nameservers[0]",
      says: /one word/,
    },
    {
      name: "environment service with a slash",
      doc: doc({ instance: { environment: { "../kubelet": { A: "1" } } } }),
      path: "spec.instance.environment.../kubelet",
      says: /systemd service name/,
    },
    {
      name: "a disabled mount that is not a string",
      doc: doc({ instance: { localStorage: { disabledMounts: ["PodLogs", 3] } } }),
      path: "spec.instance.localStorage.disabledMounts[1]",
      says: /Containerd, PodLogs, SOCI/,
    },
    {
      name: "flags not a list",
      doc: doc({ kubelet: { flags: "--v=2" } }),
      path: "spec.kubelet.flags",
      says: /expected array/,
    },
    {
      name: "flag not a string",
      doc: doc({ kubelet: { flags: ["--v=2", 3] } }),
      path: "spec.kubelet.flags[1]",
      says: /expected string/,
    },
    {
      name: "bad strategy",
      doc: doc({ instance: { localStorage: { strategy: "raid5" } } }),
      path: "spec.instance.localStorage.strategy",
      says: /RAID0, RAID10, Mount \(in any case\)/,
    },
    {
      name: "mountPath that unit files cannot hold",
      doc: doc({ instance: { localStorage: { strategy: "RAID0", mountPath: "/mnt/fast disks" } } }),
      path: "spec.instance.localStorage.mountPath",
      says: /written into unit files/,
    },
    {
      name: "relative mountPath",
      doc: doc({ instance: { localStorage: { strategy: "RAID0", mountPath: "mnt" } } }),
      path: "spec.instance.localStorage.mountPath",
      says: /must be an absolute path/,
    },
    {
      name: "invalid TOML",
      doc: doc({ containerd: { config: "[plugins\nx = " } }),
      path: "spec.containerd.config",
      says: /not valid TOML/,
    },
    {
      name: "environment value not a string",
      doc: doc({ instance: { environment: { A: 1 } } }),
      path: "spec.instance.environment.A",
      says: /must be a map of VARIABLE: value/,
    },
    {
      name: "wrong apiVersion",
      doc: { ...doc({}), apiVersion: "node.eks.aws/v1" },
      path: "apiVersion",
      says: /v1alpha1/,
    },
    { name: "wrong kind", doc: { ...doc({}), kind: "NodeConfg" }, path: "kind", says: /NodeConfig/ },
    { name: "not an object", doc: "hello", path: "document", says: /expected object/ },
  ];
  for (const c of cases) {
    assert.throws(
      () => parseNodeConfigDocument(c.doc, ORIGIN),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError, c.name);
        assert.ok(err.message.includes(ORIGIN), `${c.name}: ${err.message}`);
        assert.ok(err.message.includes(`${c.path}:`), `${c.name}: ${err.message}`);
        assert.match(err.message, c.says, c.name);
        assert.ok(!err.message.includes("\n"), `${c.name}: one line`);
        return true;
      },
    );
  }
});

Deno.test("several problems in one document become one error listing each path", () => {
  const bad = doc({ cluster: { cidr: "x", apiServerEndpoint: "ftp://y" }, kubelet: { flags: "x" } });
  assert.throws(() => parseNodeConfigDocument(bad, "/etc/eksnode/10.yaml"), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /^invalid NodeConfig in \/etc\/eksnode\/10\.yaml: /);
    for (const p of ["spec.cluster.cidr:", "spec.cluster.apiServerEndpoint:", "spec.kubelet.flags:"]) {
      assert.ok(err.message.includes(p), `${p} in ${err.message}`);
    }
    return true;
  });
});

Deno.test("validateNodeConfig requires nodeadm's cluster fields after the merge", () => {
  const ok = parseNodeConfigDocument(doc({ cluster: FULL_CLUSTER }), ORIGIN);
  assert.equal(validateNodeConfig(ok, "merged config").spec.cluster.name, "my-cluster");
  const cases: { cluster: Record<string, unknown>; missing: string[] }[] = [
    { cluster: {}, missing: ["name", "apiServerEndpoint", "certificateAuthority", "cidr"] },
    { cluster: { ...FULL_CLUSTER, cidr: undefined }, missing: ["cidr"] },
    { cluster: { ...FULL_CLUSTER, enableOutpost: true }, missing: ["id"] },
  ];
  for (const c of cases) {
    const config = { apiVersion: "node.eks.aws/v1alpha1", kind: "NodeConfig", spec: { cluster: c.cluster } };
    assert.throws(
      () => validateNodeConfig(config as NodeConfigInput, "user data (2 parts)"),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.ok(err.message.includes("user data (2 parts)"));
        for (const m of c.missing) assert.ok(err.message.includes(`spec.cluster.${m}`), err.message);
        return true;
      },
    );
  }
});

Deno.test("certificateAuthority helpers decode base64 PEM", () => {
  assert.equal(certificateAuthorityProblem(CA), undefined);
  assert.equal(certificateAuthorityPem(CA), PEM);
  assert.match(certificateAuthorityProblem("not base64!") ?? "", /standard base64/);
});

function part(spec: Record<string, unknown>): NodeConfigInput {
  return parseNodeConfigDocument(doc(spec), "test");
}

Deno.test("merge rules follow nodeadm (scalars override, flags append, docs deep-merge)", () => {
  // Mirrors nodeadm/internal/api/merge_test.go "customer overrides orchestrator defaults".
  const base = part({
    cluster: FULL_CLUSTER,
    kubelet: {
      config: { logging: { verbosity: 5 }, podsPerCore: 20 },
      flags: ["--node-labels=nodegroup=example", "--register-with-taints=the=taint:NoSchedule"],
    },
  });
  const patch = part({
    kubelet: {
      config: { logging: { verbosity: 2 }, maxPods: 150 },
      flags: ["--node-labels=nodegroup=user-set"],
    },
  });
  const merged = mergeNodeConfigs([base, patch]);
  assert.deepEqual(merged.spec?.cluster, FULL_CLUSTER);
  assert.deepEqual(merged.spec?.kubelet, {
    config: { logging: { verbosity: 2 }, podsPerCore: 20, maxPods: 150 },
    flags: [
      "--node-labels=nodegroup=example",
      "--register-with-taints=the=taint:NoSchedule",
      "--node-labels=nodegroup=user-set",
    ],
  });
});

Deno.test("merge table", () => {
  const cases: { name: string; parts: Record<string, unknown>[]; expect: Record<string, unknown> }[] = [
    {
      name: "later scalar wins",
      parts: [{ cluster: { name: "previous" } }, { cluster: { name: "next" } }],
      expect: { cluster: { name: "next" } },
    },
    {
      name: "missing later scalar keeps earlier",
      parts: [{ cluster: { name: "a", cidr: "10.0.0.0/16" } }, { cluster: { name: "b" } }],
      expect: { cluster: { name: "b", cidr: "10.0.0.0/16" } },
    },
    {
      name: "enableOutpost false overrides true (pointer in nodeadm)",
      parts: [{ cluster: { enableOutpost: true } }, { cluster: { enableOutpost: false } }],
      expect: { cluster: { enableOutpost: false } },
    },
    {
      name: "kubelet config: explicit false wins, lists replaced",
      parts: [
        { kubelet: { config: { serializeImagePulls: true, clusterDNS: ["10.100.0.10"] } } },
        { kubelet: { config: { serializeImagePulls: false, clusterDNS: ["172.20.0.10"] } } },
      ],
      expect: { kubelet: { config: { serializeImagePulls: false, clusterDNS: ["172.20.0.10"] } } },
    },
    {
      name: "maps merge key by key",
      parts: [
        { featureGates: { A: true, B: true }, instance: { environment: { default: { X: "1", Y: "2" } } } },
        {
          featureGates: { B: false },
          instance: { environment: { default: { Y: "3" }, kubelet: { Z: "4" } } },
        },
      ],
      expect: {
        featureGates: { A: true, B: false },
        instance: { environment: { default: { X: "1", Y: "3" }, kubelet: { Z: "4" } } },
      },
    },
    {
      name: "disabledMounts replaced, strategy overridden, mountPath kept",
      parts: [
        {
          instance: { localStorage: { strategy: "RAID0", mountPath: "/mnt/a", disabledMounts: ["PodLogs"] } },
        },
        { instance: { localStorage: { strategy: "Mount", disabledMounts: ["Containerd"] } } },
      ],
      expect: {
        instance: {
          localStorage: { strategy: "Mount", mountPath: "/mnt/a", disabledMounts: ["Containerd"] },
        },
      },
    },
    {
      name: "baseRuntimeSpec deep-merges",
      parts: [
        { containerd: { baseRuntimeSpec: { process: { user: { uid: 0 } }, linux: { a: 1 } } } },
        { containerd: { baseRuntimeSpec: { process: { cwd: "/" } } } },
      ],
      expect: {
        containerd: { baseRuntimeSpec: { process: { user: { uid: 0 }, cwd: "/" }, linux: { a: 1 } } },
      },
    },
    {
      name: "three parts in order",
      parts: [{ kubelet: { flags: ["--a"] } }, {}, { kubelet: { flags: ["--b"] } }],
      expect: { kubelet: { flags: ["--a", "--b"] } },
    },
  ];
  for (const c of cases) {
    const merged = mergeNodeConfigs(c.parts.map(part));
    assert.deepEqual(merged.spec, c.expect, c.name);
    assert.equal(merged.apiVersion, "node.eks.aws/v1alpha1");
  }
});

Deno.test("merge does not change its inputs", () => {
  const a = part({ kubelet: { config: { x: { y: 1 } }, flags: ["--a"] } });
  const b = part({ kubelet: { config: { x: { z: 2 } }, flags: ["--b"] } });
  const snapshot = structuredClone([a, b]);
  const merged = mergeNodeConfigs([a, b]);
  (merged.spec!.kubelet!.config!.x as Record<string, unknown>).w = 3;
  merged.spec!.kubelet!.flags!.push("--c");
  assert.deepEqual([a, b], snapshot);
});

Deno.test("containerd TOML configs merge deeply", () => {
  const a = part({
    containerd: {
      config: [
        "version = 2",
        '[plugins."io.containerd.grpc.v1.cri"]',
        'sandbox_image = "pause:3.9"',
        '[plugins."io.containerd.grpc.v1.cri".containerd]',
        'default_runtime_name = "runc"',
        'snapshotter = "overlayfs"',
      ].join("\n"),
    },
  });
  const b = part({
    containerd: {
      config: [
        '[plugins."io.containerd.grpc.v1.cri".containerd]',
        'default_runtime_name = "nvidia"',
        '[plugins."io.containerd.grpc.v1.cri".registry]',
        'config_path = "/etc/containerd/certs.d"',
      ].join("\n"),
    },
  });
  const merged = mergeNodeConfigs([a, b]);
  assert.deepEqual(JSON.parse(JSON.stringify(parseToml(merged.spec!.containerd!.config!))), {
    version: 2,
    plugins: {
      "io.containerd.grpc.v1.cri": {
        sandbox_image: "pause:3.9",
        containerd: { default_runtime_name: "nvidia", snapshotter: "overlayfs" },
        registry: { config_path: "/etc/containerd/certs.d" },
      },
    },
  });
  // Only one side: text passes through untouched.
  assert.equal(mergeNodeConfigs([a, part({})]).spec!.containerd!.config, a.spec!.containerd!.config);
  assert.equal(mergeToml("", "x = 1\n"), "x = 1\n");
});

Deno.test("deepMerge skips null and undefined, replaces arrays", () => {
  assert.deepEqual(
    deepMerge({ a: 1, b: [1, 2], c: { d: 1 } }, { a: null, b: [3], c: { e: 2 }, f: undefined }),
    {
      a: 1,
      b: [3],
      c: { d: 1, e: 2 },
    },
  );
});

Deno.test("unknown fields are dropped and named (nodeadm's decoder is not strict); known ones are kept", () => {
  const parsed = parseNodeConfigDocumentDetailed(
    {
      ...doc({ cluster: { ...FULL_CLUSTER, nmae: "x" }, kubelt: { a: 1 }, kubelet: { flags: ["--v=2"] } }),
      status: {},
    },
    ORIGIN,
  );
  assert.deepEqual(parsed.config, doc({ cluster: FULL_CLUSTER, kubelet: { flags: ["--v=2"] } }));
  assert.deepEqual(parsed.unknownFields.map((f) => f.path).sort(), [
    "spec.cluster.nmae",
    "spec.kubelt",
    "status",
  ]);
  const nmae = parsed.unknownFields.find((f) => f.path === "spec.cluster.nmae")!;
  assert.match(
    describeUnknownField(nmae),
    /^unknown field spec\.cluster\.nmae \(known fields: name, apiServerEndpoint,/,
  );
  assert.deepEqual(parsed.warnings, []);
});

Deno.test("eksnode's old flat instance.environment is read as kubelet + containerd, with a warning showing nodeadm's form", () => {
  const parsed = parseNodeConfigDocumentDetailed(
    doc({ instance: { environment: { HTTPS_PROXY: "http://u:pw@proxy:3128", NO_PROXY: "localhost" } } }),
    ORIGIN,
  );
  const vars = { HTTPS_PROXY: "http://u:pw@proxy:3128", NO_PROXY: "localhost" };
  assert.deepEqual(parsed.config.spec?.instance?.environment, { kubelet: vars, containerd: vars });
  assert.equal(parsed.warnings.length, 1);
  assert.match(
    parsed.warnings[0],
    /environment: \{ kubelet: \{ HTTPS_PROXY: \.\.\., NO_PROXY: \.\.\. \}, containerd:/,
  );
  assert.doesNotMatch(parsed.warnings[0], /pw@proxy/, "values are not shown");
  // nodeadm's form is taken as is, without a warning.
  const nested = parseNodeConfigDocumentDetailed(
    doc({ instance: { environment: { default: vars } } }),
    ORIGIN,
  );
  assert.deepEqual(nested.config.spec?.instance?.environment, { default: vars });
  assert.deepEqual(nested.warnings, []);
});

Deno.test("localStorage as nodeadm reads it: the strategy in any case, a disabled mount it does not know skipped with a warning", () => {
  // nodeadm lowercases the strategy (local_disk.go), so every case of the three names works.
  for (
    const [given, canonical] of [["raid0", "RAID0"], ["Raid10", "RAID10"], ["MOUNT", "Mount"], [
      "RAID0",
      "RAID0",
    ]]
  ) {
    const parsed = parseNodeConfigDocumentDetailed(
      doc({ instance: { localStorage: { strategy: given } } }),
      ORIGIN,
    );
    assert.equal(parsed.config.spec?.instance?.localStorage?.strategy, canonical, given);
    assert.deepEqual(parsed.warnings, [], given);
  }
  // Its switch on disabledMounts compares exactly and has no default: an unknown value does nothing.
  const input = doc({
    instance: { localStorage: { strategy: "raid0", disabledMounts: ["podlogs", "SOCI", "Images"] } },
  });
  const before = structuredClone(input);
  const parsed = parseNodeConfigDocumentDetailed(input, ORIGIN);
  assert.deepEqual(parsed.config.spec?.instance?.localStorage, {
    strategy: "RAID0",
    disabledMounts: ["SOCI"],
  });
  assert.deepEqual(input, before, "the document itself is not changed");
  assert.equal(parsed.warnings.length, 2);
  assert.match(
    parsed.warnings[0],
    /^spec\.instance\.localStorage\.disabledMounts\[0\]: "podlogs" is not a mount nodeadm knows \(Containerd, PodLogs, SOCI; case matters\), skipped as nodeadm skips it: did you mean PodLogs\?$/,
  );
  assert.match(
    parsed.warnings[1],
    /disabledMounts\[2\]: "Images" is not a mount nodeadm knows .*skipped as nodeadm skips it$/,
  );
  assert.deepEqual(parsed.unknownFields, []);
});

Deno.test("nodeConfigWarnings: what nodeadm accepts but is probably a mistake", () => {
  const parsed = parseNodeConfigDocument(
    doc({
      cluster: {
        ...FULL_CLUSTER,
        apiServerEndpoint: "http://localhost",
        certificateAuthority: btoa("hello"),
      },
      featureGates: { InstanceIdNodeName: true, Typo: true },
    }),
    ORIGIN,
  );
  const warnings = nodeConfigWarnings(parsed);
  assert.equal(warnings.length, 3, warnings.join("\n"));
  assert.match(warnings[0], /^spec\.cluster\.apiServerEndpoint is plain http:\/\//);
  assert.match(warnings[1], /^spec\.cluster\.certificateAuthority decodes to something that is not a PEM/);
  assert.match(
    warnings[2],
    /^spec\.featureGates\.Typo: unknown feature gate.*known: InstanceIdNodeName, FastImagePull/,
  );
  assert.deepEqual(nodeConfigWarnings(parseNodeConfigDocument(doc({ cluster: FULL_CLUSTER }), ORIGIN)), []);
});
