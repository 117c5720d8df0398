/**
 * The newcomer's bake (issue 18): `eksnode ami --dry-run` plans every step offline and ends with one
 * error listing every missing pin (nothing fetched, nothing written); `eksnode versions --pin` writes
 * the pins from the published checksum files of a loopback mirror into the bake config, keeping its
 * settings and comments; after that the dry run passes. Under `--output json` every line is a record.
 */
import assert from "node:assert/strict";
import { parse as parseToml } from "smol-toml";
import { kubernetesArtifact, kubernetesRelease, versions } from "../../assets/versions.ts";
import { eksnode } from "../support/cli_run.ts";
import { startMirror } from "../../fakes/mirror.ts";
import { tempDir } from "../../fakes/temp.ts";
import { pinnedText } from "../../cli/versions_pin.ts";

const KV = versions.defaultKubernetesVersion;
const K = `versions.kubernetes."${KV}"`;

/** A bake config that names the mirror but pins nothing (what a newcomer starts from). */
function unpinnedBake(mirrorUrl: string): string {
  return [
    "# my bake: settings and comments that --pin must keep",
    `kubernetes_version = "${KV}"   # the cluster's version`,
    'arch = "x86_64"',
    `mirror = "${mirrorUrl}"`,
    'package_manager = "none"',
    "",
  ].join("\n");
}

Deno.test("ami --dry-run: every step planned offline, one exit-3 error naming every missing pin, nothing fetched", async () => {
  const mirror = await startMirror({});
  try {
    const dir = await tempDir();
    await Deno.writeTextFile(`${dir}/bake.toml`, unpinnedBake(mirror.url));
    const root = `${dir}/root`;
    const r = await eksnode(["ami", "--dry-run", "--root", root, "--config", `${dir}/bake.toml`]);
    assert.equal(r.code, 3, r.stdout + r.stderr);
    for (let n = 1; n <= 37; n++) {
      assert.match(r.stdout, new RegExp(`^\\[${String(n).padStart(2, "0")}/37\\]`, "m"), `step ${n} planned`);
    }
    const errors = r.stderr.split("\n").filter((l) => l.startsWith("error: "));
    assert.equal(errors.length, 1, r.stderr);
    for (const key of ["kubelet", "awsIamAuthenticator", "ecrCredentialProvider"]) {
      if (key === "awsIamAuthenticator" && !kubernetesRelease(KV).awsIamAuthenticator) continue;
      assert.ok(errors[0].includes(`${K}.${key}.sha256.x86_64`), `${key} named: ${errors[0]}`);
    }
    assert.match(r.stderr, /^hint: .*eksnode versions --pin --config/m);
    assert.deepEqual(mirror.hits, {}, "a dry run fetches nothing, not even a published checksum");
    await assert.rejects(Deno.lstat(root), Deno.errors.NotFound, "a dry run that failed leaves no root");

    // Skipping the kubelet and authenticator steps still plans on and names the last pin.
    const skipped = await eksnode([
      "ami",
      "--dry-run",
      "--root",
      root,
      "--config",
      `${dir}/bake.toml`,
      "--skip",
      "22,30",
    ]);
    assert.equal(skipped.code, 3, skipped.stderr);
    assert.match(skipped.stdout, /^\[37\/37\]/m);
    assert.match(
      skipped.stderr,
      new RegExp(`1 missing pin .*${K.replaceAll(".", "\\.")}\\.ecrCredentialProvider`),
    );
  } finally {
    await mirror.close();
  }
});

