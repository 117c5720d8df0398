/**
 * The ECR registry that serves EKS's own images (pause, kube-proxy, VPC CNI) for a region.
 *
 * - Accounts: `assets/ecr_accounts.tsv`, from awslabs/amazon-eks-ami `templates/al2/runtime/get-ecr-uri.sh`
 *   (commit 0ab84280); nodeadm `nodeadm/internal/aws/ecr/ecr.go` (commit 4d8c2617) has the same map and
 *   prefix fallbacks. Rows match in order, first wins; a row with a registry region sends the image pull
 *   to that region. An explicit account (bootstrap.sh `--pause-container-account`) skips the table and
 *   keeps the node's own region, as get-ecr-uri.sh does.
 * - DNS suffix and partition: the AWS SDK's partition data (`partition()` of `@aws-sdk/core/client`,
 *   pinned in deno.json), not a hand-written list: copied into `assets/partitions.json` so that `eksnode
 *   init` does not load the SDK (about 50 ms of CPU at start-up) when it makes no AWS call; a test checks
 *   every entry against the SDK's own `partition()`.
 * - FIPS: `ACCOUNT.dkr.ecr-fips.REGION.SUFFIX`. Upstream probes DNS for it at boot and falls back to the
 *   plain name; here the same choice is made from the regions that have ECR FIPS endpoints (AWS General
 *   Reference "Amazon ECR endpoints and quotas": us-east-1/2, us-west-1/2, us-gov-east-1, us-gov-west-1;
 *   not ca-*, which bottlerocket-os's ECR tests also treat as having none).
 */
import partitions from "../../assets/partitions.json" with { type: "json" };
import ecrAccountsTsv from "../../assets/ecr_accounts.tsv" with { type: "text" };
import { ConfigError } from "../../lib/errors.ts";

/** A region's partition as the AWS SDK knows it. */
export interface PartitionInfo {
  /** "aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc", ... */
  id: string;
  /** Service domain, e.g. "amazonaws.com", "amazonaws.com.cn", "c2s.ic.gov". */
  dnsSuffix: string;
}

/** One row of `assets/ecr_accounts.tsv`. */
export interface EcrAccountRule {
  /** A region name or a glob with `*` (e.g. "us-gov-*", "*"). */
  pattern: string;
  account: string;
  /** Where to pull from when the pattern matched (only set on `*` rows). */
  registryRegion?: string;
}

/** The account and region of the EKS image registry for a node's region. */
export interface EcrAccount {
  account: string;
  /** The region the registry is in: the node's own, or the row's registry region. */
  registryRegion: string;
  /** The rule that matched, or "override" for an explicit account. */
  matched: string;
}

/** Inputs of {@link ecrRegistry}. */
export interface EcrRegistryInput {
  /** The node's region. */
  region: string;
  /** Use the FIPS endpoint where the registry region has one (the host runs in FIPS mode). */
  fips?: boolean;
  /** `--pause-container-account`: this account, in the node's own region. */
  account?: string;
  /** A full registry host (e.g. a pull-through cache); wins over everything. */
  registry?: string;
  /** The service domain (IMDS `services/domain`); default: the SDK's DNS suffix for the region. */
  dnsSuffix?: string;
}

/** The outcome of {@link ecrRegistry}. */
export interface EcrRegistry {
  /** The registry host, e.g. "602401143452.dkr.ecr.us-west-2.amazonaws.com". */
  registry: string;
  /** Undefined when a full registry override was given. */
  account?: string;
  registryRegion: string;
  partition: string;
  /** True when the host is the FIPS one. */
  fips: boolean;
  source: "table" | "account-override" | "registry-override";
}

/** Regions with `dkr.ecr-fips` endpoints (see the module comment). */
export const ECR_FIPS_REGIONS: readonly string[] = Object.freeze([
  "us-east-1",
  "us-east-2",
  "us-west-1",
  "us-west-2",
  "us-gov-east-1",
  "us-gov-west-1",
]);

/** Parses the TSV asset: `# ` comment lines and the header are skipped; accounts must be 12 digits. */
export function parseEcrAccountsTsv(text: string): EcrAccountRule[] {
  const rules: EcrAccountRule[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/\r$/, "");
    if (line.trim() === "" || line.startsWith("#") || line.startsWith("region_pattern\t")) return;
    const [pattern, account, registryRegion] = line.split("\t");
    if (!pattern || !/^[a-z0-9*-]+$/.test(pattern) || !/^[0-9]{12}$/.test(account ?? "")) {
      throw new ConfigError(
        `ecr accounts line ${i + 1}: expected "PATTERN<TAB>ACCOUNT[<TAB>REGION]", got ${
          JSON.stringify(line)
        }`,
      );
    }
    if (pattern.includes("*") && !registryRegion) {
      throw new ConfigError(`ecr accounts line ${i + 1}: pattern ${pattern} needs a registry region`);
    }
    rules.push(registryRegion ? { pattern, account, registryRegion } : { pattern, account });
  });
  return rules;
}

/** The rules from `assets/ecr_accounts.tsv`, in match order. */
export const ECR_ACCOUNT_RULES: readonly EcrAccountRule[] = Object.freeze(
  parseEcrAccountsTsv(ecrAccountsTsv),
);

