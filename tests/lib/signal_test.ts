/**
 * SIGINT and SIGTERM through the real CLI: the run stops, in-flight writes and downloads are abandoned
 * with their temp files removed, subprocesses are stopped (SIGTERM, then SIGKILL for one that ignores
 * it), the journal stays unfinished so a rerun resumes, and the exit code is 130 (SIGINT) or 143
 * (SIGTERM) with one error line.
 */
import { tempDir } from "../../fakes/temp.ts";
import assert from "node:assert/strict";
import { eksnode, spawnEksnode } from "../support/cli_run.ts";
import { startMirror } from "../../fakes/mirror.ts";
import { start as startEc2 } from "../../fakes/ec2.ts";
import { start as startImds } from "../../fakes/imds.ts";
import { TEST_CA_PEM } from "../../fakes/node_settings.ts";
import { Host } from "../../lib/host.ts";
import { readJournal } from "../../lib/journal.ts";

const TEMP = /\.eksnode-[0-9a-f]{8}\.tmp$|eksnode-check/;

/** Every path under `root` whose name is a temp name. */
async function tempsUnder(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      if (TEMP.test(e.name)) out.push(`${dir}/${e.name}`.slice(root.length));
      if (e.isDirectory) await walk(`${dir}/${e.name}`);
    }
  };
  await walk(root);
  return out;
}

/** Polls `check` every 50 ms until it returns true (the test runner's timeout bounds a hang). */
async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 50));
}

function alive(pid: number): boolean {
  try {
    // Signal 0 checks existence; a zombie has a /proc entry with state Z.
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/^\d+ \(.*\) Z /.test(stat);
  } catch {
    return false;
  }
}

async function finish(child: Deno.ChildProcess) {
  const out = await child.output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    signal: out.signal,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  };
}

Deno.test("SIGTERM during a download: exit 143, no temp or cache file left, journal unfinished, rerun completes", async () => {
  const slow = await startMirror({ delay: { cniPlugins: 120_000 } });
  const fast = await startMirror({});
  const dir = await tempDir({ prefix: "eksnode-signal-ami-" });
  try {
    await Deno.writeTextFile(`${dir}/bake.toml`, slow.bakeToml);
    await Deno.writeTextFile(`${dir}/self`, "#!/bin/sh\n");
    const root = `${dir}/root`;
    const args = ["ami", "--root", root, "--config", `${dir}/bake.toml`, "--self", `${dir}/self`];
    const child = spawnEksnode(args, { SOURCE_DATE_EPOCH: "1767225600" });
    // The CNI tarball's temp file exists while its (delayed) answer is awaited.
    await until(async () => (await tempsUnder(root).catch(() => [])).some((p) => p.includes(".download.")));
    const host = await Host.open(root);
    await until(async () =>
      ((await readJournal(host, "ami").catch(() => undefined))?.stepsDone ?? []).includes("ami.28")
    );
    child.kill("SIGTERM");
    const r = await finish(child);
    assert.equal(r.signal, null, "the process handled the signal and exited by itself");
    assert.equal(r.code, 143, r.stderr);
    assert.match(
      r.stderr,
      /^error: interrupted by SIGTERM: stopped before finishing; no temp file was left$/m,
    );
    assert.match(r.stderr, /^hint: run the same command again: it resumes/m);
    assert.deepEqual(await tempsUnder(root), []);
    assert.deepEqual([...Deno.readDirSync(`${root}/var/cache/eksnode`)].map((e) => e.name), []);
    assert.equal(await Deno.stat(`${root}/opt/cni/bin/bridge`).catch(() => undefined), undefined);
    assert.equal((await readJournal(host, "ami"))?.finished, false);

    await Deno.writeTextFile(`${dir}/bake.toml`, fast.bakeToml);
    const resumed = await eksnode(args, { env: { SOURCE_DATE_EPOCH: "1767225600" } });
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, /resuming an interrupted ami run/);
    assert.ok(await Deno.stat(`${root}/opt/cni/bin/bridge`));
  } finally {
    await Promise.all([slow.close(), fast.close()]);
    await Deno.remove(dir, { recursive: true });
  }
});

