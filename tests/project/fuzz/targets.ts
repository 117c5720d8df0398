/**
 * The fuzz targets (fast-check properties) of tests/project/fuzz_test.ts: hostile NodeConfig YAML/JSON, MIME
 * multipart user data, base64/gzip wrappers, bootstrap.sh flag lists and scripts, the bake TOML and
 * tar archives. Each case must end in success or an {@link EksnodeError} whose message is one line;
 * a success is carried on as far as eksnode would (merge, resolve, render every file) and the rendered
 * files are checked for injected structure (tests/project/fuzz/render_check.ts).
 */
import { tempDir } from "../../../fakes/temp.ts";
import fc from "fast-check";
import { gzipSync } from "node:zlib";
import { stringify as stringifyToml } from "smol-toml";
import { stringify as stringifyYaml } from "yaml";
import {
  applyOverrides,
  type Arch,
  githubArtifact,
  kubernetesArtifact,
  kubernetesRelease,
  versions as embedded,
} from "../../../assets/versions.ts";
import { parseBakeConfig } from "../../../cli/bake_config.ts";
import { parseBootstrapArgs } from "../../../cli/bootstrap_flags.ts";
import { findBootstrapInvocations } from "../../../eks/api/bootstrap_script.ts";
import type { ClusterInfo } from "../../../eks/aws/eks_api.ts";
import { type NodeConfigInput } from "../../../eks/api/nodeconfig.ts";
import { mergeNodeConfigs } from "../../../eks/api/merge.ts";
import {
  type LegacySettings,
  missingClusterFields,
  resolveNodeSettings,
} from "../../../eks/api/resolve_node_settings.ts";
import { parseUserDataDetailed } from "../../../eks/api/userdata.ts";
import { EksnodeError } from "../../../lib/errors.ts";
import { Host } from "../../../lib/host.ts";
import { memoryLogger } from "../../../lib/log.ts";
import { runSteps } from "../../../lib/runner.ts";
import { INIT_STEPS } from "../../../steps/init/index.ts";
import { readTar } from "../../../lib/tar.ts";
import { makeTar, type TarInput } from "../../../lib/tar_write.ts";
import { type ReleaseManifest, renderRelease } from "../../../steps/ami/33_release_file.ts";
import type { NodeSettings } from "../../../steps/init/context.ts";
import { TEST_CA_PEM, testNode } from "../../../fakes/node_settings.ts";
import { checkNodeFiles, renderNodeFiles } from "./render_check.ts";

/** Strings that have broken parsers and renderers elsewhere: shell, systemd, YAML, TOML, paths, Unicode. */
export const HOSTILE: readonly string[] = [
  "$(touch /tmp/eksnode-pwned)",
  "`touch /tmp/eksnode-pwned`",
  "; touch /tmp/eksnode-pwned",
  "a\nExecStartPre=/bin/touch /tmp/eksnode-pwned",
  "x\r\n[Service]\r\nExecStart=/bin/sh",
  "x\\\nExecStart=/bin/sh",
  "'",
  '"',
  "\\",
  "%n%i%%",
  "$HOME ${PATH} $$",
  "\0",
  "\u2028\u2029",
  "\u202e",
  "\x1b[31m",
  "-rf",
  "--help",
  "../../../etc/passwd",
  "/etc/shadow",
  "a b\tc",
  "#comment",
  "[Install]",
  "key: value",
  "---",
  "{{ .Values }}",
  "*",
  "__proto__",
  "constructor",
  "",
  " ",
  "x".repeat(300),
];

const CA_B64 = btoa(TEST_CA_PEM);
const ENDPOINT = "https://0123456789ABCDEF0123456789ABCDEF.gr7.us-west-2.eks.amazonaws.com";

/** Any string, a hostile one, or a hostile one around a plausible value. */
export const hostile: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.string({ maxLength: 40 }), weight: 3 },
  { arbitrary: fc.string({ unit: "binary", maxLength: 20 }), weight: 1 },
  { arbitrary: fc.constantFrom(...HOSTILE), weight: 3 },
  {
    arbitrary: fc.tuple(
      fc.constantFrom("my-cluster", "10.0.0.1", "a=b", "us-west-2"),
      fc.constantFrom(...HOSTILE),
    )
      .map(([a, b]) => a + b),
    weight: 2,
  },
);

/** Undefined nine times in ten, else a value: something rare, such as an unknown key. */
const rare = <T>(arb: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: fc.constant(undefined), weight: 9 }, { arbitrary: arb, weight: 1 });

