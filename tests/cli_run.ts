/** Runs the real CLI (`deno run -A main.ts ...`) from a chosen working directory, as a user would. */

/** Path of main.ts, or of the bundled CLI (tests/bundle_test.ts sets EKSNODE_TEST_MAIN). */
export const MAIN = Deno.env.get("EKSNODE_TEST_MAIN") ?? new URL("../main.ts", import.meta.url).pathname;

/** Output of one CLI run. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The signal that ended the process, if one did (e.g. SIGKILL from the crash hook). */
  signal?: Deno.Signal | null;
}

/** Variables kept when a run is isolated from this process's environment (tools and Deno's cache). */
const KEPT = ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME"];

/**
 * Runs `eksnode ARGS` with extra env, from `cwd` (default: a directory that is not the repo). With
 * `isolated`, the CLI sees only PATH, HOME, Deno's cache and `env` (no AWS settings of this machine).
 */
export async function eksnode(
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string; isolated?: boolean } = {},
): Promise<CliResult> {
  const kept: Record<string, string> = {};
  if (opts.isolated) {
    for (const k of KEPT) {
      const v = Deno.env.get(k);
      if (v !== undefined) kept[k] = v;
    }
  }
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--quiet", MAIN, ...args],
    cwd: opts.cwd ?? "/",
    clearEnv: opts.isolated === true,
    env: { ...kept, NO_COLOR: "1", ...opts.env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
    signal: out.signal,
  };
}

/** Starts `eksnode ARGS` and returns the child (for killing it midway). */
export function spawnEksnode(args: string[], env: Record<string, string> = {}): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--quiet", MAIN, ...args],
    cwd: "/",
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}
