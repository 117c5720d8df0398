import assert from "node:assert/strict";
import { ConfigError } from "../../lib/errors.ts";
import raw from "../../assets/versions.json" with { type: "json" };
import {
  applyOverrides,
  artifactUrl,
  canonicalJson,
  githubArtifact,
  goarch,
  kubernetesArtifact,
  kubernetesRelease,
  mirrorUrl,
  parseVersions,
  requirePinned,
  supportedKubernetesVersions,
  unpinnedArtifacts,
  type Versions,
  versions,
  versionsDigest,
} from "../../assets/versions.ts";

const HEX64 = /^[0-9a-f]{64}$/;
const A = "a".repeat(64);
const B = "b".repeat(64);

/** Runs `fn`, asserts it throws a ConfigError, and returns it for further checks. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail("expected a ConfigError");
}

/** Every value found under a `sha256` key anywhere in the data, with its path. */
function allChecksums(value: unknown, path: string[] = []): Array<[string, unknown]> {
  if (typeof value !== "object" || value === null) return [];
  const out: Array<[string, unknown]> = [];
  for (const [k, v] of Object.entries(value)) {
    if (k === "sha256" && typeof v === "object" && v !== null) {
      for (const [arch, sum] of Object.entries(v)) out.push([[...path, k, arch].join("."), sum]);
    } else {
      out.push(...allChecksums(v, [...path, k]));
    }
  }
  return out;
}

function clone(): Record<string, unknown> {
  return structuredClone(raw) as unknown as Record<string, unknown>;
}

Deno.test("the embedded versions file validates and covers 1.28 through 1.36", () => {
  assert.deepEqual(parseVersions(clone(), "copy"), versions);
  assert.deepEqual(supportedKubernetesVersions(), [
    "1.28",
    "1.29",
    "1.30",
    "1.31",
    "1.32",
    "1.33",
    "1.34",
    "1.35",
    "1.36",
  ]);
  // The newest releases nodeadm's e2e cases run (mock::kubelet 1.35.0, 1.36.0), from the AMI changelog.
  assert.equal(versions.kubernetes["1.35"].kubelet.version, "1.35.6");
  assert.equal(versions.kubernetes["1.36"].kubelet.version, "1.36.2");
  assert.ok(supportedKubernetesVersions().includes(versions.defaultKubernetesVersion));
});

Deno.test("every pinned sha256 is 64 lowercase hex, and the GitHub artifacts are all pinned", () => {
  const sums = allChecksums(versions);
  assert.ok(sums.length >= 40, `found only ${sums.length} checksum slots`);
  for (const [path, sum] of sums) {
    assert.ok(sum === null || (typeof sum === "string" && HEX64.test(sum)), `${path} = ${String(sum)}`);
  }
  for (const name of ["containerd", "runc", "cniPlugins"] as const) {
    for (const arch of ["x86_64", "aarch64"] as const) {
      assert.match(versions.artifacts[name].sha256[arch] ?? "", HEX64, `${name} ${arch}`);
    }
  }
});

Deno.test("every Kubernetes version has a real build date and a matching kubelet version", () => {
  for (const minor of supportedKubernetesVersions()) {
    const rel = versions.kubernetes[minor];
    for (const c of [rel.kubelet, rel.ecrCredentialProvider, rel.awsIamAuthenticator]) {
      if (!c) continue;
      assert.match(c.buildDate, /^\d{4}-\d{2}-\d{2}$/, minor);
      assert.ok(!Number.isNaN(Date.parse(c.buildDate)), `${minor} ${c.buildDate}`);
      assert.ok(c.version.startsWith(`${minor}.`), `${minor}: ${c.version}`);
      assert.ok(c.source.length > 0);
    }
  }
});

Deno.test("every null checksum is reported as unpinned; pinned ones are not", () => {
  const unpinned = unpinnedArtifacts();
  assert.ok(unpinned.includes('kubernetes."1.32".kubelet.sha256.x86_64'));
  assert.ok(unpinned.includes('kubernetes."1.34".ecrCredentialProvider.sha256.aarch64'));
  // Every artifact has a public checksum (the EFA installer's from AWS's table since 1.47.0).
  assert.deepEqual(unpinned.filter((p) => p.startsWith("artifacts.")), []);
  const nulls = allChecksums(versions).filter(([, sum]) => sum === null).length;
  assert.equal(unpinned.length, nulls);
});