/** A valid value most of the time, else a hostile one: keeps deep code paths reachable. */
const mostly = <T>(valid: fc.Arbitrary<T>, weight = 10) =>
  fc.oneof({ arbitrary: valid, weight }, { arbitrary: hostile as fc.Arbitrary<unknown>, weight: 1 });

const kubeletFlag = fc.oneof(
  {
    arbitrary: fc.constantFrom(
      "--node-labels=team=a,env=prod",
      "--register-with-taints=dedicated=gpu:NoSchedule",
      "--max-pods=58",
      "--v=4",
      "--max-pods",
      "--max-pods=abc",
    ),
    weight: 4,
  },
  { arbitrary: hostile.map((s) => `--node-labels=${s}`), weight: 2 },
  { arbitrary: hostile, weight: 1 },
);

/** Environment variables of one service (or eksnode's old flat form). */
const envVars = fc.dictionary(
  fc.oneof({ arbitrary: fc.constantFrom("HTTP_PROXY", "NO_PROXY", "_X1"), weight: 4 }, hostile),
  fc.oneof(
    { arbitrary: fc.constantFrom("http://proxy:3128", "localhost,.internal", ""), weight: 2 },
    hostile,
  ),
  { maxKeys: 3 },
);

const freeForm: fc.Arbitrary<unknown> = fc.dictionary(
  fc.oneof(
    fc.constantFrom("maxPods", "clusterDNS", "kubeReserved", "__proto__", "constructor", "featureGates"),
    hostile,
  ),
  fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(20, "20", -1, ["10.100.0.10"], { cpu: "1" })),
  { maxKeys: 4 },
);

const containerdToml = fc.oneof(
  fc.constantFrom(
    '[plugins."io.containerd.grpc.v1.cri".registry]\nconfig_path = "/etc/containerd/certs.d"\n',
    "[plugins.'io.containerd.cri.v1.images']\nmax_concurrent_downloads = 10\n",
    "version = 2\n",
    "[a]\nb = 1\n[a]\nb = 2\n",
  ),
  fc.dictionary(hostile, fc.oneof(hostile, fc.integer(), fc.dictionary(hostile, hostile, { maxKeys: 2 })), {
    maxKeys: 3,
  }).map((o) => {
    try {
      return stringifyToml(o);
    } catch {
      return "";
    }
  }),
  hostile,
);

/** A NodeConfig-shaped document: schema fields with valid, hostile or wrongly typed values. */
export const nodeConfigDoc: fc.Arbitrary<Record<string, unknown>> = fc.record({
  apiVersion: mostly(fc.constant("node.eks.aws/v1alpha1"), 8),
  kind: mostly(fc.constant("NodeConfig"), 8),
  spec: fc.record({
    cluster: fc.record({
      name: mostly(fc.constantFrom("my-cluster", "c_1", "A".repeat(100))),
      apiServerEndpoint: mostly(fc.constantFrom(ENDPOINT, "https://10.0.0.1:443")),
      certificateAuthority: mostly(fc.constant(CA_B64)),
      cidr: mostly(fc.constantFrom("10.100.0.0/16", "172.20.0.0/16", "fd00:1234::/108")),
      enableOutpost: mostly(fc.boolean()),
      id: mostly(fc.constantFrom("7f0ee7b8-ca26-4aa4-9a0e-c8e3b2e1cb2f")),
    }, { requiredKeys: ["name"] }),
    kubelet: fc.record({
      config: mostly(freeForm),
      flags: fc.array(kubeletFlag, { maxLength: 4 }),
    }, { requiredKeys: [] }),
    containerd: fc.record({ config: mostly(containerdToml), baseRuntimeSpec: mostly(freeForm) }, {
      requiredKeys: [],
    }),
    instance: fc.record({
      localStorage: mostly(fc.record({ strategy: mostly(fc.constantFrom("RAID0", "RAID10", "Mount")) }, {
        requiredKeys: [],
      })),
      // nodeadm's { SERVICE: { VARIABLE: value } } form, or eksnode's old flat one.
      environment: mostly(fc.oneof(
        fc.dictionary(
          fc.oneof({
            arbitrary: fc.constantFrom("default", "kubelet", "containerd", "sandbox-image"),
            weight: 4,
          }, hostile),
          envVars,
          { maxKeys: 3 },
        ),
        envVars,
      )),
      network: mostly(fc.record({
        nameservers: fc.array(
          fc.oneof({ arbitrary: fc.constantFrom("10.0.0.2", "fd00::2"), weight: 3 }, hostile),
          { maxLength: 2 },
        ),
        domains: fc.array(
          fc.oneof({ arbitrary: fc.constantFrom("ec2.internal", "corp.example"), weight: 3 }, hostile),
          { maxLength: 2 },
        ),
      }, { requiredKeys: [] })),
    }, { requiredKeys: [] }),
    featureGates: mostly(
      fc.dictionary(fc.oneof(fc.constant("InstanceIdNodeName"), hostile), mostly(fc.boolean()), {
        maxKeys: 2,
      }),
    ),
  }, { requiredKeys: ["cluster"] }),
}, { requiredKeys: ["apiVersion", "kind"] }).chain((doc) =>
  rare(fc.tuple(hostile, hostile)).map((extra) => extra ? { ...doc, [extra[0]]: extra[1] } : doc)
) as fc.Arbitrary<Record<string, unknown>>;

