/**
 * Steps 16-20 against real components: a containerd of its own (root, state and socket in a temp dir)
 * and a docker-registry on 127.0.0.1 holding tiny images built with umoci and pushed with skopeo.
 * The bake config points image caching at both (containerd_address, image_registry, plain_http), so no
 * ECR login is involved; the assertions read `ctr -n k8s.io images ls`.
 */
import assert from "node:assert/strict";
import { amiContext } from "../cli/ami.ts";
import { memoryLogger } from "../lib/log.ts";
import { runSteps } from "../lib/runner.ts";
import { AMI_STEPS } from "../steps/ami/index.ts";
import { startMirror } from "./fakes/mirror.ts";

const TOOLS = ["containerd", "ctr", "docker-registry", "umoci", "skopeo"];

async function which(cmd: string): Promise<boolean> {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      if ((await Deno.stat(`${dir}/${cmd}`)).isFile) return true;
    } catch {
      // not here
    }
  }
  return false;
}

const missing: string[] = [];
for (const t of TOOLS) if (!(await which(t))) missing.push(t);
const isRoot = Deno.uid() === 0;
if (missing.length) {
  console.warn(`ami_image_cache_test: missing ${missing.join(", ")}: the real-component test is skipped`);
}
if (!isRoot) {
  console.warn("ami_image_cache_test: not root: containerd cannot run, the real-component test is skipped");
}
const reason = missing.length
  ? ` (skipped: ${missing.join(", ")} not installed)`
  : !isRoot
  ? " (skipped: needs root)"
  : "";

async function run(argv: string[], env?: Record<string, string>): Promise<string> {
  const out = await new Deno.Command(argv[0], { args: argv.slice(1), stdout: "piped", stderr: "piped", env })
    .output();
  const text = new TextDecoder().decode(out.stdout);
  if (out.code !== 0) throw new Error(`${argv.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  return text;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function waitFor(what: string, probe: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not come up within ${ms / 1000}s`);
}

