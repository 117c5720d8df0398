/**
 * Transport and secrets, through the real CLI. Artifacts travel over HTTPS only: plain HTTP is allowed
 * from loopback or from the mirror named with --insecure-mirror, never through a redirect or a bake-config
 * URL. ECR tokens, AWS secret keys and session tokens, and user data never appear in what eksnode prints:
 * every run below is repeated in text, json and --debug output and grepped for marker values.
 */
import { tempDir } from "../../fakes/temp.ts";
import assert from "node:assert/strict";
import { assertFailed, bakeDir, filesUnder, nodeConfigUserData, runInit } from "../support/cli_fixtures.ts";
import { type CliResult, eksnode } from "../support/cli_run.ts";
import * as fakeEcr from "../../fakes/ecr.ts";
import { startMirror } from "../../fakes/mirror.ts";
import { isLoopbackHost, transportProblem } from "../../lib/download.ts";

// ---------------------------------------------------------------------------------------------
// HTTPS only.

Deno.test("transport: https always, plain http only on loopback or from an allowed origin, no other scheme", () => {
  const allowed = ["http://mirror.internal:8080"];
  const table: [url: string, ok: boolean][] = [
    ["https://github.com/opencontainers/runc/releases/download/v1.3.3/runc.amd64", true],
    ["http://127.0.0.1:8080/x", true],
    ["http://127.9.8.7/x", true],
    ["http://localhost/x", true],
    ["http://[::1]:8080/x", true],
    ["http://mirror.internal:8080/eks/kubelet", true],
    ["http://mirror.internal/eks/kubelet", false], // another origin (port 80)
    ["http://mirror.internal:8081/eks/kubelet", false],
    ["http://github.com/x", false],
    ["http://127.0.0.1.nip.io/x", false],
    ["http://10.0.0.1/x", false],
    ["ftp://mirror.internal/x", false],
    ["file:///etc/passwd", false],
    ["not a url", false],
  ];
  for (const [url, ok] of table) {
    assert.equal(transportProblem(url, allowed) === undefined, ok, url);
  }
  assert.equal(isLoopbackHost("LOCALHOST"), true);
  assert.equal(isLoopbackHost("128.0.0.1"), false);
});

Deno.test("transport: an http:// artifact URL in the bake config is a config error before anything is fetched", async () => {
  const bake = await bakeDir(
    `package_manager = "none"\n[versions.artifacts.runc]\nurl = "http://downloads.example.com/runc.{goarch}"\n`,
  );
  const root = `${bake.dir}/root`;
  const run = await eksnode(bake.args(root, "--only", "10", "--dry-run"));
  assertFailed(
    run,
    3,
    /^error: step 10 \(Install runc\): runc [\d.]+ \((x86_64|aarch64)\) URL http:\/\/downloads\.example\.com\/runc\.\w+: plain HTTP to downloads\.example\.com is refused/,
  );
});

Deno.test("transport: --insecure-mirror needs a mirror; a plain-HTTP mirror in the bake config needs insecure_mirror", async () => {
  const root = await tempDir({ prefix: "eksnode-transport-" });
  assertFailed(
    await eksnode(["ami", "--root", root, "--insecure-mirror", "--dry-run"]),
    2,
    /^error: --insecure-mirror needs a mirror/,
  );
  const bake = await bakeDir(`mirror = "http://mirror.example.com/eks"\npackage_manager = "none"\n`);
  const run = await eksnode(bake.args(root, "--dry-run", "--only", "22"));
  assertFailed(
    run,
    3,
    /^error: \S+bake\.toml: mirror http:\/\/mirror\.example\.com\/eks: plain HTTP to mirror\.example\.com is refused/,
  );
  assert.match(run.stderr, /insecure_mirror = true/);
  assert.deepEqual(await filesUnder(root), []);
});

/** A non-loopback IPv4 address of this machine, to serve a mirror that is not on loopback. */
function outsideAddress(): string | undefined {
  return Deno.networkInterfaces().find((i) => i.family === "IPv4" && !i.address.startsWith("127."))?.address;
}
const OUTSIDE = outsideAddress();
if (!OUTSIDE) {
  console.warn("transport_test: no non-loopback IPv4 address: the --insecure-mirror download is not checked");
}

