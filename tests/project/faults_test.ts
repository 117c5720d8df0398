/**
 * Every row of docs/failures.md's "Failure behaviour" table, through the real CLI against loopback servers that
 * misbehave on purpose: an artifact source (fakes/faulty_http.ts in front of the mirror), IMDS,
 * the EKS API, and a full disk (a small tmpfs as --root). Each case asserts what a user sees (the one
 * `error:` line), the exit code, and what is left on disk: the old file intact, no target, no temp file,
 * no cache file. The last test keeps the docs/failures.md table and these cases equal, row by row.
 */
import { tempDir } from "../../fakes/temp.ts";
import assert from "node:assert/strict";
import {
  assertFailed,
  bakeDir,
  filesUnder,
  INIT_BAKED,
  type InitRun,
  runInit,
} from "../support/cli_fixtures.ts";
import { type CliResult, eksnode } from "../support/cli_run.ts";
import { deadPort } from "../../fakes/common.ts";
import { type Fault, startFaultyProxy } from "../../fakes/faulty_http.ts";
import { type Mirror, startMirror } from "../../fakes/mirror.ts";
import { sha256 } from "../support/helpers.ts";
import { journalLogPath, journalPath } from "../../lib/journal.ts";

// ---------------------------------------------------------------------------------------------
// The registry of cases: docs/failures.md row → exit code.

/** Fault rows covered below, by their text in docs/failures.md's table, with the exit code they end in. */
const COVERED = new Map<string, number>();

/** Registers a test for one docs/failures.md row. */
function fault(row: string, exit: number, fn: () => Promise<void>, ignore = false): void {
  assert.ok(!COVERED.has(row), `two cases for the row "${row}"`);
  COVERED.set(row, exit);
  Deno.test({ name: `fault: ${row} → exit ${exit}`, ignore, fn });
}

// ---------------------------------------------------------------------------------------------
// Artifact source faults: `eksnode ami --only 22` (kubelet) through a misbehaving proxy of the mirror.

const OLD_KUBELET = "#!/bin/sh\n# the kubelet of an earlier bake\n";
/** The journal of a finished bake; a failed one leaves its run's log (lib/journal.ts). */
const JOURNAL = journalPath("ami");
const JOURNAL_LOG = journalLogPath("ami");
/** A download try ends after this long without a byte (--download-timeout), so slow cases stay short. */
const DOWNLOAD_TIMEOUT = "0.5";
/** MiB of padding in the synthetic kubelet: large enough to cut in the middle. */
const KUBELET_MIB = 0.2;

interface BakeRun {
  run: CliResult;
  root: string;
  mirror: Mirror;
  /** Requests for the kubelet binary. */
  kubeletHits: number;
  kubeletSha256: string;
}

/** Bakes step 22 into a root holding an earlier kubelet, with `fault` on the kubelet download. */
async function bakeKubelet(fault: Fault | undefined, extra: string[] = []): Promise<BakeRun> {
  const mirror = await startMirror({ padMiB: { kubelet: KUBELET_MIB } });
  const path = mirror.artifacts.kubelet.path;
  const proxy = startFaultyProxy(mirror.url, fault ? { [path]: fault } : {});
  try {
    const bake = await bakeDir(mirror.bakeToml.replace(mirror.url, proxy.url));
    const root = `${bake.dir}/root`;
    await Deno.mkdir(`${root}/usr/bin`, { recursive: true });
    await Deno.writeTextFile(`${root}/usr/bin/kubelet`, OLD_KUBELET, { mode: 0o755 });
    const run = await eksnode(
      bake.args(root, "--only", "22", "--download-timeout", DOWNLOAD_TIMEOUT, ...extra),
    );
    return {
      run,
      root,
      mirror,
      kubeletHits: proxy.hits[path] ?? 0,
      kubeletSha256: mirror.artifacts.kubelet.sha256,
    };
  } finally {
    await proxy.close();
    await mirror.close();
  }
}

/** After a failed bake: the earlier kubelet as it was, and no other file but the run's journal log. */
async function assertOldKubeletOnly(root: string): Promise<void> {
  assert.equal(await Deno.readTextFile(`${root}/usr/bin/kubelet`), OLD_KUBELET, "the old kubelet is intact");
  assert.deepEqual(
    await filesUnder(root),
    ["/usr/bin/kubelet", JOURNAL_LOG],
    "no target, temp or cache file",
  );
}

