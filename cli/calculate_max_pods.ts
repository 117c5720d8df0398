/**
 * `eksnode calculate-max-pods --instance-type T [...]`: the kubelet maxPods the EKS max-pods calculator
 * (amazon-eks-ami max-pods-calculator.sh) recommends, with the same options. ENIs and IPv4 addresses per
 * ENI come from the embedded ENI table, the vCPU count and the hypervisor (when the answer depends on them)
 * from `--vcpus` / `--hypervisor` or the embedded CPU table; EC2 DescribeInstanceTypes (which the script
 * asks for everything) is asked only for what neither gives, so the common types are answered offline.
 */
import { Command, Option } from "@commander-js/extra-typings";
import { ConfigError, UsageError } from "../lib/errors.ts";
import type { AwsEnv } from "../eks/aws/call.ts";
import type { InstanceTypeInfo } from "../eks/aws/ec2_api.ts";
import type { CalculatorOptions, CalculatorResult, InstanceFacts } from "../eks/kubelet/max_pods.ts";
import { regionValue, warnOldFlag } from "./flag_values.ts";
import { jsonText, type OutputFormat, outputOption } from "./output.ts";
import { examples } from "./help.ts";

/** Flags of `eksnode calculate-max-pods` as commander parses them. */
export interface CalculateMaxPodsFlags {
  instanceType: string;
  cniVersion?: string;
  prefixDelegation?: boolean;
  /** The calculator script's spelling of `--prefix-delegation` (a hidden alias). */
  cniPrefixDelegationEnabled?: boolean;
  cniCustomNetworkingEnabled?: boolean;
  cniMaxEni?: string;
  maxPodsCap?: string;
  showMaxAllowed?: boolean;
  vcpus?: string;
  hypervisor?: "nitro" | "xen" | "none";
  region?: string;
  output: OutputFormat;
}

/** Where each fact came from. */
export type FactSource = "table" | "flag" | "ec2" | "not needed";

/** The answer with everything that went into it (the JSON output). */
export interface MaxPodsAnswer {
  instanceType: string;
  maxPods: number;
  /** The formula's value before any ceiling. */
  maxAllowed: number;
  mode: CalculatorResult["mode"];
  ceiling: number | null;
  enis: number;
  enisForPods: number;
  ipsPerEni: number;
  vcpus: number | null;
  hypervisor: string | null;
  cniVersion: string;
  prefixDelegation: { requested: boolean; used: boolean; skipped?: string };
  customNetworking: boolean;
  sources: { enis: FactSource; vcpus: FactSource; hypervisor: FactSource };
}

/** The facts EC2 is asked for: the ENI limits of a type the table lacks, or the CPU facts the answer needs. */
export type MissingFact = "enis" | "vcpus" | "hypervisor";

/** How EC2 is asked, told which facts are missing (for its error hint); injectable for tests. */
export type DescribeInstanceType = (
  instanceType: string,
  missing: MissingFact[],
) => Promise<InstanceTypeInfo>;

/** How the embedded CPU table is read; injectable for tests. */
export type CpuLookup = (instanceType: string) => { vcpus: number; hypervisor?: string } | undefined;

/** The VPC CNI version assumed without `--cni-version`: the newest add-on version the embedded data names. */
export async function defaultCniVersion(): Promise<string> {
  const { versions } = await import("../assets/versions.ts");
  const known = Object.values(versions.kubernetes).map((r) => r.addons.vpcCni.latest).filter((
    v,
  ): v is string => v !== null);
  const newest = known.sort((a, b) => a.localeCompare(b, "en", { numeric: true })).at(-1);
  return (newest ?? "v1.19.2-eksbuild.5").replace(/^v/, "").replace(/-.*$/, "");
}

function count(text: string | undefined, flag: string, min: number): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < min) {
    throw new UsageError(`${flag}: "${text}" is not a whole number ≥ ${min}`);
  }
  return Number(text);
}

/**
 * Computes the answer; asks EC2 (through `describe`) only for facts that decide it and neither a flag nor
 * the embedded tables (`cpus`: the CPU table, by default) give.
 */
