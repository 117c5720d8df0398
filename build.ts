/**
 * `deno task build`: compiles eksnode for linux x86_64 and aarch64 into dist/ with a SHA256SUMS file.
 *
 * `deno compile` needs the `denort` runtime for each target. It is normally downloaded; where that is
 * impossible (air-gapped builders, this project's CI), set DENORT_BIN to a denort binary for the target
 * (or DENORT_BIN_X86_64 / DENORT_BIN_AARCH64 for each). Without one, the build stops with a clear
 * message. Usage: deno task build [--target x86_64|aarch64] [--out dist]
 */
import { createHash } from "node:crypto";
import { VERSION } from "./lib/version.ts";
import { CLI_MODULE } from "./main.ts";

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
  // Embed the commit: build_info.json is imported by lib/version.ts; restore it afterwards.
  const infoPath = new URL("./assets/build_info.json", import.meta.url);
  const original = await Deno.readTextFile(infoPath);
  const commit = (await run("git", ["rev-parse", "--short=12", "HEAD"]).catch(() => "unknown")).trim();
  await Deno.writeTextFile(infoPath, JSON.stringify({ commit, builtAt: new Date().toISOString() }) + "\n");
  const sums: string[] = [];
  try {
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
        // main.ts imports the CLI by a computed URL (fast --version): compile must be told to embed it.
        "--include",
        CLI_MODULE,
        "main.ts",
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