/** After a successful bake: the verified kubelet and nothing else but the runner's journal and hashes. */
async function assertNewKubelet(b: BakeRun): Promise<void> {
  assert.equal(sha256(await Deno.readFile(`${b.root}/usr/bin/kubelet`)), b.kubeletSha256);
  assert.equal(((await Deno.stat(`${b.root}/usr/bin/kubelet`)).mode ?? 0) & 0o777, 0o755);
  assert.deepEqual(
    await filesUnder(b.root),
    ["/usr/bin/kubelet", JOURNAL, "/var/lib/eksnode/journal/verified-hashes.json"],
    "no temp or cache file",
  );
}

fault("artifact source answers 500/503, then the file", 0, async () => {
  const b = await bakeKubelet({ kind: "status", statuses: [503, 500] });
  assert.equal(b.run.code, 0, b.run.stderr);
  assert.equal(b.kubeletHits, 3, "two refusals, then the file");
  assert.match(b.run.stdout, /warning: retrying kubelet \(attempt 2\) in \d+ ms: HTTP 503/);
  assert.match(b.run.stdout, /warning: retrying kubelet \(attempt 3\) in \d+ ms: HTTP 500/);
  await assertNewKubelet(b);
});

fault("artifact source answers 5xx forever", 4, async () => {
  const b = await bakeKubelet({ kind: "statusForever", status: 503 });
  assertFailed(
    b.run,
    4,
    /^error: step 22 \(Install kubelet \(checksum-verified\)\): cannot download kubelet from http:\/\/\S+\/kubelet: HTTP 503 \(5 tries\)$/,
  );
  assert.equal(
    b.kubeletHits,
    5,
    "DOWNLOAD_RETRY: 5 tries in all (the prefetch's error is not retried again)",
  );
  await assertOldKubeletOnly(b.root);
});

fault("artifact body truncated (connection closed early)", 5, async () => {
  const b = await bakeKubelet({ kind: "truncate", at: 1000 });
  assertFailed(
    b.run,
    5,
    new RegExp(
      `kubelet truncated: received 1000 of \\d{6} bytes \\(connection lost: .*\\) \\(5 tries\\)$`,
    ),
  );
  assert.equal(b.kubeletHits, 5);
  await assertOldKubeletOnly(b.root);
});

fault("connection reset mid-body, then the file", 0, async () => {
  const b = await bakeKubelet({ kind: "reset", at: 1000, times: 1 });
  assert.equal(b.run.code, 0, b.run.stderr);
  assert.equal(b.kubeletHits, 2);
  assert.match(b.run.stdout, /retrying kubelet \(attempt 2\).*truncated: received 1000 of/);
  await assertNewKubelet(b);
});

fault("connection reset mid-body, every time", 5, async () => {
  const b = await bakeKubelet({ kind: "reset", at: 1000 });
  assertFailed(
    b.run,
    5,
    /kubelet truncated: received 1000 of \d+ bytes \(connection lost: .*\) \(5 tries\)$/,
  );
  assert.equal(b.kubeletHits, 5);
  await assertOldKubeletOnly(b.root);
});

fault("artifact with the wrong checksum", 5, async () => {
  const b = await bakeKubelet({ kind: "replace", body: new TextEncoder().encode("#!/bin/sh\necho evil\n") });
  const line = assertFailed(
    b.run,
    5,
    /^error: step 22 \(Install kubelet \(checksum-verified\)\): checksum mismatch for \S+\/kubelet: expected sha256 [0-9a-f]{64}, got [0-9a-f]{64} \(20 bytes\)$/,
  );
  assert.ok(line.includes(b.kubeletSha256), "the pinned checksum is named");
  assert.equal(b.kubeletHits, 1, "a mismatch is a verdict, not retried");
  await assertOldKubeletOnly(b.root);
});

fault("artifact body slower than --download-timeout", 4, async () => {
  const b = await bakeKubelet({ kind: "stall", at: 1000 });
  assertFailed(
    b.run,
    4,
    new RegExp(
      `cannot download kubelet from \\S+: no data for ${DOWNLOAD_TIMEOUT}s after 1000 of \\d{6} bytes \\(5 tries\\)$`,
    ),
  );
  assert.equal(b.kubeletHits, 5);
  await assertOldKubeletOnly(b.root);
});