Deno.test("ami --dry-run --output json: every stdout and stderr line is a JSON record with an event; step lines carry the step", async () => {
  const dir = await tempDir();
  await Deno.writeTextFile(`${dir}/bake.toml`, unpinnedBake("http://127.0.0.1:9"));
  const r = await eksnode([
    "ami",
    "--dry-run",
    "--root",
    `${dir}/root`,
    "--config",
    `${dir}/bake.toml`,
    "--output",
    "json",
  ]);
  assert.equal(r.code, 3, r.stderr);
  const lines = (r.stdout + r.stderr).split("\n").filter((l) => l !== "");
  let inStep: string | undefined;
  for (const line of lines) {
    const rec = JSON.parse(line); // throws on a line that is not JSON
    assert.equal(typeof rec.event, "string", line);
    if (rec.event === "step.start") inStep = rec.step;
    else if (rec.event === "run.done" || rec.event === "run.error") inStep = undefined;
    if (inStep !== undefined) assert.equal(rec.step, inStep, `inside step ${inStep}: ${line}`);
  }
  assert.ok(lines.filter((l) => JSON.parse(l).event === "plan.problem").length >= 2, r.stdout);
  const last = JSON.parse(lines.at(-1)!);
  assert.equal(last.event, "run.error");
  assert.equal(last.exitCode, 3);
  assert.match(last.msg, /missing pins? \(bake config keys to set\)/);
});

Deno.test("a usage error under --output json is a JSON record too", async () => {
  const r = await eksnode(["ami", "--output", "json", "--no-such-flag"]);
  assert.equal(r.code, 2);
  const rec = JSON.parse(r.stderr.trim());
  assert.equal(rec.event, "run.error");
  assert.equal(rec.exitCode, 2);
  assert.match(rec.msg, /unknown option '--no-such-flag'/);
});

Deno.test("versions --pin writes the published checksums into the bake config (settings and comments kept); the dry run then passes", async () => {
  const mirror = await startMirror({});
  try {
    const dir = await tempDir();
    const bake = `${dir}/bake.toml`;
    await Deno.writeTextFile(bake, unpinnedBake(mirror.url));
    await Deno.chmod(bake, 0o640);

    // ecr-credential-provider has no published checksum: the others are written, it is named, exit 3.
    const first = await eksnode(["versions", "--pin", "--config", bake]);
    assert.equal(first.code, 3, first.stdout + first.stderr);
    assert.match(
      first.stderr,
      new RegExp(`error: 1 artifact has no published checksum to pin from: .*ecrCredentialProvider`),
    );
    assert.match(first.stderr, /hint: .*sha256sum/);
    const text = await Deno.readTextFile(bake);
    assert.ok(text.startsWith(unpinnedBake(mirror.url)), "the user's text is kept as it was:\n" + text);
    // deno-lint-ignore no-explicit-any -- TOML data
    const data = parseToml(text) as Record<string, any>;
    const rel = data.versions.kubernetes[KV];
    assert.equal(rel.kubelet.sha256.x86_64, mirror.artifacts.kubelet.sha256);
    if (mirror.artifacts.awsIamAuthenticator) {
      assert.equal(rel.awsIamAuthenticator.sha256.x86_64, mirror.artifacts.awsIamAuthenticator.sha256);
    }
    assert.equal(rel.ecrCredentialProvider, undefined);
    assert.equal(data.package_manager, "none");
    assert.equal((await Deno.stat(bake)).mode! & 0o777, 0o640, "the file keeps its mode");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["bake.toml"], "no temp file left");
    assert.ok(Object.keys(mirror.hits).some((p) => p.endsWith("/kubelet.sha256")), "read from the mirror");
    assert.ok(
      !Object.keys(mirror.hits).some((p) => p.endsWith("/kubelet")),
      "the artifact itself is not fetched",
    );

    // The user pins it by hand (as the hint says); a second --pin writes nothing new and exits 0.
    await Deno.writeTextFile(
      bake,
      `${text}\n[versions.kubernetes."${KV}".ecrCredentialProvider.sha256]\nx86_64 = "${mirror.artifacts.ecrCredentialProvider.sha256}"\n`,
    );
    const second = await eksnode(["versions", "--pin", "--config", bake]);
    assert.equal(second.code, 0, second.stdout + second.stderr);
    assert.match(second.stdout, /0 pins written/);

    const dry = await eksnode([
      "ami",
      "--dry-run",
      "--root",
      `${dir}/root`,
      "--config",
      bake,
      "--self",
      bake, // any file: the dry run only plans its install
    ]);
    assert.equal(dry.code, 0, dry.stdout + dry.stderr);
    assert.match(dry.stdout, /ami: 37 steps, \d+ changes planned, nothing changed/);
  } finally {
    await mirror.close();
  }
});

