import assert from "node:assert/strict";
import { ConfigError, UsageError } from "../../../lib/errors.ts";
import { parseUserData, parseUserDataDetailed } from "../../../eks/api/userdata.ts";
import { type ConfigReaders, loadConfigSource, loadConfigSources } from "../../../eks/api/config_source.ts";

const CA = btoa("-----BEGIN CERTIFICATE-----\nMIIBfzCCASWgAwIBAgIU\n-----END CERTIFICATE-----\n");
const enc = (s: string) => new TextEncoder().encode(s);
const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function concat(...chunks: (string | Uint8Array)[]): Uint8Array {
  const parts = chunks.map((c) => (typeof c === "string" ? enc(c) : c));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const CLUSTER_YAML = `---
apiVersion: node.eks.aws/v1alpha1
kind: NodeConfig
spec:
  cluster:
    name: my-cluster
    apiServerEndpoint: https://example.com
    certificateAuthority: ${CA}
    cidr: 10.100.0.0/16
`;
const KUBELET_YAML = `apiVersion: node.eks.aws/v1alpha1
kind: NodeConfig
spec:
  kubelet:
    flags:
      - --node-labels=a=b
`;
const CLUSTER_JSON = JSON.stringify({
  apiVersion: "node.eks.aws/v1alpha1",
  kind: "NodeConfig",
  spec: {
    cluster: { name: "my-cluster", apiServerEndpoint: "https://example.com", certificateAuthority: CA },
  },
});

function mime(boundary: string, parts: { headers: string[]; body: string | Uint8Array }[], top = true) {
  const chunks: (string | Uint8Array)[] = [];
  if (top) chunks.push(`MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="${boundary}"\n\n`);
  for (const p of parts) {
    chunks.push(`--${boundary}\n${p.headers.join("\n")}\n\n`, p.body, "\n");
  }
  chunks.push(`--${boundary}--\n`);
  return concat(...chunks);
}

const SHELL = "#!/bin/bash\necho hello\n";

Deno.test("every encoding of a plain NodeConfig gives the same part", async () => {
  const yaml = enc(CLUSTER_YAML);
  const cases: [string, Uint8Array][] = [
    ["plain YAML", yaml],
    ["CRLF YAML", enc(CLUSTER_YAML.replaceAll("\n", "\r\n"))],
    ["base64", enc(b64(yaml))],
    ["base64 with line breaks", enc(b64(yaml).replace(/(.{76})/g, "$1\n"))],
    ["gzip", await gzip(yaml)],
    ["gzip+base64", enc(b64(await gzip(yaml)))],
  ];
  for (const [name, bytes] of cases) {
    const parts = await parseUserData(bytes, "user data");
    assert.equal(parts.length, 1, name);
    assert.equal(parts[0].origin, "user data", name);
    assert.equal(parts[0].config.spec?.cluster?.name, "my-cluster", name);
    assert.equal(parts[0].config.spec?.cluster?.cidr, "10.100.0.0/16", name);
  }
});

Deno.test("JSON user data and a YAML stream of several NodeConfigs", async () => {
  const json = await parseUserData(enc(CLUSTER_JSON), "user data");
  assert.equal(json[0].config.spec?.cluster?.apiServerEndpoint, "https://example.com");

  const stream = await parseUserData(enc(`${CLUSTER_YAML}---\n${KUBELET_YAML}---\n`), "/etc/eksnode/a.yaml");
  assert.deepEqual(stream.map((p) => p.origin), [
    "/etc/eksnode/a.yaml document 1",
    "/etc/eksnode/a.yaml document 2",
  ]);
  assert.deepEqual(stream[1].config.spec?.kubelet?.flags, ["--node-labels=a=b"]);
});

Deno.test("MIME with two NodeConfig parts and a shell part; origins name the part", async () => {
  const data = mime("BOUNDARY", [
    { headers: ["Content-Type: application/node.eks.aws"], body: CLUSTER_YAML },
    { headers: ['Content-Type: text/x-shellscript; charset="us-ascii"'], body: SHELL },
    { headers: ["Content-Type: application/node.eks.aws"], body: KUBELET_YAML },
  ]);
  const found = await parseUserDataDetailed(data, "user data");
  assert.deepEqual(found.parts.map((p) => p.origin), [
    "user data part 1 (application/node.eks.aws)",
    "user data part 3 (application/node.eks.aws)",
  ]);
  assert.equal(found.parts[0].config.spec?.cluster?.name, "my-cluster");
  assert.deepEqual(found.parts[1].config.spec?.kubelet?.flags, ["--node-labels=a=b"]);
  assert.deepEqual(found.skipped, [{
    origin: "user data part 2 (text/x-shellscript)",
    contentType: "text/x-shellscript",
    reason: "not a NodeConfig part",
  }]);
});

Deno.test("MIME variants: unquoted boundary, CRLF, per-part base64/gzip, no close delimiter", async () => {
  const gz = await gzip(enc(KUBELET_YAML));
  const cases: [string, Uint8Array | Promise<Uint8Array>][] = [
    [
      "eksctl style boundary=//",
      enc(
        `MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=//\n\n--//\n` +
          `Content-Type: application/node.eks.aws\n\n${KUBELET_YAML}\n--//--\n`,
      ),
    ],
    [
      "CRLF everywhere",
      enc(
        `MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\n` +
          `Content-Type: application/node.eks.aws\r\n\r\n${
            KUBELET_YAML.replaceAll("\n", "\r\n")
          }\r\n--B--\r\n`,
      ),
    ],
    [
      "Content-Transfer-Encoding: base64",
      mime("B", [{
        headers: ["Content-Type: application/node.eks.aws", "Content-Transfer-Encoding: base64"],
        body: b64(enc(KUBELET_YAML)).replace(/(.{60})/g, "$1\n"),
      }]),
    ],
    [
      "raw gzip in the part (nodeadm test case)",
      mime("B", [{ headers: ["Content-Type: application/node.eks.aws"], body: gz }]),
    ],
    [
      "base64 of gzip in the part",
      mime("B", [{
        headers: ["Content-Type: application/node.eks.aws", "Content-Transfer-Encoding: base64"],
        body: b64(gz),
      }]),
    ],
    [
      "quoted-printable",
      mime("B", [{
        headers: ["Content-Type: application/node.eks.aws", "Content-Transfer-Encoding: quoted-printable"],
        body: KUBELET_YAML.replace("node-labels", "node=2Dlabels"),
      }]),
    ],
    [
      "folded Content-Type header and preamble",
      enc(
        `MIME-Version: 1.0\nContent-Type: multipart/mixed;\n  boundary="B"\n\nThis is a preamble.\n--B\n` +
          `Content-Type: application/node.eks.aws\n\n${KUBELET_YAML}`,
      ),
    ],
    [
      "whole MIME document gzipped",
      gzip(mime("B", [{ headers: ["Content-Type: application/node.eks.aws"], body: KUBELET_YAML }])),
    ],
    [
      "whole MIME document gzipped then base64",
      gzip(mime("B", [{ headers: ["Content-Type: application/node.eks.aws"], body: KUBELET_YAML }]))
        .then((g) => enc(b64(g))),
    ],
  ];
  for (const [name, pending] of cases) {
    const parts = await parseUserData(await pending, "user data");
    assert.equal(parts.length, 1, name);
    assert.deepEqual(parts[0].config.spec?.kubelet?.flags, ["--node-labels=a=b"], name);
    assert.equal(parts[0].origin, "user data part 1 (application/node.eks.aws)", name);
  }
});

Deno.test("nested multipart is walked; parts are numbered by position", async () => {
  const inner = mime("INNER", [
    { headers: ["Content-Type: text/cloud-config"], body: "#cloud-config\nruncmd: []\n" },
    { headers: ["Content-Type: application/node.eks.aws"], body: KUBELET_YAML },
  ], false);
  const outer = mime("OUTER", [
    { headers: ["Content-Type: application/node.eks.aws"], body: CLUSTER_YAML },
    { headers: ['Content-Type: multipart/alternative; boundary="INNER"'], body: inner },
    { headers: ["Content-Type: text/x-shellscript"], body: SHELL },
  ]);
  const found = await parseUserDataDetailed(outer, "user data");
  assert.deepEqual(found.parts.map((p) => p.origin), [
    "user data part 1 (application/node.eks.aws)",
    "user data part 2.2 (application/node.eks.aws)",
  ]);
  assert.deepEqual(found.skipped.map((s) => s.origin), [
    "user data part 2.1 (text/cloud-config)",
    "user data part 3 (text/x-shellscript)",
  ]);
});

Deno.test("user data without NodeConfig yields no parts and says why", async () => {
  const cases: [string, Uint8Array, string][] = [
    ["shell script", enc(SHELL), "text/x-shellscript"],
    ["cloud-config", enc("#cloud-config\npackages: [jq]\n"), "text/cloud-config"],
    [
      "MIME with only a shell part",
      mime("B", [{ headers: ["Content-Type: text/x-shellscript"], body: SHELL }]),
      "text/x-shellscript",
    ],
    ["gzipped shell script", await gzip(enc(SHELL)), "text/x-shellscript"],
    ["YAML of another kind", enc("apiVersion: v1\nkind: ConfigMap\n"), "application/yaml"],
    ["binary", new Uint8Array([0xff, 0xfe, 0x00, 0x81]), "application/octet-stream"],
    ["part without Content-Type", mime("B", [{ headers: ["X-Other: 1"], body: "x" }]), "(none)"],
  ];
  for (const [name, bytes, type] of cases) {
    const found = await parseUserDataDetailed(bytes, "user data");
    assert.equal(found.parts.length, 0, name);
    assert.equal(found.skipped.length, 1, name);
    assert.equal(found.skipped[0].contentType, type, name);
  }
  assert.deepEqual(await parseUserData(new Uint8Array(), "user data"), []);
});

Deno.test("broken user data fails with one ConfigError naming the part, never quoting content", async () => {
  const secret = "s3cr3t-token";
  const cases: [string, Uint8Array | Promise<Uint8Array>, RegExp][] = [
    [
      "invalid field in part 2",
      mime("B", [
        { headers: ["Content-Type: text/x-shellscript"], body: `#!/bin/bash\nTOKEN=${secret}\n` },
        {
          headers: ["Content-Type: application/node.eks.aws"],
          body: KUBELET_YAML.replace("spec:", "spec:\n  cluster:\n    apiServerEndpoint: ftp://x"),
        },
      ]),
      /user data part 2 \(application\/node\.eks\.aws\): spec\.cluster\.apiServerEndpoint: /,
    ],
    [
      "YAML syntax error in a NodeConfig part",
      mime("B", [{
        headers: ["Content-Type: application/node.eks.aws"],
        body: `kind: NodeConfig\n  bad: [${secret}\n`,
      }]),
      /invalid YAML in user data part 1 \(application\/node\.eks\.aws\) at line \d+/,
    ],
    [
      "node.eks.aws part with another kind",
      mime("B", [{
        headers: ["Content-Type: application/node.eks.aws"],
        body: "apiVersion: v1\nkind: Pod\n",
      }]),
      /part 1 \(application\/node\.eks\.aws\): .*kind/,
    ],
    [
      "empty node.eks.aws part",
      mime("B", [{ headers: ["Content-Type: application/node.eks.aws"], body: "" }]),
      /holds no NodeConfig document/,
    ],
    [
      "bad base64 transfer encoding",
      mime("B", [{
        headers: ["Content-Type: application/node.eks.aws", "Content-Transfer-Encoding: base64"],
        body: "%%%",
      }]),
      /malformed MIME in user data part 1 \(application\/node\.eks\.aws\): body is not valid base64/,
    ],
    [
      "boundary never used",
      enc(`Content-Type: multipart/mixed; boundary="X"\n\n--Y\nContent-Type: text/plain\n\nhi\n--Y--\n`),
      /no part starts with the boundary line "--X"/,
    ],
    [
      "multipart without boundary",
      enc("Content-Type: multipart/mixed\n\nhello\n"),
      /has no boundary parameter/,
    ],
    [
      "truncated gzip",
      gzip(enc(KUBELET_YAML)).then((g) => g.subarray(0, 12)),
      /gzip but cannot be decompressed/,
    ],
    [
      "plain YAML NodeConfig with a syntax error",
      enc(`apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec: [${secret}\n`),
      /invalid YAML in user data at line/,
    ],
    [
      "plain NodeConfig with a bad value",
      enc(KUBELET_YAML.replace("spec:", "spec:\n  featureGates: { InstanceIdNodeName: yes-please }")),
      /invalid NodeConfig in user data: spec\.featureGates\.InstanceIdNodeName: expected boolean/,
    ],
  ];
  for (const [name, pending, re] of cases) {
    const bytes = await pending;
    await assert.rejects(parseUserData(bytes, "user data"), (err: unknown) => {
      assert.ok(err instanceof ConfigError, `${name}: ${err}`);
      assert.match(err.message, re, name);
      assert.ok(!err.message.includes(secret), `${name} leaks content: ${err.message}`);
      return true;
    });
  }
});

Deno.test("an unknown field is dropped from its part and named, not an error (nodeadm ignores it)", async () => {
  const parts = await parseUserDataDetailed(enc(KUBELET_YAML.replace("flags:", "flagz:")), "user data");
  assert.equal(parts.parts.length, 1);
  assert.deepEqual(parts.parts[0].unknownFields.map((f) => f.path), ["spec.kubelet.flagz"]);
  assert.deepEqual(parts.parts[0].config.spec?.kubelet, {}, "the known rest of its section is kept");
});

/** In-memory readers for config sources; directories are paths with entries listed. */
function readers(files: Record<string, string | Uint8Array>, userData?: string | Uint8Array): ConfigReaders {
  return {
    file(path) {
      const v = files[path];
      if (v === undefined) return Promise.reject(new Deno.errors.NotFound(`No such file: ${path}`));
      return Promise.resolve(typeof v === "string" ? enc(v) : v);
    },
    dir(path) {
      const prefix = path.endsWith("/") ? path : `${path}/`;
      const names = Object.keys(files).filter((f) => f.startsWith(prefix)).map((f) => f.slice(prefix.length))
        .filter((n) => !n.includes("/"));
      if (names.length === 0 && !Object.keys(files).some((f) => f === `${prefix}.dir`)) {
        return Promise.reject(new Error(`Not a directory: ${path}`));
      }
      return Promise.resolve(names.filter((n) => n !== ".dir").reverse()); // unsorted on purpose
    },
    imdsUserData: () => Promise.resolve(typeof userData === "string" ? enc(userData) : userData),
  };
}

const labelDoc = (label: string) =>
  `apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  kubelet:\n    flags: ["--node-labels=${label}"]\n    config:\n      maxPods: ${label.length}\n`;

Deno.test("file:// directory of drop-ins: config files only, in lexical order, merged", async () => {
  const read = readers({
    "/etc/eksnode/config.d/20-labels.yaml": labelDoc("second"),
    "/etc/eksnode/config.d/10-cluster.yaml": CLUSTER_YAML,
    "/etc/eksnode/config.d/30-more.JSON": JSON.stringify({
      apiVersion: "node.eks.aws/v1alpha1",
      kind: "NodeConfig",
      spec: { kubelet: { flags: ["--node-labels=third"] } },
    }),
    "/etc/eksnode/config.d/README.md": "not a config",
    "/etc/eksnode/config.d/15.yml.bak": "ignored",
  });
  const loaded = await loadConfigSource("file:///etc/eksnode/config.d", read);
  assert.deepEqual(loaded.parts.map((p) => p.origin), [
    "/etc/eksnode/config.d/10-cluster.yaml",
    "/etc/eksnode/config.d/20-labels.yaml",
    "/etc/eksnode/config.d/30-more.JSON",
  ]);
  assert.equal(loaded.merged?.spec?.cluster?.name, "my-cluster");
  assert.deepEqual(loaded.merged?.spec?.kubelet?.flags, ["--node-labels=second", "--node-labels=third"]);
  assert.equal(loaded.merged?.spec?.kubelet?.config?.maxPods, 6);
});

Deno.test("file:// single file, imds://user-data, and chains of sources", async () => {
  const read = readers(
    { "/etc/eksnode/node.yaml": CLUSTER_YAML, "/empty/.dir": "" },
    mime("B", [
      { headers: ["Content-Type: application/node.eks.aws"], body: labelDoc("from-imds") },
      { headers: ["Content-Type: text/x-shellscript"], body: SHELL },
    ]),
  );
  const file = await loadConfigSource("file:///etc/eksnode/node.yaml", read);
  assert.deepEqual(file.parts.map((p) => p.origin), ["/etc/eksnode/node.yaml"]);

  const imds = await loadConfigSource("imds://user-data", read);
  assert.deepEqual(imds.parts.map((p) => p.origin), ["user data part 1 (application/node.eks.aws)"]);
  assert.deepEqual(imds.skipped.map((s) => s.contentType), ["text/x-shellscript"]);

  const chain = await loadConfigSources([
    "file:///etc/eksnode/node.yaml",
    "file:///empty",
    "imds://user-data",
  ], read);
  assert.equal(chain.parts.length, 2);
  assert.equal(chain.merged?.spec?.cluster?.name, "my-cluster");
  assert.deepEqual(chain.merged?.spec?.kubelet?.flags, ["--node-labels=from-imds"]);
});

Deno.test("imds without user data or with a shell script gives no parts and no merge", async () => {
  for (const ud of [undefined, SHELL]) {
    const loaded = await loadConfigSource("imds://user-data", readers({}, ud));
    assert.equal(loaded.parts.length, 0);
    assert.equal(loaded.merged, undefined);
  }
});

Deno.test("an empty drop-in directory gives no parts, also as the only source (nodeadm's chain)", async () => {
  const loaded = await loadConfigSource("file:///empty", readers({ "/empty/.dir": "" }));
  assert.equal(loaded.parts.length, 0);
  assert.equal(loaded.merged, undefined);
  assert.deepEqual(loaded.skipped, [
    { origin: "/empty", contentType: "directory", reason: "no *.yaml, *.yml or *.json file" },
  ]);
});

Deno.test("config source errors", async () => {
  const read = readers({ "/etc/x.sh": SHELL, "/empty/.dir": "" });
  const cases: [string, RegExp, typeof ConfigError | typeof UsageError][] = [
    ["file:///nope.yaml", /cannot read config file \/nope\.yaml: No such file/, ConfigError],
    [
      "file:///etc/x.sh",
      /config file \/etc\/x\.sh holds no NodeConfig \(cloud-init text\/x-shellscript/,
      ConfigError,
    ],
    ["https://example.com/config", /unsupported config source/, UsageError],
    ["imds://meta-data", /unsupported config source imds:\/\/meta-data/, UsageError],
    ["file://", /names no path/, UsageError],
  ];
  for (const [source, re, cls] of cases) {
    await assert.rejects(loadConfigSource(source, read), (err: unknown) => {
      assert.ok(err instanceof cls, `${source}: ${err}`);
      assert.match((err as Error).message, re, source);
      return true;
    });
  }
});