/** Text edits (one case in four): insert, delete or cut at a point, as a truncated or hand-edited file. */
function mutated(text: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.tuple(
    text,
    fc.nat(),
    fc.nat({ max: 8 }),
    fc.oneof(hostile, fc.constantFrom(":", "\n", "  ", "-", "{", "[", "&a", "*a", "!!binary", "<<: *a")),
    fc.nat({ max: 11 }),
  ).map(([t, at, len, ins, kind]) => {
    const i = t.length === 0 ? 0 : at % t.length;
    if (kind === 1) return t.slice(0, i) + ins + t.slice(i);
    if (kind === 2) return t.slice(0, i) + t.slice(i + len);
    if (kind === 3) return t.slice(0, i);
    return t;
  });
}

/** NodeConfig documents as YAML (block or flow), JSON, or a multi-document stream, sometimes edited. */
export const nodeConfigText: fc.Arbitrary<string> = mutated(
  fc.tuple(
    fc.array(nodeConfigDoc, { minLength: 1, maxLength: 3 }),
    fc.constantFrom("yaml", "flow", "json", "stream"),
  )
    .map(([docs, style]) => {
      const yaml = (d: unknown, flow = false) => {
        try {
          return stringifyYaml(d, flow ? { collectionStyle: "flow" } : undefined);
        } catch {
          return JSON.stringify(d);
        }
      };
      if (style === "json") return JSON.stringify(docs[0]);
      if (style === "flow") return yaml(docs[0], true);
      if (style === "yaml") return yaml(docs[0]);
      return docs.map((d) => yaml(d)).join("---\n");
    }),
);

/** A NodeConfig document with a complete cluster (`cluster` fields override), `spec` merged in. */
export function completeNodeConfig(
  spec: Record<string, unknown> = {},
  cluster: Record<string, unknown> = {},
) {
  return {
    apiVersion: "node.eks.aws/v1alpha1",
    kind: "NodeConfig",
    spec: {
      cluster: {
        name: "my-cluster",
        apiServerEndpoint: ENDPOINT,
        certificateAuthority: CA_B64,
        cidr: "10.100.0.0/16",
        ...cluster,
      },
      ...spec,
    },
  };
}

/** A complete NodeConfig, with hostile kubelet flags and environment values (which are valid input). */
const validNodeConfigText: fc.Arbitrary<string> = fc.tuple(fc.array(kubeletFlag, { maxLength: 3 }), hostile)
  .filter(([flags]) => flags.every((f) => f !== ""))
  .map(([flags, env]) =>
    stringifyYaml(completeNodeConfig({ kubelet: { flags }, instance: { environment: { HTTP_PROXY: env } } }))
  );

/** The instance the fuzzed node runs on (an m5.large in us-west-2, 2 CPUs, Kubernetes 1.32). */
const INSTANCE = testNode().instance;
const DESCRIBED: ClusterInfo = {
  endpoint: ENDPOINT,
  certificateAuthority: CA_B64,
  serviceIpv4Cidr: "172.20.0.0/16",
  ipFamily: "ipv4",
  version: "1.32",
};

/** How the cases of this worker ended: rendered files checked, rejected with an EksnodeError, or neither. */
export const outcomes = { checked: 0, rejected: 0, other: 0 };