Deno.test("kubernetesRelease accepts minor and full versions and lists supported ones otherwise", () => {
  for (const input of ["1.32", "1.32.3", "v1.32.3", " 1.32 "]) {
    const rel = kubernetesRelease(input);
    assert.equal(rel.minor, "1.32", input);
    assert.equal(rel.kubelet.version, "1.32.3", input);
  }
  const unknown = configError(() => kubernetesRelease("1.27"));
  assert.match(unknown.message, /1\.27/);
  for (const v of supportedKubernetesVersions()) assert.ok(unknown.message.includes(v), v);
  assert.match(configError(() => kubernetesRelease("1.32.9")).message, /pins 1\.32\.3/);
  assert.match(configError(() => kubernetesRelease("latest")).message, /not a Kubernetes version/);
  assert.match(configError(() => kubernetesRelease("__proto__")).message, /not a Kubernetes version/);
});

Deno.test("overrides replace versions, checksums, URLs, build dates and add-ons without touching the base", () => {
  const before = canonicalJson(versions);
  const out = applyOverrides(versions, {
    kubernetes: {
      "1.32": {
        kubelet: { version: "1.32.9", buildDate: "2025-11-13", sha256: { x86_64: A } },
        addons: { kubeProxy: { default: "v1.32.9-eksbuild.2" } },
      },
    },
    artifacts: {
      runc: { version: "1.3.4", sha256: { aarch64: B }, url: "https://m/runc-{version}.{goarch}" },
    },
    s3: { region: "cn-north-1", domain: "amazonaws.com.cn" },
  });
  const kubelet = out.kubernetes["1.32"].kubelet;
  assert.equal(kubelet.version, "1.32.9");
  assert.equal(kubelet.buildDate, "2025-11-13");
  assert.equal(kubelet.sha256.x86_64, A);
  assert.equal(kubelet.sha256.aarch64, null, "the other arch is kept");
  assert.equal(out.kubernetes["1.32"].addons.kubeProxy.default, "v1.32.9-eksbuild.2");
  assert.equal(out.kubernetes["1.32"].addons.kubeProxy.latest, "v1.32.3-eksbuild.7");
  assert.equal(githubArtifact(out, "runc", "aarch64").url, "https://m/runc-1.3.4.arm64");
  assert.equal(githubArtifact(out, "runc", "aarch64").sha256, B);
  assert.equal(
    kubernetesArtifact(out, "1.32", "kubelet", "x86_64").url,
    "https://amazon-eks.s3.cn-north-1.amazonaws.com.cn/1.32.9/2025-11-13/bin/linux/amd64/kubelet",
  );
  assert.equal(canonicalJson(versions), before, "base unchanged");
  assert.notEqual(versionsDigest(out), versionsDigest());
});

Deno.test("an override can add a whole Kubernetes release, and an incomplete one is refused", () => {
  const full = structuredClone(versions.kubernetes["1.36"]);
  full.kubelet = { ...full.kubelet, version: "1.37.0", buildDate: "2026-01-01" };
  full.ecrCredentialProvider = { ...full.ecrCredentialProvider, version: "1.37.0", buildDate: "2026-01-01" };
  const out = applyOverrides(versions, { kubernetes: { "1.37": full } });
  assert.equal(kubernetesRelease("1.37", out).kubelet.version, "1.37.0");
  const err = configError(() =>
    applyOverrides(versions, { kubernetes: { "1.37": { kubelet: { version: "1.37.0" } } } })
  );
  assert.match(err.message, /kubernetes\."1\.37"/);
});

