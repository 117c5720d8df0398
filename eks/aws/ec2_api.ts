/**
 * EC2 DescribeInstanceTypes, for instance types missing from the embedded table (max pods needs the
 * ENI and IP counts), and DescribeInstances, for the node name (the instance's PrivateDnsName). Both go
 * through the light Query client of `ec2_query.ts`; retries as in {@link sendWithRetry}. Element names
 * are those of the EC2 model (@aws-sdk/client-ec2 3.1169.0, dist-es/schemas/schemas_0.js);
 * tests/eks/aws/ec2_query_test.ts reads the same answers with that SDK and this module and compares.
 */
import { AwsApiError } from "../../lib/errors.ts";
import { xmlChild, xmlPath, xmlText } from "../../lib/xml_tree.ts";
import { type AwsCallOptions, awsClientConfig, describeSdkError, sendWithRetry, triesText } from "./call.ts";
import { ec2Call } from "./ec2_query.ts";

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
  const root = await sendWithRetry(
    (signal) => ec2Call(cfg, opts.env, "DescribeInstanceTypes", { "InstanceType.1": type }, signal),
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
  const t = xmlPath(root, "instanceTypeSet", "item")[0];
  const net = xmlChild(t, "networkInfo");
  const defaultCard = num(xmlText(net, "defaultNetworkCardIndex")) ?? 0;
  const card = xmlPath(net, "networkCards", "item")
    .find((c) => (num(xmlText(c, "networkCardIndex")) ?? 0) === defaultCard);
  const enis = num(xmlText(card, "maximumNetworkInterfaces")) ??
    num(xmlText(net, "maximumNetworkInterfaces"));
  const ipsPerEni = num(xmlText(net, "ipv4AddressesPerInterface"));
  const vcpus = num(xmlText(xmlChild(t, "vCpuInfo"), "defaultVCpus"));
  if (enis === undefined || ipsPerEni === undefined || vcpus === undefined) {
    throw new AwsApiError(
      `DescribeInstanceTypes returned no network or vCPU data for ${where}`,
      "set maxPods in the NodeConfig to skip the lookup",
    );
  }
  const info: InstanceTypeInfo = { enis, ipsPerEni, vcpus };
  const hypervisor = xmlText(t, "hypervisor");
  if (hypervisor) info.hypervisor = hypervisor;
  return info;
}

/** A whole number from an element's text, or undefined when absent or not a number. */
function num(text: string | undefined): number | undefined {
  if (text === undefined || !/^\s*[0-9]+\s*$/.test(text)) return undefined;
  return Number(text);
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
  return await sendWithRetry(
    async (signal) => {
      const root = await ec2Call(cfg, opts.env, "DescribeInstances", { "InstanceId.1": instanceId }, signal);
      const instances = xmlPath(root, "reservationSet", "item", "instancesSet", "item");
      if (instances.length !== 1) {
        throw new AwsApiError(
          `DescribeInstances for ${where} returned ${instances.length} instances, not 1`,
          "check AWS_ENDPOINT_URL_EC2 / AWS_ENDPOINT_URL: the endpoint does not look like EC2",
        );
      }
      const name = xmlText(instances[0], "privateDnsName") ?? "";
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
}
