/**
 * Regenerates `assets/eni_limits.json` from the instance-type ENI table that nodeadm embeds
 * (awslabs/amazon-eks-ami `nodeadm/internal/kubelet/instance-info.jsonl`, one JSON object a line).
 *
 * Usage: `deno run -R -W tools/gen_eni_limits.ts [INPUT.jsonl] [OUTPUT.json] [--source TEXT]`
 * Defaults: `../shared/reference/instance-eni-limits.jsonl` beside the repository, `assets/eni_limits.json`.
 * With `--check` it writes nothing and exits 1 when the asset differs from what it would write.
 */
import { writeOrCheck } from "./generated_asset.ts";

/** The shape of `assets/eni_limits.json`: `types[instanceType] = [ENIs, IPv4 addresses per ENI]`. */
export interface EniLimitsAsset {
  source: string;
  types: Record<string, [number, number]>;
}

/** The source line written when none is given: where the reference copy came from. */
export const DEFAULT_SOURCE = "awslabs/amazon-eks-ami nodeadm/internal/kubelet/instance-info.jsonl " +
  "at commit 81fec2e8 (2026-07-23), from EC2 DescribeInstanceTypes; regenerate with tools/gen_eni_limits.ts";

/** Converts JSONL text (`{"instanceType","defaultMaxENIs","ipv4AddressesPerInterface"}` a line) to the asset. */
export function convertEniLimits(jsonl: string, source: string): EniLimitsAsset {
  const rows: [string, [number, number]][] = [];
  const seen = new Set<string>();
  jsonl.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (err) {
      throw new Error(`line ${i + 1}: not JSON: ${(err as Error).message}`);
    }
    const r = row as Record<string, unknown>;
    const type = r.instanceType, enis = r.defaultMaxENIs, ips = r.ipv4AddressesPerInterface;
    if (typeof type !== "string" || type === "") throw new Error(`line ${i + 1}: no instanceType`);
    if (!isPositiveInt(enis) || !isPositiveInt(ips)) {
      throw new Error(
        `line ${i + 1} (${type}): defaultMaxENIs and ipv4AddressesPerInterface must be positive integers`,
      );
    }
    if (seen.has(type)) throw new Error(`line ${i + 1}: duplicate instance type ${type}`);
    seen.add(type);
    rows.push([type, [enis, ips]]);
  });
  rows.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { source, types: Object.fromEntries(rows) };
}

/** Renders the asset as `deno fmt`-stable JSON: one instance type a line, sorted, ending in a newline. */
export function renderEniLimits(asset: EniLimitsAsset): string {
  const lines = Object.entries(asset.types).map(([t, [e, i]]) => `    ${JSON.stringify(t)}: [${e}, ${i}]`);
  return `{\n  "source": ${JSON.stringify(asset.source)},\n  "types": {\n${lines.join(",\n")}\n  }\n}\n`;
}

function isPositiveInt(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v > 0;
}

async function main(args: string[]): Promise<number> {
  const check = args.includes("--check");
  let source = DEFAULT_SOURCE;
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--check") continue;
    if (args[i] === "--source") source = args[++i] ?? source;
    else positional.push(args[i]);
  }
  const input = positional[0] ??
    new URL("../../shared/reference/instance-eni-limits.jsonl", import.meta.url).pathname;
  const output = positional[1] ?? new URL("../assets/eni_limits.json", import.meta.url).pathname;
  const text = renderEniLimits(convertEniLimits(await Deno.readTextFile(input), source));
  const count = Object.keys(JSON.parse(text).types).length;
  return await writeOrCheck(output, text, { check, tool: "tools/gen_eni_limits.ts", count });
}

if (import.meta.main) Deno.exit(await main(Deno.args));
