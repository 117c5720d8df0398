/** Runs the real CLI (`deno run -A main.ts ...`) from a chosen working directory, as a user would. */

/** Path of main.ts, or of the bundled CLI (tests/project/bundle_test.ts sets EKSNODE_TEST_MAIN). */
export const MAIN = Deno.env.get("EKSNODE_TEST_MAIN") ?? new URL("../../main.ts", import.meta.url).pathname;

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

/** How long one CLI run may take before it is killed and the test fails (a hang ends as a failure). */
export const CLI_TIMEOUT_MS = 10 * 60_000;

/**
 * Runs `eksnode ARGS` with extra env, from `cwd` (default: a directory that is not the repo). With
 * `isolated`, the CLI sees only PATH, HOME, Deno's cache and `env` (no AWS settings of this machine).
 * A run still going after `timeoutMs` (default {@link CLI_TIMEOUT_MS}) is killed and throws, naming the
 * command and the tail of its output, so a hanging CLI fails its test instead of stalling the suite.
 */
export async function eksnode(
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string; isolated?: boolean; timeoutMs?: number } = {},
): Promise<CliResult> {
  const kept: Record<string, string> = {};
  if (opts.isolated) {
    for (const k of KEPT) {
      const v = Deno.env.get(k);
      if (v !== undefined) kept[k] = v;
    }
  }
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--quiet", MAIN, ...args],
    cwd: opts.cwd ?? "/",
    clearEnv: opts.isolated === true,
    env: { ...kept, NO_COLOR: "1", ...opts.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timeoutMs = opts.timeoutMs ?? CLI_TIMEOUT_MS;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, timeoutMs);
  let out: Deno.CommandOutput;
  try {
    out = await child.output();
  } finally {
    clearTimeout(timer);
  }
  const dec = new TextDecoder();
  const result = {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
    signal: out.signal,
  };
  if (timedOut) {
    throw new Error(
      `eksnode ${args.join(" ")} did not finish within ${timeoutMs / 1000} s (killed); output so far:\n${
        result.stdout.slice(-2000)
      }${result.stderr.slice(-2000)}`,
    );
  }
  return result;
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
