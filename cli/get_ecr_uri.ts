/**
 * `eksnode get-ecr-uri --region R [--fips] [--account A]`: the ECR registry that serves EKS's own images
 * (pause, kube-proxy, VPC CNI) for a region of any partition, like amazon-eks-ami's get-ecr-uri.sh.
 * The rules are eks/aws/ecr_registry.ts's (assets/ecr_accounts.tsv and the AWS SDK's partition data).
 */
import { Command } from "@commander-js/extra-typings";
import { regionValue } from "./flag_values.ts";
import { UsageError } from "../lib/errors.ts";
import { jsonText, type OutputFormat, outputOption } from "./output.ts";
import { examples } from "./help.ts";

/** Flags of `eksnode get-ecr-uri`. */
export interface GetEcrUriFlags {
  region: string;
  fips?: boolean;
  account?: string;
  dnsSuffix?: string;
  output: OutputFormat;
}

/** The JSON answer. */
export interface EcrUriAnswer {
  region: string;
  registry: string;
  account: string | null;
  registryRegion: string;
  partition: string;
  dnsSuffix: string;
  fips: boolean;
  source: string;
}

/** Resolves the registry for the flags. */
export async function ecrUriAnswer(flags: Omit<GetEcrUriFlags, "output">): Promise<EcrUriAnswer> {
  const { ecrRegistry, knownRegion, partitionOf } = await import("../eks/aws/ecr_registry.ts");
  if (flags.account !== undefined && !/^[0-9]{12}$/.test(flags.account.trim())) {
    throw new UsageError(
      `--account: ${JSON.stringify(flags.account.trim())} is not a 12-digit AWS account id`,
    );
  }
  if (!knownRegion(flags.region.trim())) {
    throw new UsageError(
      `--region ${flags.region.trim()}: not a region of any AWS partition the embedded SDK data knows`,
      "regions look like us-west-2, cn-north-1, us-gov-east-1 (see assets/partitions.json)",
    );
  }
  const r = ecrRegistry({
    region: flags.region.trim(),
    fips: flags.fips === true,
    account: flags.account,
    dnsSuffix: flags.dnsSuffix,
  });
  return {
    region: flags.region.trim(),
    registry: r.registry,
    account: r.account ?? null,
    registryRegion: r.registryRegion,
    partition: r.partition,
    dnsSuffix: flags.dnsSuffix?.trim() || partitionOf(r.registryRegion).dnsSuffix,
    fips: r.fips,
    source: r.source,
  };
}

/** The `get-ecr-uri` command. */
export function getEcrUriCommand() {
  return new Command("get-ecr-uri")
    .addHelpText(
      "after",
      examples([
        ["the registry of EKS's images in eu-west-1", "eksnode get-ecr-uri --region eu-west-1"],
        ["its FIPS endpoint in us-gov-west-1", "eksnode get-ecr-uri --region us-gov-west-1 --fips"],
      ]),
    )
    .description(
      "the ECR registry of EKS's images (pause, kube-proxy, VPC CNI) for a region of any partition",
    )
    .requiredOption(
      "--region <region>",
      "the node's region, e.g. us-west-2, cn-north-1, us-gov-east-1",
      regionValue,
    )
    .option("--fips", "the FIPS endpoint (dkr.ecr-fips) where the registry's region has one")
    .option(
      "--account <id>",
      "this 12-digit account in the node's own region (bootstrap.sh --pause-container-account)",
    )
    .option("--dns-suffix <domain>", "service domain (default: the partition's, from the AWS SDK)")
    .addOption(outputOption())
    .action(async (opts) => {
      const answer = await ecrUriAnswer(opts);
      console.log(opts.output === "json" ? jsonText(answer) : answer.registry);
    });
}
