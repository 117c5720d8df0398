/**
 * Subprocesses of the {@link Host}: argv arrays (never a shell string), a timeout, output captured, a
 * non-zero exit thrown as a {@link CommandError} with the tail of stderr; lookups on the host's PATH;
 * the kernel release; and work that a stop signal abandons.
 */
import { join } from "node:path";
import { CommandError } from "../errors.ts";
import { interruptSignal, throwIfInterrupted, trackChild, untrackChild } from "../interrupt.ts";
import type { ExecOptions, ExecResult } from "./types.ts";

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

/** What a command needs of the host that runs it. */
export interface CommandHooks {
  /** Waits until the durable log lines announced so far are on disk (a command may change the system). */
  landing(): Promise<void>;
  /** The crash-test hook (lib/host/crash.ts). */
  crashPoint(label: string): void;
  /** Finds a bare command name on the host's PATH. */
  which(command: string): Promise<string | undefined>;
}

/**
 * The running kernel's release, as `uname -r` prints it ("unknown" when it cannot be read).
 * `EKSNODE_KERNEL_RELEASE` in the environment takes its place: in a chroot builder the running kernel
 * is the builder's, not the image's, and the tests use it to run as on a machine with another kernel.
 */
export function kernelRelease(env: Readonly<Record<string, string | undefined>>): string {
  const given = env.EKSNODE_KERNEL_RELEASE?.trim();
  if (given) return given;
  try {
    return Deno.osRelease();
  } catch {
    return "unknown";
  }
}

/** Finds an executable on PATH of the running system (not under the root). */
export async function which(
  env: Readonly<Record<string, string | undefined>>,
  command: string,
): Promise<string | undefined> {
  for (
    const dir of (env.PATH ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin").split(
      ":",
    )
  ) {
    if (!dir) continue;
    const candidate = join(dir, command);
    try {
      const s = await Deno.stat(candidate);
      if (s.isFile && ((s.mode ?? 0) & 0o111)) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Runs a command from an argv array (never a shell string), with a timeout and captured output.
 * A non-zero exit throws a {@link CommandError} naming the command and the tail of its stderr.
 */
export async function runCommand(
  argv: string[],
  opts: ExecOptions,
  host: CommandHooks,
): Promise<ExecResult> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const shown = redact(argv.join(" "), opts.redact);
  throwIfInterrupted();
  await host.landing();
  host.crashPoint(`exec ${argv[0]}`);
  // A bare command name is looked up on the host's PATH (the injectable environment), like a shell would.
  const program = argv[0].includes("/") ? argv[0] : (await host.which(argv[0])) ?? argv[0];
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(program, {
      args: argv.slice(1),
      stdin: opts.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
      // Messages in English whatever the node's locale: eksnode reads what the tools say (systemd-analyze
      // "No such file or directory", modprobe, getent), and its own errors quote it. The caller may override.
      env: { LC_ALL: "C", ...opts.env },
      clearEnv: false,
    }).spawn();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new CommandError(
        `command not found: ${argv[0]} (running: ${shown})`,
        `install ${argv[0]}`,
        err,
      );
    }
    throw new CommandError(`cannot start ${shown}: ${(err as Error).message}`, undefined, err);
  }
  trackChild(child);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, timeoutMs);
  try {
    if (opts.stdin !== undefined) {
      const w = child.stdin.getWriter();
      await w.write(textEncoder.encode(opts.stdin)).catch(() => {});
      await w.close().catch(() => {});
    }
    const out = await child.output();
    untrackChild(child);
    host.crashPoint(`exec-done ${argv[0]}`);
    // Stopped by SIGINT/SIGTERM (the signal went to the child too): say so, not "exited with 143".
    throwIfInterrupted();
    const result = {
      code: out.code,
      stdout: textDecoder.decode(out.stdout),
      stderr: textDecoder.decode(out.stderr),
    };
    if (timedOut) {
      throw new CommandError(
        `${shown} timed out after ${timeoutMs / 1000}s`,
        "the command hung; see its logs",
      );
    }
    if (result.code !== 0 && !opts.allowFailure) {
      const tail = redact(tailLines(result.stderr || result.stdout, 5), opts.redact);
      throw new CommandError(`${shown} exited with code ${result.code}${tail ? `: ${tail}` : ""}`);
    }
    return result;
  } finally {
    clearTimeout(timer);
    untrackChild(child);
  }
}

/**
 * Settles with `work`, or rejects with the stop signal's {@link InterruptedError} as soon as one
 * arrives (the abandoned work's own failure is then ignored).
 */
export function abortable<T>(work: Promise<T>): Promise<T> {
  const signal = interruptSignal();
  if (signal.aborted) {
    work.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      work.catch(() => {});
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** The last `n` non-empty lines of a text, joined with " | ". */
export function tailLines(text: string, n: number): string {
  return text.split("\n").map((l) => l.trim()).filter(Boolean).slice(-n).join(" | ");
}

/** `text` with every secret replaced by `***`. */
export function redact(text: string, secrets: string[] = []): string {
  let out = text;
  for (const s of secrets) if (s) out = out.replaceAll(s, "***");
  return out;
}
