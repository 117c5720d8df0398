/**
 * EKS DescribeCluster, for `eksnode init` when the NodeConfig lacks the API server endpoint or CA.
 * The SDK is imported lazily so commands that never call EKS do not pay for loading it.
 * Retries: the SDK's own retry is off (maxAttempts 1) and {@link sendWithRetry} retries instead, so there
 * is one policy, bounded in tries and total time, with an injectable clock for tests.
 */
import type { DescribeClusterCommandOutput } from "@aws-sdk/client-eks";
import { AwsApiError } from "../../lib/errors.ts";
import {
  type AwsCallOptions,
  awsClientConfig,
  describeSdkError,
  isThrottling,
  sdkClientOptions,
  sdkHttpStatus,
  sendWithRetry,
  triesText,
} from "./call.ts";

/** The facts about a cluster that a node needs to join it. */
export interface ClusterInfo {
  /** API server URL, e.g. https://ABC.gr7.us-west-2.eks.amazonaws.com. */
  endpoint: string;
  /** Cluster CA bundle, base64 (as the API returns it). */
  certificateAuthority: string;
  serviceIpv4Cidr?: string;
  serviceIpv6Cidr?: string;
  ipFamily: "ipv4" | "ipv6";
  /** Kubernetes minor version, e.g. "1.31". */
  version: string;
  /** Cluster id; set for local clusters on Outposts, whose nodes authenticate with it. */
  id?: string;
  /** Set for clusters whose control plane runs on Outposts. */
  outpost?: { outpostArns: string[]; controlPlaneInstanceType?: string };
}

/** Where {@link cachedDescribeCluster} keeps its answer between runs. */
export interface ClusterCache {
  read(): Promise<string | undefined>;
  write(text: string): Promise<void>;
}

/** Calls EKS DescribeCluster for `name` and returns what a node needs; failures are AwsApiError. */
export async function describeCluster(name: string, opts: AwsCallOptions): Promise<ClusterInfo> {
  const cfg = awsClientConfig("EKS", opts.env, opts.region);
  const where = `EKS cluster "${name}" in ${cfg.region} (endpoint ${cfg.endpointLabel})`;
  const { EKSClient, DescribeClusterCommand } = await import("@aws-sdk/client-eks");
  const client = new EKSClient(sdkClientOptions(cfg));
  let out: DescribeClusterCommandOutput;
  try {
    out = await sendWithRetry(
      (abortSignal) => client.send(new DescribeClusterCommand({ name }), { abortSignal }),
      opts,
      (err, tries) => describeClusterError(err, tries, where),
    );
  } finally {
    client.destroy();
  }
  const c = out.cluster;
  const endpoint = c?.endpoint;
  const ca = c?.certificateAuthority?.data;
  if (!c || !endpoint || !ca) {
    throw new AwsApiError(
      `DescribeCluster for ${where} returned no ${!endpoint ? "endpoint" : "certificate authority"}` +
        ` (cluster status ${c?.status ?? "unknown"})`,
      "wait until the cluster is ACTIVE, or put apiServerEndpoint and certificateAuthority in the NodeConfig",
    );
  }
  const net = c.kubernetesNetworkConfig;
  const info: ClusterInfo = {
    endpoint,
    certificateAuthority: ca,
    ipFamily: net?.ipFamily === "ipv6" ? "ipv6" : "ipv4",
    version: c.version ?? "",
  };
  if (net?.serviceIpv4Cidr) info.serviceIpv4Cidr = net.serviceIpv4Cidr;
  if (net?.serviceIpv6Cidr) info.serviceIpv6Cidr = net.serviceIpv6Cidr;
  if (c.id) info.id = c.id;
  if (c.outpostConfig) {
    info.outpost = { outpostArns: c.outpostConfig.outpostArns ?? [] };
    if (c.outpostConfig.controlPlaneInstanceType) {
      info.outpost.controlPlaneInstanceType = c.outpostConfig.controlPlaneInstanceType;
    }
  }
  return info;
}

/**
 * {@link describeCluster} through a cache: a cached answer for the same cluster name is used without
 * calling EKS; otherwise the API is called and its answer written to the cache.
 */
export async function cachedDescribeCluster(
  name: string,
  cache: ClusterCache,
  opts: AwsCallOptions,
): Promise<ClusterInfo> {
  const hit = parseCache(await cache.read(), name);
  if (hit) return hit;
  const info = await describeCluster(name, opts);
  const record = { name, fetchedAt: new Date().toISOString(), cluster: info };
  await cache.write(JSON.stringify(record, null, 2) + "\n");
  return info;
}

/** The cached ClusterInfo when `text` is a well-formed record for cluster `name`, else undefined. */
function parseCache(text: string | undefined, name: string): ClusterInfo | undefined {
  if (!text) return undefined;
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch {
    return undefined; // A torn or hand-edited cache is refetched, not fatal.
  }
  const r = record as { name?: unknown; cluster?: Partial<ClusterInfo> } | null;
  const c = r?.cluster;
  if (r?.name !== name || !c) return undefined;
  if (typeof c.endpoint !== "string" || typeof c.certificateAuthority !== "string") return undefined;
  if (c.ipFamily !== "ipv4" && c.ipFamily !== "ipv6") return undefined;
  if (typeof c.version !== "string") return undefined;
  return c as ClusterInfo;
}

function describeClusterError(err: unknown, tries: number, where: string): AwsApiError {
  const name = (err as { name?: string } | null)?.name;
  const status = sdkHttpStatus(err);
  if (name === "ResourceNotFoundException") {
    return new AwsApiError(
      `${where} not found`,
      "check the cluster name and the region (AWS_REGION, or the instance's region)",
      err,
    );
  }
  if (name === "UnrecognizedClientException" || name === "InvalidSignatureException") {
    return new AwsApiError(
      `DescribeCluster for ${where}: the credentials were rejected (${describeSdkError(err)})`,
      "check the node's instance role or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, and the clock",
      err,
    );
  }
  if (status === 403 || name === "AccessDeniedException") {
    return new AwsApiError(
      `DescribeCluster for ${where} was denied: the credentials lack the permission eks:DescribeCluster ` +
        `(${describeSdkError(err)})`,
      "the credentials lack eks:DescribeCluster; allow it in the node's instance role, or put " +
        "apiServerEndpoint and certificateAuthority in the NodeConfig so no call is needed",
      err,
    );
  }
  const hint = isThrottling(err)
    ? "the EKS API kept throttling; retry later, or put apiServerEndpoint and certificateAuthority in the NodeConfig"
    : "check network access to the endpoint; AWS_ENDPOINT_URL_EKS overrides it";
  return new AwsApiError(
    `DescribeCluster for ${where} failed after ${triesText(tries)}: ${describeSdkError(err)}`,
    hint,
    err,
  );
}