/** The partition and DNS suffix of a region from the AWS SDK's data; unknown regions fall back to "aws". */
export function partitionOf(region: string): PartitionInfo {
  requireRegion(region);
  // As the SDK's partition(): a listed region first, then the partitions' region patterns in order, then "aws".
  const p = partitions.partitions.find((p) => p.regions.includes(region)) ??
    partitions.partitions.find((p) => new RegExp(p.regionRegex).test(region)) ??
    partitions.partitions.find((p) => p.id === "aws")!;
  return { id: p.id, dnsSuffix: p.dnsSuffix };
}

/**
 * True when a partition of the AWS SDK's data lists `region` or its region pattern matches it (as the
 * SDK's `partition()` decides), so a region AWS adds later is known while "mars-east-1" is not.
 * @example knownRegion("us-west-2") // true
 */
export function knownRegion(region: string): boolean {
  return partitions.partitions.some((p) =>
    p.regions.includes(region) || new RegExp(p.regionRegex).test(region)
  );
}

/**
 * Every partition the ECR table covers, with its DNS suffix, in table order (one region each is asked of
 * the SDK). Used to build credential-provider match patterns.
 */
export function ecrPartitions(): PartitionInfo[] {
  const seen = new Map<string, PartitionInfo>();
  for (const r of ECR_ACCOUNT_RULES) {
    if (r.pattern.includes("*")) continue;
    const p = partitionOf(r.pattern);
    if (!seen.has(p.id)) seen.set(p.id, p);
  }
  return [...seen.values()];
}

/** The EKS image account for a region by the table's first matching row. Example: "us-gov-east-2" → 013241004608 in us-gov-west-1. */
export function ecrAccountFor(
  region: string,
  rules: readonly EcrAccountRule[] = ECR_ACCOUNT_RULES,
): EcrAccount {
  requireRegion(region);
  for (const r of rules) {
    if (!globMatch(r.pattern, region)) continue;
    return { account: r.account, registryRegion: r.registryRegion ?? region, matched: r.pattern };
  }
  throw new ConfigError(
    `no ECR account rule matches region ${region}`,
    'the table should end with a "*" row',
  );
}

/** True when `region` has `dkr.ecr-fips` endpoints. */
export function ecrFipsAvailable(region: string): boolean {
  return ECR_FIPS_REGIONS.includes(region);
}

/**
 * The registry host for EKS images. Example: `{ region: "cn-north-1" }` →
 * "918309763551.dkr.ecr.cn-north-1.amazonaws.com.cn"; with `fips: true` in us-east-1 →
 * "602401143452.dkr.ecr-fips.us-east-1.amazonaws.com".
 */
export function ecrRegistry(input: EcrRegistryInput): EcrRegistry {
  requireRegion(input.region);
  if (input.registry !== undefined && input.registry.trim() !== "") {
    const registry = input.registry.trim().replace(/^[a-z]+:\/\//, "").replace(/\/+$/, "");
    return {
      registry,
      registryRegion: input.region,
      partition: partitionOf(input.region).id,
      fips: registry.includes(".dkr.ecr-fips."),
      source: "registry-override",
    };
  }
  let coords: EcrAccount;
  if (input.account !== undefined && input.account.trim() !== "") {
    const account = input.account.trim();
    if (!/^[0-9]{12}$/.test(account)) {
      throw new ConfigError(
        `pause container account ${JSON.stringify(account)} is not a 12-digit AWS account id`,
        "pass --pause-container-account with the account that hosts the EKS images",
      );
    }
    coords = { account, registryRegion: input.region, matched: "override" };
  } else {
    coords = ecrAccountFor(input.region);
  }
  const part = partitionOf(coords.registryRegion);
  const suffix = input.dnsSuffix?.trim() || part.dnsSuffix;
  const fips = input.fips === true && ecrFipsAvailable(coords.registryRegion);
  return {
    registry: `${coords.account}.dkr.${fips ? "ecr-fips" : "ecr"}.${coords.registryRegion}.${suffix}`,
    account: coords.account,
    registryRegion: coords.registryRegion,
    partition: part.id,
    fips,
    source: coords.matched === "override" ? "account-override" : "table",
  };
}

/**
 * The region of an ECR registry host (`ACCOUNT.dkr.ecr[-fips].REGION.SUFFIX`), or undefined for
 * any other registry (pulled without credentials).
 * @example ecrRegistryRegion("602401143452.dkr.ecr.us-west-2.amazonaws.com") // "us-west-2"
 */
export function ecrRegistryRegion(registry: string): string | undefined {
  return /^[0-9]{12}\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.[a-z0-9.-]+$/.exec(registry)?.[1];
}

/** Shell-`case`-style match where only `*` is special. */
function globMatch(pattern: string, value: string): boolean {
  const re = new RegExp(
    `^${pattern.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`,
  );
  return re.test(value);
}

function requireRegion(region: string): void {
  if (!/^[a-z]{2,}(-[a-z0-9]+)+-[0-9]+$/.test(region)) {
    throw new ConfigError(
      `${JSON.stringify(region)} is not an AWS region name`,
      'regions look like "us-west-2"',
    );
  }
}