/** The node init resolves from `config` on the fuzzed instance (DescribeCluster fills a missing endpoint or CA). */
export function nodeFrom(config: NodeConfigInput, origin: string, legacy?: LegacySettings): NodeSettings {
  return resolveNodeSettings({
    nodeConfig: config,
    origin,
    kind: legacy ? "bootstrap-flags" : "nodeconfig",
    legacy,
    instance: INSTANCE,
    described: missingClusterFields(config).length > 0 ? { info: DESCRIBED, fromCache: false } : undefined,
    installedKubernetesVersion: "1.32.3",
    privateDnsName: INSTANCE.hostname,
    cpuCount: 2,
  });
}

/** What init does with a NodeConfig once it has one: resolve the node and render (and check) its files. */
export function carryOn(
  config: NodeConfigInput,
  origin: string,
  legacy?: LegacySettings,
): Record<string, string> {
  const node = nodeFrom(config, origin, legacy);
  const files = renderNodeFiles(node);
  checkNodeFiles(node, files);
  outcomes.checked++;
  return files;
}

/** A release manifest for rendering /etc/eks/release in tests. */
export function releaseManifest(
  baseImage: string | null,
  more: Partial<ReleaseManifest> = {},
): ReleaseManifest {
  return {
    schema: "eksnode.release/v1",
    buildTime: "2026-01-01T00:00:00Z",
    baseImage,
    kernel: "6.1.0",
    arch: "x86_64",
    kubernetesVersion: "1.32.9",
    kubernetesBuildDate: "2025-11-13",
    eksnodeVersion: "0.1.0",
    versionsSha256: "0".repeat(64),
    containerdSource: "tarball",
    artifacts: [],
    ...more,
  };
}

/** Runs `fn`; an EksnodeError with a one-line message is a clean outcome, anything else fails the case. */
export async function cleanOutcome(fn: () => unknown): Promise<void> {
  const checked = outcomes.checked;
  try {
    await fn();
    if (outcomes.checked === checked) outcomes.other++;
  } catch (err) {
    if (!(err instanceof EksnodeError)) throw err;
    outcomes.rejected++;
    if (/[\n\r]/.test(err.message) || /[\n\r]/.test(err.hint ?? "")) {
      throw new Error(`an error message spans lines (input reflected raw?): ${JSON.stringify(err.message)}`);
    }
  }
  if (Object.keys(Object.prototype).length > 0 || ({} as Record<string, unknown>).polluted !== undefined) {
    throw new Error(`Object.prototype was polluted: ${Object.keys(Object.prototype).join(", ")}`);
  }
}

const enc = new TextEncoder();

async function userDataPipeline(bytes: Uint8Array): Promise<void> {
  const found = await parseUserDataDetailed(bytes, "user data");
  if (found.parts.length === 0) return;
  carryOn(mergeNodeConfigs(found.parts.map((p) => p.config)), "user data");
}

// ---------------------------------------------------------------------------------------------
// MIME multipart

const shellScript = fc.constantFrom(
  "#!/bin/bash\necho hi\n",
  "#!/bin/bash\n/etc/eks/bootstrap.sh my-cluster --kubelet-extra-args '--node-labels=a=b'\n",
  "#cloud-config\npackages: [jq]\n",
);

interface Part {
  headers: [string, string][];
  body: string;
}

const contentType = fc.oneof(
  {
    arbitrary: fc.constantFrom("application/node.eks.aws", 'application/node.eks.aws; charset="utf-8"'),
    weight: 6,
  },
  fc.constantFrom(
    "application/node.eks.aws",
    "text/x-shellscript",
    'text/x-shellscript; charset="us-ascii"',
    "text/cloud-config",
    "application/octet-stream",
  ),
  hostile,
);
const transferEncoding = fc.oneof(
  { arbitrary: fc.constantFrom("base64", "quoted-printable", "7bit", "8bit", "binary"), weight: 8 },
  { arbitrary: hostile, weight: 1 },
);

const leafPart: fc.Arbitrary<Part> = fc.record({
  type: contentType,
  encoding: fc.option(transferEncoding, { nil: undefined }),
  body: fc.oneof(
    { arbitrary: validNodeConfigText, weight: 4 },
    { arbitrary: nodeConfigText, weight: 3 },
    shellScript,
    hostile,
  ),
  extra: rare(fc.tuple(hostile, hostile)),
}).map(({ type, encoding, body, extra }) => {
  const headers: [string, string][] = [["Content-Type", type]];
  let text = body;
  if (encoding !== undefined) {
    headers.push(["Content-Transfer-Encoding", encoding]);
    if (encoding === "base64") text = btoa(String.fromCharCode(...enc.encode(body)));
  }
  if (extra) headers.push(extra);
  return { headers, body: text };
});