Deno.test("pinnedText: dotted keys after an existing [versions], tables appended, a rewrite only when the layout leaves no place", () => {
  const sha = "a".repeat(64);
  const pins = new Map([[`${K}.kubelet.sha256.x86_64`, sha]]);
  const withVersions = '# c\n[versions]\nartifacts.runc.version = "1.3.3"\n';
  const a = pinnedText(withVersions, pins);
  assert.equal(a.rewritten, false);
  assert.match(
    a.text,
    /^\[versions\]\n# SHA-256 pins .*\nkubernetes\."[\d.]+"\.kubelet\.sha256\.x86_64 = "a{64}"$/m,
  );
  assert.ok(a.text.startsWith("# c\n"));

  const plain = 'region = "us-west-2" # keep me';
  const b = pinnedText(plain, pins);
  assert.equal(b.rewritten, false);
  assert.ok(b.text.startsWith(plain + "\n"));
  // deno-lint-ignore no-explicit-any -- TOML data
  assert.equal((parseToml(b.text) as any).versions.kubernetes[KV].kubelet.sha256.x86_64, sha);

  const inline = `versions = { kubernetes = { "${KV}" = { kubelet = { version = "1.32.3" } } } }\n`;
  const c = pinnedText(inline, pins);
  assert.equal(c.rewritten, true);
  // deno-lint-ignore no-explicit-any -- TOML data
  const parsed = parseToml(c.text) as any;
  assert.equal(parsed.versions.kubernetes[KV].kubelet.sha256.x86_64, sha);
  assert.equal(parsed.versions.kubernetes[KV].kubelet.version, "1.32.3");
});

Deno.test("examples/packer/bake.toml: the Packer template's default; versions --pin fills it as its comments say", async () => {
  const shipped = new URL("../../examples/packer/bake.toml", import.meta.url);
  const hcl = await Deno.readTextFile(new URL("../../examples/packer/eks-node.pkr.hcl", import.meta.url));
  assert.match(hcl, /variable "bake_config" \{[^}]*default\s*=\s*"examples\/packer\/bake\.toml"/);
  const text = await Deno.readTextFile(shipped);
  // The command its comments give for the hand pin fetches the artifact that has no checksum file.
  assert.ok(
    text.includes(
      `curl -fsSL ${kubernetesArtifact(versions, "1.32", "ecrCredentialProvider", "x86_64").url} |`,
    ),
  );
  const mirror = await startMirror({});
  try {
    const dir = await tempDir();
    await Deno.writeTextFile(`${dir}/bake.toml`, text);
    const r = await eksnode([
      "versions",
      "--pin",
      "--config",
      `${dir}/bake.toml`,
      "--mirror",
      mirror.url,
      "--arch",
      "x86_64",
    ]);
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /ecrCredentialProvider\.sha256\.x86_64 \(http:\/\/127\.0\.0\.1:\d+\/amazon-eks\.s3/,
    );
    const pinned = await Deno.readTextFile(`${dir}/bake.toml`);
    assert.ok(pinned.startsWith(text), "the shipped comments stay");
    // deno-lint-ignore no-explicit-any -- TOML data
    const data = parseToml(pinned) as any;
    assert.equal(data.versions.kubernetes[KV].kubelet.sha256.x86_64, mirror.artifacts.kubelet.sha256);
    assert.equal(data.package_manager, "dnf");
  } finally {
    await mirror.close();
  }
});
