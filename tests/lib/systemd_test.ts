/**
 * lib/systemd.ts enabledByLinks says "enabled" only where `systemctl --root is-enabled` (the real tool)
 * does, on a temp root: enable, disable by removing links, mask, static and missing units, template instances.
 */
import { tempDir } from "../../fakes/temp.ts";
import assert from "node:assert/strict";
import { Host } from "../../lib/host.ts";
import { enabledByLinks, unitFile } from "../../lib/systemd.ts";

const systemctl = await new Deno.Command("systemctl", { args: ["--version"], stdout: "null", stderr: "null" })
  .output().then((o) => o.success, () => false);
if (!systemctl) console.log("systemd_test: systemctl not installed; enabledByLinks not checked against it");

async function isEnabled(root: string, unit: string): Promise<string> {
  const out = await new Deno.Command("systemctl", {
    args: [`--root=${root}`, "is-enabled", unit],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

async function enable(root: string, unit: string): Promise<void> {
  const out = await new Deno.Command("systemctl", {
    args: [`--root=${root}`, "enable", unit],
    stderr: "piped",
  })
    .output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
}

Deno.test({
  name: "enabledByLinks says enabled exactly when systemctl --root is-enabled does",
  ignore: !systemctl,
  async fn() {
    const root = await tempDir({ prefix: "eksnode-systemd-" });
    try {
      const units = `${root}/etc/systemd/system`;
      await Deno.mkdir(units, { recursive: true });
      await Deno.mkdir(`${root}/usr/lib/systemd/system`, { recursive: true });
      const service = (install: string) =>
        `[Unit]\nDescription=t\n\n[Service]\nExecStart=/bin/true\n\n${install}`;
      await Deno.writeTextFile(`${units}/a.service`, service("[Install]\nWantedBy=multi-user.target\n"));
      await Deno.writeTextFile(
        `${root}/usr/lib/systemd/system/b.service`,
        service("[Install]\nWantedBy=multi-user.target\nRequiredBy=c.target\n"),
      );
      await Deno.writeTextFile(`${units}/static.service`, service(""));
      const host = await Host.open(root);
      const check = async (unit: string, expected: boolean) => {
        assert.equal(await enabledByLinks(host, unit), expected, unit);
        assert.equal((await isEnabled(root, unit)) === "enabled", expected, `systemctl on ${unit}`);
      };
      await check("a.service", false);
      await check("b.service", false);
      await check("static.service", false); // systemctl: "static"
      await check("missing.service", false);
      await enable(root, "a.service");
      await enable(root, "b.service");
      await check("a.service", true);
      await check("b.service", true);
      // One of b's two links gone: systemctl still says enabled (any link will do); enabledByLinks is
      // not sure and leaves the answer to systemctl (it never says enabled when systemctl would not).
      await Deno.remove(`${units}/c.target.requires/b.service`);
      assert.equal(await enabledByLinks(host, "b.service"), false);
      assert.equal(await isEnabled(root, "b.service"), "enabled");
      // Masked: the unit file in /etc is a link to /dev/null.
      await Deno.remove(`${units}/a.service`);
      await Deno.symlink("/dev/null", `${units}/a.service`);
      assert.equal(await enabledByLinks(host, "a.service"), false);
      assert.equal(await isEnabled(root, "a.service"), "masked");

      // A template's instances: each enabled by a link named for it (to the template); the bare template
      // is not a unit that can be enabled.
      await Deno.writeTextFile(`${units}/t@.service`, service("[Install]\nWantedBy=multi-user.target\n"));
      await check("t@one.service", false);
      await enable(root, "t@one.service");
      await check("t@one.service", true);
      await check("t@two.service", false);
      assert.equal(await enabledByLinks(host, "t@.service"), false);
      assert.equal(await unitFile(host, "t@one.service"), "/etc/systemd/system/t@.service");
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