fault("artifact source redirects in a loop", 4, async () => {
  const b = await bakeKubelet({ kind: "redirectLoop" });
  assertFailed(b.run, 4, /cannot download kubelet from \S+: more than 10 redirects \(a redirect loop; /);
  assert.equal(b.kubeletHits, 11, "the first request and 10 redirects, then no retry");
  await assertOldKubeletOnly(b.root);
});

fault("artifact source redirects to plain HTTP", 4, async () => {
  const b = await bakeKubelet({ kind: "redirect", to: "http://mirror.example.com/kubelet" });
  assertFailed(
    b.run,
    4,
    /\/kubelet redirected to http:\/\/mirror\.example\.com\/kubelet: plain HTTP to mirror\.example\.com is refused/,
  );
  assert.equal(b.kubeletHits, 1);
  await assertOldKubeletOnly(b.root);
});

fault("artifact missing from the mirror (404)", 4, async () => {
  const b = await bakeKubelet({ kind: "statusForever", status: 404 });
  assertFailed(b.run, 4, /GET \S+\/kubelet answered HTTP 404$/);
  assert.equal(b.kubeletHits, 1, "a 404 is not retried");
  await assertOldKubeletOnly(b.root);
});

fault("--mirror over plain HTTP, not on loopback", 2, async () => {
  const root = await tempDir({ prefix: "eksnode-fault-" });
  const run = await eksnode([
    "ami",
    "--root",
    root,
    "--mirror",
    "http://mirror.example.com/eks",
    "--dry-run",
  ]);
  assertFailed(
    run,
    2,
    /^error: --mirror http:\/\/mirror\.example\.com\/eks: plain HTTP to mirror\.example\.com is refused/,
  );
  assert.match(run.stderr, /--insecure-mirror/);
  assert.deepEqual(await filesUnder(root), []);
});

// ---------------------------------------------------------------------------------------------
// IMDS and EKS faults: `eksnode init` into a root baked just enough for its 9 steps.

/** Runs init with these faults (see {@link runInit}). */
const initWith = runInit;

/** init wrote nothing: the root holds the baked files only. */
async function assertUntouched(root: string): Promise<void> {
  assert.deepEqual(await filesUnder(root), Object.keys(INIT_BAKED).sort(), "nothing written");
}

/** init joined: kubelet's config and kubeconfig are there. */
async function assertJoined(r: InitRun): Promise<void> {
  assert.equal(r.run.code, 0, `${r.run.stdout}\n${r.run.stderr}`);
  assert.match(r.run.stdout, /^init: 9 steps, \d+ changes in /m);
  const files = await filesUnder(r.root);
  for (const f of ["/etc/kubernetes/kubelet/kubelet-config.json", "/var/lib/kubelet/kubeconfig"]) {
    assert.ok(files.includes(f), `${f} written`);
  }
}

fault("IMDS unreachable", 8, async () => {
  // AWS_METADATA_SERVICE_NUM_ATTEMPTS bounds the wait (about a minute by default).
  const r = await initWith({
    imdsUrl: `http://127.0.0.1:${deadPort()}`,
    env: { AWS_METADATA_SERVICE_NUM_ATTEMPTS: "4" },
  });
  assertFailed(
    r.run,
    8,
    /^error: cannot read instance metadata user-data from http:\/\/127\.0\.0\.1:\d+ \(4 tries\): .*Connection refused/,
  );
  assert.match(r.run.stderr, /^hint: .*AWS_EC2_METADATA_SERVICE_ENDPOINT/m);
  await assertUntouched(r.root);
});

fault("IMDS refuses the token request (PUT /latest/api/token)", 8, async () => {
  const r = await initWith({ imds: { tokenStatus: 403 } });
  assertFailed(
    r.run,
    8,
    /^error: instance metadata token request \(PUT \/latest\/api\/token\) at \S+ answered HTTP 403$/,
  );
  assert.match(r.run.stderr, /^hint: the metadata service is disabled for this instance/m);
  assert.equal(r.imds.calls.gets, 0);
  await assertUntouched(r.root);
});

fault("IMDS token expires mid-run (401)", 0, async () => {
  const r = await initWith({ imds: { tokenLifetimeGets: 3 } });
  await assertJoined(r);
  assert.ok(r.imds.calls.unauthorized >= 1, "GETs with the old token were refused");
  assert.ok(r.imds.calls.tokens >= 2, `a new token was taken (${r.imds.calls.tokens} in all)`);
});

fault("IMDS answers slower than AWS_METADATA_SERVICE_TIMEOUT, then in time", 0, async () => {
  const r = await initWith({
    imds: { delayMs: 1500, delayFirst: 2 },
    env: { AWS_METADATA_SERVICE_TIMEOUT: "0.3" },
  });
  await assertJoined(r);
  // The first two requests (token PUTs) were held 1.5 s; a client that waited for them instead of giving
  // up after 0.3 s would have asked for one token, not three.
  assert.equal(r.imds.calls.delayed, 2);
  assert.equal(r.imds.calls.tokens, 3, "each slow token request was abandoned and asked again");
});

fault("IMDS answers slower than AWS_METADATA_SERVICE_TIMEOUT, every time", 8, async () => {
  const r = await initWith({
    imds: { delayMs: 1000 },
    env: { AWS_METADATA_SERVICE_TIMEOUT: "0.2", AWS_METADATA_SERVICE_NUM_ATTEMPTS: "3" },
  });
  assertFailed(
    r.run,
    8,
    /^error: cannot read instance metadata user-data from \S+ \(3 tries\): timed out after 200 ms$/,
  );
  await assertUntouched(r.root);
});

fault("DescribeCluster throttled, then answers", 0, async () => {
  const r = await initWith({ eks: { throttleFirst: 3 } });
  await assertJoined(r);
  assert.deepEqual(r.eks.calls.map((c) => c.status), [429, 429, 429, 200]);
  // The backoff the CLI announced is the backoff it kept: each retry came at least that long after
  // the refusal (a lower bound, which holds however slow the machine is).
  const waits = [...r.run.stdout.matchAll(/DescribeCluster: ThrottlingException.*; retry (\d) in (\d+) ms/g)]
    .map((m) => Number(m[2]));
  assert.equal(waits.length, 3);
  for (let i = 0; i < waits.length; i++) {
    const gap = r.eks.calls[i + 1].at! - r.eks.calls[i].at!;
    assert.ok(
      gap >= waits[i] - 2,
      `retry ${i + 1} came ${gap.toFixed(0)} ms after, announced ${waits[i]} ms`,
    );
  }
  assert.ok(
    (await filesUnder(r.root)).includes("/var/lib/eksnode/cluster-prod.json"),
    "the answer is cached for the next boot",
  );
});

fault("DescribeCluster throttled past --aws-api-retry-attempts", 9, async () => {
  const r = await initWith({ eks: { throttleFirst: 100 }, args: ["prod", "--aws-api-retry-attempts", "3"] });
  assertFailed(
    r.run,
    9,
    /^error: DescribeCluster for EKS cluster "prod" in us-west-2 \(endpoint \S+\) failed after 3 tries: ThrottlingException, HTTP 429/,
  );
  assert.equal(r.eks.calls.length, 3);
  await assertUntouched(r.root);
});

fault("DescribeCluster denied (AccessDenied)", 9, async () => {
  const r = await initWith({ eks: { failWith: { status: 403, type: "AccessDeniedException" } } });
  assertFailed(
    r.run,
    9,
    /^error: DescribeCluster for EKS cluster "prod" in us-west-2 .* was denied: the credentials lack the permission eks:DescribeCluster \(AccessDeniedException, HTTP 403/,
  );
  assert.equal(r.eks.calls.length, 1, "a denial is not retried");
  await assertUntouched(r.root);
});

fault("DescribeCluster: no such cluster", 9, async () => {
  const r = await initWith({ eks: { clusters: {} } });
  assertFailed(r.run, 9, /^error: EKS cluster "prod" in us-west-2 \(endpoint \S+\) not found$/);
  assert.match(r.run.stderr, /^hint: check the cluster name and the region/m);
  assert.equal(r.eks.calls.length, 1);
  await assertUntouched(r.root);
});

// ---------------------------------------------------------------------------------------------
// Disk full: a small tmpfs as --root.

/** Why the tmpfs case cannot run here, or undefined when it can (root, and mount works). */
async function tmpfsUnavailable(): Promise<string | undefined> {
  if (Deno.build.os !== "linux") return "not Linux";
  if (Deno.uid() !== 0) return "not root (mount -t tmpfs needs it)";
  const probe = await tempDir({ prefix: "eksnode-tmpfs-probe-" });
  try {
    const m = await new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", "size=64k", "tmpfs", probe],
      stderr: "piped",
    })
      .output();
    if (!m.success) return `mount -t tmpfs refused: ${new TextDecoder().decode(m.stderr).trim()}`;
    await new Deno.Command("umount", { args: [probe] }).output();
    return undefined;
  } catch (err) {
    return `mount not available: ${(err as Error).message}`;
  } finally {
    await Deno.remove(probe).catch(() => {});
  }
}

