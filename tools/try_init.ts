/**
 * `deno task try-init -- --config my-nodeconfig.yaml [--root DIR] [--dry-run]`: runs `eksnode init` on
 * your own NodeConfig (YAML, JSON or MIME multi-part user data) offline, in the demo's simulated cloud:
 * the file is the instance's user data on a loopback instance metadata service (an m5.large in
 * us-west-2), a loopback EKS API answers DescribeCluster for the cluster it names, and a loopback EC2
 * API names the node. init writes into DIR (a baked tree, e.g. the demo's; when DIR does not exist, or
 * by default in a new temporary directory, just what `eksnode ami` leaves that init reads), never into
 * /; the files it wrote are listed at the end.
 */
import { start as startEc2 } from "../fakes/ec2.ts";
import { clusterJson, start as startEks } from "../fakes/eks.ts";
import { start as startImds } from "../fakes/imds.ts";
import { BAKED } from "../fakes/baked_root.ts";
import { parse as parseYaml } from "yaml";

const USAGE = "usage: deno task try-init -- --config FILE [--root DIR] [--dry-run]";
const main = new URL("../main.ts", import.meta.url).pathname;
// `deno task` runs in the project directory; paths are the user's, relative to where they typed it.
const cwd = Deno.env.get("INIT_CWD") ?? Deno.cwd();
const resolve = (p: string) => p.startsWith("/") ? p : `${cwd}/${p}`;

const args = Deno.args[0] === "--" ? Deno.args.slice(1) : [...Deno.args];
let config: string | undefined;
let root: string | undefined;
let dryRun = false;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--config" && args[i + 1]) config = resolve(args[++i]);
  else if (a.startsWith("--config=")) config = resolve(a.slice("--config=".length));
  else if (a === "--root" && args[i + 1]) root = resolve(args[++i]);
  else if (a === "--dry-run") dryRun = true;
  else if (a === "--help" || a === "-h") {
    console.log(USAGE);
    Deno.exit(0);
  } else {
    console.error(`try-init: unknown argument ${a}\n${USAGE}`);
    Deno.exit(2);
  }
}
if (!config) {
  console.error(`try-init: --config FILE is required\n${USAGE}`);
  Deno.exit(2);
}
let userData: string;
try {
  userData = await Deno.readTextFile(config);
} catch (err) {
  console.error(`try-init: cannot read ${config}: ${(err as Error).message}`);
  Deno.exit(2);
}

/** Runs eksnode; returns its exit code and stdout (shown as it runs unless `quiet`). */
async function eksnode(argv: string[], env: Record<string, string>, quiet = false) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--quiet", main, ...argv],
    env,
    stdout: quiet ? "piped" : "inherit",
    stderr: "inherit",
  }).output();
  return { code: out.code, stdout: quiet ? new TextDecoder().decode(out.stdout) : "" };
}

// The cluster the NodeConfig names, read by eksnode itself (a bad NodeConfig ends here, with its error).
const dumped = await eksnode(
  ["config", "dump", "--config-source", `file://${config}`],
  {},
  true,
);
if (dumped.code !== 0) Deno.exit(dumped.code);
const clusterName: string = parseYaml(dumped.stdout)?.spec?.cluster?.name ?? "my-cluster";

const imds = startImds({ userData });
const eks = startEks({ clusters: { [clusterName]: clusterJson(clusterName) } });
const ec2 = startEc2();
let code = 0;
try {
  const exists = root !== undefined && await Deno.lstat(root).then(() => true, () => false);
  const dir = root ?? await Deno.makeTempDir({ prefix: "eksnode-try-init-" });
  if (!exists) {
    // A new root holds what `eksnode ami` leaves that init reads; an existing one (a baked tree) is used as is.
    for (const [path, text] of Object.entries(BAKED)) {
      await Deno.mkdir(`${dir}${path.slice(0, path.lastIndexOf("/"))}`, { recursive: true });
      await Deno.writeTextFile(`${dir}${path}`, text, { mode: 0o644 });
    }
  }
  console.log(
    `try-init: ${config} as user data of a simulated m5.large in us-west-2 (IMDS ${imds.url}, ` +
      `EKS ${eks.url}, EC2 ${ec2.url}); root ${dir}`,
  );
  const before = new Set(await files(dir));
  const env = {
    AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url,
    AWS_ENDPOINT_URL_EKS: eks.url,
    AWS_ENDPOINT_URL_EC2: ec2.url,
    AWS_REGION: "us-west-2",
    AWS_ACCESS_KEY_ID: "AKIDEXAMPLETRYINIT",
    AWS_SECRET_ACCESS_KEY: "try-init-secret-not-real",
    NO_COLOR: Deno.env.get("NO_COLOR") ?? "",
  };
  code = (await eksnode(["init", "--root", dir, ...(dryRun ? ["--dry-run"] : [])], env)).code;
  if (code === 0 && !dryRun) {
    const made = (await files(dir)).filter((p) => !before.has(p) && !p.startsWith("/var/lib/eksnode/"));
    console.log(`\ntry-init: init wrote ${made.length} files under ${dir}:`);
    for (const p of made) console.log(`  ${p}`);
    console.log(`try-init: inspect them there; remove with: rm -rf ${dir}`);
  }
} finally {
  await Promise.all([imds.close(), eks.close(), ec2.close()]);
}
Deno.exit(code);

/** Every file under `dir`, as in-root paths, sorted. */
async function files(dir: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(`${dir}${rel}`)) {
    const p = `${rel}/${e.name}`;
    if (e.isDirectory) out.push(...await files(dir, p));
    else out.push(p);
  }
  return out.sort();
}
