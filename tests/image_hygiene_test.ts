/**
 * Image hygiene (`eksnode ami --hygiene`, step 38; eks/image/hygiene.ts): a baked tree planted with what a
 * build instance leaves — SSH host keys, a machine id, logs, DHCP leases, keys, caches — fails
 * `eksnode verify` naming each file; the hygiene step removes them (empties the machine id and the
 * audit log in place), keeps everything else, and a second run changes nothing.
 */
import assert from "node:assert/strict";
import { bakeDir } from "./cli_fixtures.ts";
import { eksnode } from "./cli_run.ts";
import { startMirror } from "./fakes/mirror.ts";
import { tempHost } from "./helpers.ts";
import { findLeftovers, matchesComponent } from "../eks/image/hygiene.ts";

/** Leftovers a build instance has, with the content each gets (path → content). */
const LEFTOVERS: Record<string, string> = {
  "/etc/hostname": "ip-10-0-0-1\n",
  "/etc/machine-id": "0123456789abcdef0123456789abcdef\n",
  "/etc/resolv.conf": "nameserver 10.0.0.2\n",
  "/etc/ssh/ssh_host_ed25519_key": "PRIVATE\n",
  "/etc/ssh/ssh_host_ed25519_key.pub": "ssh-ed25519 AAAA\n",
  "/root/.ssh/authorized_keys": "ssh-ed25519 AAAA builder\n",
  "/home/ec2-user/.ssh/authorized_keys": "ssh-ed25519 AAAA builder\n",
  "/var/lib/cloud/instance/user-data.txt": "#!/bin/sh\n",
  "/var/lib/cloud/sem/config_scripts_user": "",
  "/var/lib/dhcp/dhclient.eth0.leases": "lease {}\n",
  "/var/lib/dnf/history.sqlite": "x",
  "/var/cache/dnf/packages.db": "x",
  "/var/cache/apt/archives/awscli_2.deb": "x",
  "/var/log/cloud-init.log": "log\n",
  "/var/log/wtmp": "x",
  "/var/log/audit/audit.log": "type=AVC msg=audit(1.0:1): denied\n",
  "/var/log/audit/audit.log.1": "old\n",
};

/** Files beside the leftovers that must stay. */
const KEEP: Record<string, string> = {
  "/etc/ssh/sshd_config": "PermitRootLogin no\n",
  "/home/ec2-user/.bashrc": "# bashrc\n",
  "/root/.ssh/known_hosts": "host key\n",
  "/var/lib/cloud/scripts/per-boot/keep.sh": "#!/bin/sh\n",
  "/var/cache/apt/archives/partial/.keep": "",
  "/var/log/audit/audit.rules": "-w /etc\n",
};

async function plant(root: string, files: Record<string, string>) {
  for (const [path, text] of Object.entries(files)) {
    await Deno.mkdir(`${root}${path.slice(0, path.lastIndexOf("/"))}`, { recursive: true });
    await Deno.writeTextFile(`${root}${path}`, text, { mode: 0o600 });
  }
}

Deno.test("hygiene: patterns match within one path component only", () => {
  assert.ok(matchesComponent("ssh_host*", "ssh_host_rsa_key"));
  assert.ok(matchesComponent("dhclient.*", "dhclient.eth0.leases"));
  assert.ok(!matchesComponent("dhclient.*", "dhclientXeth0"), "the dot is literal");
  assert.ok(!matchesComponent("*.deb", "x.deb.part"));
  assert.ok(matchesComponent("history*", "history"));
});

