/**
 * `eksnode verify [--root DIR] [--phase ami|init]`: checks a baked image or a joined node against what
 * eksnode wrote (eks/verify/node_checks.ts: artifacts re-hashed against /etc/eks/release.json, directories and
 * files with their modes, sysctls, kernel modules, enabled units, cached images) and prints a table;
 * exit 5 when any check fails. Useful as the last Packer step. With `--benchmark cis-eks` it evaluates the
 * CIS Amazon EKS Benchmark's worker-node controls instead (cli/verify_benchmark.ts).
 */
import { Command, Option } from "@commander-js/extra-typings";
import { ChecksumError, ConfigError } from "../lib/errors.ts";
import { DEFAULT_CONTAINERD_ADDRESS } from "../lib/container_images.ts";
import { KUBELET_CONFIG, RELEASE_JSON_PATH } from "../eks/paths/node.ts";
import type { CheckResult, Phase } from "../eks/verify/node_checks.ts";
import { openExistingRoot } from "./global_flags.ts";
import { jsonText, type OutputFormat, outputOption, renderTable } from "./output.ts";
import { BENCHMARK_NAMES, runBenchmark } from "./verify_benchmark.ts";
import { examples } from "./help.ts";

/** Options of `eksnode verify`. */
export interface VerifyOptions {
  root: string;
  /** Default: init when the kubelet config exists (the node joined), else ami. */
  phase?: Phase;
  containerdAddress?: string;
  output?: OutputFormat;
}

/** The outcome (also the JSON output). */
export interface VerifyReport {
  root: string;
  phase: Phase;
  ok: boolean;
  counts: { ok: number; fail: number; skip: number };
  checks: CheckResult[];
}

/** The table of checks as text. */
export function renderChecks(checks: readonly CheckResult[]): string {
  return renderTable(
    ["STATUS", "GROUP", "CHECK", "DETAIL"],
    checks.map((c) => [c.status === "fail" ? "FAIL" : c.status, c.group, c.name, c.detail]),
  );
}

/**
 * Runs the checks, prints the table (or JSON) and returns the report; throws a ChecksumError (exit 5)
 * when a check failed, a ConfigError (exit 3) when the root holds no eksnode image at all.
 */
export async function runVerify(
  opts: VerifyOptions,
  print: (text: string) => void = console.log,
): Promise<VerifyReport> {
  const host = await openExistingRoot(opts.root);
  if (!(await host.exists(RELEASE_JSON_PATH))) {
    throw new ConfigError(
      `${RELEASE_JSON_PATH} not found under ${host.root}`,
      "it is written by `eksnode ami` (step 33); verify checks an image baked by eksnode",
    );
  }
  const phase = opts.phase ?? ((await host.exists(KUBELET_CONFIG)) ? "init" : "ami");
  const [{ runNodeChecks }, { imageLeaves, imageUnits }, { nodeLeaves, nodeUnits }] = await Promise.all([
    import("../eks/verify/node_checks.ts"),
    import("../steps/ami/index.ts"),
    import("../steps/init/index.ts"),
  ]);
  const checks = await runNodeChecks(host, {
    phase,
    imagePaths: imageLeaves,
    nodePaths: nodeLeaves(),
    imageUnits,
    nodeUnits: nodeUnits(),
    containerdAddress: opts.containerdAddress,
    defaultContainerdAddress: DEFAULT_CONTAINERD_ADDRESS,
  });
  const count = (s: CheckResult["status"]) => checks.filter((c) => c.status === s).length;
  const report: VerifyReport = {
    root: host.root,
    phase,
    ok: count("fail") === 0,
    counts: { ok: count("ok"), fail: count("fail"), skip: count("skip") },
    checks,
  };
  if (opts.output === "json") print(jsonText(report));
  else {
    print(`eksnode verify: phase ${phase}${opts.phase ? "" : " (detected)"}, root ${host.root}`);
    print(renderChecks(checks));
    print(`verify: ${report.counts.ok} ok, ${report.counts.fail} failed, ${report.counts.skip} skipped`);
  }
  const failed = checks.filter((c) => c.status === "fail");
  if (failed.length) {
    const first = failed.slice(0, 3).map((c) => `${c.name} (${c.detail})`).join("; ");
    throw new ChecksumError(
      `${failed.length} of ${checks.length} checks failed: ${first}${failed.length > 3 ? "; ..." : ""}`,
      failed.some((c) => c.group === "artifacts")
        ? "the image was modified after it was baked: rebake it, or find out what replaced these files"
        : "rerun `eksnode ami` (or `eksnode init`) to put things back, or see the table above",
    );
  }
  return report;
}

/** The `verify` command. */
export function verifyCommand() {
  return new Command("verify")
    .addHelpText(
      "after",
      examples([
        ["check an image baked into a directory", "eksnode verify --root /tmp/image"],
        [
          "the CIS Amazon EKS Benchmark's worker-node controls on this node",
          "sudo eksnode verify --benchmark cis-eks",
        ],
      ]),
    )
    .description(
      "check a baked image or joined node against what eksnode wrote (artifacts, modes, sysctls, modules, " +
        "units, images); exit 5 when a check fails",
    )
    .option("--root <dir>", "check the image under DIR", "/")
    .addOption(
      new Option(
        "--phase <phase>",
        "what to expect: a baked image (ami) or a joined node (init); default: detected",
      )
        .choices(["ami", "init"] as const),
    )
    .option(
      "--containerd-address <socket>",
      `containerd to look for cached images in (default ${DEFAULT_CONTAINERD_ADDRESS} when --root is /)`,
    )
    .addOption(
      new Option(
        "--benchmark <name>",
        "evaluate the CIS Amazon EKS Benchmark's worker-node controls (kube-bench's format) instead; " +
          "cis-eks is the newest version known (docs/cis.md)",
      ).choices(BENCHMARK_NAMES),
    )
    .addOption(outputOption())
    .action(async (opts) => {
      if (opts.benchmark) {
        await runBenchmark({ root: opts.root, benchmark: opts.benchmark, output: opts.output });
      } else await runVerify(opts);
    });
}