Deno.test("bad overrides are ConfigErrors naming the path", () => {
  const cases: Array<[string, unknown, RegExp]> = [
    [
      "short checksum",
      { kubernetes: { "1.32": { kubelet: { sha256: { x86_64: "abc" } } } } },
      /kubernetes\."1\.32"\.kubelet\.sha256\.x86_64: .*64 lowercase hex/,
    ],
    [
      "uppercase checksum",
      { artifacts: { containerd: { sha256: { aarch64: A.toUpperCase() } } } },
      /artifacts\.containerd\.sha256\.aarch64/,
    ],
    [
      "typo in a key",
      { artifacts: { runc: { verison: "1.3.4" } } },
      /artifacts\.runc: unknown key "verison"/,
    ],
    [
      "typo in a placeholder",
      { artifacts: { runc: { url: "https://x/{verison}" } } },
      /artifacts\.runc\.url: .*\{verison\}/,
    ],
    [
      "impossible build date",
      { kubernetes: { "1.30": { kubelet: { buildDate: "2025-02-30" } } } },
      /kubernetes\."1\.30"\.kubelet\.buildDate/,
    ],
    [
      "month 13",
      { kubernetes: { "1.30": { kubelet: { buildDate: "2025-13-01" } } } },
      /kubernetes\."1\.30"\.kubelet\.buildDate/,
    ],
    [
      "kubelet version of another minor",
      { kubernetes: { "1.31": { kubelet: { version: "1.32.3" } } } },
      /kubernetes\."1\.31"\.kubelet\.version/,
    ],
    [
      "add-on version without eksbuild",
      { kubernetes: { "1.31": { addons: { vpcCni: { latest: "1.19.2" } } } } },
      /kubernetes\."1\.31"\.addons\.vpcCni\.latest/,
    ],
    ["default version not present", { defaultKubernetesVersion: "1.99" }, /defaultKubernetesVersion/],
    ["not a table", "1.32", /must be a table/],
    ["reserved key", JSON.parse('{"__proto__": {"x": 1}}'), /__proto__/],
  ];
  for (const [name, overrides, pattern] of cases) {
    const err = configError(() => applyOverrides(versions, overrides));
    assert.match(err.message, pattern, name);
    assert.ok(err.hint, name);
  }
});

Deno.test("a broken embedded file names the JSON path", () => {
  const data = clone();
  const k8s = data.kubernetes as Record<string, { kubelet: { sha256: Record<string, unknown> } }>;
  k8s["1.29"].kubelet.sha256.aarch64 = "not-a-hash";
  const err = configError(() => parseVersions(data, "assets/versions.json"));
  assert.match(err.message, /assets\/versions\.json: kubernetes\."1\.29"\.kubelet\.sha256\.aarch64/);
  assert.match(err.hint ?? "", /rebuild/);
});

Deno.test("the digest is stable: key order and copies do not change it, values do", () => {
  const digest = versionsDigest();
  assert.match(digest, HEX64);
  assert.equal(versionsDigest(), digest);
  assert.equal(versionsDigest(parseVersions(clone(), "copy")), digest);
  const reversed = (x: unknown): unknown =>
    typeof x === "object" && x !== null && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).reverse().map(([k, v]) => [k, reversed(v)]))
      : x;
  assert.equal(versionsDigest(reversed(versions) as Versions), digest);
  assert.equal(versionsDigest(applyOverrides(versions, {})), digest);
  assert.notEqual(versionsDigest(applyOverrides(versions, { images: { pause: { tag: "3.9" } } })), digest);
});

Deno.test("canonicalJson sorts keys at every level", () => {
  assert.equal(
    canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: null } }),
    '{"a":{"c":null,"d":[2,{"y":2,"z":1}]},"b":1}',
  );
});

Deno.test("goarch maps uname names to Go names", () => {
  assert.equal(goarch("x86_64"), "amd64");
  assert.equal(goarch("aarch64"), "arm64");
  configError(() => goarch("riscv64" as "x86_64"));
});

Deno.test("artifactUrl fills placeholders and refuses missing ones", () => {
  const table: Array<[string, Record<string, string>, string]> = [
    [
      "https://h/v{version}/runc.{goarch}",
      { version: "1.3.3", goarch: "arm64" },
      "https://h/v1.3.3/runc.arm64",
    ],
    ["{url}.sha256", { url: "https://h/f.tgz" }, "https://h/f.tgz.sha256"],
    ["https://h/plain", {}, "https://h/plain"],
  ];
  for (const [template, vars, want] of table) assert.equal(artifactUrl(template, vars), want);
  assert.match(configError(() => artifactUrl("https://h/{version}", {})).message, /\{version\}/);
});