/** Starts containerd and a registry in `dir`; returns the socket, the registry host and a stop function. */
async function startComponents(dir: string) {
  const sock = `${dir}/containerd.sock`;
  await Deno.writeTextFile(
    `${dir}/containerd.toml`,
    // containerd 1.6 on the test machine: version 2 config, CRI off (not needed to pull and tag).
    `version = 2\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n[grpc]\naddress = "${sock}"\n`,
  );
  const containerd = new Deno.Command("containerd", {
    args: [
      "--config",
      `${dir}/containerd.toml`,
      "--root",
      `${dir}/var/lib/containerd`,
      "--state",
      `${dir}/run/containerd`,
      "--address",
      sock,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const port = freePort();
  await Deno.mkdir(`${dir}/registry`);
  await Deno.writeTextFile(
    `${dir}/registry.yml`,
    [
      "version: 0.1",
      "log:",
      "  level: error",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${dir}/registry`,
      "http:",
      `  addr: 127.0.0.1:${port}`,
      "",
    ].join("\n"),
  );
  const registry = new Deno.Command("docker-registry", {
    args: ["serve", `${dir}/registry.yml`],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stop = async () => {
    for (const p of [containerd, registry]) {
      try {
        p.kill("SIGTERM");
      } catch {
        // gone
      }
      await p.stderr.cancel().catch(() => {});
      await p.status;
    }
  };
  try {
    await waitFor(
      "docker-registry",
      async () =>
        (await fetch(`http://127.0.0.1:${port}/v2/`).then((r) => r.body?.cancel().then(() => r.ok))) === true,
    );
    await waitFor("containerd", async () => {
      await run(["ctr", "--address", sock, "version"]);
      return true;
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { sock, registry: `127.0.0.1:${port}`, stop };
}

/** Builds one tiny OCI image with umoci and pushes it under each name. */
async function pushTinyImage(dir: string, registry: string, names: string[]): Promise<void> {
  const layout = `${dir}/oci`;
  await run(["umoci", "init", "--layout", layout]);
  await run(["umoci", "new", "--image", `${layout}:tiny`]);
  await run(["umoci", "unpack", "--image", `${layout}:tiny`, `${dir}/bundle`]);
  await Deno.writeTextFile(`${dir}/bundle/rootfs/hello.txt`, "a tiny image for eksnode's image cache test\n");
  await run(["umoci", "repack", "--image", `${layout}:tiny`, `${dir}/bundle`]);
  await run([
    "umoci",
    "config",
    "--image",
    `${layout}:tiny`,
    "--config.cmd",
    "/hello.txt",
    "--os",
    "linux",
    "--architecture",
    "amd64",
  ]);
  for (const n of names) {
    await run([
      "skopeo",
      "copy",
      "--quiet",
      "--dest-tls-verify=false",
      `oci:${layout}:tiny`,
      `docker://${registry}/${n}`,
    ]);
  }
}

Deno.test({
  name: `ami steps 16-20 cache images into a real containerd from a real registry${reason}`,
  ignore: missing.length > 0 || !isRoot || Deno.build.arch !== "x86_64",
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "eksnode-imgcache-" });
    const mirror = await startMirror();
    const c = await startComponents(dir);
    try {
      const kubeProxyDefault = "v1.32.0-eksbuild.2";
      const cniDefault = "v1.19.0-eksbuild.1";
      await pushTinyImage(dir, c.registry, [
        "eks/pause:3.10",
        "eks/kube-proxy:v1.32.0-minimal-eksbuild.2",
        "eks/kube-proxy:v1.32.3-minimal-eksbuild.7",
        `amazon-k8s-cni:${cniDefault}`,
        `amazon-k8s-cni-init:${cniDefault}`,
        "amazon-k8s-cni:v1.19.2-eksbuild.5",
        "amazon-k8s-cni-init:v1.19.2-eksbuild.5",
        "team/extra-tool:1.0",
      ]);
      const toml = [
        `region = "us-west-2"`,
        `containerd_address = "${c.sock}"`,
        `image_registry = "${c.registry}"`,
        `plain_http = true`,
        `image_tag_regions = ["us-west-2", "us-east-1", "eu-west-1"]`,
        `extra_images = ["${c.registry}/team/extra-tool:1.0"]`,
        mirror.bakeToml,
        `[versions.kubernetes."1.32".addons.kubeProxy]`,
        `default = "${kubeProxyDefault}"`,
        `[versions.kubernetes."1.32".addons.vpcCni]`,
        `default = "${cniDefault}"`,
        ``,
      ].join("\n");
      await Deno.writeTextFile(`${dir}/bake.toml`, toml);
      const root = `${dir}/root`;
      const bake = async (dryRun: boolean) => {
        const ctx = await amiContext({
          root,
          logFormat: "text",
          jobs: "4",
          config: `${dir}/bake.toml`,
          dryRun,
        }, {
          PATH: Deno.env.get("PATH") ?? "",
        });
        const log = memoryLogger();
        return await runSteps(AMI_STEPS, { ...ctx, log }, {
          process: "ami",
          dryRun,
          only: [16, 17, 18, 19, 20],
        });
      };
      const dry = await bake(true);
      assert.ok(dry.changeCount > 0);
      const listed = () => run(["ctr", "--address", c.sock, "-n", "k8s.io", "images", "ls", "-q"]);
      assert.equal((await listed()).trim(), "", "a dry run pulls nothing");

      const first = await bake(false);
      const names = new Set((await listed()).trim().split("\n"));
      const ecr = (region: string, fips = false) =>
        `602401143452.dkr.${fips ? "ecr-fips" : "ecr"}.${region}.amazonaws.com`;
      for (
        const want of [
          `${c.registry}/eks/pause:3.10`,
          `${ecr("us-west-2")}/eks/pause:3.10`,
          `${ecr("us-west-2", true)}/eks/pause:3.10`,
          `${ecr("us-east-1", true)}/eks/pause:3.10`,
          `${ecr("eu-west-1")}/eks/pause:3.10`,
          `${ecr("eu-west-1")}/eks/kube-proxy:v1.32.3-minimal-eksbuild.7`,
          `${ecr("us-east-1")}/eks/kube-proxy:v1.32.0-minimal-eksbuild.2`,
          `${ecr("us-west-2")}/amazon-k8s-cni:v1.19.2-eksbuild.5`,
          `${ecr("us-west-2")}/amazon-k8s-cni-init:${cniDefault}`,
          // -eksbuild.1 CNI tags are also cached without the suffix, as upstream does.
          `${ecr("us-east-1")}/amazon-k8s-cni:v1.19.0`,
          // extra_images from the bake config, as given.
          `${c.registry}/team/extra-tool:1.0`,
        ]
      ) assert.ok(names.has(want), `${want} is cached (have: ${[...names].join(", ")})`);
      assert.ok(!names.has(`${ecr("eu-west-1", true)}/eks/pause:3.10`), "eu-west-1 has no FIPS registry");
      assert.ok(
        ![...names].some((n) => n.includes("kube-proxy:v1.32.3-eksbuild")),
        "1.24+: only kube-proxy-minimal",
      );
      // pause is pinned so image GC keeps it.
      const pause = await run([
        "ctr",
        "--address",
        c.sock,
        "-n",
        "k8s.io",
        "images",
        "ls",
        `name==${ecr("us-west-2")}/eks/pause:3.10`,
      ]);
      assert.match(pause, /io\.cri-containerd\.pinned=pinned/);
      // The config names the cached sandbox image.
      const config = await Deno.readTextFile(`${root}/etc/containerd/config.toml`);
      assert.match(
        config,
        new RegExp(`sandbox = "${ecr("us-west-2").replaceAll(".", "\\.")}/eks/pause:3\\.10"`),
      );
      const step19 = first.steps.find((s) => s.number === 19)!;
      assert.ok(step19.changes.some((l) => l.startsWith(`pull image ${c.registry}/eks/pause:3.10`)));

      const again = await bake(false);
      assert.equal(
        again.changeCount,
        0,
        `rerun plans nothing: ${again.steps.flatMap((s) => s.changes).join("; ")}`,
      );
    } finally {
      await c.stop();
      await mirror.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
