/**
 * `eksnode collect-logs [--root DIR] [--output FILE]`: the node's logs, configuration and system facts as
 * one .tar.gz (eks/log_bundle.ts), without secrets. Progress goes to stderr, one line per item; the last
 * line on stdout names the archive (`--output-format json`: a JSON summary). The `eks-log-collector.sh`
 * shim of ami step 37 execs this command.
 */
import { basename, dirname, resolve } from "node:path";
import { Command, Option } from "@commander-js/extra-typings";
import { VERSION } from "./version.ts";
import { openExistingRoot } from "./global_flags.ts";
import { jsonText } from "./output.ts";

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
  const { collectLogBundle } = await import("../eks/log_bundle.ts");
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
    .description(
      "gather journals (kubelet, containerd, sandbox-image, eksnode, cloud-init), configs and system facts " +
        "into a .tar.gz, with credentials and tokens redacted",
    )
    .option("--root <dir>", "collect from the image under DIR", "/")
    .option(
      "--output <file>",
      "write the archive here (default: /var/log/eksnode-logs-<time>.tar.gz under the root)",
    )
    .addOption(
      new Option("--output-format <format>", "summary as text for people or json for machines")
        .choices(["text", "json"] as const).default("text" as const),
    )
    .action(async (opts) => {
      await runCollectLogs(opts);
    });
}
