/** The eksnode command line: commands, help, and mapping errors to one line and an exit code (`--version` alone is answered by cli/start.ts before this module loads). */
import { Command, CommanderError } from "@commander-js/extra-typings";
import {
  asDiskError,
  ExitCode,
  exitCodeOf,
  formatError,
  formatErrorJson,
  UsageError,
  wantsJson,
} from "../lib/errors.ts";
import {
  exitCodeForSignal,
  forceCleanup,
  handleStopSignals,
  InterruptedError,
  interruption,
  interruptSignal,
} from "../lib/interrupt.ts";
import { configureHelp, examples } from "./help.ts";
import { stepsCommand } from "./steps.ts";
import { amiCommand } from "./ami.ts";
import { initCommand } from "./init.ts";
import { verifyCommand } from "./verify.ts";
import { collectLogsCommand } from "./collect_logs.ts";
import { calculateMaxPodsCommand } from "./calculate_max_pods.ts";
import { getEcrUriCommand } from "./get_ecr_uri.ts";
import { versionsCommand } from "./versions.ts";
import { completionCommand } from "./completion.ts";
import { pullImageCommand } from "./pull_image.ts";
import { configCommand } from "./config.ts";
import { setupLocalDisksCommand } from "./setup_local_disks.ts";

const EXIT_CODES_HELP = `
Exit codes:
  0 success        1 internal error (a bug)   2 usage (flags, arguments)
  3 config (NodeConfig, user data, bake config)
  4 network (download, endpoint unreachable)
  5 checksum (mismatch, truncated download)   6 command (a subprocess failed)
  7 containment (path or archive entry outside --root)
  8 instance metadata (IMDS)   9 AWS API (EKS, EC2, ECR)
  10 disk (full, quota, read-only)
  11 device (holds a file system eksnode did not make; setup-local-disks)
  130 stopped by SIGINT, 143 stopped by SIGTERM (temp files removed; a rerun
  resumes)

Environment: AWS_REGION, AWS_EC2_METADATA_SERVICE_ENDPOINT,
AWS_ENDPOINT_URL[_EKS|_EC2|_ECR|_S3], the AWS credential chain, NO_COLOR.`;

const TOP_EXAMPLES = examples([
  [
    "plan a bake into a directory, offline: every step, every missing pin",
    "eksnode ami --dry-run --root /tmp/image",
  ],
  ["the numbered steps of the bake", "eksnode steps ami"],
  ["what init would do on this EC2 instance, without doing it", "sudo eksnode init --dry-run"],
  ["the max pods of an instance type", "eksnode calculate-max-pods --instance-type m5.large"],
]);

/**
 * Builds the program. The command modules hold only their flags: each loads what it runs (steps, zod
 * schemas, the AWS SDK, ...) when its action starts, so `--help` and one command never pay for the others.
 */
export function buildProgram(opts: { json?: boolean } = {}) {
  const program = new Command("eksnode")
    .description("Builds (eksnode ami) and boots (eksnode init) Amazon EKS worker nodes.")
    .option("-V, --version", "print version, git commit, Deno version and the embedded versions.json digest")
    .addCommand(amiCommand())
    .addCommand(initCommand())
    .addCommand(stepsCommand())
    .addCommand(verifyCommand())
    .addCommand(collectLogsCommand())
    .addCommand(calculateMaxPodsCommand())
    .addCommand(getEcrUriCommand())
    .addCommand(versionsCommand())
    .addCommand(pullImageCommand())
    .addCommand(configCommand())
    .addCommand(setupLocalDisksCommand())
    .addCommand(completionCommand())
    .addHelpText("after", EXIT_CODES_HELP)
    .addHelpText("after", TOP_EXAMPLES)
    .exitOverride();
  // Settings are inherited only by subcommands made with .command(), not by added ones.
  const all = (c: Command): Command[] => c.commands.flatMap((s) => [s as Command, ...all(s as Command)]);
  // With --output json a usage error is a JSON record too (event run.error, exit code 2, hint).
  const output = opts.json
    ? {
      outputError: (text: string, write: (text: string) => void) =>
        write(
          formatErrorJson(new UsageError(text.trim().replace(/^error: /, ""), "run with --help for usage")) +
            "\n",
        ),
    }
    : undefined;
  for (const cmd of [program as Command, ...all(program)]) {
    cmd.exitOverride().showHelpAfterError(opts.json ? false : "(run with --help for usage)");
    if (output) cmd.configureOutput(output);
    configureHelp(cmd);
  }
  return program;
}

/** How long a stopped run gets to unwind (abort its writes, remove its temp files) before it is cut short. */
const UNWIND_MS = 5_000;

/**
 * Runs the CLI and returns the exit code (never throws). SIGINT and SIGTERM stop the command: what is in
 * flight is aborted, temp files are removed, subprocesses are stopped, and the code is 130 or 143.
 */
export async function runCli(argv: string[]): Promise<number> {
  const removeListeners = handleStopSignals({
    onSignal: (signal) => console.error(`eksnode: ${signal} received, stopping (temp files are removed)`),
  });
  try {
    const work = runCommand(argv);
    const stopped = new Promise<void>((resolve) => {
      const signal = interruptSignal();
      if (signal.aborted) resolve();
      else signal.addEventListener("abort", () => resolve(), { once: true });
    });
    const code = await Promise.race([work, stopped.then(() => undefined)]);
    const signal = interruption();
    if (!signal) return code ?? ExitCode.internal;
    // Stopped: give the command a moment to unwind through its own cleanup, then clean up the rest.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([work, new Promise((resolve) => timer = setTimeout(resolve, UNWIND_MS))]);
    clearTimeout(timer);
    await forceCleanup();
    const stopError = new InterruptedError(signal);
    const debug = argv.includes("--debug");
    console.error(wantsJson(argv) ? formatErrorJson(stopError, debug) : formatError(stopError, debug));
    return exitCodeForSignal(signal);
  } finally {
    removeListeners();
  }
}

/** Parses and runs one command line; returns its exit code, printing errors as one line and a hint. */
async function runCommand(argv: string[]): Promise<number> {
  const debug = argv.includes("--debug");
  const program = buildProgram({ json: wantsJson(argv) });
  try {
    await program.parseAsync(argv, { from: "user" });
    if (argv.length === 0) {
      program.outputHelp();
      return ExitCode.usage;
    }
    return ExitCode.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (
        err.code === "commander.helpDisplayed" || err.code === "commander.help" ||
        err.code === "commander.version"
      ) {
        return ExitCode.ok;
      }
      return ExitCode.usage; // commander already printed its one-line message
    }
    // A root the failed command created and wrote nothing into is not left behind.
    // (Imported here: loaded already when a command opened a root, and kept off the start-up path.)
    await (await import("../lib/host.ts")).removeEmptyCreatedRoots();
    // A stopped run is reported once, by runCli.
    if (interruption()) return exitCodeOf(err);
    // A disk-full error raised outside the host's writes (which name their file) still gets its class.
    const e = asDiskError(err, "to disk");
    console.error(wantsJson(argv) ? formatErrorJson(e, debug) : formatError(e, debug));
    return exitCodeOf(e);
  }
}
