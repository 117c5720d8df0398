/**
 * Crash consistency, through the real CLI. `eksnode ami` and `eksnode init` are killed with a real
 * SIGKILL at seeded points of their run (the host's crash hook, lib/host.ts `crashPoint`: every place
 * where the disk is about to change or has just changed is numbered, and EKSNODE_TEST_CRASH_AT=N kills
 * the process there), then run again; the final tree must equal the tree of one clean run: content,
 * modes and owners of every file, directory and symlink (timestamp fields excepted), no temp file
 * anywhere (not under the root, not in TMPDIR), a finished journal, and a further run changes nothing.
 * Some points crash the rerun too, before it finishes.
 *
 * EKSNODE_CRASH_POINTS (default 20; `all` = every point; `at:5,49` = those points, to reproduce a
 * failure; `match:REGEX` = the points whose label matches) and EKSNODE_CRASH_SEED (default 8) choose the points; `deno task test:crash` kills at every
 * point of both commands.
 */
import { tempDir } from "../../fakes/temp.ts";
import assert from "node:assert/strict";
import { eksnode } from "../support/cli_run.ts";
import { type Mirror, startMirror } from "../../fakes/mirror.ts";
import { clusterJson, start as startEks } from "../../fakes/eks.ts";
import { start as startImds } from "../../fakes/imds.ts";
import { start as startEc2 } from "../../fakes/ec2.ts";
import { TEST_CA_PEM } from "../../fakes/node_settings.ts";
import { octalMode, sha256, walkTree } from "../support/helpers.ts";
import { HASH_CACHE_PATH } from "../../lib/hash_cache.ts";

const POINTS = Deno.env.get("EKSNODE_CRASH_POINTS") ?? "20";
const SEED = Number(Deno.env.get("EKSNODE_CRASH_SEED") ?? "8");

/** mulberry32: a small seeded PRNG, so the chosen points are the same on every run with one seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` points out of 1..total, one drawn from each of `count` equal slices (all when `count` ≥ total). */
export function choosePoints(total: number, count: number, random: () => number): number[] {
  if (count >= total) return Array.from({ length: total }, (_, i) => i + 1);
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const lo = Math.floor((i * total) / count) + 1;
    const hi = Math.floor(((i + 1) * total) / count);
    out.push(lo + Math.floor(random() * (hi - lo + 1)));
  }
  return out;
}

const TEMP_NAME = /\.eksnode-[0-9a-f]{8}\.tmp$|eksnode-check/;
/** The runner's journal and the remembered hashes beside it: runner state with run ids and file identities. */
const JOURNAL = /^\/var\/lib\/eksnode\/journal\//;

/** Every entry under `root`: type, mode, owner, content hash or link target; `normalize` edits content. */
async function tree(
  root: string,
  normalize: (path: string, text: string) => string = (_p, t) => t,
): Promise<{ entries: Record<string, string>; temps: string[]; journals: Record<string, unknown> }> {
  const entries: Record<string, string> = {};
  const temps: string[] = [];
  const journals: Record<string, unknown> = {};
  for await (const { path: p, full, info: st } of walkTree(root)) {
    if (TEMP_NAME.test(p.slice(p.lastIndexOf("/") + 1))) temps.push(p);
    const attrs = `${octalMode(st)} ${st.uid}:${st.gid}`;
    // A cache of file identities (inode, times) and their hashes (lib/hash_cache.ts): it differs from tree
    // to tree by nature, and whether a run had anything to remember depends on what earlier runs did.
    if (p === HASH_CACHE_PATH) continue;
    if (JOURNAL.test(p)) {
      journals[p] = JSON.parse(await Deno.readTextFile(full));
      entries[p] = `journal ${attrs}`;
    } else if (st.isSymlink) entries[p] = `link -> ${await Deno.readLink(full)}`;
    else if (st.isDirectory) entries[p] = `dir ${attrs}`;
    else {
      const bytes = await Deno.readFile(full);
      const text = new TextDecoder().decode(bytes);
      const norm = normalize(p, text);
      entries[p] = `file ${attrs} ${sha256(norm === text ? bytes : norm).slice(0, 16)}`;
    }
  }
  return { entries: Object.fromEntries(Object.entries(entries).sort()), temps: temps.sort(), journals };
}