Deno.test("hygiene: findLeftovers names every leftover and nothing else; an empty machine id is clean", async () => {
  const host = await tempHost();
  try {
    await plant(host.root, { ...LEFTOVERS, ...KEEP });
    const found = await findLeftovers(host);
    const paths = found.map((l) => l.path).sort();
    assert.deepEqual(paths, [
      "/etc/hostname",
      "/etc/machine-id",
      "/etc/resolv.conf",
      "/etc/ssh/ssh_host_ed25519_key",
      "/etc/ssh/ssh_host_ed25519_key.pub",
      "/home/ec2-user/.ssh/authorized_keys",
      "/root/.ssh/authorized_keys",
      "/var/cache/apt/archives/awscli_2.deb",
      "/var/cache/dnf",
      "/var/lib/cloud/instance",
      "/var/lib/cloud/sem",
      "/var/lib/dhcp/dhclient.eth0.leases",
      "/var/lib/dnf/history.sqlite",
      "/var/log/audit/audit.log",
      "/var/log/audit/audit.log.1",
      "/var/log/cloud-init.log",
      "/var/log/wtmp",
    ]);
    assert.equal(found.find((l) => l.path === "/etc/machine-id")?.action, "empty");
    await Deno.writeTextFile(`${host.root}/etc/machine-id`, "");
    assert.ok(!(await findLeftovers(host)).some((l) => l.path === "/etc/machine-id"));
  } finally {
    await Deno.remove(host.root, { recursive: true });
  }
});

Deno.test("ami --hygiene: verify names the leftovers, step 38 removes them and keeps the rest, rerun is 0 changes", async () => {
  const mirror = await startMirror({});
  try {
    const { dir, args } = await bakeDir(mirror.bakeToml);
    const root = `${dir}/root`;
    const bake = await eksnode(args(root));
    assert.equal(bake.code, 0, bake.stderr);
    assert.match(bake.stdout, /ami: 37 steps,/, "without --hygiene the bake is the 37 steps");

    await plant(root, { ...LEFTOVERS, ...KEEP });
    const dirty = await eksnode(["verify", "--root", root, "--phase", "ami", "--output", "json"]);
    assert.notEqual(dirty.code, 0, dirty.stdout);
    const rows: { group: string; name: string; status: string; detail: string }[] =
      JSON.parse(dirty.stdout).checks;
    const failed = rows.filter((r) => r.group === "hygiene" && r.status === "fail").map((r) => r.name);
    for (const p of ["/etc/ssh/ssh_host_ed25519_key", "/etc/machine-id", "/root/.ssh/authorized_keys"]) {
      assert.ok(failed.includes(p), `verify names ${p}: ${failed.join(", ")}`);
    }
    assert.ok(rows.every((r) => r.group === "hygiene" || r.status !== "fail"), "only the leftovers fail");

    const plan = await eksnode(args(root, "--hygiene", "--dry-run"));
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, /\[38\/38\] Image hygiene/);
    assert.match(plan.stdout, /would remove \/etc\/ssh\/ssh_host_ed25519_key/);
    assert.ok(await Deno.stat(`${root}/etc/ssh/ssh_host_ed25519_key`), "a dry run removes nothing");

    const clean = await eksnode(args(root, "--hygiene"));
    assert.equal(clean.code, 0, clean.stderr);
    for (const p of Object.keys(LEFTOVERS)) {
      if (p === "/etc/machine-id" || p === "/var/log/audit/audit.log") {
        const st = await Deno.stat(`${root}${p}`);
        assert.equal(st.size, 0, `${p} emptied`);
        assert.equal(st.mode! & 0o777, 0o600, `${p} keeps its mode`);
      } else {
        assert.equal(await Deno.stat(`${root}${p}`).catch(() => undefined), undefined, `${p} removed`);
      }
    }
    for (const [p, text] of Object.entries(KEEP)) {
      assert.equal(await Deno.readTextFile(`${root}${p}`), text, p);
    }

    const verify = await eksnode(["verify", "--root", root, "--phase", "ami"]);
    assert.equal(verify.code, 0, verify.stdout);
    const again = await eksnode(args(root, "--hygiene"));
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /ami: 38 steps, 0 changes in/);
  } finally {
    await mirror.close();
  }
});
