/**
 * `deno task demo`: the main job end to end, offline. Starts the loopback artifact mirror and the
 * simulated instance metadata service (and EKS API), runs `eksnode ami` and then `eksnode init` into
 * a fresh temporary root through the real CLI, runs both again (one line each: the changes they made,
 * none), prints what was written where, and ends with one verdict line.
 */
import { startMirror } from "../fakes/mirror.ts";
import { startDemoCloud } from "../fakes/demo_cloud.ts";

const main = new URL("../main.ts", import.meta.url).pathname;
const root = await Deno.makeTempDir({ prefix: "eksnode-demo-root-" });
const work = await Deno.makeTempDir({ prefix: "eksnode-demo-" });
const mirror = await startMirror({});
const cloud = await startDemoCloud();
const bake = `${work}/bake.toml`;
await Deno.writeTextFile(bake, mirror.bakeToml);

async function eksnode(args: string[], env: Record<string, string> = {}): Promise<void> {
  console.log(`\n$ eksnode ${args.join(" ")}`);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", main, ...args],
    env: { SOURCE_DATE_EPOCH: "1767225600", ...env },
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!out.success) await fail(`eksnode ${args[0]} failed with exit code ${out.code}`, out.code);
}

/**
 * Runs a command again, quietly (its JSON records read, not shown), and prints one line: how many
 * changes it made in how many steps. An idempotent rerun makes none.
 */
async function again(label: string, args: string[], env: Record<string, string> = {}): Promise<number> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", main, ...args, "--output", "json"],
    env: { SOURCE_DATE_EPOCH: "1767225600", ...env },
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) await fail(`eksnode ${args[0]} (again) failed with exit code ${out.code}`, out.code);
  const done = new TextDecoder().decode(out.stdout).split("\n").filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l)).find((r) => r.event === "run.done");
  console.log(`\n$ eksnode ${args.join(" ")}`);
  console.log(`demo: ${label}: ${done.changes} changes in ${done.steps} steps`);
  return done.changes;
}

async function fail(why: string, code: number): Promise<never> {
  await Promise.all([mirror.close(), cloud.close()]);
  console.error(`demo: FAILED: ${why}`);
  Deno.exit(code);
}

let rechanged = 0;
try {
  console.log(
    `demo: artifact mirror ${mirror.url}, instance metadata ${cloud.imdsUrl}, EKS API ${cloud.eksUrl}`,
  );
  console.log(`demo: fresh root ${root}`);
  // Under `deno run` there is no compiled binary for step 1 to install: its plan line says so.
  await eksnode(["ami", "--root", root, "--config", bake]);
  rechanged += await again("second bake", ["ami", "--root", root, "--config", bake]);
  await eksnode(["init", "--root", root], cloud.env);
  rechanged += await again("second boot (the cluster answer is cached, no EKS call)", [
    "init",
    "--root",
    root,
  ], cloud.env);
  await eksnode(["verify", "--root", root]);
} finally {
  await Promise.all([mirror.close(), cloud.close()]);
}

// Summary: what was written where.
const rows: [string, string][] = [];
const walk = async (dir: string, rel: string) => {
  for await (const e of Deno.readDir(dir)) {
    const p = `${rel}/${e.name}`;
    if (e.isDirectory) await walk(`${dir}/${e.name}`, p);
    else {
      const st = await Deno.lstat(`${dir}/${e.name}`);
      rows.push([p, `${((st.mode ?? 0) & 0o7777).toString(8).padStart(4, "0")} ${st.size} B`]);
    }
  }
};
await walk(root, "");
rows.sort(([a], [b]) => a.localeCompare(b));
console.log(`\ndemo: ${rows.length} files written under ${root}:`);
for (const [p, info] of rows) console.log(`  ${p.padEnd(64)} ${info}`);
console.log(`\ndemo: inspect with: ls -laR ${root}   (remove with: rm -rf ${root} ${work})`);
if (rechanged > 0) await fail(`the second bake and boot made ${rechanged} changes; expected none`, 1);
console.log(
  `demo: OK: baked and booted ${rows.length} files offline, verify passed, and the second bake and boot changed nothing`,
);
