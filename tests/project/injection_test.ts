/**
 * Injection: shell substitutions, `;`, backticks, newlines, quotes, systemd specifiers and `$`
 * expansions passed through every input that reaches a file or a command. Each input either refuses
 * them with a clear one-line ConfigError/UsageError, or carries them as data: the kubelet unit still
 * has exactly its directives and its ExecStart decodes to exactly the argv meant, Environment= lines to
 * exactly the variables, YAML/JSON/TOML files parse back to the same string. Through the real CLI a
 * marker file that every payload tries to create is never created, refused input writes nothing, and
 * accepted input lands as data.
 */
import { tempDir } from "../../fakes/temp.ts";
import assert from "node:assert/strict";
import { parse as parseToml } from "smol-toml";
import { parse as parseYaml } from "yaml";
import { parseBakeConfig } from "../../cli/bake_config.ts";
import { parseBootstrapArgs } from "../../cli/bootstrap_flags.ts";
import { KUBELET_BIN } from "../../eks/kubelet/args.ts";
import { parseNodeConfigDocument } from "../../eks/api/nodeconfig.ts";
import { ConfigError, EksnodeError, hasControlCharacter, UsageError } from "../../lib/errors.ts";
import { eksnode } from "../support/cli_run.ts";
import { start as startEc2 } from "../../fakes/ec2.ts";
import { start as startImds } from "../../fakes/imds.ts";
import { TEST_CA_PEM } from "../../fakes/node_settings.ts";
import { carryOn, completeNodeConfig, releaseManifest } from "./fuzz/targets.ts";
import { decodeWords, parseUnit } from "./fuzz/render_check.ts";
import { renderRelease } from "../../steps/ami/33_release_file.ts";

const MARKER_DIR = await tempDir({ prefix: "eksnode-injection-" });
const MARKER = `${MARKER_DIR}/PWNED`;
// fakes/temp.ts removes it when the test module unloads (after its last test): the marker checks need it until then.

/** The payloads, each trying to run `touch MARKER` or to add a line or directive. */
const PAYLOADS: Record<string, string> = {
  "command substitution": `$(touch ${MARKER})`,
  backticks: `\`touch ${MARKER}\``,
  semicolon: `; touch ${MARKER}`,
  "newline + directive": `x\nExecStartPre=/bin/touch ${MARKER}`,
  "CRLF + section": `x\r\n[Service]\r\nExecStart=/bin/touch ${MARKER}`,
  "backslash continuation": `x\\\nExecStartPre=/bin/touch ${MARKER}`,
  quotes: `it's "quoted" \\'`,
  "systemd specifiers": "%n%h%i",
  "variable expansion": `$MARKER \${MARKER}`,
  "leading dash": "--help",
};

const CA_B64 = btoa(TEST_CA_PEM);
const ENDPOINT = "https://0123456789ABCDEF.gr7.us-west-2.eks.amazonaws.com";

const nodeConfig = completeNodeConfig;

/** One input and what becomes of a payload in it. */
interface Input {
  name: string;
  /** True when the input takes the payload (as data); false when it must refuse it. */
  accepts: (p: string) => boolean;
  /** Runs the input through eksnode's parsing and rendering; returns the rendered files on success. */
  run: (p: string) => Record<string, string>;
  /** For an accepted payload: the rendered files hold it as data, at its place. */
  holds?: (files: Record<string, string>, p: string) => void;
}

const noWhitespaceOrControl = (p: string) => !/\s/.test(p) && !hasControlCharacter(p);
/** Inputs with a strict character set take a payload (after a valid prefix) only when it stays in the set. */
const only = (chars: RegExp) => (p: string) => chars.test(p);
const NAME_CHARS = only(/^[A-Za-z0-9_-]*$/);
const ID_CHARS = only(/^[A-Za-z0-9._-]*$/);

/** NodeConfig through eksnode: schema, resolve, render, and the structural checks of render_check.ts. */
function viaNodeConfig(doc: unknown): { files: Record<string, string> } {
  return { files: carryOn(parseNodeConfigDocument(doc, "user data"), "user data") };
}

/** bootstrap.sh arguments that skip DescribeCluster; the flags under test follow. */
const BOOTSTRAP = ["c", "--b64-cluster-ca", CA_B64, "--apiserver-endpoint", ENDPOINT];

function viaBootstrap(argv: string[]): Record<string, string> {
  const parsed = parseBootstrapArgs(argv);
  return carryOn(parsed.nodeConfig, "bootstrap.sh flags", parsed.legacy);
}

