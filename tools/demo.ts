/**
 * `deno task demo`: the main job end to end, offline. Starts the loopback artifact mirror and the
 * simulated instance metadata service (and EKS API), runs `eksnode ami` and then `eksnode init` into
 * a fresh temporary root through the real CLI, and prints a short summary of what was written where.
 */
import { startMirror } from "../tests/fakes/mirror.ts";
import { startDemoCloud } from "../tests/fakes/demo_cloud.ts";

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
  if (!out.success) {
    await Promise.all([mirror.close(), cloud.close()]);
    console.error(`demo: eksnode ${args[0]} failed with exit code ${out.code}`);
    Deno.exit(out.code);
  }
}

try {
  console.log(
    `demo: artifact mirror ${mirror.url}, instance metadata ${cloud.imdsUrl}, EKS API ${cloud.eksUrl}`,
  );
  console.log(`demo: fresh root ${root}`);
  // Under `deno run` there is no compiled binary for step 1 to install: its plan line says so.
  await eksnode(["ami", "--root", root, "--config", bake]);
  console.log("\ndemo: baking again changes nothing:");
  await eksnode(["ami", "--root", root, "--config", bake]);
  await eksnode(["init", "--root", root], cloud.env);
  console.log("\ndemo: booting again changes nothing (the cluster answer is cached, no EKS call):");
  await eksnode(["init", "--root", root], cloud.env);
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