Deno.test("resolved artifacts have the upstream layouts", () => {
  const table: Array<[string, () => ReturnType<typeof githubArtifact>, string, string | null]> = [
    [
      "kubelet arm64",
      () => kubernetesArtifact(versions, "1.32", "kubelet", "aarch64"),
      "https://amazon-eks.s3.us-west-2.amazonaws.com/1.32.3/2025-04-17/bin/linux/arm64/kubelet",
      "https://amazon-eks.s3.us-west-2.amazonaws.com/1.32.3/2025-04-17/bin/linux/arm64/kubelet.sha256",
    ],
    [
      "ecr-credential-provider",
      () => kubernetesArtifact(versions, "1.33.0", "ecrCredentialProvider", "x86_64"),
      "https://amazon-eks.s3.us-west-2.amazonaws.com/1.33.0/2025-05-01/bin/linux/amd64/ecr-credential-provider",
      null,
    ],
    [
      "containerd",
      () => githubArtifact(versions, "containerd", "x86_64"),
      "https://github.com/containerd/containerd/releases/download/v2.1.4/containerd-2.1.4-linux-amd64.tar.gz",
      "https://github.com/containerd/containerd/releases/download/v2.1.4/containerd-2.1.4-linux-amd64.tar.gz.sha256sum",
    ],
    [
      "runc",
      () => githubArtifact(versions, "runc", "aarch64"),
      "https://github.com/opencontainers/runc/releases/download/v1.3.3/runc.arm64",
      "https://github.com/opencontainers/runc/releases/download/v1.3.3/runc.sha256sum",
    ],
    [
      "cni plugins",
      () => githubArtifact(versions, "cniPlugins", "aarch64"),
      "https://github.com/containernetworking/plugins/releases/download/v1.8.0/cni-plugins-linux-arm64-v1.8.0.tgz",
      "https://github.com/containernetworking/plugins/releases/download/v1.8.0/cni-plugins-linux-arm64-v1.8.0.tgz.sha256",
    ],
  ];
  for (const [name, resolve, url, checksumUrl] of table) {
    const a = resolve();
    assert.equal(a.url, url, name);
    assert.equal(a.checksumUrl, checksumUrl, name);
  }
  assert.match(
    configError(() => kubernetesArtifact(versions, "1.34", "awsIamAuthenticator", "x86_64")).message,
    /aws-iam-authenticator is not pinned for Kubernetes 1\.34/,
  );
});

Deno.test("requirePinned refuses an unpinned artifact and names the key to set", () => {
  const kubelet = kubernetesArtifact(versions, "1.31", "kubelet", "x86_64");
  const err = configError(() => requirePinned(kubelet));
  assert.match(err.message, /kubelet 1\.31\.7 \(x86_64\)/);
  assert.match(err.hint ?? "", /kubernetes\."1\.31"\.kubelet\.sha256\.x86_64/);
  const pinnedKubelet = kubernetesArtifact(
    applyOverrides(versions, { kubernetes: { "1.31": { kubelet: { sha256: { x86_64: A } } } } }),
    "1.31",
    "kubelet",
    "x86_64",
  );
  assert.equal(requirePinned(pinnedKubelet).sha256, A);
  const runc = requirePinned(githubArtifact(versions, "runc", "x86_64"));
  assert.equal(runc.sha256, "8781ab9f71c12f314d21c8e85f13ca1a82d90cf475aa5131a7b543fcc5487543");
  assert.equal(
    runc.checksumUrl,
    "https://github.com/opencontainers/runc/releases/download/v1.3.3/runc.sha256sum",
  );
  const ecr = requirePinned(
    kubernetesArtifact(
      applyOverrides(versions, {
        kubernetes: { "1.33": { ecrCredentialProvider: { sha256: { aarch64: B } } } },
      }),
      "1.33",
      "ecrCredentialProvider",
      "aarch64",
    ),
  );
  assert.equal("checksumUrl" in ecr, false, "no checksum file upstream, so none is required");
});

Deno.test("mirrorUrl maps host then path under the mirror", () => {
  const table: Array<[string, string, string]> = [
    [
      "https://github.com/containerd/containerd/releases/download/v2.1.4/c.tar.gz",
      "https://mirror.internal/eks",
      "https://mirror.internal/eks/github.com/containerd/containerd/releases/download/v2.1.4/c.tar.gz",
    ],
    [
      "https://amazon-eks.s3.us-west-2.amazonaws.com/1.32.3/2025-04-17/bin/linux/amd64/kubelet",
      "https://mirror.internal/eks/",
      "https://mirror.internal/eks/amazon-eks.s3.us-west-2.amazonaws.com/1.32.3/2025-04-17/bin/linux/amd64/kubelet",
    ],
    ["https://h:8443/a/b?x=1", "http://127.0.0.1:9000", "http://127.0.0.1:9000/h:8443/a/b?x=1"],
    ["https://h/a%20b", "https://m", "https://m/h/a%20b"],
  ];
  for (const [url, base, want] of table) assert.equal(mirrorUrl(url, base), want, url);
  assert.match(configError(() => mirrorUrl("github.com/x", "https://m")).message, /artifact URL/);
  assert.match(configError(() => mirrorUrl("https://h/x", "ftp://m")).message, /http\(s\)/);
  assert.match(configError(() => mirrorUrl("https://h/x", "/relative")).message, /mirror/);
});
