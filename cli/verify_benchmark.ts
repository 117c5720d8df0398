/**
 * `eksnode verify --benchmark cis-eks [--root DIR] [--output json]`: the CIS Amazon EKS Benchmark's
 * worker-node controls (eks/cis/) against a node or a tree, printed the way kube-bench prints them
 * (`[PASS] 3.1.1 ...`, remediations, summary) so the two answers compare line by line; exit 5 when an
 * automated control fails. docs/cis.md has the details.
 */
import { ChecksumError } from "../lib/errors.ts";
import { BENCHMARKS } from "../eks/verify/cis/controls.ts";
import type { ControlResult } from "../eks/verify/cis/evaluate.ts";
import { openExistingRoot } from "./global_flags.ts";
import { jsonText, type OutputFormat } from "./output.ts";

/** Benchmark names `--benchmark` accepts. */
export const BENCHMARK_NAMES: readonly string[] = Object.keys(BENCHMARKS);

/** The outcome (also the JSON output). */
export interface BenchmarkReport {
  /** eksnode's name of the benchmark version evaluated, e.g. `cis-eks-1.8.0`. */
  benchmark: string;
  /** kube-bench's `--benchmark` name of the same version. */
  kubeBench: string;
  root: string;
  ok: boolean;
  counts: { pass: number; fail: number; warn: number; info: number };
  controls: ControlResult[];
}

/** The report as kube-bench's text: headings, one line a control, remediations, summary. */
export function renderBenchmark(report: BenchmarkReport): string {
  const b = BENCHMARKS[report.benchmark];
  const byId = new Map(report.controls.map((c) => [c.id, c]));
  const lines = [`[INFO] 3 ${b.text}`];
  for (const g of b.groups) {
    lines.push(`[INFO] ${g.id} ${g.text}`);
    for (const c of g.controls) {
      const r = byId.get(c.id)!;
      lines.push(`[${r.state}] ${r.id} ${r.text}`);
    }
  }
  lines.push("", "== Remediations node ==");
  for (const r of report.controls) {
    if (r.state === "PASS") continue;
    lines.push(`${r.id} Found: ${r.found}.`, `  Remediation: ${r.remediation}.`);
    if (r.note) lines.push(`  EKS: ${r.note}.`);
    lines.push("");
  }
  if (lines.at(-1) !== "") lines.push("");
  const n = report.counts;
  lines.push(
    "== Summary node ==",
    `${n.pass} checks PASS`,
    `${n.fail} checks FAIL`,
    `${n.warn} checks WARN`,
    `${n.info} checks INFO`,
  );
  return lines.join("\n");
}

/**
 * Evaluates the benchmark under `root`, prints it (text or JSON) and returns the report; throws a
 * ChecksumError (exit 5) when an automated control failed, a ConfigError (exit 3) without kubelet.service.
 */
export async function runBenchmark(
  opts: { root: string; benchmark: string; output?: OutputFormat },
  print: (text: string) => void = console.log,
): Promise<BenchmarkReport> {
  const host = await openExistingRoot(opts.root);
  const b = BENCHMARKS[opts.benchmark];
  const { evaluateBenchmark } = await import("../eks/verify/cis/evaluate.ts");
  const controls = await evaluateBenchmark(host, b);
  const count = (s: ControlResult["state"]) => controls.filter((c) => c.state === s).length;
  const report: BenchmarkReport = {
    benchmark: b.name,
    kubeBench: b.kubeBench,
    root: host.root,
    ok: count("FAIL") === 0,
    counts: { pass: count("PASS"), fail: count("FAIL"), warn: count("WARN"), info: 0 },
    controls,
  };
  print(opts.output === "json" ? jsonText(report) : renderBenchmark(report));
  const failed = controls.filter((c) => c.state === "FAIL");
  if (failed.length) {
    throw new ChecksumError(
      `${failed.length} automated control${failed.length > 1 ? "s" : ""} of ${b.name} failed: ${
        failed.map((c) => `${c.id} (${c.found})`).join("; ")
      }`,
      "see the remediations above; eksnode's defaults pass every automated control",
    );
  }
  return report;
}
