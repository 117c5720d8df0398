/**
 * Regenerates `assets/instance_cpus.json`, the vCPU count and hypervisor per instance type that
 * `eksnode calculate-max-pods` needs beyond the ENI table (the 110/250 ceiling and prefix delegation), from
 * Karpenter's generated instance-type reference (aws/karpenter-provider-aws
 * `website/content/en/preview/reference/instance-types.md`, written by `hack/docs/instancetypes_gen` from EC2
 * DescribeInstanceTypes in us-east-1, us-east-2 and us-west-2). Its label `karpenter.k8s.aws/instance-cpu` is
 * `VCpuInfo.DefaultVCpus` and `karpenter.k8s.aws/instance-hypervisor` is `Hypervisor`, empty on bare metal
 * (`pkg/providers/instancetype/types.go`), the two fields max-pods-calculator.sh reads.
 *
 * Usage: `deno run -R -W tools/gen_instance_cpus.ts INPUT.md [OUTPUT.json] [--source TEXT] [--check]`
 * (default output `assets/instance_cpus.json`). With `--check` it writes nothing and exits 1 when the asset
 * differs from what it would write.
 */
import { writeOrCheck } from "./generated_asset.ts";

/**
 * The shape of `assets/instance_cpus.json`, kept small: `vcpus[type]` for every type; the hypervisor is Nitro
 * unless the type is listed under `xen`, or under `bareMetal` (no hypervisor).
 */
export interface InstanceCpusAsset {
  source: string;
  vcpus: Record<string, number>;
  xen: string[];
  bareMetal: string[];
}

/** The source line written when none is given. */
export const DEFAULT_SOURCE =
  "aws/karpenter-provider-aws website/content/en/preview/reference/instance-types.md " +
  "at commit 692ccdd0 (2026-07-11), labels instance-cpu (VCpuInfo.DefaultVCpus) and instance-hypervisor " +
  "(Hypervisor) from EC2 DescribeInstanceTypes; regenerate with tools/gen_instance_cpus.ts";

/**
 * Reads Karpenter's instance-type reference: a `### \`type\`` heading a type, then label rows
 * ` |karpenter.k8s.aws/instance-cpu|2|` and ` |karpenter.k8s.aws/instance-hypervisor|nitro|`.
 */
export function convertInstanceCpus(markdown: string, source: string): InstanceCpusAsset {
  const rows = new Map<string, { vcpus?: number; hypervisor?: string }>();
  let current: { vcpus?: number; hypervisor?: string } | undefined;
  let type = "";
  markdown.split("\n").forEach((line, i) => {
    const heading = /^### `([^`]+)`\s*$/.exec(line);
    if (heading) {
      type = heading[1];
      if (rows.has(type)) throw new Error(`line ${i + 1}: duplicate instance type ${type}`);
      current = {};
      rows.set(type, current);
      return;
    }
    const label = /^\s*\|karpenter\.k8s\.aws\/instance-(cpu|hypervisor)\|([^|]*)\|\s*$/.exec(line);
    if (!label || !current) return;
    if (label[1] === "cpu") {
      if (!/^[1-9]\d*$/.test(label[2])) {
        throw new Error(`line ${i + 1} (${type}): instance-cpu "${label[2]}"`);
      }
      current.vcpus = Number(label[2]);
    } else {
      if (!["nitro", "xen", ""].includes(label[2])) {
        throw new Error(`line ${i + 1} (${type}): unknown hypervisor "${label[2]}"`);
      }
      current.hypervisor = label[2];
    }
  });
  const asset: InstanceCpusAsset = { source, vcpus: {}, xen: [], bareMetal: [] };
  for (const [t, r] of [...rows].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (r.vcpus === undefined || r.hypervisor === undefined) {
      throw new Error(`${t}: no instance-cpu or instance-hypervisor label`);
    }
    asset.vcpus[t] = r.vcpus;
    if (r.hypervisor === "xen") asset.xen.push(t);
    if (r.hypervisor === "") asset.bareMetal.push(t);
  }
  if (Object.keys(asset.vcpus).length === 0) throw new Error("no instance types found");
  return asset;
}

/** Renders the asset as `deno fmt`-stable JSON: one entry a line, sorted, ending in a newline. */
export function renderInstanceCpus(asset: InstanceCpusAsset): string {
  const list = (xs: string[]) =>
    xs.length ? `[\n${xs.map((x) => `    ${JSON.stringify(x)}`).join(",\n")}\n  ]` : "[]";
  const vcpus = Object.entries(asset.vcpus).map(([t, n]) => `    ${JSON.stringify(t)}: ${n}`);
  return `{\n  "source": ${JSON.stringify(asset.source)},\n  "vcpus": {\n${vcpus.join(",\n")}\n  },\n` +
    `  "xen": ${list(asset.xen)},\n  "bareMetal": ${list(asset.bareMetal)}\n}\n`;
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
  if (positional[0] === undefined) {
    console.error(
      "usage: tools/gen_instance_cpus.ts INSTANCE-TYPES.md [OUTPUT.json] [--source TEXT] [--check]",
    );
    return 2;
  }
  const output = positional[1] ?? new URL("../assets/instance_cpus.json", import.meta.url).pathname;
  const text = renderInstanceCpus(convertInstanceCpus(await Deno.readTextFile(positional[0]), source));
  const count = Object.keys(JSON.parse(text).vcpus).length;
  return await writeOrCheck(output, text, { check, tool: "tools/gen_instance_cpus.ts", count });
}

if (import.meta.main) Deno.exit(await main(Deno.args));