function renderMultipart(boundary: string, parts: Part[], eol: string, preamble: string): string {
  const lines = [`MIME-Version: 1.0`, `Content-Type: multipart/mixed; boundary="${boundary}"`, "", preamble];
  for (const p of parts) {
    lines.push(`--${boundary}`, ...p.headers.map(([k, v]) => `${k}: ${v}`), "", p.body);
  }
  lines.push(`--${boundary}--`, "");
  return lines.join(eol);
}

const boundary = fc.oneof(
  { arbitrary: fc.constantFrom("==BOUNDARY==", "//", "MIMEBOUNDARY", "a"), weight: 8 },
  { arbitrary: hostile, weight: 1 },
);

/** Multipart user data with nested multipart parts. */
export const multipart: fc.Arbitrary<string> = mutated(
  fc.letrec<{ doc: string; part: Part }>((tie) => ({
    doc: fc.tuple(
      boundary,
      fc.array(tie("part"), { minLength: 1, maxLength: 4 }),
      fc.constantFrom("\n", "\r\n"),
      fc.oneof({ arbitrary: fc.constant(""), weight: 4 }, hostile),
    )
      .map(([b, parts, eol, pre]) => renderMultipart(b, parts as Part[], eol, pre)),
    part: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      leafPart,
      tie("doc").map((doc) => {
        const [head, ...rest] = (doc as string).split(/\r?\n\r?\n/);
        const type = /Content-Type: (.*)/.exec(head)?.[1] ?? "multipart/mixed";
        return { headers: [["Content-Type", type]] as [string, string][], body: rest.join("\n\n") };
      }),
    ),
  })).doc as fc.Arbitrary<string>,
);

// ---------------------------------------------------------------------------------------------
// base64 and gzip wrappers

const gzip = (b: Uint8Array) => new Uint8Array(gzipSync(b));
const b64 = (b: Uint8Array) => btoa(Array.from(b, (x) => String.fromCharCode(x)).join(""));

/** User data bytes: raw, gzip, base64, nested, truncated, with stray whitespace. */
export const wrapped: fc.Arbitrary<Uint8Array> = fc.tuple(
  fc.oneof(
    validNodeConfigText.map((t) => enc.encode(t)),
    nodeConfigText.map((t) => enc.encode(t)),
    fc.uint8Array({ maxLength: 200 }),
    multipart.map((t) => enc.encode(t)),
  ),
  fc.array(fc.constantFrom("gzip", "base64", "truncate", "whitespace", "flip"), { maxLength: 4 }),
  fc.nat(),
).map(([bytes, layers, n]) => {
  let data = bytes;
  for (const layer of layers) {
    if (layer === "gzip") data = gzip(data);
    else if (layer === "base64") data = enc.encode(b64(data));
    else if (layer === "truncate") data = data.subarray(0, data.length === 0 ? 0 : n % data.length);
    else if (layer === "whitespace") {
      const t = new TextDecoder().decode(data);
      const i = t.length === 0 ? 0 : n % t.length;
      data = enc.encode(t.slice(0, i) + "\n \t" + t.slice(i));
    } else if (data.length > 0) {
      data = data.slice();
      data[n % data.length] ^= 1 << (n % 8);
    }
  }
  return data;
});

// ---------------------------------------------------------------------------------------------
// bootstrap.sh

const bootstrapFlagNames = [
  "--apiserver-endpoint",
  "--aws-api-retry-attempts",
  "--b64-cluster-ca",
  "--cluster-id",
  "--container-runtime",
  "--containerd-config-file",
  "--dns-cluster-ip",
  "--docker-config-json",
  "--enable-docker-bridge",
  "--enable-local-outpost",
  "--ip-family",
  "--kubelet-extra-args",
  "--local-disks",
  "--mount-bpf-fs",
  "--pause-container-account",
  "--pause-container-version",
  "--service-ipv4-cidr",
  "--service-ipv6-cidr",
  "--use-max-pods",
];
const flagValue = fc.oneof(
  fc.constantFrom(
    ENDPOINT,
    CA_B64,
    "true",
    "false",
    "ipv6",
    "10.100.0.10",
    "10.100.0.0/16",
    "fd00::/108",
    "602401143452",
    "3.10",
    "raid0",
    "containerd",
    "--node-labels=a=b --register-with-taints='k=v:NoSchedule'",
    "'unterminated",
    '"a b" c\\ d',
  ),
  hostile,
);