const kubeletArgv = (files: Record<string, string>) =>
  decodeWords(parseUnit(files["kubelet.service"]).find((d) => d.key === "ExecStart")!.value, true);

const INPUTS: Input[] = [
  {
    name: "NodeConfig spec.cluster.name",
    accepts: NAME_CHARS,
    run: (p) => viaNodeConfig(nodeConfig({}, { name: `c${p}` })).files,
  },
  {
    name: "NodeConfig spec.cluster.apiServerEndpoint",
    accepts: noWhitespaceOrControl,
    run: (p) => viaNodeConfig(nodeConfig({}, { apiServerEndpoint: `${ENDPOINT}/${p}` })).files,
    holds: (files, p) =>
      assert.equal(
        parseYaml(files["kubeconfig (aws-iam-authenticator)"]).clusters[0].cluster.server,
        `${ENDPOINT}/${p}`,
      ),
  },
  {
    name: "NodeConfig spec.cluster.id (local Outposts cluster)",
    accepts: ID_CHARS,
    run: (p) => viaNodeConfig(nodeConfig({}, { enableOutpost: true, id: `id${p}` })).files,
  },
  {
    name: "NodeConfig spec.cluster.cidr",
    accepts: () => false,
    run: (p) => viaNodeConfig(nodeConfig({}, { cidr: `10.100.0.0/16${p}` })).files,
  },
  {
    name: "NodeConfig spec.kubelet.flags (a label)",
    accepts: (p) => !hasControlCharacter(p),
    run: (p) => viaNodeConfig(nodeConfig({ kubelet: { flags: [`--node-labels=team=${p}`] } })).files,
    holds: (files, p) => assert.equal(kubeletArgv(files).at(-1), `--node-labels=team=${p}`),
  },
  {
    name: "NodeConfig spec.kubelet.flags (a whole flag)",
    accepts: (p) => !hasControlCharacter(p),
    run: (p) => viaNodeConfig(nodeConfig({ kubelet: { flags: [p, "--v=2"] } })).files,
    holds: (files, p) => assert.deepEqual(kubeletArgv(files).slice(-2), [p, "--v=2"]),
  },
  {
    name: "NodeConfig spec.kubelet.config (a taint value)",
    accepts: () => true,
    run: (p) =>
      viaNodeConfig(
        nodeConfig({
          kubelet: { config: { registerWithTaints: [{ key: "k", value: p, effect: "NoSchedule" }] } },
        }),
      )
        .files,
    holds: (files, p) =>
      assert.equal(JSON.parse(files["kubelet-config.json"]).registerWithTaints[0].value, p),
  },
  {
    name: "NodeConfig spec.instance.environment (a value)",
    accepts: (p) => !hasControlCharacter(p),
    run: (p) => viaNodeConfig(nodeConfig({ instance: { environment: { HTTP_PROXY: p } } })).files,
    holds: (files, p) => {
      const env = parseUnit(files["/etc/systemd/system/kubelet.service.d/environment.conf"]).map((d) =>
        decodeWords(d.value, false)
      );
      assert.deepEqual(env, [[`HTTP_PROXY=${p}`]]);
    },
  },
  {
    name: "NodeConfig spec.instance.environment (a name)",
    accepts: () => false,
    run: (p) => viaNodeConfig(nodeConfig({ instance: { environment: { [`X${p}`]: "1" } } })).files,
  },
  {
    name: "NodeConfig spec.containerd.config (a string value)",
    accepts: () => true,
    run: (p) =>
      viaNodeConfig(nodeConfig({ containerd: { config: `[plugins.x]\nv = ${JSON.stringify(p)}\n` } })).files,
    holds: (files, p) => {
      const toml = parseToml(files["containerd config.toml"]) as { plugins: Record<string, { v: string }> };
      assert.equal(toml.plugins.x.v, p);
      assert.equal(
        (toml.plugins as Record<string, unknown>)["io.containerd.cri.v1.images"] !== undefined,
        true,
        "the generated tables are still there",
      );
    },
  },
  {
    name: "bootstrap.sh CLUSTER_NAME",
    accepts: NAME_CHARS,
    run: (p) => viaBootstrap([`c${p}`, "--b64-cluster-ca", CA_B64, "--apiserver-endpoint", ENDPOINT]),
  },
  {
    name: "bootstrap.sh --apiserver-endpoint",
    accepts: noWhitespaceOrControl,
    run: (p) => viaBootstrap([...BOOTSTRAP.slice(0, 4), `${ENDPOINT}/${p}`]),
    holds: (files, p) =>
      assert.equal(parseYaml(files["kubeconfig (aws-cli)"]).clusters[0].cluster.server, `${ENDPOINT}/${p}`),
  },
  {
    name: "bootstrap.sh --kubelet-extra-args (one quoted word)",
    accepts: (p) => !hasControlCharacter(p),
    run: (p) =>
      viaBootstrap([
        ...BOOTSTRAP,
        `--kubelet-extra-args=--node-labels='a=${p.replaceAll("'", `'\\''`)}' --v=2`,
      ]),
    holds: (files, p) => assert.deepEqual(kubeletArgv(files).slice(-2), [`--node-labels=a=${p}`, "--v=2"]),
  },
  {
    name: "bootstrap.sh --cluster-id",
    accepts: ID_CHARS,
    run: (p) => viaBootstrap([...BOOTSTRAP, "--enable-local-outpost", "true", "--cluster-id", `id${p}`]),
  },
  {
    name: "bootstrap.sh --pause-container-version (image tag)",
    accepts: ID_CHARS,
    run: (p) => viaBootstrap([...BOOTSTRAP, "--pause-container-version", `3.10${p}`]),
  },
  {
    name: "bootstrap.sh --dns-cluster-ip",
    accepts: () => false,
    run: (p) => viaBootstrap([...BOOTSTRAP, "--dns-cluster-ip", `10.0.0.10${p}`]),
  },
  {
    name: "bake config base_image (/etc/eks/release)",
    accepts: only(/^[A-Za-z0-9._:/@+-]*$/),
    run: (p) => {
      const bake = parseBakeConfig(`base_image = ${JSON.stringify(`ami-1${p}`)}\n`, "bake.toml");
      return {
        release: renderRelease(
          releaseManifest(bake.base_image ?? null),
          "0".repeat(64),
          {},
        ),
      };
    },
  },
  {
    name: "bake config region",
    accepts: () => false,
    run: (p) => ({
      toml: JSON.stringify(parseBakeConfig(`region = ${JSON.stringify(`us-west-2${p}`)}\n`, "bake.toml")),
    }),
  },
  {
    name: "bake config extra_images (arguments of ctr)",
    accepts: () => false,
    run: (p) => ({
      toml: JSON.stringify(parseBakeConfig(`extra_images = [${JSON.stringify(`${p}x/y:1`)}]\n`, "bake.toml")),
    }),
  },
  {
    name: "bake config image_registry",
    accepts: () => false,
    run: (p) => ({
      toml: JSON.stringify(
        parseBakeConfig(`image_registry = ${JSON.stringify(`r:5000${p}`)}\n`, "bake.toml"),
      ),
    }),
  },
  {
    name: "bake config containerd_address",
    accepts: only(/^[A-Za-z0-9._@+/-]*$/),
    run: (p) => ({
      toml: JSON.stringify(
        parseBakeConfig(`containerd_address = ${JSON.stringify(`/run/c.sock${p}`)}\n`, "bake.toml"),
      ),
    }),
  },
  {
    name: "bake config kubernetes_version",
    accepts: () => false,
    run: (p) => ({
      toml: JSON.stringify(
        parseBakeConfig(`kubernetes_version = ${JSON.stringify(`1.32${p}`)}\n`, "bake.toml"),
      ),
    }),
  },
];

for (const input of INPUTS) {
  Deno.test(`injection: ${input.name}`, () => {
    for (const [what, p] of Object.entries(PAYLOADS)) {
      let files: Record<string, string> | undefined;
      let error: unknown;
      try {
        files = input.run(p);
      } catch (err) {
        error = err;
      }
      if (input.accepts(p)) {
        assert.equal(error, undefined, `${input.name} should carry ${what} as data: ${error}`);
        input.holds?.(files!, p);
      } else {
        // The kubernetes version is checked when the release is looked up, not by the schema.
        if (error === undefined && input.name === "bake config kubernetes_version") continue;
        assert.ok(
          error instanceof ConfigError || error instanceof UsageError,
          `${input.name} should refuse ${what} with a ConfigError or UsageError, got ${error ?? "success"}`,
        );
        assert.ok(!(error as EksnodeError).message.includes("\n"), "one line");
      }
    }
    assert.equal(Deno.statSync(MARKER_DIR).isDirectory, true);
    assert.deepEqual([...Deno.readDirSync(MARKER_DIR)], [], "the marker was never created");
  });
}

Deno.test("injection: a kubernetes_version payload is refused when the release is looked up", async () => {
  const { kubernetesRelease } = await import("../../assets/versions.ts");
  for (const p of Object.values(PAYLOADS)) assert.throws(() => kubernetesRelease(`1.32${p}`), ConfigError);
});

// ---------------------------------------------------------------------------------------------
// Through the real CLI.

/** A root with what init reads from a baked image. */
async function bakedRoot(): Promise<string> {
  const root = await tempDir({ prefix: "eksnode-injection-root-" });
  const files: Record<string, string> = {
    "/etc/eks/release": "KUBERNETES_VERSION='1.32.3'\n",
    "/usr/bin/aws-iam-authenticator": "#!/bin/sh\n",
    "/etc/systemd/system/containerd.service":
      "[Unit]\nDescription=containerd\n\n[Service]\nExecStart=/usr/bin/containerd\n\n[Install]\nWantedBy=multi-user.target\n",
  };
  for (const [path, text] of Object.entries(files)) {
    await Deno.mkdir(`${root}${path.slice(0, path.lastIndexOf("/"))}`, { recursive: true });
    await Deno.writeTextFile(`${root}${path}`, text);
  }
  return root;
}

async function listTree(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    for await (const e of Deno.readDir(`${root}${rel}`)) {
      out.push(`${rel}/${e.name}`);
      if (e.isDirectory) await walk(`${rel}/${e.name}`);
    }
  };
  await walk("");
  return out.sort();
}

/** Region and test keys for the EC2 fake (init names the node with DescribeInstances). */
const EC2_ENV = {
  AWS_REGION: "us-west-2",
  AWS_ACCESS_KEY_ID: "AKIDINJECTIONTEST",
  AWS_SECRET_ACCESS_KEY: "injection-secret-not-real",
};

const safePayloads = Object.entries(PAYLOADS).filter(([, p]) => !hasControlCharacter(p));

Deno.test("injection (CLI): bootstrap.sh --kubelet-extra-args payloads run nothing and land as exact kubelet arguments", async () => {
  const root = await bakedRoot();
  const imds = startImds({});
  const ec2 = startEc2();
  try {
    const words = safePayloads.map(([, p]) => `--node-labels=a=${p}`);
    const extra = words.map((w) => `'${w.replaceAll("'", `'\\''`)}'`).join(" ");
    const r = await eksnode(
      [
        "init",
        "my-cluster",
        "--b64-cluster-ca",
        CA_B64,
        "--apiserver-endpoint",
        ENDPOINT,
        "--kubelet-extra-args",
        extra,
        "--root",
        root,
      ],
      {
        env: {
          AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url,
          AWS_ENDPOINT_URL_EC2: ec2.url,
          ...EC2_ENV,
          AWS_REGION: "us-west-2",
        },
      },
    );
    assert.equal(r.code, 0, r.stderr);
    const unit = parseUnit(await Deno.readTextFile(`${root}/etc/systemd/system/kubelet.service`));
    const argv = decodeWords(unit.find((d) => d.key === "ExecStart")!.value, true);
    assert.equal(argv[0], KUBELET_BIN);
    assert.deepEqual(argv.slice(-words.length), words);
    assert.deepEqual(
      unit.map((d) => d.key),
      [
        "Description",
        "Documentation",
        "After",
        "Requires",
        "Slice",
        "ExecStartPre",
        "ExecStart",
        "Restart",
        "RestartForceExitStatus",
        "RestartSec",
        "KillMode",
        "CPUAccounting",
        "MemoryAccounting",
        "WantedBy",
      ],
    );
    assert.equal(await Deno.stat(MARKER).catch(() => undefined), undefined, "nothing ran the payload");
  } finally {
    await Promise.all([imds.close(), ec2.close()]);
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("injection (CLI): NodeConfig flags and environment from user data run nothing and land as data", async () => {
  const root = await bakedRoot();
  const env: Record<string, string> = {};
  safePayloads.forEach(([, p], i) => env[`V${i}`] = p);
  const userData = JSON.stringify(nodeConfig({
    kubelet: { flags: safePayloads.map(([, p]) => `--node-labels=a=${p}`) },
    instance: { environment: env },
  }));
  const imds = startImds({ userData });
  const ec2 = startEc2();
  try {
    const r = await eksnode(["init", "--root", root], {
      env: {
        AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url,
        AWS_ENDPOINT_URL_EC2: ec2.url,
        ...EC2_ENV,
        AWS_REGION: "us-west-2",
      },
    });
    assert.equal(r.code, 0, r.stderr);
    for (const unit of ["kubelet.service.d", "containerd.service.d"]) {
      const dropIn = parseUnit(
        await Deno.readTextFile(`${root}/etc/systemd/system/${unit}/environment.conf`),
      );
      assert.deepEqual(
        Object.fromEntries(dropIn.map((d) => decodeWords(d.value, false)[0].split(/=(.*)/s).slice(0, 2))),
        env,
      );
    }
    const argv = decodeWords(
      parseUnit(await Deno.readTextFile(`${root}/etc/systemd/system/kubelet.service`)).find((d) =>
        d.key === "ExecStart"
      )!
        .value,
      true,
    );
    assert.deepEqual(argv.slice(-safePayloads.length), safePayloads.map(([, p]) => `--node-labels=a=${p}`));
    assert.equal(await Deno.stat(MARKER).catch(() => undefined), undefined, "nothing ran the payload");
  } finally {
    await Promise.all([imds.close(), ec2.close()]);
    await Deno.remove(root, { recursive: true });
  }
});

for (
  const [what, args, userData, code] of [
    [
      "a newline in a NodeConfig kubelet flag",
      [],
      JSON.stringify(nodeConfig({ kubelet: { flags: [PAYLOADS["newline + directive"]] } })),
      3,
    ],
    [
      "a CRLF in a NodeConfig environment value",
      [],
      JSON.stringify(nodeConfig({ instance: { environment: { A: PAYLOADS["CRLF + section"] } } })),
      3,
    ],
    [
      "a command substitution in the cluster name",
      [`c${PAYLOADS["command substitution"]}`, "--b64-cluster-ca", CA_B64],
      undefined,
      2,
    ],
    [
      "a newline in --kubelet-extra-args",
      [
        "c",
        "--b64-cluster-ca",
        CA_B64,
        "--apiserver-endpoint",
        ENDPOINT,
        "--kubelet-extra-args",
        `'${PAYLOADS["newline + directive"]}'`,
      ],
      undefined,
      2,
    ],
    [
      "a substitution in --containerd-config-file",
      [
        "c",
        "--b64-cluster-ca",
        CA_B64,
        "--apiserver-endpoint",
        ENDPOINT,
        "--containerd-config-file",
        `/nonexistent/${PAYLOADS["command substitution"]}`,
      ],
      undefined,
      2,
    ],
  ] as [string, string[], string | undefined, number][]
) {
  Deno.test(`injection (CLI): ${what} is refused with one error line and nothing written`, async () => {
    const root = await bakedRoot();
    const before = await listTree(root);
    const imds = startImds(userData === undefined ? {} : { userData });
    const ec2 = startEc2();
    try {
      const r = await eksnode(["init", ...args, "--root", root], {
        env: {
          AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url,
          AWS_ENDPOINT_URL_EC2: ec2.url,
          ...EC2_ENV,
          AWS_REGION: "us-west-2",
        },
      });
      assert.equal(r.code, code, r.stderr);
      const lines = r.stderr.trim().split("\n");
      assert.match(lines[0], /^error: /);
      assert.ok(lines.length <= 2 && (lines.length === 1 || lines[1].startsWith("hint: ")), r.stderr);
      assert.deepEqual(await listTree(root), before, "init wrote something");
      assert.equal(await Deno.stat(MARKER).catch(() => undefined), undefined, "nothing ran the payload");
    } finally {
      await Promise.all([imds.close(), ec2.close()]);
      await Deno.remove(root, { recursive: true });
    }
  });
}

for (
  const [what, args, env] of [
    ["--region", ["--region", `us-west-2${PAYLOADS["command substitution"]}`], {}],
    ["AWS_REGION", [], { AWS_REGION: `us-west-2\n${PAYLOADS.semicolon}` }],
    ["--image-registry", ["--image-registry", `r:5000/${PAYLOADS.backticks}`], {}],
    ["--containerd-address", ["--containerd-address", `/run/c.sock${PAYLOADS.semicolon}`], {}],
  ] as [string, string[], Record<string, string>][]
) {
  Deno.test(`injection (CLI): eksnode ami refuses a payload in ${what} before writing anything`, async () => {
    const dir = await tempDir({ prefix: "eksnode-injection-ami-" });
    try {
      const r = await eksnode(["ami", "--root", `${dir}/root`, "--package-manager", "none", ...args], {
        env,
      });
      // A flag's bad value is a usage error (2), the environment's a config error (3).
      assert.equal(r.code, what.startsWith("--") ? 2 : 3, r.stderr);
      assert.match(r.stderr, new RegExp(`^error: ${what.replace(/[-]/g, "\\-")}: `));
      assert.ok(r.stderr.trim().split("\n").length <= 2, "one error line and a hint at most");
      assert.deepEqual(await listTree(`${dir}/root`).catch(() => []), []);
      assert.equal(await Deno.stat(MARKER).catch(() => undefined), undefined);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
