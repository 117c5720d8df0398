/**
 * A loopback EC2 API: DescribeInstanceTypes and DescribeInstances, EC2 query protocol (form POST in, XML
 * out). DescribeInstances answers `reservationSet/item/instancesSet/item/privateDnsName`.
 * Element names are those of the EC2 model as shipped in @aws-sdk/client-ec2 3.1169.0
 * (dist-es/schemas/schemas_0.js: instanceTypeSet/item, vCpuInfo.defaultVCpus, networkInfo.
 * maximumNetworkInterfaces, networkInfo.ipv4AddressesPerInterface); errors use the EC2
 * `<Response><Errors><Error>` envelope.
 */
import { type FakeCall, type RunningFake, serveLoopback, sigv4Scope } from "./common.ts";

/** What the fake knows about one instance type. */
export interface FakeInstanceType {
  enis: number;
  ipsPerEni: number;
  vcpus: number;
  hypervisor?: string;
}

/** One EC2 call, with its Action and requested types or instance ids. */
export interface FakeEc2Call extends FakeCall {
  action?: string;
  instanceTypes: string[];
  instanceIds: string[];
}

/** What the fake knows about one instance (DescribeInstances). */
export interface FakeInstance {
  /** PrivateDnsName; "" while EC2 has not assigned it. */
  privateDnsName: string;
  /** Answer InvalidInstanceID.NotFound to the first N DescribeInstances for it (eventual consistency). */
  notFoundFirst?: number;
  /** Answer an empty PrivateDnsName to the first N DescribeInstances for it. */
  emptyFirst?: number;
}

/**
 * The instance of fakes/imds.ts defaultMetadata() and the id of nodeadm's e2e mock instance
 * (nodeadm/test/e2e/infra/aemm-default-config.json, which the NodeConfig case tests put in IMDS), each
 * with its EC2 PrivateDnsName.
 */
export const DEFAULT_INSTANCES: Readonly<Record<string, FakeInstance>> = {
  "i-0123456789abcdef0": { privateDnsName: "ip-10-0-1-23.us-west-2.compute.internal" },
  "i-1234567890abcdef0": { privateDnsName: "ip-10-0-1-23.us-west-2.compute.internal" },
};

/** Behaviour of the fake. */
export interface FakeEc2Options {
  /** Known types (default: m5.large 3×10, 2 vCPU, nitro). */
  types?: Record<string, FakeInstanceType>;
  /** Known instances by id (default {@link DEFAULT_INSTANCES}). */
  instances?: Record<string, FakeInstance>;
  /** Answer the first N calls with 503 RequestLimitExceeded. */
  throttleFirst?: number;
}

/** Starts the fake EC2 API on 127.0.0.1. */
export function start(opts: FakeEc2Options = {}): RunningFake<FakeEc2Call> {
  const types = opts.types ?? { "m5.large": { enis: 3, ipsPerEni: 10, vcpus: 2, hypervisor: "nitro" } };
  const instances: Record<string, FakeInstance> = structuredClone(opts.instances ?? DEFAULT_INSTANCES);
  const calls: FakeEc2Call[] = [];
  let toThrottle = opts.throttleFirst ?? 0;
  const server = serveLoopback(async (req) => {
    const form = new URLSearchParams(req.method === "POST" ? await req.text() : "");
    const requested = [...form.entries()].filter(([k]) => /^InstanceType\.\d+$/.test(k)).map(([, v]) => v);
    const ids = [...form.entries()].filter(([k]) => /^InstanceId\.\d+$/.test(k)).map(([, v]) => v);
    const call: FakeEc2Call = {
      method: req.method,
      path: new URL(req.url).pathname,
      action: form.get("Action") ?? undefined,
      instanceTypes: requested,
      instanceIds: ids,
      at: performance.now(),
      ...sigv4Scope(req),
    };
    calls.push(call);
    const xml = (status: number, body: string) => {
      call.status = status;
      return new Response(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`, {
        status,
        headers: { "content-type": "text/xml;charset=UTF-8" },
      });
    };
    if (toThrottle > 0) {
      toThrottle--;
      return xml(503, errorXml("RequestLimitExceeded", "Request limit exceeded."));
    }
    if (call.action === "DescribeInstances") {
      const missing = ids.filter((id) => !instances[id] || (instances[id].notFoundFirst ?? 0) > 0);
      for (const id of ids) if (instances[id]?.notFoundFirst) instances[id].notFoundFirst!--;
      if (missing.length > 0) {
        return xml(
          400,
          errorXml("InvalidInstanceID.NotFound", `The instance ID '${missing.join(", ")}' does not exist`),
        );
      }
      const items = ids.map((id) => {
        const inst = instances[id];
        const empty = (inst.emptyFirst ?? 0) > 0;
        if (empty) inst.emptyFirst!--;
        return `<item><instanceId>${id}</instanceId><instanceType>m5.large</instanceType>` +
          `<privateDnsName>${empty ? "" : inst.privateDnsName}</privateDnsName></item>`;
      }).join("");
      return xml(
        200,
        `<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">` +
          `<requestId>00000000-0000-0000-0000-000000000003</requestId><reservationSet><item>` +
          `<reservationId>r-0123456789abcdef0</reservationId><ownerId>111122223333</ownerId>` +
          `<instancesSet>${items}</instancesSet></item></reservationSet></DescribeInstancesResponse>`,
      );
    }
    if (call.action !== "DescribeInstanceTypes") {
      return xml(
        400,
        errorXml("InvalidAction", `The action ${call.action} is not valid for this web service.`),
      );
    }
    const unknown = requested.filter((t) => !types[t]);
    if (unknown.length > 0) {
      return xml(
        400,
        errorXml(
          "InvalidInstanceType",
          `The following supplied instance types do not exist: [${unknown.join(", ")}]`,
        ),
      );
    }
    const items = requested.map((t) => itemXml(t, types[t])).join("");
    return xml(
      200,
      `<DescribeInstanceTypesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">` +
        `<requestId>00000000-0000-0000-0000-000000000001</requestId>` +
        `<instanceTypeSet>${items}</instanceTypeSet></DescribeInstanceTypesResponse>`,
    );
  });
  return { url: server.url, calls, close: server.close };
}

function itemXml(name: string, t: FakeInstanceType): string {
  return `<item><instanceType>${name}</instanceType><currentGeneration>true</currentGeneration>` +
    (t.hypervisor ? `<hypervisor>${t.hypervisor}</hypervisor>` : "") +
    `<vCpuInfo><defaultVCpus>${t.vcpus}</defaultVCpus><defaultCores>${
      Math.max(1, t.vcpus / 2)
    }</defaultCores>` +
    `</vCpuInfo><networkInfo><networkPerformance>Up to 10 Gigabit</networkPerformance>` +
    `<maximumNetworkInterfaces>${t.enis}</maximumNetworkInterfaces>` +
    `<ipv4AddressesPerInterface>${t.ipsPerEni}</ipv4AddressesPerInterface>` +
    `<ipv6AddressesPerInterface>${t.ipsPerEni}</ipv6AddressesPerInterface><ipv6Supported>true</ipv6Supported>` +
    `</networkInfo></item>`;
}

function errorXml(code: string, message: string): string {
  return `<Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors>` +
    `<RequestID>00000000-0000-0000-0000-000000000002</RequestID></Response>`;
}