export async function calculateMaxPodsAnswer(
  flags: Omit<CalculateMaxPodsFlags, "output">,
  describe: DescribeInstanceType,
  cpus?: CpuLookup,
): Promise<MaxPodsAnswer> {
  const [{ eniLimits }, { calculatorMaxPods, calculatorNeeds, parseCniVersion }, { instanceCpus }] =
    await Promise
      .all([
        import("../eks/kubelet/eni_limits.ts"),
        import("../eks/kubelet/max_pods.ts"),
        import("../eks/kubelet/instance_cpus.ts"),
      ]);
  const lookupCpus = cpus ?? instanceCpus;
  const type = flags.instanceType.trim();
  if (!/^[a-z0-9-]+\.[a-z0-9-]+$/.test(type)) {
    throw new UsageError(`--instance-type "${flags.instanceType}" is not an instance type like m5.large`);
  }
  const opts: CalculatorOptions = {
    cniVersion: flags.cniVersion ?? await defaultCniVersion(),
    prefixDelegation: flags.prefixDelegation === true || flags.cniPrefixDelegationEnabled === true,
    customNetworking: flags.cniCustomNetworkingEnabled === true,
    maxEnis: count(flags.cniMaxEni, "--cni-max-eni", 1),
    showMaxAllowed: flags.showMaxAllowed === true,
    cap: count(flags.maxPodsCap, "--max-pods-cap", 1),
  };
  try {
    parseCniVersion(opts.cniVersion);
  } catch (err) {
    // A bad flag value is a usage error, as in every command.
    if (err instanceof ConfigError) throw new UsageError(`--cni-version: ${err.message}`, err.hint);
    throw err;
  }
  const vcpusFlag = count(flags.vcpus, "--vcpus", 1);
  const hypervisorFlag = flags.hypervisor === undefined
    ? undefined
    : flags.hypervisor === "none"
    ? null
    : flags.hypervisor;

  const sources: MaxPodsAnswer["sources"] = { enis: "table", vcpus: "not needed", hypervisor: "not needed" };
  let facts: InstanceFacts;
  let described: InstanceTypeInfo | undefined;
  const limits = eniLimits(type);
  if (limits) facts = { ...limits };
  else {
    described = await describe(type, ["enis"]);
    facts = { enis: described.enis, ipsPerEni: described.ipsPerEni };
    sources.enis = "ec2";
  }
  const needs = calculatorNeeds(facts, opts);
  if (vcpusFlag !== undefined) {
    facts.vcpus = vcpusFlag;
    sources.vcpus = "flag";
  }
  if (hypervisorFlag !== undefined) {
    if (hypervisorFlag !== null) facts.hypervisor = hypervisorFlag;
    sources.hypervisor = "flag";
  }
  const known = described === undefined ? lookupCpus(type) : undefined;
  if (known && needs.vcpus && facts.vcpus === undefined) {
    facts.vcpus = known.vcpus;
    sources.vcpus = "table";
  }
  if (known && needs.hypervisor && hypervisorFlag === undefined) {
    if (known.hypervisor !== undefined) facts.hypervisor = known.hypervisor;
    sources.hypervisor = "table";
  }
  const missingVcpus = needs.vcpus && facts.vcpus === undefined;
  const missingHypervisor = needs.hypervisor && hypervisorFlag === undefined &&
    sources.hypervisor !== "table";
  if (missingVcpus || missingHypervisor) {
    const missing: MissingFact[] = [];
    if (missingVcpus) missing.push("vcpus");
    if (missingHypervisor) missing.push("hypervisor");
    described ??= await describe(type, missing);
    if (missingVcpus) {
      facts.vcpus = described.vcpus;
      sources.vcpus = "ec2";
    }
    if (missingHypervisor) {
      if (described.hypervisor !== undefined) facts.hypervisor = described.hypervisor;
      sources.hypervisor = "ec2";
    }
  }
  const r = calculatorMaxPods(facts, opts);
  return {
    instanceType: type,
    maxPods: r.maxPods,
    maxAllowed: r.uncapped,
    mode: r.mode,
    ceiling: r.ceiling ?? null,
    enis: facts.enis,
    enisForPods: r.enisForPods,
    ipsPerEni: facts.ipsPerEni,
    vcpus: facts.vcpus ?? null,
    hypervisor: sources.hypervisor === "not needed" ? null : facts.hypervisor ?? null,
    cniVersion: opts.cniVersion,
    prefixDelegation: {
      requested: opts.prefixDelegation === true,
      used: r.mode === "prefix-delegation",
      ...(r.prefixDelegationSkipped ? { skipped: r.prefixDelegationSkipped } : {}),
    },
    customNetworking: opts.customNetworking === true,
    sources,
  };
}

