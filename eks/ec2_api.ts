/**
 * EC2 DescribeInstanceTypes, for instance types missing from the embedded table (max pods needs the
 * ENI and IP counts), and DescribeInstances, for the node name (the instance's PrivateDnsName). The SDK
 * is imported lazily; retries as in {@link sendWithRetry}.
 */
import type {
  _InstanceType,
  DescribeInstancesCommandOutput,
  DescribeInstanceTypesCommandOutput,
} from "@aws-sdk/client-ec2";
import { AwsApiError } from "../lib/errors.ts";
import {
  type AwsCallOptions,
  awsClientConfig,
  describeSdkError,
  sdkClientOptions,
  sendWithRetry,
  triesText,
} from "./aws_call.ts";

type Ec2Sdk = typeof import("@aws-sdk/client-ec2");
let sdk: Promise<Ec2Sdk> | undefined;

/**
 * Loads the EC2 SDK once. It is large (about 2 s to load on a busy 2-core machine, most of what a
 * DescribeInstances at init costs), so init starts the load early, while it waits for instance metadata.
 * @example loadEc2Sdk().catch(() => {}) // start loading; awaited where a call is made
 */
export function loadEc2Sdk(): Promise<Ec2Sdk> {
  sdk ??= import("@aws-sdk/client-ec2");
  return sdk;
}

/** The networking and CPU facts of one instance type. */
export interface InstanceTypeInfo {
  /**
   * Interfaces on the default network card (NetworkCards[DefaultNetworkCardIndex], as nodeadm's
   * `getInstanceInfoFromDescribeResponse` reads it, commit 81fec2e8), else NetworkInfo.MaximumNetworkInterfaces.
   */
  enis: number;
  /** NetworkInfo.Ipv4AddressesPerInterface. */
  ipsPerEni: number;
  /** VCpuInfo.DefaultVCpus. */
  vcpus: number;
  /** "nitro" or "xen"; absent for bare metal. */
  hypervisor?: string;
}

/** Calls EC2 DescribeInstanceTypes for one type; an unknown type or any failure is an AwsApiError. */
export async function describeInstanceType(type: string, opts: AwsCallOptions): Promise<InstanceTypeInfo> {
  const cfg = awsClientConfig("EC2", opts.env, opts.region);
  const where = `instance type "${type}" in ${cfg.region} (endpoint ${cfg.endpointLabel})`;
  const { EC2Client, DescribeInstanceTypesCommand } = await loadEc2Sdk();
  const client = new EC2Client(sdkClientOptions(cfg));
  let out: DescribeInstanceTypesCommandOutput;
  try {
    out = await sendWithRetry(
      (abortSignal) =>
        client.send(
          // The SDK types InstanceTypes as a closed union; EC2 itself answers unknown names.
          new DescribeInstanceTypesCommand({ InstanceTypes: [type as _InstanceType] }),
          { abortSignal },
        ),
      opts,
      (err, tries) => {
        const name = (err as { name?: string } | null)?.name;
        if (name === "InvalidInstanceType") {
          return new AwsApiError(
            `EC2 does not know ${where}`,
            "check the spelling, and that the type is offered in this region",
            err,
          );
        }
        return new AwsApiError(
          `DescribeInstanceTypes for ${where} failed after ${triesText(tries)}: ${describeSdkError(err)}`,
          "check network access to the endpoint and ec2:DescribeInstanceTypes in the instance role",
          err,
        );
      },
    );
  } finally {
    client.destroy();
  }
  const t = out.InstanceTypes?.[0];
  const net = t?.NetworkInfo;
  const defaultCard = net?.DefaultNetworkCardIndex ?? 0;
  const card = net?.NetworkCards?.find((c) => (c.NetworkCardIndex ?? 0) === defaultCard);
  const enis = card?.MaximumNetworkInterfaces ?? net?.MaximumNetworkInterfaces;
  const ipsPerEni = t?.NetworkInfo?.Ipv4AddressesPerInterface;
  const vcpus = t?.VCpuInfo?.DefaultVCpus;
  if (enis === undefined || ipsPerEni === undefined || vcpus === undefined) {
    throw new AwsApiError(
      `DescribeInstanceTypes returned no network or vCPU data for ${where}`,
      "set maxPods in the NodeConfig to skip the lookup",
    );
  }
  const info: InstanceTypeInfo = { enis, ipsPerEni, vcpus };
  if (t?.Hypervisor) info.hypervisor = t.Hypervisor;
  return info;
}

/** EC2 error codes DescribeInstances answers while a new instance is not yet visible everywhere. */
const NOT_YET_VISIBLE = new Set(["InvalidInstanceID.NotFound"]);

/** PrivateDnsName was empty: EC2 has not assigned it yet (retried, as nodeadm's waiter does). */
class NoPrivateDnsNameYet extends Error {
  override name = "NoPrivateDnsNameYet";
}

/**
 * The instance's PrivateDnsName from EC2 DescribeInstances: the node name kubelet registers under the
 * external cloud provider, the name the AWS cloud controller manager looks the node up by. Waits out
 * eventual consistency (InvalidInstanceID.NotFound, an empty name) within the retry bounds, as nodeadm's
 * `getPrivateDNSName` (nodeadm/internal/api/status.go, commit 81fec2e8) and bootstrap.sh's
 * private-dns-name helper do; any other failure is an AwsApiError.
 * @example await describePrivateDnsName("i-0123456789abcdef0", { env, region: "us-west-2" })
 */
export async function describePrivateDnsName(instanceId: string, opts: AwsCallOptions): Promise<string> {
  const cfg = awsClientConfig("EC2", opts.env, opts.region);
  const where = `instance ${instanceId} in ${cfg.region} (endpoint ${cfg.endpointLabel})`;
  const { EC2Client, DescribeInstancesCommand } = await loadEc2Sdk();
  const client = new EC2Client(sdkClientOptions(cfg));
  try {
    return await sendWithRetry(
      async (abortSignal) => {
        const out: DescribeInstancesCommandOutput = await client.send(
          new DescribeInstancesCommand({ InstanceIds: [instanceId] }),
          { abortSignal },
        );
        const instances = (out.Reservations ?? []).flatMap((r) => r.Instances ?? []);
        if (instances.length !== 1) {
          throw new AwsApiError(
            `DescribeInstances for ${where} returned ${instances.length} instances, not 1`,
            "check AWS_ENDPOINT_URL_EC2 / AWS_ENDPOINT_URL: the endpoint does not look like EC2",
          );
        }
        const name = instances[0].PrivateDnsName ?? "";
        if (name === "") throw new NoPrivateDnsNameYet(`EC2 has no PrivateDnsName for ${instanceId} yet`);
        return name;
      },
      opts,
      (err, tries) => {
        if (err instanceof AwsApiError) return err;
        return new AwsApiError(
          `DescribeInstances for ${where} failed after ${triesText(tries)}: ${describeSdkError(err)}`,
          "allow ec2:DescribeInstances in the instance role (AmazonEKSWorkerNodePolicy has it), or name " +
            "the node by its instance id with the NodeConfig feature gate InstanceIdNodeName",
          err,
        );
      },
      (err) =>
        err instanceof NoPrivateDnsNameYet ||
        NOT_YET_VISIBLE.has((err as { name?: string } | null)?.name ?? ""),
    );
  } finally {
    client.destroy();
  }
}
