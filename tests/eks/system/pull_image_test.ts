/**
 * `eksnode pull-image` against real components: a private containerd and a docker-registry on 127.0.0.1
 * that demands basic auth (user AWS, the password the ECR fake hands out), so the pull only works with
 * the token from ECR GetAuthorizationToken (fakes/ecr.ts). Retries are checked with a stand-in
 * `ctr` that fails twice; sandbox-image.service's own command line is run as the unit would run it.
 */
import { tempDir } from "../../../fakes/temp.ts";
import assert from "node:assert/strict";
import { renderSandboxImageUnit } from "../../../eks/system/node_units.ts";
import { start as startEcr } from "../../../fakes/ecr.ts";
import { eksnode } from "../../support/cli_run.ts";
import {
  CONTAINERD_TOOLS,
  pushTinyImage,
  realComponentsSkip,
  REGISTRY_TOOLS,
  startContainerd,
  startRegistry,
} from "../../support/real_containerd.ts";

const PASSWORD = "fake-ecr-password";
const AUTH = { user: "AWS", password: PASSWORD };

const skip = realComponentsSkip("pull_image_test", [...CONTAINERD_TOOLS, ...REGISTRY_TOOLS]);

Deno.test({
  name: `pull-image: real containerd + registry with basic auth, password from the ECR fake${
    skip ? ` (skipped: ${skip})` : ""
  }`,
  ignore: skip !== "",
  sanitizeResources: false,
  async fn() {
    const dir = await tempDir({ prefix: "eksnode-pull-" });
    const containerd = await startContainerd(dir);
    const ecr = startEcr({ password: PASSWORD });
    let registry: Awaited<ReturnType<typeof startRegistry>> | undefined;
    try {
      registry = await startRegistry(dir, { auth: AUTH });
      await pushTinyImage(dir, registry.host, ["eks/pause:3.10"], AUTH);
      const image = `${registry.host}/eks/pause:3.10`;
      const env = {
        AWS_ENDPOINT_URL_ECR: ecr.url,
        AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
        AWS_SECRET_ACCESS_KEY: "secret",
        AWS_REGION: "eu-west-1",
      };
      const flags = ["--address", containerd.sock, "--plain-http", "--attempts", "1"];

      // Without the ECR login the registry refuses: exit 6, the ctr command named.
      const anonymous = await eksnode(["pull-image", image, ...flags, "--no-ecr-auth"], {
        env,
        isolated: true,
      });
      assert.equal(anonymous.code, 6, anonymous.stderr);
      assert.match(anonymous.stderr, /error: .*ctr .*images pull .*127\.0\.0\.1/);
      assert.deepEqual(await containerd.images("k8s.io"), []);
      assert.equal(ecr.calls.length, 0);

      // With it (region from --ecr-region, since a loopback host does not name one) the pull works.
      const pulled = await eksnode([
        "pull-image",
        image,
        ...flags,
        "--ecr-region",
        "us-west-2",
        "--output",
        "json",
      ], {
        env,
        isolated: true,
      });
      assert.equal(pulled.code, 0, pulled.stderr);
      const report = JSON.parse(pulled.stdout);
      assert.deepEqual(
        [report.result, report.attempts, report.namespace, report.ecrLogin],
        ["pulled", 1, "k8s.io", "used (ECR in us-west-2)"],
      );
      assert.ok(
        !pulled.stdout.includes(PASSWORD) && !pulled.stderr.includes(PASSWORD),
        "the password is never printed",
      );
      assert.equal(ecr.calls.length, 1);
      assert.equal(ecr.calls[0].region, "us-west-2");
      assert.deepEqual(await containerd.images("k8s.io"), [image]);
      assert.deepEqual(await containerd.images("default"), [], "only the k8s.io namespace");

      // Present: nothing pulled, ECR not asked again.
      const again = await eksnode(["pull-image", image, ...flags, "--ecr-region", "us-west-2"], {
        env,
        isolated: true,
      });
      assert.equal(again.code, 0, again.stderr);
      assert.equal(again.stdout, `present ${image}\n`);
      assert.equal(ecr.calls.length, 1);

      // sandbox-image.service's command line, as systemd would run it (plus the test's socket and HTTP).
      await containerd.ctr("k8s.io", "images", "rm", image);
      const unit = renderSandboxImageUnit({ sandboxImage: image, sandboxRegistry: registry.host });
      const exec = unit.match(/^ExecStart=((?:.*\\\n)*.*)$/m)![1].split(/\s*\\\n\s*|\s+/).filter(Boolean);
      assert.equal(exec[0], "/usr/bin/eksnode");
      const viaUnit = await eksnode([...exec.slice(1), ...flags, "--ecr-region", "us-west-2"], {
        env,
        isolated: true,
      });
      assert.equal(viaUnit.code, 0, viaUnit.stderr);
      assert.match(viaUnit.stderr, /pulling .* into namespace k8s\.io with an ECR login/);
      assert.deepEqual(await containerd.images("k8s.io"), [image]);

      // A wrong password from ECR: the pull fails, and the password is masked in the error.
      const wrong = startEcr({ password: "not-the-password-1234" });
      try {
        const bad = await eksnode(
          ["pull-image", `${registry.host}/eks/other:1`, ...flags, "--ecr-region", "us-west-2"],
          { env: { ...env, AWS_ENDPOINT_URL_ECR: wrong.url }, isolated: true },
        );
        assert.equal(bad.code, 6, bad.stderr);
        assert.ok(!bad.stderr.includes("not-the-password-1234"), bad.stderr);
        assert.match(bad.stderr, /AWS:\*\*\*/);
      } finally {
        await wrong.close();
      }
    } finally {
      await registry?.stop();
      await containerd.stop();
      await ecr.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test("pull-image: retries a failing pull with backoff, then gives up with the last error", async () => {
  const dir = await tempDir({ prefix: "eksnode-pull-retry-" });
  // A stand-in ctr: `images ls` lists nothing; `images pull` fails until the third try.
  await Deno.writeTextFile(
    `${dir}/ctr`,
    [
      "#!/bin/sh",
      'case "$*" in *"images ls"*) exit 0 ;; esac',
      `n=$(cat '${dir}/count' 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > '${dir}/count'`,
      `[ "$n" -ge "$(cat '${dir}/succeed-at')" ] && exit 0`,
      'echo "fake ctr: registry unavailable ($n)" >&2; exit 1',
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
  const env = { PATH: `${dir}:${Deno.env.get("PATH")}` };
  const image = "registry.example:5000/eks/pause:3.10";
  await Deno.writeTextFile(`${dir}/containerd.sock`, ""); // stands in for the socket the fake ctr ignores
  await Deno.writeTextFile(`${dir}/succeed-at`, "3");
  const ok = await eksnode([
    "pull-image",
    image,
    "--address",
    `${dir}/containerd.sock`,
    "--attempts",
    "3",
    "--output",
    "json",
  ], {
    env,
    isolated: true,
  });
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(JSON.parse(ok.stdout).attempts, 3);
  assert.match(ok.stderr, /try 1 of 3 failed: .*registry unavailable \(1\); retrying in/);
  assert.match(ok.stderr, /try 2 of 3 failed: .*registry unavailable \(2\)/);
  assert.equal(JSON.parse(ok.stdout).ecrLogin, "not needed");

  await Deno.writeTextFile(`${dir}/count`, "0");
  await Deno.writeTextFile(`${dir}/succeed-at`, "9");
  const fail = await eksnode(
    ["pull-image", image, "--address", `${dir}/containerd.sock`, "--attempts", "2"],
    { env, isolated: true },
  );
  assert.equal(fail.code, 6);
  assert.match(fail.stderr, /error: .*registry unavailable \(2\)/);
  assert.equal(await Deno.readTextFile(`${dir}/count`), "2\n");
});

Deno.test("pull-image: bad input and a containerd that does not answer", async () => {
  const bad = await eksnode(["pull-image", "pause"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /"pause" is not a full image reference/);
  // A registry part starting with "-" would reach ctr as a flag.
  const dash = await eksnode(["pull-image", "--", "-oops.example.com/eks/pause:3.10"]);
  assert.equal(dash.code, 2, dash.stderr);
  assert.match(dash.stderr, /"-oops\.example\.com\/eks\/pause:3\.10" is not a full image reference/);
  const attempts = await eksnode(["pull-image", "r.example/x:1", "--attempts", "0"]);
  assert.equal(attempts.code, 2);
  const dir = await tempDir();
  const down = await eksnode(["pull-image", "r.example/x:1", "--address", `${dir}/nothing.sock`]);
  if (down.stderr.includes("ctr not found")) {
    console.warn("pull_image_test: ctr not installed: the unreachable-containerd message is not checked");
    assert.equal(down.code, 6);
    return;
  }
  assert.equal(down.code, 6);
  assert.match(down.stderr, new RegExp(`containerd does not answer at ${dir}/nothing\\.sock`));
});
