/**
 * `deno task try-init -- --config my-nodeconfig.yaml`: eksnode init on one's own NodeConfig, offline, in
 * the demo's simulated cloud (tools/try_init.ts), run as README shows it, from the user's directory.
 */
import assert from "node:assert/strict";
import { tempDir } from "../../fakes/temp.ts";

const REPO_CONFIG = new URL("../../deno.json", import.meta.url).pathname;

async function tryInit(cwd: string, ...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "--config", REPO_CONFIG, "try-init", "--", ...args],
    cwd,
    // Only what deno needs: an INIT_CWD inherited from npm (npx deno ...) would stand for the user's directory.
    clearEnv: true,
    env: Object.fromEntries(
      ["PATH", "HOME", "DENO_DIR", "TMPDIR"].flatMap((k) => {
        const v = Deno.env.get(k);
        return v === undefined ? [] : [[k, v]];
      }).concat([["NO_COLOR", "1"]]),
    ),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("try-init: init joins the NodeConfig's cluster in a simulated cloud and lists what it wrote", async () => {
  const dir = await tempDir();
  await Deno.writeTextFile(
    `${dir}/my-nodeconfig.yaml`,
    "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  cluster:\n    name: my-own-cluster\n",
  );
  const r = await tryInit(dir, "--config", "my-nodeconfig.yaml", "--root", "root");
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^cluster my-own-cluster: https:\/\/\S+ \(from \S+\)/m);
  assert.match(r.stdout, /^init: 9 steps, \d+ changes in/m);
  assert.match(r.stdout, /^try-init: init wrote \d+ files under /m);
  assert.match(r.stdout, /^ {2}\/var\/lib\/kubelet\/kubeconfig$/m);
  const kubeconfig = await Deno.readTextFile(`${dir}/root/var/lib/kubelet/kubeconfig`);
  assert.match(kubeconfig, /my-own-cluster/);
});

Deno.test("try-init: a NodeConfig with a mistake ends with eksnode's one error line (exit 3), nothing run", async () => {
  const dir = await tempDir();
  await Deno.writeTextFile(
    `${dir}/bad.yaml`,
    "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  cluster:\n    name: 7\n",
  );
  const r = await tryInit(dir, "--config", "bad.yaml", "--root", "root");
  assert.equal(r.code, 3, r.stdout + r.stderr);
  assert.match(r.stderr, /^error: .*spec\.cluster\.name/m);
  await assert.rejects(Deno.lstat(`${dir}/root`), Deno.errors.NotFound);
});