/** bootstrap.sh argument lists: a cluster name, flags as `--f v` or `--f=v`, stray words. */
export const bootstrapArgv: fc.Arbitrary<string[]> = fc.tuple(
  fc.option(mostly(fc.constantFrom("my-cluster", "c1")) as fc.Arbitrary<string>, { nil: undefined }),
  fc.array(
    fc.oneof(
      fc.tuple(fc.constantFrom(...bootstrapFlagNames), flagValue, fc.boolean()).map(([f, v, eq]) =>
        eq ? [`${f}=${v}`] : [f, v]
      ),
      hostile.map((h) => [h]),
      fc.constantFrom(["-h"], ["--bogus"], ["--kubelet-extra-args"]),
    ),
    { maxLength: 6 },
  ),
).map(([name, flags]) => [...(name === undefined ? [] : [name]), ...flags.flat()]);

const shellWord = fc.oneof(
  flagValue.map((v) => `'${v.replaceAll("'", "'\\''")}'`),
  flagValue.map((v) => `"${v}"`),
  flagValue,
  fc.constantFrom(";", "&&", "|", "\\\n", "<<EOF\nbody\nEOF\n", "$VAR", "`cmd`", "#", "\n"),
);

/** AL2-style user-data scripts with bootstrap.sh invocations among other commands. */
export const bootstrapScript: fc.Arbitrary<string> = fc.array(
  fc.tuple(
    fc.constantFrom(
      "/etc/eks/bootstrap.sh",
      "sudo /etc/eks/bootstrap.sh",
      "echo",
      "cp /etc/eks/bootstrap.sh",
    ),
    fc.array(shellWord, { maxLength: 6 }),
  )
    .map(([cmd, words]) => `${cmd} ${words.join(" ")}`),
  { maxLength: 4 },
).map((lines) => `#!/bin/bash\nset -ex\n${lines.join("\n")}\n`);

function bootstrapPipeline(argv: string[]): void {
  const parsed = parseBootstrapArgs(argv);
  if (parsed.help && !parsed.nodeConfig.spec?.cluster?.name) return;
  carryOn(parsed.nodeConfig, "bootstrap.sh flags", parsed.legacy);
}

// ---------------------------------------------------------------------------------------------
// bake TOML

const region = fc.oneof(
  { arbitrary: fc.constantFrom("us-west-2", "cn-north-1", "us-gov-west-1", "eu-isoe-west-1"), weight: 8 },
  { arbitrary: hostile, weight: 1 },
);
const bakeKeys = fc.record({
  kubernetes_version: mostly(fc.constantFrom("1.32", "1.28", "1.34", "1.32.9", "v1.31")),
  arch: mostly(fc.constantFrom("x86_64", "aarch64")),
  region: mostly(region),
  mirror: mostly(fc.constantFrom("https://mirror.internal/eks", "http://127.0.0.1:8080")),
  package_manager: mostly(fc.constantFrom("dnf", "yum", "apt", "none")),
  containerd_source: mostly(fc.constantFrom("tarball", "package")),
  keep_swap: mostly(fc.boolean()),
  cache_images: mostly(fc.boolean()),
  extra_images: mostly(fc.array(
    fc.oneof(
      {
        arbitrary: fc.constantFrom(
          "public.ecr.aws/eks-distro/kubernetes/pause:3.10",
          "registry:5000/x/y@sha256:" + "a".repeat(64),
        ),
        weight: 6,
      },
      { arbitrary: hostile, weight: 1 },
    ),
    { maxLength: 2 },
  )),
  base_image: mostly(fc.constantFrom("ami-0123456789abcdef0")),
  containerd_address: mostly(fc.constantFrom("/run/containerd/containerd.sock")),
  image_registry: mostly(fc.constantFrom("registry.internal:5000")),
  image_tag_regions: mostly(fc.array(region, { maxLength: 2 })),
  versions: mostly(
    fc.tuple(
      fc.constantFrom(
        ["kubernetes", "1.32", "kubelet", "version"],
        ["kubernetes", "1.32", "kubelet", "buildDate"],
        ["kubernetes", "1.32", "kubelet", "sha256", "x86_64"],
        ["kubernetes", "1.99", "kubelet", "version"],
        ["kubernetes", "1.32", "addons", "kubeProxy", "default"],
        ["artifacts", "runc", "version"],
        ["artifacts", "containerd", "url"],
        ["artifacts", "cniPlugins", "sha256", "aarch64"],
        ["defaultKubernetesVersion"],
      ),
      fc.oneof(
        { arbitrary: fc.constantFrom("1.32.10", "2025-11-13", "a".repeat(64), "0".repeat(64)), weight: 6 },
        fc.constantFrom("2025-13-45", "https://x/{version}/{arch}", "1.32", "v1.31.0"),
        hostile,
        fc.integer(),
      ),
    ).map(([path, value]) => {
      const out: Record<string, unknown> = {};
      let at = out;
      for (const k of path.slice(0, -1)) at = (at[k] = {}) as Record<string, unknown>;
      at[path[path.length - 1]] = value;
      return out;
    }),
  ),
}, { requiredKeys: [] });

