/**
 * SIGINT and SIGTERM: a run that is asked to stop stops cleanly. The first signal aborts what is in
 * flight (host writes, downloads, subprocesses get SIGTERM), the runner stops before its next change,
 * temp files are removed, the journal stays unfinished (the next run resumes it) and the process exits
 * 130 (SIGINT) or 143 (SIGTERM). A second signal, or a run that has not unwound after a grace period,
 * kills the remaining subprocesses with SIGKILL, removes the remaining temp files and exits at once.
 *
 * The host registers every temp file it creates and every subprocess it starts here, so this module
 * can clean up what it cannot wait for.
 */
import { EksnodeError, ExitCode } from "./errors.ts";

/** The signals eksnode handles. */
export type StopSignal = "SIGINT" | "SIGTERM";

/** Exit code for a stop signal: 128 + the signal number, as shells report it. */
export function exitCodeForSignal(signal: StopSignal): number {
  return signal === "SIGINT" ? ExitCode.interrupted : ExitCode.terminated;
}

/** A run stopped by SIGINT or SIGTERM. */
export class InterruptedError extends EksnodeError {
  constructor(readonly signal: StopSignal) {
    super(`interrupted by ${signal}: stopped before finishing; no temp file was left`, {
      exitCode: exitCodeForSignal(signal),
      hint: "run the same command again: it resumes from the journal and checks every change",
    });
  }
}

const temps = new Set<string>();
const children = new Set<Deno.ChildProcess>();
const controller = new AbortController();
let received: StopSignal | undefined;

/** The signal that stopped this run, or undefined while none has arrived. */
export function interruption(): StopSignal | undefined {
  return received;
}

/** Aborted when a stop signal arrives (the reason is an {@link InterruptedError}). */
export function interruptSignal(): AbortSignal {
  return controller.signal;
}

/** Throws the {@link InterruptedError} once a stop signal has arrived. */
export function throwIfInterrupted(): void {
  if (received) throw new InterruptedError(received);
}

/** Registers a temp file or directory (real path) to remove if the run is stopped. */
export function trackTemp(realPath: string): void {
  temps.add(realPath);
}

/** Forgets a temp path (renamed into place or removed). */
export function untrackTemp(realPath: string): void {
  temps.delete(realPath);
}

/** True when `realPath` is a temp path this process is still using. */
export function isLiveTemp(realPath: string): boolean {
  return temps.has(realPath);
}

/** Registers a running subprocess, to be stopped with the run. */
export function trackChild(child: Deno.ChildProcess): void {
  children.add(child);
}

/** Forgets a subprocess that has exited. */
export function untrackChild(child: Deno.ChildProcess): void {
  children.delete(child);
}

function signalChildren(signal: Deno.Signal): void {
  for (const child of children) {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

/** Removes every registered temp path now (synchronously: this may run just before exit). */
export function removeTemps(): void {
  for (const path of temps) {
    try {
      Deno.removeSync(path, { recursive: true });
    } catch {
      // already renamed or removed
    }
    temps.delete(path);
  }
}

/**
 * Kills the remaining subprocesses with SIGKILL and waits (at most `waitMs`) for them to exit, then
 * removes the remaining temp files.
 */
export async function forceCleanup(waitMs = 2_000): Promise<void> {
  const left = [...children];
  signalChildren("SIGKILL");
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    Promise.allSettled(left.map((c) => c.status)),
    new Promise((resolve) => timer = setTimeout(resolve, waitMs)),
  ]);
  clearTimeout(timer);
  removeTemps();
}

/** Options for {@link handleStopSignals}. */
export interface StopOptions {
  /** Called once when the first signal arrives (e.g. to print a line). */
  onSignal?: (signal: StopSignal) => void;
  /** Milliseconds the run gets to unwind before the process is cleaned up and exits anyway. */
  graceMs?: number;
  /** How the process ends when the grace period is over or a second signal arrives. */
  exit?: (code: number) => void;
}

/**
 * Installs the SIGINT and SIGTERM listeners for one command; returns a function that removes them.
 * The command itself is expected to notice {@link interruption} (the host and runner throw
 * {@link InterruptedError}) and return; if it does not within `graceMs`, the process exits anyway.
 */
export function handleStopSignals(opts: StopOptions = {}): () => void {
  if (Deno.build.os === "windows") return () => {};
  const graceMs = opts.graceMs ?? 10_000;
  const exit = opts.exit ?? ((code: number) => Deno.exit(code));
  let grace: ReturnType<typeof setTimeout> | undefined;
  const hardStop = async (signal: StopSignal) => {
    await forceCleanup();
    exit(exitCodeForSignal(signal));
  };
  const listeners = (["SIGINT", "SIGTERM"] as const).map((signal) => {
    const listener = () => {
      if (received) {
        // A second signal: stop waiting for the run to unwind.
        void hardStop(received);
        return;
      }
      received = signal;
      opts.onSignal?.(signal);
      controller.abort(new InterruptedError(signal));
      signalChildren("SIGTERM");
      const timer = setTimeout(() => void hardStop(signal), graceMs);
      Deno.unrefTimer(timer);
      grace = timer;
    };
    Deno.addSignalListener(signal, listener);
    return [signal, listener] as const;
  });
  return () => {
    clearTimeout(grace);
    for (const [signal, listener] of listeners) Deno.removeSignalListener(signal, listener);
  };
}
