/**
 * EC2 DescribeInstanceTypes, for instance types missing from the embedded table (max pods needs the
 * ENI and IP counts). The SDK is imported lazily; retries as in {@link sendWithRetry}.
 */
import type { _InstanceType, DescribeInstanceTypesCommandOutput } from "@aws-sdk/client-ec2";
import { AwsApiError } from "../lib/errors.ts";
import {
  type AwsCallOptions,
  awsClientConfig,
  describeSdkError,
  sdkClientOptions,
  sendWithRetry,
  triesText,
} from "./aws_call.ts";

/** The networking and CPU facts of one instance type. */
export interface InstanceTypeInfo {
  /** NetworkInfo.MaximumNetworkInterfaces. */
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
  const { EC2Client, DescribeInstanceTypesCommand } = await import("@aws-sdk/client-ec2");
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
  const enis = t?.NetworkInfo?.MaximumNetworkInterfaces;
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