const NO_TMPFS = await tmpfsUnavailable();
if (NO_TMPFS) console.warn(`faults_test: the disk-full case is skipped: ${NO_TMPFS}`);

/** Fills the file system under `path` to the last `leave` bytes (a filler file it returns). */
async function fillDisk(dir: string, leave: number): Promise<string> {
  const filler = `${dir}/filler`;
  const f = await Deno.open(filler, { write: true, create: true });
  const chunk = new Uint8Array(64 * 1024);
  let size = 0;
  try {
    for (;;) size += await f.write(chunk);
  } catch (err) {
    if ((err as { code?: string }).code !== "ENOSPC") throw err;
  } finally {
    f.close();
  }
  await Deno.truncate(filler, Math.max(0, size - leave));
  return filler;
}

fault("disk full under --root", 10, async () => {
  const mount = await tempDir({ prefix: "eksnode-tmpfs-" });
  const mirror = await startMirror({ padMiB: { kubelet: 1 } });
  let mounted = false;
  try {
    const m = await new Deno.Command("mount", { args: ["-t", "tmpfs", "-o", "size=4m", "tmpfs", mount] })
      .output();
    assert.ok(m.success, "mount -t tmpfs");
    mounted = true;
    const root = `${mount}/root`;
    await Deno.mkdir(`${root}/usr/bin`, { recursive: true });
    await Deno.writeTextFile(`${root}/usr/bin/kubelet`, OLD_KUBELET, { mode: 0o755 });
    const bake = await bakeDir(mirror.bakeToml);
    const args = bake.args(root, "--only", "22");
    // Room for the journal and directories, not for a 1 MiB kubelet.
    const filler = await fillDisk(mount, 256 * 1024);

    const run = await eksnode(args);
    assertFailed(
      run,
      10,
      new RegExp(
        `^error: step 22 \\(Install kubelet \\(checksum-verified\\)\\): cannot write /var/cache/eksnode/[0-9a-f]{64}\\.download under ${root}: no space left on the device$`,
      ),
    );
    assert.match(run.stderr, /^hint: free space/m);
    assert.equal(
      await Deno.readTextFile(`${root}/usr/bin/kubelet`),
      OLD_KUBELET,
      "the old kubelet is intact",
    );
    assert.deepEqual(await filesUnder(root), ["/usr/bin/kubelet", JOURNAL_LOG], "no temp or cache file");

    // With room again, the same command completes.
    await Deno.remove(filler);
    const again = await eksnode(args);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(sha256(await Deno.readFile(`${root}/usr/bin/kubelet`)), mirror.artifacts.kubelet.sha256);
  } finally {
    await mirror.close();
    if (mounted) await new Deno.Command("umount", { args: [mount] }).output();
    await Deno.remove(mount, { recursive: true }).catch(() => {});
  }
}, NO_TMPFS !== undefined);

// ---------------------------------------------------------------------------------------------
// docs/failures.md's table and the cases above are the same list.

Deno.test("docs/failures.md's Failure behaviour table has a row for every fault case above, with its exit code", async () => {
  const readme = await Deno.readTextFile(new URL("../../docs/failures.md", import.meta.url));
  const start = readme.indexOf("\n## Failure behaviour");
  assert.ok(start >= 0, "docs/failures.md has a Failure behaviour section");
  const section = readme.slice(start + 1, readme.indexOf("\n## ", start + 1));
  const rows = new Map<string, number>();
  for (const line of section.split("\n")) {
    if (!line.startsWith("| ") || /^[\s|-]+$/.test(line) || line.startsWith("| fault ")) continue;
    const cells = line.split(" | ").map((c) => c.replace(/^\|\s*|\s*\|$/g, "").trim());
    rows.set(cells[0].replaceAll("`", "").replaceAll("\\|", "|"), Number(cells[2]));
  }
  assert.deepEqual(
    [...rows.entries()].sort(),
    [...COVERED.entries()].sort(),
    "docs/failures.md rows (fault → exit) differ from the cases of tests/project/faults_test.ts",
  );
});