/**
 * EC2 DescribeInstanceTypes through the SDK (imported only when called); when it cannot be asked, the error
 * names the facts that were missing and the hint the flags that would give them.
 */
export function ec2Describe(env: AwsEnv, region?: string): DescribeInstanceType {
  return async (type, missing) => {
    const { describeInstanceType } = await import("../eks/aws/ec2_api.ts");
    try {
      return await describeInstanceType(type, { env, region, retry: { attempts: 3 } });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      if (missing.includes("enis")) {
        throw new ConfigError(
          `${type}: it is not in the embedded ENI table, and EC2 DescribeInstanceTypes cannot be asked: ${err.message}`,
          "set AWS_REGION and credentials for EC2 DescribeInstanceTypes (its ENIs and addresses are needed)",
        );
      }
      const what = missing.map((m) => m === "vcpus" ? "the vCPU count" : "the hypervisor").join(" and ");
      const flags = missing.map((m) => m === "vcpus" ? "--vcpus N" : "--hypervisor nitro|xen|none");
      throw new ConfigError(
        `${type}: the answer depends on ${what}, which the embedded table lacks, and EC2 DescribeInstanceTypes ` +
          `cannot be asked: ${err.message}`,
        `pass ${flags.join(" and ")}, or set AWS_REGION and credentials for EC2`,
      );
    }
  };
}

/** The `calculate-max-pods` command. */
export function calculateMaxPodsCommand() {
  return new Command("calculate-max-pods")
    .addHelpText(
      "after",
      examples([
        ["the max pods of an m5.large (29)", "eksnode calculate-max-pods --instance-type m5.large"],
        [
          "with prefix delegation; offline, give the vCPUs and the hypervisor (110)",
          "eksnode calculate-max-pods --instance-type m5.large --prefix-delegation \\\n  --vcpus 2 --hypervisor nitro",
        ],
      ]),
    )
    .description(
      "the kubelet maxPods for an instance type, as the EKS max-pods calculator computes it " +
        "(ENIs × (IPs per ENI − 1) + 2, prefixes × 16 with prefix delegation, capped at 110 or 250 above 30 vCPUs)",
    )
    .requiredOption("--instance-type <type>", "EC2 instance type, e.g. m5.large")
    .option(
      "--cni-version <version>",
      "VPC CNI version, e.g. 1.19.2 (default: the newest VPC CNI add-on version in the embedded versions)",
    )
    .option("--prefix-delegation", "the VPC CNI hands out /28 prefixes (Nitro, VPC CNI ≥ 1.9.0)")
    .addOption(new Option("--cni-prefix-delegation-enabled", "old name of --prefix-delegation").hideHelp())
    .option("--cni-custom-networking-enabled", "VPC CNI custom networking: the primary ENI hosts no pods")
    .option("--cni-max-eni <n>", "use at most N ENIs for pods")
    .option("--max-pods-cap <n>", "cap the answer at N instead of 110 / 250")
    .option("--show-max-allowed", "print the formula's value without any cap")
    .option(
      "--vcpus <n>",
      "vCPUs of the type (otherwise the embedded table or EC2 DescribeInstanceTypes, when the cap depends on it)",
    )
    .addOption(
      new Option(
        "--hypervisor <kind>",
        "hypervisor of the type, for prefix delegation (otherwise the embedded table or EC2)",
      )
        .choices(
          ["nitro", "xen", "none"] as const,
        ),
    )
    .option("--region <region>", "region for EC2 DescribeInstanceTypes (default AWS_REGION)", regionValue)
    .addOption(outputOption())
    .action(async (opts) => {
      if (opts.cniPrefixDelegationEnabled) {
        warnOldFlag("--cni-prefix-delegation-enabled", "--prefix-delegation");
      }
      const answer = await calculateMaxPodsAnswer(opts, ec2Describe(Deno.env.toObject(), opts.region));
      console.log(opts.output === "json" ? jsonText(answer) : String(answer.maxPods));
    });
}