Deno.test({
  name:
    "transport: a plain-HTTP mirror off loopback is refused, and used with --insecure-mirror (still verified)",
  ignore: !OUTSIDE,
  async fn() {
    const mirror = await startMirror({ hostname: OUTSIDE });
    try {
      assert.ok(mirror.url.startsWith(`http://${OUTSIDE}:`));
      const bake = await bakeDir(mirror.bakeToml);
      const root = `${bake.dir}/root`;
      const refused = await eksnode(bake.args(root, "--only", "22", "--mirror", mirror.url));
      assertFailed(
        refused,
        2,
        new RegExp(`^error: --mirror ${mirror.url}: plain HTTP to ${OUTSIDE}:\\d+ is refused`),
      );
      assert.equal(Object.keys(mirror.hits).length, 0, "nothing was fetched");

      const allowed = await eksnode(
        bake.args(root, "--only", "22", "--mirror", mirror.url, "--insecure-mirror"),
      );
      assert.equal(allowed.code, 0, allowed.stderr);
      assert.ok((await filesUnder(root)).includes("/usr/bin/kubelet"));
    } finally {
      await mirror.close();
    }
  },
});

// ---------------------------------------------------------------------------------------------
// Secrets never printed.

/** The output formats every secret check runs in. */
const FORMATS: [name: string, args: string[]][] = [
  ["text", []],
  ["json", ["--output", "json"]],
  ["text --debug", ["--debug"]],
  ["json --debug", ["--output", "json", "--debug"]],
];

/** Asserts that none of `secrets` appears anywhere in what a run printed. */
function assertNoSecret(run: CliResult, secrets: string[], what: string): void {
  const out = run.stdout + run.stderr;
  for (const s of secrets) assert.ok(!out.includes(s), `${what}: ${JSON.stringify(s)} was printed:\n${out}`);
}

const SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/SECRETKEYMARKER";
const SESSION_TOKEN = "IQoJb3JpZ2luX2VjEFAKESESSIONTOKENMARKER";
const PROXY_PASSWORD = "PROXYPASSWORDMARKER";
const USER_DATA_MARKER = "USERDATAMARKER";

Deno.test("secrets: AWS keys, session token and user data are not printed by init, in any format", async () => {
  // User data with a proxy password (it lands in the 0600 environment drop-ins, never in the log) and a
  // shell-script part that eksnode ignores.
  const nodeConfig = nodeConfigUserData(
    false,
    `  instance:\n    environment:\n      HTTPS_PROXY: "http://user:${PROXY_PASSWORD}@proxy:3128"\n`,
  );
  const mime = [
    "MIME-Version: 1.0",
    'Content-Type: multipart/mixed; boundary="B"',
    "",
    "--B",
    "Content-Type: text/x-shellscript",
    "",
    `#!/bin/sh\necho ${USER_DATA_MARKER}`,
    "--B",
    "Content-Type: application/node.eks.aws",
    "",
    nodeConfig,
    "--B--",
    "",
  ].join("\n");
  const secrets = [SECRET_KEY, SESSION_TOKEN, PROXY_PASSWORD, USER_DATA_MARKER];
  const env = { AWS_SECRET_ACCESS_KEY: SECRET_KEY, AWS_SESSION_TOKEN: SESSION_TOKEN };
  for (const [format, args] of FORMATS) {
    // A boot that succeeds (DescribeCluster signed with the keys), its dry run, and one that is denied.
    const ok = await runInit({ imds: { userData: mime }, eks: {}, env, args });
    assert.equal(ok.run.code, 0, ok.run.stderr);
    assert.equal(ok.eks.calls[0].accessKeyId, "AKIDCLITEST", "the keys were used");
    assertNoSecret(ok.run, secrets, `init (${format})`);
    const drop = await Deno.readTextFile(
      `${ok.root}/etc/systemd/system/kubelet.service.d/environment.conf`,
    );
    assert.ok(drop.includes(PROXY_PASSWORD), "the environment reached its drop-in");

    const dry = await runInit({ imds: { userData: mime }, eks: {}, env, args: [...args, "--dry-run"] });
    assert.equal(dry.run.code, 0, dry.run.stderr);
    assertNoSecret(dry.run, secrets, `init --dry-run (${format})`);

    const denied = await runInit({
      imds: { userData: mime },
      eks: { failWith: { status: 403, type: "AccessDeniedException" } },
      env,
      args,
    });
    assert.equal(denied.run.code, 9);
    // The stack: lines of text, or the JSON error record's "stack" field.
    if (args.includes("--debug")) {
      assert.match(denied.run.stderr, /^\s+at |\\n\s+at /m, "--debug prints the stack");
    }
    assertNoSecret(denied.run, secrets, `init denied (${format})`);
  }
});

