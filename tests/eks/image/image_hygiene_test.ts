/**
 * Image hygiene (`eksnode ami --hygiene`, step 38; eks/image/hygiene.ts): a baked tree planted with what a
 * build instance leaves — SSH host keys, a machine id, logs, DHCP leases, keys, caches — fails
 * `eksnode verify` naming each file; the hygiene step removes them (empties the machine id and the
 * audit log in place), keeps everything else, and a second run changes nothing.
 */
import assert from "node:assert/strict";
import { bakeDir } from "../../support/cli_fixtures.ts";
import { eksnode } from "../../support/cli_run.ts";
import { startMirror } from "../../../fakes/mirror.ts";
import { onPath, tempHost } from "../../support/helpers.ts";
import {
  DISTRO_SSH_KEYGEN_UNIT,
  findLeftovers,
  matchesComponent,
  renderSshKeygenUnit,
  SSH_KEYGEN_UNIT,
  SSHD,
} from "../../../eks/image/hygiene.ts";

/** Leftovers a build instance has, with the content each gets (path → content). */
const LEFTOVERS: Record<string, string> = {
  "/etc/hostname": "ip-10-0-0-1\n",
  "/etc/machine-id": "0123456789abcdef0123456789abcdef\n",
  "/var/lib/dbus/machine-id": "0123456789abcdef0123456789abcdef\n",
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
      "/var/lib/dbus/machine-id",
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

Deno.test("ami --hygiene: an sshd without sshd-keygen@.service gets eksnode-ssh-host-keys.service, enabled and verified", async () => {
  const mirror = await startMirror({});
  try {
    const { dir, args } = await bakeDir(mirror.bakeToml);
    const root = `${dir}/root`;
    assert.equal((await eksnode(args(root))).code, 0);
    // Debian's openssh-server: sshd and keys from its postinst, no unit that makes them at boot.
    await plant(root, { [SSHD]: "#!/bin/sh\n", "/etc/ssh/ssh_host_ed25519_key": "PRIVATE\n" });
    const plan = await eksnode(args(root, "--hygiene", "--dry-run"));
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, new RegExp(`would file /etc/systemd/system/${SSH_KEYGEN_UNIT} 0644`));

    const clean = await eksnode(args(root, "--hygiene"));
    assert.equal(clean.code, 0, clean.stderr);
    assert.equal(
      await Deno.readTextFile(`${root}/etc/systemd/system/${SSH_KEYGEN_UNIT}`),
      renderSshKeygenUnit(),
    );
    assert.ok(
      (await Deno.lstat(`${root}/etc/systemd/system/multi-user.target.wants/${SSH_KEYGEN_UNIT}`)).isSymlink,
      "enabled",
    );
    if (onPath("systemd-analyze")) {
      assert.match(clean.stdout, new RegExp(`systemd-analyze verify ${SSH_KEYGEN_UNIT}`));
    }
    const rows = async () => {
      const r = await eksnode(["verify", "--root", root, "--phase", "ami", "--output", "json"]);
      return {
        code: r.code,
        row: JSON.parse(r.stdout).checks.find((c: { name: string }) => c.name === SSH_KEYGEN_UNIT),
      };
    };
    const ok = await rows();
    assert.equal(ok.code, 0);
    assert.equal(ok.row?.status, "ok");
    assert.match((await eksnode(args(root, "--hygiene"))).stdout, /ami: 38 steps, 0 changes in/);

    // Not enabled: a node from this image would boot an sshd without host keys. verify names the unit.
    await Deno.remove(`${root}/etc/systemd/system/multi-user.target.wants/${SSH_KEYGEN_UNIT}`);
    const bad = await rows();
    assert.notEqual(bad.code, 0);
    assert.equal(bad.row?.status, "fail");
    assert.match(bad.row?.detail, /makes no host keys at boot/);

    // AL2023's openssh-server makes its keys itself (sshd-keygen@.service): nothing added, nothing checked.
    await Deno.remove(`${root}/etc/systemd/system/${SSH_KEYGEN_UNIT}`);
    await plant(root, { [`/usr/lib/systemd/system/${DISTRO_SSH_KEYGEN_UNIT}`]: "[Service]\nType=oneshot\n" });
    const al2023 = await eksnode(args(root, "--hygiene"));
    assert.equal(al2023.code, 0, al2023.stderr);
    assert.doesNotMatch(al2023.stdout, new RegExp(SSH_KEYGEN_UNIT));
    assert.equal((await rows()).row, undefined);
  } finally {
    await mirror.close();
  }
});
