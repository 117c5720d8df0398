/**
 * Steps 16-20 against real components: a containerd of its own (root, state and socket in a temp dir)
 * and a docker-registry on 127.0.0.1 holding tiny images built with umoci and pushed with skopeo.
 * The first test points image caching at both (containerd_address, image_registry, plain_http), so no
 * ECR login is involved, and then asks for an image the registry lacks. The second pulls by ECR names
 * with an ECR login (the loopback ECR API hands out the password) from a registry that requires it
 * (htpasswd), reached through the image's /etc/containerd/certs.d. The assertions read
 * `ctr -n k8s.io images ls`.
 */
import { tempDir } from "../../../fakes/temp.ts";
import assert from "node:assert/strict";
import { amiContext } from "../../../cli/ami.ts";
import { memoryLogger } from "../../../lib/log.ts";
import { CommandError } from "../../../lib/errors.ts";
import { runSteps } from "../../../lib/runner.ts";
import { AMI_STEPS } from "../../../steps/ami/index.ts";
import { start as startEcr } from "../../../fakes/ecr.ts";
import { startMirror } from "../../../fakes/mirror.ts";
import { findTool } from "../../support/validators/common.ts";
import {
  pushTinyImage,
  type RegistryAuth,
  run,
  startContainerd,
  startRegistry,
} from "../../support/real_containerd.ts";

const TOOLS = ["containerd", "ctr", "docker-registry", "umoci", "skopeo"];

const missing = TOOLS.filter((t) => !findTool(t));
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

/**
 * Starts containerd and a registry in `dir` (with `auth`, a registry that answers 401 without it);
 * returns the socket, the registry host and a stop function.
 */
async function startComponents(dir: string, auth?: RegistryAuth) {
  const containerd = await startContainerd(dir);
  const registry = await startRegistry(dir, { auth }).catch(async (err) => {
    await containerd.stop();
    throw err;
  });
  const stop = async () => {
    await containerd.stop();
    await registry.stop();
  };
  return { sock: containerd.sock, registry: registry.host, stop };
}

const KUBE_PROXY_DEFAULT = "v1.32.0-eksbuild.2";
const CNI_DEFAULT = "v1.19.0-eksbuild.1";

/** The add-on images steps 19-20 cache for 1.32 with the defaults above and versions.json's latest. */
const ADDON_IMAGES = [
  "eks/pause:3.10",
  "eks/kube-proxy:v1.32.0-minimal-eksbuild.2",
  "eks/kube-proxy:v1.32.3-minimal-eksbuild.7",
  `amazon-k8s-cni:${CNI_DEFAULT}`,
  `amazon-k8s-cni-init:${CNI_DEFAULT}`,
  "amazon-k8s-cni:v1.19.2-eksbuild.5",
  "amazon-k8s-cni-init:v1.19.2-eksbuild.5",
];

/** EKS's ECR registry host for a region. */
const ecr = (region: string, fips = false) =>
  `602401143452.dkr.${fips ? "ecr-fips" : "ecr"}.${region}.amazonaws.com`;

/** A bake config for us-west-2 with the mirror's artifacts, pinned add-on defaults and `lines`. */
function bakeToml(mirrorToml: string, lines: string[]): string {
  return [
    `region = "us-west-2"`,
    ...lines,
    mirrorToml,
    `[versions.kubernetes."1.32".addons.kubeProxy]`,
    `default = "${KUBE_PROXY_DEFAULT}"`,
    `[versions.kubernetes."1.32".addons.vpcCni]`,
    `default = "${CNI_DEFAULT}"`,
    ``,
  ].join("\n");
}

/** Runs ami steps 16-20 on `root` with the bake config `toml` and the environment `env`. */
async function bakeImages(
  dir: string,
  root: string,
  toml: string,
  opts: { dryRun?: boolean; env?: Record<string, string> } = {},
) {
  await Deno.writeTextFile(`${dir}/bake.toml`, toml);
  const dryRun = opts.dryRun ?? false;
  const ctx = await amiContext({ root, output: "text", jobs: "4", config: `${dir}/bake.toml`, dryRun }, {
    PATH: Deno.env.get("PATH") ?? "",
    ...opts.env,
  });
  return await runSteps(AMI_STEPS, { ...ctx, log: memoryLogger() }, {
    process: "ami",
    dryRun,
    only: [16, 17, 18, 19, 20],
  });
}