/** Bake config text: TOML of schema keys with valid, hostile or wrongly typed values, or edited TOML. */
export const bakeToml: fc.Arbitrary<string> = mutated(
  fc.tuple(bakeKeys, rare(fc.tuple(hostile, hostile))).map(([o, extra]) => {
    const doc: Record<string, unknown> = { ...o };
    if (extra) doc[extra[0]] = extra[1];
    try {
      return stringifyToml(doc);
    } catch {
      return JSON.stringify(doc);
    }
  }),
);

function bakePipeline(text: string): void {
  const bake = parseBakeConfig(text, "bake.toml");
  const v = bake.versions ? applyOverrides(embedded, bake.versions) : embedded;
  const release = kubernetesRelease(bake.kubernetes_version ?? v.defaultKubernetesVersion, v);
  const arch: Arch = bake.arch ?? "x86_64";
  for (const name of ["containerd", "runc", "cniPlugins"] as const) githubArtifact(v, name, arch);
  kubernetesArtifact(v, release.minor, "kubelet", arch);
  const text2 = renderRelease(
    releaseManifest(bake.base_image ?? null, {
      arch,
      kubernetesVersion: release.kubelet.version,
      kubernetesBuildDate: release.kubelet.buildDate,
      containerdSource: bake.containerd_source ?? "tarball",
    }),
    "0".repeat(64),
    { RUNC_VERSION: v.artifacts.runc.version },
  );
  // Every line of the shell-sourceable release file is a comment or one KEY='value' assignment.
  for (const line of text2.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    if (!/^[A-Z_][A-Z0-9_]*='(?:[^']|'\\'')*'$/.test(line)) {
      throw new Error(`release file line is not KEY='value': ${JSON.stringify(line)}`);
    }
  }
  outcomes.checked++;
}

// ---------------------------------------------------------------------------------------------
// tar archives

type TarCase = { raw: Uint8Array } | { entries: TarInput[]; n: number; flip: boolean };

const tarCase: fc.Arbitrary<TarCase> = fc.oneof(
  fc.uint8Array({ maxLength: 2048 }).map((raw) => ({ raw })),
  fc.uint8Array({ maxLength: 1024 }).map((raw) => ({ raw: gzip(raw) })),
  fc.record({
    entries: fc.array(
      fc.record({
        name: fc.oneof(
          fc.constantFrom("bin/ctr", "./x", "a/", "../x", "/abs", "a/b/c", "a/b"),
          hostile.map((s) => s.slice(0, 90) || "n"),
        ),
        type: fc.constantFrom("file" as const, "dir" as const, "symlink" as const, "hardlink" as const),
        linkname: fc.oneof(
          fc.constantFrom(".", "..", "x", "../..", "/etc", "a"),
          hostile.map((s) => s.slice(0, 90)),
        ),
        data: fc.string({ maxLength: 50 }),
      }),
      { maxLength: 5 },
    ),
    n: fc.nat(),
    flip: fc.boolean(),
  }),
);

async function tarPipeline(input: TarCase): Promise<void> {
  let bytes: Uint8Array;
  if ("raw" in input) bytes = input.raw;
  else {
    try {
      bytes = await makeTar(input.entries, false);
    } catch {
      return; // a name the writer cannot store
    }
    if (input.flip && bytes.length > 0) bytes[input.n % bytes.length] ^= 0x20;
  }
  const gzip = bytes.length > 1 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream();
  for await (const _ of readTar(stream, { gzip, archive: "fuzz.tar" })) {
    // every entry is validated as it is read
  }
  outcomes.checked++;
}

