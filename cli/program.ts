/** The eksnode command line: commands, help, version, and mapping errors to one line and an exit code. */
import { Command, CommanderError } from "@commander-js/extra-typings";
import { asDiskError, ExitCode, exitCodeOf, formatError } from "../lib/errors.ts";
import { versionText } from "../lib/version.ts";
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

const EXIT_CODES_HELP = `
Exit codes:
  0 success            1 internal error (a bug)   2 usage (flags, arguments)
  3 config (NodeConfig, user data, bake config)    4 network (download, endpoint unreachable)
  5 checksum (mismatch, truncated download)        6 command (a subprocess failed)
  7 containment (path or archive entry outside --root)
  8 instance metadata (IMDS)   9 AWS API (EKS, EC2, ECR)   10 disk (full, quota, read-only)
  130 interrupted

Environment: AWS_REGION, AWS_EC2_METADATA_SERVICE_ENDPOINT, AWS_ENDPOINT_URL[_EKS|_EC2|_ECR|_S3],
the AWS credential chain, NO_COLOR.`;

/**
 * Builds the program. The command modules hold only their flags: each loads what it runs (steps, zod
 * schemas, the AWS SDK, ...) when its action starts, so `--help` and one command never pay for the others.
 */
export function buildProgram() {
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
    .addCommand(completionCommand())
    .addHelpText("after", EXIT_CODES_HELP)
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  // Settings are inherited only by subcommands made with .command(), not by added ones.
  const all = (c: Command): Command[] => c.commands.flatMap((s) => [s as Command, ...all(s as Command)]);
  for (const sub of all(program)) sub.exitOverride().showHelpAfterError("(run with --help for usage)");
  return program;
}

/** Runs the CLI and returns the exit code (never throws). */
export async function runCli(argv: string[]): Promise<number> {
  const debug = argv.includes("--debug");
  const program = buildProgram();
  try {
    if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-V")) {
      console.log(await versionText());
      return ExitCode.ok;
    }
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
    // A disk-full error raised outside the host's writes (which name their file) still gets its class.
    const e = asDiskError(err, "to disk");
    console.error(formatError(e, debug));
    return exitCodeOf(e);
  }
}
