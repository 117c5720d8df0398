/** `eksnode versions`: every pinned checksum of assets/versions.json, filters, bake config overrides, JSON. */
import { tempDir } from "../../fakes/temp.ts";
import assert from "node:assert/strict";
import { versionsDigest } from "../../assets/versions.ts";
import { eksnode } from "../support/cli_run.ts";

const RAW = JSON.parse(await Deno.readTextFile(new URL("../../assets/versions.json", import.meta.url)));

Deno.test("versions --output json lists every artifact with the checksum pinned in assets/versions.json", async () => {
  const r = await eksnode(["versions", "--output", "json"]);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.versionsSha256, versionsDigest());
  assert.equal(report.defaultKubernetesVersion, RAW.defaultKubernetesVersion);
  assert.deepEqual(report.kubernetesVersions.sort(), Object.keys(RAW.kubernetes).sort());
  let checked = 0;
  for (const name of Object.keys(RAW.artifacts)) {
    for (const arch of ["x86_64", "aarch64"]) {
      const row = report.artifacts.find((a: { component: string; arch: string }) =>
        a.component === name && a.arch === arch
      );
      assert.equal(row.sha256, RAW.artifacts[name].sha256[arch], `${name} ${arch}`);
      assert.equal(row.version, RAW.artifacts[name].version);
      checked++;
    }
  }
  for (const [minor, rel] of Object.entries(RAW.kubernetes) as [string, Record<string, unknown>][]) {
    for (const name of ["kubelet", "awsIamAuthenticator", "ecrCredentialProvider"]) {
      const pin = rel[name] as { version: string; sha256: Record<string, string | null> } | null;
      const rows = report.artifacts.filter((a: { component: string; kubernetes: string }) =>
        a.component === name && a.kubernetes === minor
      );
      if (!pin) {
        assert.equal(rows.length, 0);
        continue;
      }
      for (const row of rows) {
        assert.equal(row.sha256, pin.sha256[row.arch], `${minor} ${name} ${row.arch}`);
        assert.equal(row.version, pin.version);
        assert.match(row.url, new RegExp(`/${pin.version}/`));
        checked++;
      }
    }
  }
  assert.ok(checked > 40, `${checked} artifacts checked`);
});

Deno.test("versions: text table, --kubernetes-version / --arch filters, --config overrides, errors", async () => {
  const text = await eksnode(["versions", "--kubernetes-version", "1.32", "--arch", "aarch64"]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^versions\.json sha256 [0-9a-f]{64}; default Kubernetes 1\.\d+$/m);
  assert.match(
    text.stdout,
    new RegExp(
      `^containerd\\s+all\\s+${RAW.artifacts.containerd.version}\\s+aarch64\\s+${RAW.artifacts.containerd.sha256.aarch64}$`,
      "m",
    ),
  );
  assert.match(
    text.stdout,
    /^kubelet\s+1\.32\s+1\.32\.\d+\s+aarch64\s+not pinned: checked against kubelet\.sha256 at download$/m,
  );
  assert.doesNotMatch(text.stdout, /x86_64|1\.31/);
  const dir = await tempDir();
  const sha = "ab".repeat(32);
  await Deno.writeTextFile(
    `${dir}/bake.toml`,
    `[versions.artifacts.runc]\nversion = "1.3.9"\n[versions.artifacts.runc.sha256]\nx86_64 = "${sha}"\naarch64 = "${sha}"\n`,
  );
  const over = await eksnode([
    "versions",
    "--config",
    `${dir}/bake.toml`,
    "--arch",
    "x86_64",
    "--output",
    "json",
  ]);
  assert.equal(over.code, 0, over.stderr);
  const runc = JSON.parse(over.stdout).artifacts.find((a: { component: string }) => a.component === "runc");
  assert.deepEqual([runc.version, runc.sha256], ["1.3.9", sha]);
  assert.match(runc.url, /v1\.3\.9/);
  assert.notEqual(JSON.parse(over.stdout).versionsSha256, versionsDigest());
  await Deno.writeTextFile(`${dir}/bad.toml`, `[versions.artifacts.runc.sha256]\nx86_64 = "nope"\n`);
  const bad = await eksnode(["versions", "--config", `${dir}/bad.toml`]);
  assert.equal(bad.code, 3);
  assert.match(bad.stderr, /artifacts\.runc\.sha256\.x86_64: expected a SHA-256/);
  const unknown = await eksnode(["versions", "--kubernetes-version", "1.99"]);
  assert.equal(unknown.code, 3);
  assert.match(unknown.stderr, /Kubernetes 1\.99 is not in the versions data/);
  assert.equal((await eksnode(["versions", "--config", `${dir}/missing.toml`])).code, 2);
});
