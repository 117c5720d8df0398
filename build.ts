/**
 * `deno task build`: compiles eksnode for linux x86_64 and aarch64 into dist/ with a SHA256SUMS file.
 *
 * Two stages: `deno bundle --code-splitting` turns cli/bundle_main.ts and everything it imports (the
 * npm packages too, CommonJS ones converted) into plain JavaScript modules in `<out>/bundle/`, and
 * `deno compile` embeds that bundle. `deno task bundle` runs the first stage alone (no denort needed):
 * tests/project/bundle_test.ts runs the CLI tests against it, and bench/ measures it as the released form.
 *
 * `deno compile` needs the `denort` runtime for each target. It is normally downloaded; where that is
 * impossible (air-gapped builders, this project's CI), set DENORT_BIN to a denort binary for the target
 * (or DENORT_BIN_X86_64 / DENORT_BIN_AARCH64 for each). Without one, the build stops with a clear
 * message. Usage: deno task build [--target x86_64|aarch64] [--out dist] [--bundle-only]
 */
import { createHash } from "node:crypto";
import { VERSION } from "./cli/version.ts";
import { BUNDLED_CLI } from "./cli/bundle_main.ts";

const TARGETS = {
  x86_64: "x86_64-unknown-linux-gnu",
  aarch64: "aarch64-unknown-linux-gnu",
} as const;
type Arch = keyof typeof TARGETS;

function arg(name: string): string | undefined {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}

async function run(cmd: string, args: string[], env?: Record<string, string>): Promise<string> {
  const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed:\n${text.trim().split("\n").slice(-8).join("\n")}`);
  }
  return text;
}

/** The entry point that is bundled and compiled, and the CLI it imports by a computed URL. */
const ENTRY = new URL("./cli/bundle_main.ts", import.meta.url).pathname;
const CLI = new URL("./cli/program.ts", import.meta.url).pathname;

/**
 * Bundles the CLI into `dir` (emptied first) and returns the entry module's path. The chunks hold
 * what each command loads when it runs, so a command still loads only its own code.
 */
export async function bundle(dir: string): Promise<string> {
  await Deno.remove(dir, { recursive: true }).catch((err) => {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  });
  await run(Deno.execPath(), [
    "bundle",
    "--quiet",
    "--platform",
    "deno",
    "--code-splitting",
    // Optional plug-ins of @cyclonedx/cyclonedx-library (XML output and validation) that the SBOM step
    // never loads (it writes JSON); they are not dependencies, so the bundler cannot resolve them.
    "--external",
    "xmlbuilder2",
    "--external",
    "libxmljs2",
    "--outdir",
    dir,
    ENTRY,
    CLI,
  ]);
  const entry = `${dir}/bundle_main.js`;
  await Deno.stat(entry);
  await Deno.stat(`${dir}/${BUNDLED_CLI}`);
  await dropRuntimeSideEffectImports(dir);
  return entry;
}

/**
 * esbuild puts its CommonJS helpers in one chunk that creates a `require` from `node:module` when it
 * is evaluated, and imports that chunk for its side effects from almost every chunk, the entry
 * included. Loading `node:module` starts Deno's Node layer (bench/startup_bench.ts: `--version` went
 * from 1.2x to 2.9x of an empty script). The helpers have no other side effect and every chunk that
 * uses one imports it by name, so the bare `import "./chunk.js";` lines are removed: the chunk is then
 * evaluated exactly when a CommonJS package is loaded.
 */
async function dropRuntimeSideEffectImports(dir: string): Promise<void> {
  const texts = new Map<string, string>();
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && e.name.endsWith(".js")) texts.set(e.name, await Deno.readTextFile(`${dir}/${e.name}`));
  }
  const runtimes = [...texts].filter(([, text]) =>
    text.includes("__deno_internal_createRequire(import.meta.url)")
  );
  if (runtimes.length > 1) {
    throw new Error(`bundle: two chunks create a require (${runtimes.map(([name]) => name).join(", ")})`);
  }
  if (runtimes.length === 0) return;
  const bare = `import "./${runtimes[0][0]}";\n`;
  for (const [name, text] of texts) {
    if (text.includes(bare)) await Deno.writeTextFile(`${dir}/${name}`, text.replaceAll(bare, ""));
  }
}

/** The denort binary for a target, or undefined. */
function denortFor(arch: Arch): string | undefined {
  return Deno.env.get(`DENORT_BIN_${arch.toUpperCase()}`) ?? Deno.env.get("DENORT_BIN");
}

async function main(): Promise<number> {
  const out = arg("--out") ?? "dist";
  const only = arg("--target") as Arch | undefined;
  if (only && !(only in TARGETS)) {
    console.error(`error: --target must be x86_64 or aarch64, got ${only}`);
    return 2;
  }
  if (Deno.args.includes("--bundle-only")) {
    console.log(`bundled ${await bundle(`${out}/bundle`)}`);
    return 0;
  }
  const archs = only ? [only] : (Object.keys(TARGETS) as Arch[]);
  const missing = archs.filter((a) => !denortFor(a));
  if (missing.length) {
    console.error(
      `error: no denort runtime for ${
        missing.join(", ")
      }: deno compile needs it and it cannot be downloaded here.\n` +
        `hint: download denort-${
          TARGETS[missing[0]]
        }.zip for Deno ${Deno.version.deno} from the Deno releases ` +
        `(on a machine with access), unzip it, and set DENORT_BIN=/path/to/denort ` +
        `(or DENORT_BIN_X86_64 / DENORT_BIN_AARCH64), or build one target with --target.`,
    );
    return 3;
  }
  await Deno.mkdir(out, { recursive: true });
  // Embed the commit: build_info.json is imported by cli/version.ts; restore it afterwards.
  const infoPath = new URL("./assets/build_info.json", import.meta.url);
  const original = await Deno.readTextFile(infoPath);
  const commit = (await run("git", ["rev-parse", "--short=12", "HEAD"]).catch(() => "unknown")).trim();
  await Deno.writeTextFile(infoPath, JSON.stringify({ commit, builtAt: new Date().toISOString() }) + "\n");
  const sums: string[] = [];
  try {
    const entry = await bundle(`${out}/bundle`);
    for (const arch of archs) {
      const file = `${out}/eksnode-linux-${arch}`;
      console.log(`compiling ${file} (${TARGETS[arch]}, eksnode ${VERSION}, commit ${commit})`);
      await run(Deno.execPath(), [
        "compile",
        "--allow-all",
        "--no-check",
        "--target",
        TARGETS[arch],
        "--output",
        file,
        // The entry imports the CLI chunk by a computed URL (fast start-up, see cli/bundle_main.ts):
        // the whole bundle directory is embedded.
        "--include",
        `${out}/bundle`,
        entry,
      ], { DENORT_BIN: denortFor(arch)! });
      const hash = createHash("sha256");
      for await (const chunk of (await Deno.open(file)).readable) hash.update(chunk);
      sums.push(`${hash.digest("hex")}  ${file.split("/").pop()}`);
    }
  } finally {
    await Deno.writeTextFile(infoPath, original);
  }
  await Deno.writeTextFile(`${out}/SHA256SUMS`, sums.join("\n") + "\n");
  console.log(`wrote ${out}/SHA256SUMS:\n${sums.join("\n")}`);
  return 0;
}

if (import.meta.main) Deno.exit(await main());