/** A root with what init reads from a baked image, and a fake `systemctl` that blocks (writing its PID). */
async function initSetup(systemctl: string) {
  const dir = await tempDir({ prefix: "eksnode-signal-init-" });
  const root = `${dir}/root`;
  const files: Record<string, string> = {
    "/etc/eks/release": "KUBERNETES_VERSION='1.32.3'\n",
    "/usr/bin/aws-iam-authenticator": "#!/bin/sh\n",
    "/etc/systemd/system/containerd.service": "[Service]\nExecStart=/usr/bin/containerd\n",
  };
  for (const [path, text] of Object.entries(files)) {
    await Deno.mkdir(`${root}${path.slice(0, path.lastIndexOf("/"))}`, { recursive: true });
    await Deno.writeTextFile(`${root}${path}`, text);
  }
  await Deno.mkdir(`${dir}/bin`);
  await Deno.writeTextFile(`${dir}/bin/systemctl`, systemctl.replaceAll("PIDFILE", `${dir}/systemctl.pid`), {
    mode: 0o755,
  });
  const userData = `apiVersion: node.eks.aws/v1alpha1
kind: NodeConfig
spec:
  cluster:
    name: sig
    apiServerEndpoint: https://ABCDEF.gr7.us-west-2.eks.amazonaws.com
    certificateAuthority: ${btoa(TEST_CA_PEM)}
    cidr: 10.100.0.0/16
`;
  const imds = startImds({ userData });
  const ec2 = startEc2();
  const env = {
    PATH: `${dir}/bin:${Deno.env.get("PATH")}`,
    AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url,
    AWS_ENDPOINT_URL_EC2: ec2.url,
    AWS_REGION: "us-west-2",
    AWS_ACCESS_KEY_ID: "AKIDSIGNALTEST",
    AWS_SECRET_ACCESS_KEY: "signal-secret-not-real",
  };
  return { dir, root, imds, ec2, env, pidFile: `${dir}/systemctl.pid` };
}

for (
  const c of [
    {
      signal: "SIGINT" as const,
      code: 130,
      what: "a subprocess stops on SIGTERM",
      systemctl: `#!/bin/sh\necho $$ > PIDFILE.tmp && mv PIDFILE.tmp PIDFILE\nexec sleep 300\n`,
    },
    {
      signal: "SIGTERM" as const,
      code: 143,
      what: "a subprocess that ignores SIGTERM is killed",
      systemctl:
        `#!/bin/sh\ntrap '' TERM INT\necho $$ > PIDFILE.tmp && mv PIDFILE.tmp PIDFILE\nwhile :; do sleep 1; done\n`,
    },
  ]
) {
  Deno.test(`${c.signal} while init waits on a subprocess: ${c.what}, exit ${c.code}, no temp file`, async () => {
    const s = await initSetup(c.systemctl);
    try {
      const child = spawnEksnode(["init", "--root", s.root], s.env);
      await until(async () => (await Deno.readTextFile(s.pidFile).catch(() => "")).trim() !== "");
      const pid = Number((await Deno.readTextFile(s.pidFile)).trim());
      assert.ok(alive(pid), "the fake systemctl runs");
      child.kill(c.signal);
      const r = await finish(child);
      assert.equal(r.signal, null, "the process handled the signal and exited by itself");
      assert.equal(r.code, c.code, r.stderr);
      assert.match(r.stderr, new RegExp(`^error: interrupted by ${c.signal}`, "m"));
      assert.doesNotMatch(
        r.stderr,
        /exited with code/,
        "the stopped subprocess is not reported as a failure",
      );
      await until(() => Promise.resolve(!alive(pid)));
      assert.deepEqual(await tempsUnder(s.root), []);
      const journal = (await readJournal(await Host.open(s.root), "init"))!;
      assert.equal(journal.finished, false);
      assert.ok(journal.stepsDone.includes("init.8") && !journal.stepsDone.includes("init.9"));
    } finally {
      await Promise.all([s.imds.close(), s.ec2.close()]);
      await Deno.remove(s.dir, { recursive: true });
    }
  });
}