Deno.test("secrets: bad user data is named by part and field, never echoed, even with --debug", async () => {
  const cases: Record<string, string> = {
    "YAML syntax":
      `apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  cluster:\n    name: prod: ${USER_DATA_MARKER}\n`,
    "JSON syntax":
      `{"apiVersion": "node.eks.aws/v1alpha1", "spec": {"cluster": {"name": "${USER_DATA_MARKER}" x}}}`,
    // An unknown field alone is only a warning (nodeadm ignores it): here beside a bad value.
    "unknown field": nodeConfigUserData(true, `  kubelet:\n    flagz: [${USER_DATA_MARKER}]\n    flags: 3\n`),
    "wrong type": nodeConfigUserData(true, `  kubelet:\n    flags: {a: ${USER_DATA_MARKER}}\n`),
    "bad endpoint":
      `apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  cluster:\n    name: prod\n` +
      `    apiServerEndpoint: ftp://${USER_DATA_MARKER}.example.com\n`,
    "not a NodeConfig": `#!/bin/sh\n/etc/eks/bootstrap.sh prod --b64-cluster-ca ${USER_DATA_MARKER}\n`,
  };
  for (const [what, userData] of Object.entries(cases)) {
    for (const [format, args] of FORMATS) {
      const r = await runInit({ imds: { userData }, args });
      assertFailed(
        { ...r.run, stderr: r.run.stderr.replace(/^\s+at .*$/gm, "") },
        3,
        /user data|imds:\/\/user-data/,
      );
      assertNoSecret(r.run, [USER_DATA_MARKER], `${what} (${format})`);
    }
  }
});

/** A `ctr` stand-in: `images ls` lists nothing, `images pull` fails (or succeeds) echoing its argv. */
async function fakeCtr(dir: string, pull: "fail" | "ok"): Promise<string> {
  const bin = `${dir}/bin`;
  await Deno.mkdir(bin, { recursive: true });
  await Deno.writeTextFile(
    `${bin}/ctr`,
    [
      "#!/bin/sh",
      `echo "$@" >> "${dir}/ctr.log"`,
      'case "$*" in',
      // The worst a tool can do: echo its command line, token included, on stdout and stderr.
      `  *"images pull"*) echo "ctr: pulling with: $*"; echo "ctr: failed to pull: $*" >&2; exit ${
        pull === "fail" ? 1 : 0
      } ;;`,
      "esac",
      "exit 0",
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
  return bin;
}

Deno.test("secrets: the ECR token passed to ctr is masked in every message, in any format", async () => {
  const password = "ECRPASSWORDMARKER-eyJwYXlsb2FkIjoi";
  const ecr = fakeEcr.start({ password });
  const mirror = await startMirror({});
  try {
    for (const pull of ["fail", "ok"] as const) {
      for (const [format, args] of FORMATS) {
        const bake = await bakeDir(`${mirror.bakeToml}`.replace(
          "[versions]",
          `containerd_address = "/run/fake-containerd.sock"\n\n[versions]`,
        ));
        const bin = await fakeCtr(bake.dir, pull);
        const run = await eksnode(bake.args(`${bake.dir}/root`, "--only", "16,19", ...args), {
          env: {
            PATH: `${bin}:${Deno.env.get("PATH")}`,
            AWS_ENDPOINT_URL_ECR: ecr.url,
            AWS_ACCESS_KEY_ID: "AKIDECRTEST",
            AWS_SECRET_ACCESS_KEY: SECRET_KEY,
            AWS_REGION: "us-west-2",
          },
        });
        const log = await Deno.readTextFile(`${bake.dir}/ctr.log`);
        assert.ok(log.includes(`--user AWS:${password}`), "ctr was given the ECR token");
        if (pull === "fail") {
          assert.equal(run.code, 6, run.stdout + run.stderr);
          assert.match(
            run.stderr,
            /(^error: |"msg":")step 19 \(Cache the pause image\): .*images pull .*--user AWS:\*\*\* /m,
          );
        } else {
          assert.equal(run.code, 0, run.stdout + run.stderr);
        }
        assertNoSecret(run, [password, btoa(`AWS:${password}`), SECRET_KEY], `ctr pull ${pull} (${format})`);
      }
    }
  } finally {
    await ecr.close();
    await mirror.close();
  }
});
