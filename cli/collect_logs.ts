/** `eksnode collect-logs [--root DIR] [--output FILE]`: the node's logs and configuration as a .tar.gz, without secrets. */
import { openExistingRoot } from "./global_flags.ts";
import { basename, dirname, resolve } from "node:path";
import { Command } from "@commander-js/extra-typings";
import { Host } from "../lib/host.ts";
import { VERSION } from "../lib/version.ts";

/** Options of `eksnode collect-logs`. */
export interface CollectLogsOptions {
  root: string;
  /** Where to write the archive (a path on this machine); default /var/log/eksnode-logs-<time>.tar.gz under the root. */
  output?: string;
}

/** Writes the bundle (0600: logs are for the operator only) and returns the path written. */
export async function runCollectLogs(
  opts: CollectLogsOptions,
  print: (line: string) => void = console.log,
  now = new Date(),
): Promise<string> {
  const { collectLogBundle } = await import("../eks/log_bundle.ts");
  const host = await openExistingRoot(opts.root);
  const bundle = await collectLogBundle(host, { now, version: VERSION });
  let written: string;
  if (opts.output) {
    const target = resolve(opts.output);
    const dir = await Host.open(dirname(target));
    await dir.writeFile(`/${basename(target)}`, bundle.bytes, { mode: 0o600 });
    written = target;
  } else {
    const stamp = now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
    const path = `/var/log/eksnode-logs-${stamp}.tar.gz`;
    await host.writeFile(path, bundle.bytes, { mode: 0o600 });
    written = host.real(path);
  }
  print(
    `wrote ${written}: ${bundle.included.length} files/logs, ${bundle.skipped.length} skipped ` +
      `(${(bundle.bytes.length / 1024).toFixed(1)} KiB; see COLLECTED.txt inside)`,
  );
  return written;
}

/** The `collect-logs` command. */
export function collectLogsCommand() {
  return new Command("collect-logs")
    .description(
      "gather eksnode journals, release files, kubelet/containerd config and logs into a .tar.gz (no secrets)",
    )
    .option("--root <dir>", "collect from the image under DIR", "/")
    .option(
      "--output <file>",
      "write the archive here (default: /var/log/eksnode-logs-<time>.tar.gz under the root)",
    )
    .action(async (opts) => {
      await runCollectLogs(opts);
    });
}