/** What a scenario provides: how to prepare a root, the CLI arguments and environment. */
interface Scenario {
  name: string;
  prepare(root: string): Promise<void>;
  args(root: string): string[];
  env: Record<string, string>;
  normalize?: (path: string, text: string) => string;
}

async function runScenario(s: Scenario): Promise<void> {
  const work = await tempDir({ prefix: `eksnode-crash-${s.name}-` });
  const tmpdir = `${work}/tmp`;
  await Deno.mkdir(tmpdir);
  const env = { ...s.env, TMPDIR: tmpdir };
  let n = 0;
  const freshRoot = async () => {
    const root = `${work}/root-${++n}`;
    await s.prepare(root);
    return root;
  };
  try {
    // One clean run: the reference tree and the numbered crash points.
    const clean = await freshRoot();
    const log = `${work}/points.log`;
    const first = await eksnode(s.args(clean), { env: { ...env, EKSNODE_TEST_CRASH_LOG: log } });
    assert.equal(first.code, 0, first.stderr);
    const labels = (await Deno.readTextFile(log)).trim().split("\n");
    const reference = await tree(clean, s.normalize);
    assert.deepEqual(reference.temps, [], "the clean run left temp files");
    const total = labels.length;
    const random = prng(SEED);
    // A point is a line of the clean run's log; the kill is at the same occurrence of its label (plain
    // numbers can shift between runs, as parallel downloads finish in another order).
    const points = POINTS.startsWith("at:")
      ? POINTS.slice(3).split(",").map(Number)
      : POINTS.startsWith("match:")
      ? labels.flatMap((l, i) => (new RegExp(POINTS.slice(6)).test(l) ? [i + 1] : []))
      : choosePoints(total, POINTS === "all" ? total : Number(POINTS), random);
    console.log(`${s.name}: ${total} crash points (seed ${SEED}); killing at:`);
    for (const at of points) console.log(`  ${labels[at - 1]}`);

    for (const [i, at] of points.entries()) {
      let root = await freshRoot();
      const label = labels[at - 1];
      const text = label.slice(label.indexOf(" ") + 1);
      // "The 3rd write of the journal": the same point in this run whatever the order of parallel work.
      const occurrence = labels.slice(0, at).filter((l) => l.slice(l.indexOf(" ") + 1) === text).length;
      let killed = await eksnode(s.args(root), {
        env: { ...env, EKSNODE_TEST_CRASH_AT: `${occurrence}@${text}` },
      });
      if (killed.code === 0 && killed.signal === null) {
        // Parallel work met this point fewer times in this run (e.g. two downloads creating one directory
        // at once): kill at the point's number instead.
        root = await freshRoot();
        killed = await eksnode(s.args(root), { env: { ...env, EKSNODE_TEST_CRASH_AT: String(at) } });
      }
      assert.equal(killed.signal, "SIGKILL", `point ${label}: the run was not killed (exit ${killed.code})`);
      // Every fourth point: crash the rerun as well, part-way through its own points.
      if (i % 4 === 3) {
        const again = String(1 + Math.floor(random() * Math.max(1, total - at)));
        const second = await eksnode(s.args(root), { env: { ...env, EKSNODE_TEST_CRASH_AT: again } });
        assert.ok(
          second.signal === "SIGKILL" || second.code === 0,
          `point ${label}, then ${again}: ${second.stderr}`,
        );
      }
      const resumed = await eksnode(s.args(root), { env });
      assert.equal(resumed.code, 0, `after a kill at ${label}: ${resumed.stderr}`);
      const got = await tree(root, s.normalize);
      assert.deepEqual(got.temps, [], `after a kill at ${label}: temp files left`);
      assert.deepEqual(got.entries, reference.entries, `after a kill at ${label}: the tree differs`);
      for (const [path, journal] of Object.entries(got.journals)) {
        if (!/\/(ami|init)\.json$/.test(path)) continue; // e.g. the remembered hashes of lib/hash_cache.ts
        assert.equal((journal as { finished: boolean }).finished, true, `${path} unfinished after ${label}`);
      }
      const settled = await eksnode(s.args(root), { env });
      assert.equal(settled.code, 0, settled.stderr);
      assert.match(
        settled.stdout,
        / 0 changes in /,
        `a run after the resumed one (kill at ${label}) changed something`,
      );
      await Deno.remove(root, { recursive: true });
    }
    assert.deepEqual([...Deno.readDirSync(tmpdir)].map((e) => e.name), [], "temp files in TMPDIR");
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

/** A bake config and stand-in binary for `eksnode ami` from the loopback mirror. */
async function amiScenario(mirror: Mirror): Promise<Scenario & { dir: string }> {
  const dir = await tempDir({ prefix: "eksnode-crash-bake-" });
  await Deno.writeTextFile(`${dir}/bake.toml`, mirror.bakeToml);
  await Deno.writeTextFile(`${dir}/eksnode-binary`, "#!/bin/sh\n# stand-in eksnode binary for tests\n");
  return {
    dir,
    name: "ami",
    prepare: (root) => Deno.mkdir(root),
    args: (
      root,
    ) => ["ami", "--root", root, "--config", `${dir}/bake.toml`, "--self", `${dir}/eksnode-binary`],
    env: { SOURCE_DATE_EPOCH: "1767225600" },
  };
}

Deno.test("crash: eksnode ami killed with SIGKILL at seeded points, rerun, ends in the clean run's tree", async () => {
  const mirror = await startMirror({});
  const ami = await amiScenario(mirror);
  try {
    await runScenario(ami);
  } finally {
    await mirror.close();
    await Deno.remove(ami.dir, { recursive: true });
  }
});

Deno.test("crash: eksnode init killed with SIGKILL at seeded points, rerun, ends in the clean run's tree", async () => {
  // init runs on a baked image: bake one tree once, copy it for every run.
  const mirror = await startMirror({});
  const ami = await amiScenario(mirror);
  const baked = await tempDir({ prefix: "eksnode-crash-baked-" });
  const bake = await eksnode(ami.args(baked), { env: ami.env });
  await mirror.close();
  await Deno.remove(ami.dir, { recursive: true });
  assert.equal(bake.code, 0, bake.stderr);
  // NodeConfig without endpoint and CA: init calls DescribeCluster and caches the answer on the root.
  const userData = `apiVersion: node.eks.aws/v1alpha1
kind: NodeConfig
spec:
  cluster:
    name: crash-cluster
    cidr: 10.100.0.0/16
  kubelet:
    flags: ["--node-labels=team=crash"]
  instance:
    environment: { HTTP_PROXY: "http://proxy:3128" }
`;
  const imds = startImds({ userData });
  const eks = startEks({
    clusters: {
      "crash-cluster": clusterJson("crash-cluster", { certificateAuthority: { data: btoa(TEST_CA_PEM) } }),
    },
  });
  const ec2 = startEc2({});
  try {
    await runScenario({
      name: "init",
      prepare: async (root) => {
        const cp = await new Deno.Command("cp", { args: ["-a", baked, root] }).output();
        assert.equal(cp.code, 0, new TextDecoder().decode(cp.stderr));
      },
      args: (root) => ["init", "--root", root],
      env: {
        AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url,
        AWS_ENDPOINT_URL_EKS: eks.url,
        AWS_ENDPOINT_URL_EC2: ec2.url,
        AWS_REGION: "us-west-2",
        AWS_ACCESS_KEY_ID: "AKIDCRASHTEST",
        AWS_SECRET_ACCESS_KEY: "crash-test-secret-not-real",
        EKSNODE_FIPS: "false",
        EKSNODE_PREFIX_DELEGATION: "false",
      },
      // The DescribeCluster cache records when it was fetched.
      normalize: (path, text) =>
        path.startsWith("/var/lib/eksnode/cluster-")
          ? text.replace(/"fetchedAt": "[^"]+"/, '"fetchedAt": "<T>"')
          : text,
    });
  } finally {
    await Promise.all([imds.close(), eks.close(), ec2.close()]);
    await Deno.remove(baked, { recursive: true });
  }
});