Deno.test({
  name: `ami steps 16-20 cache images into a real containerd from a real registry${reason}`,
  ignore: missing.length > 0 || !isRoot || Deno.build.arch !== "x86_64",
  sanitizeResources: false,
  async fn() {
    const dir = await tempDir({ prefix: "eksnode-imgcache-" });
    const mirror = await startMirror();
    const c = await startComponents(dir);
    try {
      await pushTinyImage(dir, c.registry, [...ADDON_IMAGES, "team/extra-tool:1.0"]);
      const root = `${dir}/root`;
      const toml = bakeToml(mirror.bakeToml, [
        `containerd_address = "${c.sock}"`,
        `image_registry = "${c.registry}"`,
        `plain_http = true`,
        `image_tag_regions = ["us-west-2", "us-east-1", "eu-west-1"]`,
        `extra_images = ["${c.registry}/team/extra-tool:1.0"]`,
      ]);
      const bake = (dryRun: boolean) => bakeImages(dir, root, toml, { dryRun });
      const dry = await bake(true);
      assert.ok(dry.changeCount > 0);
      const listed = () => run(["ctr", "--address", c.sock, "-n", "k8s.io", "images", "ls", "-q"]);
      assert.equal((await listed()).trim(), "", "a dry run pulls nothing");

      const first = await bake(false);
      const names = new Set((await listed()).trim().split("\n"));
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
          `${ecr("us-west-2")}/amazon-k8s-cni-init:${CNI_DEFAULT}`,
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

      // Step 33 records every cached name in release.json, for `eksnode verify`; each one is in containerd.
      const ctx33 = await amiContext(
        { root, output: "text", jobs: "4", config: `${dir}/bake.toml` },
        { PATH: Deno.env.get("PATH") ?? "" },
      );
      await runSteps(AMI_STEPS, { ...ctx33, log: memoryLogger() }, {
        process: "ami",
        dryRun: false,
        only: [33],
      });
      const recorded: string[] =
        JSON.parse(await Deno.readTextFile(`${root}/etc/eks/release.json`)).cachedImages;
      assert.ok(recorded.length > 10, `${recorded.length} cached names recorded`);
      const present = new Set((await listed()).trim().split("\n"));
      for (const name of recorded) assert.ok(present.has(name), `${name} recorded but not cached`);
      assert.ok(recorded.includes(`${c.registry}/team/extra-tool:1.0`));

      const again = await bake(false);
      assert.equal(
        again.changeCount,
        0,
        `rerun plans nothing: ${again.steps.flatMap((s) => s.changes).join("; ")}`,
      );

      // An image the registry does not have: step 20 fails, naming the image and the registry's answer.
      const missingRef = `${c.registry}/team/missing-tool:1.0`;
      const withMissing = toml.replace(/^extra_images = .*$/m, `extra_images = ["${missingRef}"]`);
      const err = await bakeImages(dir, root, withMissing).then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof CommandError, `a missing image fails the step: ${err}`);
      assert.equal(err.exitCode, 6);
      assert.match(err.message, /images pull/);
      assert.ok(err.message.includes(missingRef), err.message);
      assert.match(err.message, /not found/i);
      assert.ok(!(await listed()).includes("missing-tool"), "nothing is recorded for the missing image");
    } finally {
      await c.stop();
      await mirror.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

const needsHtpasswd = missing.length === 0 && !findTool("htpasswd");
if (needsHtpasswd) {
  console.warn("ami_image_cache_test: htpasswd (apache2-utils) missing: the registry-login test is skipped");
}

Deno.test({
  name: `ami steps 16-20 pull by ECR names with an ECR login from a registry that requires it${
    reason || (needsHtpasswd ? " (skipped: htpasswd not installed)" : "")
  }`,
  ignore: missing.length > 0 || needsHtpasswd || !isRoot || Deno.build.arch !== "x86_64",
  sanitizeResources: false,
  async fn() {
    const dir = await tempDir({ prefix: "eksnode-imgauth-" });
    const auth = { user: "AWS", password: "ecr-token-for-the-test" };
    const mirror = await startMirror();
    const c = await startComponents(dir, auth);
    const goodEcr = startEcr({ password: auth.password });
    const badEcr = startEcr({ password: "a-wrong-token" });
    try {
      const anonymous = await fetch(`http://${c.registry}/v2/`);
      await anonymous.body?.cancel();
      assert.equal(anonymous.status, 401, "the registry refuses pulls without a login");
      await pushTinyImage(dir, c.registry, ADDON_IMAGES, auth);
      const root = `${dir}/root`;
      // The image's registry hosts (containerd's certs.d layout) send ECR's host to the loopback registry.
      const hostsToml = `${root}/etc/containerd/certs.d/${ecr("us-west-2")}/hosts.toml`;
      await Deno.mkdir(hostsToml.replace(/\/hosts\.toml$/, ""), { recursive: true });
      await Deno.writeTextFile(
        hostsToml,
        `server = "http://${c.registry}"\n\n[host."http://${c.registry}"]\n  capabilities = ["pull", "resolve"]\n`,
      );
      const toml = bakeToml(mirror.bakeToml, [
        `containerd_address = "${c.sock}"`,
        `image_tag_regions = ["us-west-2", "us-east-1"]`,
      ]);
      const awsEnv = (endpoint: string) => ({
        AWS_ENDPOINT_URL_ECR: endpoint,
        AWS_ACCESS_KEY_ID: "AKIDIMAGECACHETEST",
        AWS_SECRET_ACCESS_KEY: "image-cache-test-secret",
        AWS_REGION: "us-west-2",
      });
      const listed = async () =>
        (await run(["ctr", "--address", c.sock, "-n", "k8s.io", "images", "ls", "-q"])).trim().split("\n")
          .filter(Boolean);

      // A token the registry does not accept: the pull fails, naming the image, and the token is not shown.
      const err = await bakeImages(dir, root, toml, { env: awsEnv(badEcr.url) }).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof CommandError, `a refused login fails the step: ${err}`);
      assert.ok(err.message.includes(`${ecr("us-west-2")}/eks/pause:3.10`), err.message);
      assert.match(err.message, /401|unauthorized/i);
      assert.ok(!err.message.includes("a-wrong-token"), "the token never appears in the error");
      assert.ok(badEcr.calls.length >= 1, "the token came from ECR GetAuthorizationToken");
      assert.deepEqual(await listed(), []);

      // The right token: every image arrives under every region's ECR name.
      const first = await bakeImages(dir, root, toml, { env: awsEnv(goodEcr.url) });
      assert.ok(goodEcr.calls.some((call) => call.target?.endsWith("GetAuthorizationToken")));
      const step16 = first.steps.find((s) => s.number === 16)!;
      assert.ok(
        step16.notes.some((n) => n.includes("with an ECR login") && n.includes("/etc/containerd/certs.d")),
        step16.notes.join("\n"),
      );
      const names = new Set(await listed());
      for (const region of ["us-west-2", "us-east-1"]) {
        for (const img of ADDON_IMAGES) {
          assert.ok(
            names.has(`${ecr(region)}/${img}`),
            `${ecr(region)}/${img} cached: ${[...names].join(", ")}`,
          );
        }
      }
      assert.ok(![...names].some((n) => n.includes("127.0.0.1")), "images carry ECR names, not the mirror's");
      const again = await bakeImages(dir, root, toml, { env: awsEnv(goodEcr.url) });
      assert.equal(again.changeCount, 0, again.steps.flatMap((s) => s.changes).join("; "));
    } finally {
      await c.stop();
      await goodEcr.close();
      await badEcr.close();
      await mirror.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
