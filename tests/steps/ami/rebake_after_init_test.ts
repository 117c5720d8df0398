/**
 * A rebake after `eksnode init` (an image made from a joined node, or `eksnode ami` run again on a node):
 * 0 changes. Init renders /etc/containerd/config.toml and sandbox-image.service for the node (its region's
 * sandbox image) and keeps copies under /etc/eks/containerd; the bake's starting values of those two files
 * are not put back over the node's. A file edited by hand matches neither and is written again.
 */
import assert from "node:assert/strict";
import { bakeDir, runInit } from "../../support/cli_fixtures.ts";
import { eksnode } from "../../support/cli_run.ts";
import { startMirror } from "../../../fakes/mirror.ts";

Deno.test("rebake after init: 0 changes, init's containerd config and sandbox-image unit kept; a hand edit is undone", async () => {
  const mirror = await startMirror({});
  try {
    // Baked for eu-west-1; the node (fake IMDS) is in us-west-2, so init renders another sandbox image.
    const { dir, args } = await bakeDir(
      mirror.bakeToml.replace(/^package_manager = .*$/m, '$&\nregion = "eu-west-1"'),
    );
    const root = `${dir}/root`;
    const bake = await eksnode(args(root));
    assert.equal(bake.code, 0, bake.stderr);
    const read = (p: string) => Deno.readTextFile(`${root}${p}`);
    const baked = {
      config: await read("/etc/containerd/config.toml"),
      unit: await read("/etc/systemd/system/sandbox-image.service"),
    };

    const init = await runInit({ root });
    assert.equal(init.run.code, 0, init.run.stdout + init.run.stderr);
    const node = {
      config: await read("/etc/containerd/config.toml"),
      unit: await read("/etc/systemd/system/sandbox-image.service"),
    };
    assert.notEqual(node.config, baked.config, "init rewrote the containerd config");
    assert.notEqual(node.unit, baked.unit, "init rendered the unit for the node's region");
    assert.match(node.unit, /us-west-2/);

    const again = await eksnode(args(root));
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /ami: 37 steps, 0 changes in/, again.stdout);
    assert.equal(await read("/etc/containerd/config.toml"), node.config);
    assert.equal(await read("/etc/systemd/system/sandbox-image.service"), node.unit);

    // Edited by hand: neither the bake's nor init's, so the rebake writes the bake's again.
    await Deno.writeTextFile(`${root}/etc/containerd/config.toml`, `${node.config}# edited\n`);
    const edited = await eksnode(args(root));
    assert.match(edited.stdout, /\+ file \/etc\/containerd\/config\.toml /, edited.stdout);
    assert.match(edited.stdout, /ami: 37 steps, 1 change in/, edited.stdout);
    assert.equal(await read("/etc/containerd/config.toml"), baked.config);
  } finally {
    await mirror.close();
  }
});
