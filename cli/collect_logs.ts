/**
 * `eksnode collect-logs [--root DIR] [--archive FILE] [--output text|json]`: the node's logs,
 * configuration and system facts as one .tar.gz (eks/system/log_bundle.ts), without secrets. Progress goes to
 * stderr, one line per item; the last line on stdout names the archive (`--output json`: a JSON summary).
 * The `eks-log-collector.sh` shim of ami step 37 execs this command. `--output` is the output format as in
 * every command; an `--output` value that is not a format is the archive path (the old spelling of
 * `--archive`, with a warning), as is the hidden `--output-format` the old name of `--output`.
 */
import { basename, dirname, resolve } from "node:path";
import { Command, Option } from "@commander-js/extra-typings";
import { VERSION } from "./version.ts";
import { openExistingRoot } from "./global_flags.ts";
import { jsonText } from "./output.ts";
import { warnOldFlag } from "./flag_values.ts";
import { UsageError } from "../lib/errors.ts";
import { examples } from "./help.ts";

/** Options of `eksnode collect-logs`. */
export interface CollectLogsOptions {
  root: string;
  /** Where to write the archive (a path on this machine); default /var/log/eksnode-logs-<time>.tar.gz under the root. */
  output?: string;
  outputFormat?: "text" | "json";
  /** Progress lines (default: stderr). */
  progress?: (line: string) => void;
}

/** What was written (the JSON summary). */
export interface CollectLogsReport {
  archive: string;
  bytes: number;
  included: string[];
  skipped: string[];
}

/** Writes the bundle (0600: logs are for the operator only) and returns the path written. */
export async function runCollectLogs(
  opts: CollectLogsOptions,
  print: (line: string) => void = console.log,
  now = new Date(),
): Promise<string> {
  const host = await openExistingRoot(opts.root);
  const { collectLogBundle } = await import("../eks/system/log_bundle.ts");
  const progress = opts.progress ?? ((line: string) => console.error(line));
  const bundle = await collectLogBundle(host, { now, version: VERSION, progress });
  let written: string;
  if (opts.output) {
    const target = resolve(opts.output);
    const { Host } = await import("../lib/host.ts");
    const dir = await Host.open(dirname(target));
    await dir.writeFile(`/${basename(target)}`, bundle.bytes, { mode: 0o600 });
    written = target;
  } else {
    const stamp = now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
    const path = `/var/log/eksnode-logs-${stamp}.tar.gz`;
    await host.writeFile(path, bundle.bytes, { mode: 0o600 });
    written = host.real(path);
  }
  if (opts.outputFormat === "json") {
    const report: CollectLogsReport = {
      archive: written,
      bytes: bundle.bytes.length,
      included: bundle.included,
      skipped: bundle.skipped,
    };
    print(jsonText(report));
  } else {
    print(
      `wrote ${written}: ${bundle.included.length} files/logs, ${bundle.skipped.length} skipped ` +
        `(${(bundle.bytes.length / 1024).toFixed(1)} KiB; see COLLECTED.txt inside)`,
    );
  }
  return written;
}

/** The `collect-logs` command. */
export function collectLogsCommand() {
  return new Command("collect-logs")
    .addHelpText(
      "after",
      examples([
        ["gather this node's logs for a support case", "sudo eksnode collect-logs"],
        [
          "from an image in a directory, into a chosen file",
          "eksnode collect-logs --root /tmp/image --archive /tmp/logs.tar.gz",
        ],
      ]),
    )
    .description(
      "gather journals (kubelet, containerd, sandbox-image, eksnode, cloud-init), configs and system facts " +
        "into a .tar.gz, with credentials and tokens redacted",
    )
    .option("--root <dir>", "collect from the image under DIR", "/")
    .option(
      "--archive <file>",
      "write the archive here (default: /var/log/eksnode-logs-<time>.tar.gz under the root)",
    )
    .option("--output <format>", "summary as text for people or json for machines (default: text)")
    .addOption(
      new Option("--output-format <format>", "old name of --output").choices(["text", "json"] as const)
        .hideHelp(),
    )
    .action(async (opts) => {
      await runCollectLogs(collectLogsOptions(opts));
    });
}

/**
 * The options of a `collect-logs` command line: `--output` is text or json; any other value is an
 * archive path (the old meaning of `--output`, with a warning), as `--output-format` is `--output`.
 */
export function collectLogsOptions(
  flags: { root: string; archive?: string; output?: string; outputFormat?: "text" | "json" },
  warn = (line: string) => console.error(line),
): CollectLogsOptions {
  let archive = flags.archive;
  let format: "text" | "json" | undefined = flags.outputFormat;
  if (flags.outputFormat !== undefined) warnOldFlag("--output-format", "--output", warn);
  if (flags.output === "text" || flags.output === "json") format = flags.output;
  else if (flags.output !== undefined) {
    if (archive !== undefined) {
      throw new UsageError(
        `--output: "${flags.output}" is not text or json`,
        "name the archive with --archive FILE",
      );
    }
    warnOldFlag("--output FILE", "--archive FILE", warn);
    archive = flags.output;
  }
  return { root: flags.root, output: archive, outputFormat: format ?? "text" };
}
