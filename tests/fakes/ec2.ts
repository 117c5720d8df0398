/**
 * A loopback EC2 API: DescribeInstanceTypes only, EC2 query protocol (form POST in, XML out).
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

/** One EC2 call, with its Action and requested types. */
export interface FakeEc2Call extends FakeCall {
  action?: string;
  instanceTypes: string[];
}

/** Behaviour of the fake. */
export interface FakeEc2Options {
  /** Known types (default: m5.large 3×10, 2 vCPU, nitro). */
  types?: Record<string, FakeInstanceType>;
  /** Answer the first N calls with 503 RequestLimitExceeded. */
  throttleFirst?: number;
}

/** Starts the fake EC2 API on 127.0.0.1. */
export function start(opts: FakeEc2Options = {}): RunningFake<FakeEc2Call> {
  const types = opts.types ?? { "m5.large": { enis: 3, ipsPerEni: 10, vcpus: 2, hypervisor: "nitro" } };
  const calls: FakeEc2Call[] = [];
  let toThrottle = opts.throttleFirst ?? 0;
  const server = serveLoopback(async (req) => {
    const form = new URLSearchParams(req.method === "POST" ? await req.text() : "");
    const requested = [...form.entries()].filter(([k]) => /^InstanceType\.\d+$/.test(k)).map(([, v]) => v);
    const call: FakeEc2Call = {
      method: req.method,
      path: new URL(req.url).pathname,
      action: form.get("Action") ?? undefined,
      instanceTypes: requested,
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