// ---------------------------------------------------------------------------------------------
// init steps end to end, on a real file system

/**
 * Resolves a fuzzed NodeConfig and runs init steps 1-8 into a fresh root inside an otherwise empty
 * sandbox directory; afterwards the sandbox holds the root only, and nothing under the root is a
 * symlink or file leading outside it.
 */
async function initSteps(text: string): Promise<void> {
  const found = await parseUserDataDetailed(enc.encode(text), "user data");
  if (found.parts.length === 0) return;
  const node = nodeFrom(mergeNodeConfigs(found.parts.map((p) => p.config)), "user data");
  const sandbox = await tempDir({ prefix: "eksnode-fuzz-" });
  try {
    const host = await Host.open(`${sandbox}/root`, { PATH: Deno.env.get("PATH") });
    await runSteps(INIT_STEPS, { host, log: memoryLogger(), dryRun: false, node }, {
      process: "init",
      dryRun: false,
      only: [1, 2, 3, 4, 5, 6, 7, 8],
    });
    const top = [...Deno.readDirSync(sandbox)].map((e) => e.name);
    if (top.join() !== "root") throw new Error(`written outside the root: ${top.join(", ")}`);
    const walk = (dir: string) => {
      for (const e of Deno.readDirSync(dir)) {
        const p = `${dir}/${e.name}`;
        const real = Deno.realPathSync(p);
        if (!real.startsWith(`${host.root}/`)) throw new Error(`${p} leads outside the root (${real})`);
        if (e.isDirectory) walk(p);
      }
    };
    walk(host.root);
    outcomes.checked++;
  } finally {
    await Deno.remove(sandbox, { recursive: true });
  }
}

// ---------------------------------------------------------------------------------------------

/** A fuzz target: its arbitrary and what one case does. */
export interface Target {
  /** What the target feeds, for test names and README. */
  about: string;
  /** Fixed seed used in CI. */
  seed: number;
  /** Cases in CI when fewer than the default (a target that writes files for each case). */
  runs?: number;
  property(count: () => void): fc.IAsyncProperty<[unknown]>;
}

const target = <T>(
  about: string,
  seed: number,
  arb: fc.Arbitrary<T>,
  run: (x: T) => unknown,
  runs?: number,
): Target => ({
  about,
  seed,
  runs,
  property: (count) =>
    fc.asyncProperty(arb as fc.Arbitrary<unknown>, async (x) => {
      count();
      await cleanOutcome(() => run(x as T));
    }),
});

/** Every fuzz target by name. */
export const TARGETS: Record<string, Target> = {
  nodeconfig: target(
    "NodeConfig YAML/JSON documents (schema fields with valid, hostile and wrongly typed values, edited text)",
    0x5eed0001,
    nodeConfigText,
    (t) => userDataPipeline(enc.encode(t)),
  ),
  multipart: target(
    "MIME multipart user data (nested parts, boundaries, transfer encodings, CRLF, edited text)",
    0x5eed0002,
    multipart,
    (t) => userDataPipeline(enc.encode(t)),
  ),
  wrappers: target(
    "base64 and gzip wrappers (nested, truncated, bit flips, stray whitespace, random bytes)",
    0x5eed0003,
    wrapped,
    (b) => userDataPipeline(b),
  ),
  "bootstrap-flags": target(
    "bootstrap.sh argument lists (every flag, `--f v` and `--f=v`, hostile values, stray words)",
    0x5eed0004,
    bootstrapArgv,
    bootstrapPipeline,
  ),
  "bootstrap-script": target(
    "AL2 user-data shell scripts calling /etc/eks/bootstrap.sh (quotes, operators, here-documents)",
    0x5eed0005,
    bootstrapScript,
    (script) => {
      for (const call of findBootstrapInvocations(script, "user data")) bootstrapPipeline(call.argv);
    },
  ),
  "bake-toml": target(
    "bake config TOML (every key, versions overrides, hostile values, edited text)",
    0x5eed0006,
    bakeToml,
    bakePipeline,
  ),
  "init-steps": target(
    "init steps 1-8 run into a temp root from fuzzed NodeConfig (valid ones with hostile flags and env, and edited ones)",
    0x5eed0008,
    fc.oneof(validNodeConfigText, nodeConfigText),
    initSteps,
    200,
  ),
  tar: target(
    "tar archives (random bytes, hostile entry names and link targets, bit flips)",
    0x5eed0007,
    tarCase,
    tarPipeline,
  ),
};
