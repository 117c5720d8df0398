/**
 * The cloud of nodeadm's e2e container, on loopback: its IMDS (amazon-ec2-metadata-mock with
 * `infra/aemm-default-config.json`, served by fakes/imds.ts), its AWS API (moto, here a small EC2
 * fake knowing the one instance), an AWS endpoint that never answers (iptables DROP in nodeadm), and the
 * logging HTTP proxy of `infra/proxy.py`.
 */
import { listenFetchable, serveLoopback } from "../../../fakes/common.ts";
import { start as startImds } from "../../../fakes/imds.ts";
import type { FakeImds } from "../../../fakes/imds.ts";

const INFRA = new URL("./infra/", import.meta.url).pathname;

/** The shape of an amazon-ec2-metadata-mock config file (the parts the cases use). */
interface AemmConfig {
  metadata?: { paths?: Record<string, string>; values?: Record<string, string> };
  dynamic?: { values?: { "instance-identity-document"?: Record<string, unknown> } };
  userdata?: { values?: { userdata?: string } };
}

/** The instance nodeadm's cases run on: IMDS tree (path under /latest/ → body) and user data. */
export interface Instance {
  metadata: Record<string, string>;
  userData?: string;
  /** Facts the EC2 fake answers DescribeInstances with. */
  id: string;
  type: string;
  privateDnsName: string;
  privateIp: string;
  zone: string;
}

/**
 * The IMDS of an AEMM config: AEMM's built-in values (infra/aemm-defaults.json) under the config's
 * values. Placement (region, zone) follows the identity document: AEMM's built-in us-east-1a would
 * contradict the document every case sets (us-west-2f), which EC2 never does. User data is served
 * decoded, as EC2 serves it.
 */
export async function aemmInstance(
  configPath: string,
  opts: { instanceType?: string } = {},
): Promise<Instance> {
  const config = JSON.parse(await Deno.readTextFile(configPath)) as AemmConfig;
  const defaults = JSON.parse(await Deno.readTextFile(`${INFRA}aemm-defaults.json`)) as Record<
    string,
    string
  >;
  const tree: Record<string, string> = {};
  for (const [k, v] of Object.entries(defaults)) if (!k.startsWith("_")) tree[k] = v;
  const values = { ...config.metadata?.values };
  if (opts.instanceType) values["instance-type"] = opts.instanceType;
  for (const [k, v] of Object.entries(values)) tree[`meta-data/${k}`] = v;
  const doc: Record<string, unknown> = { ...config.dynamic?.values?.["instance-identity-document"] };
  if (opts.instanceType) doc.instanceType = opts.instanceType;
  tree["dynamic/instance-identity/document"] = JSON.stringify(doc, null, 2);
  const zone = String(doc.availabilityZone);
  tree["meta-data/placement/availability-zone"] = zone;
  tree["meta-data/placement/region"] = String(doc.region);
  const b64 = config.userdata?.values?.userdata;
  const decoded = b64 === undefined ? undefined : new TextDecoder().decode(
    Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)),
  );
  return {
    metadata: tree,
    userData: decoded,
    id: tree["meta-data/instance-id"],
    type: tree["meta-data/instance-type"],
    privateDnsName: tree["meta-data/local-hostname"],
    privateIp: tree["meta-data/local-ipv4"],
    zone,
  };
}

/** Starts the instance's IMDS (IMDSv2, as AEMM with `imdsv2: true`). */
export function startInstanceImds(instance: Instance): FakeImds {
  return startImds({ metadata: instance.metadata, userData: instance.userData });
}

/** A server on a given loopback port that forwards every request to `target` (an IMDS coming up late). */
export function forwarder(port: number, target: string): { close(): Promise<void> } {
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, async (req) => {
    const u = new URL(req.url);
    const res = await fetch(`${target}${u.pathname}${u.search}`, {
      method: req.method,
      headers: req.headers,
      body: req.body,
    });
    return new Response(res.body, { status: res.status, headers: res.headers });
  });
  return { close: () => server.shutdown() };
}

// ---------------------------------------------------------------------------------------------
// AWS

/** Real limits of the types the cases' instances have (EC2 DescribeInstanceTypes; moto knows them). */
const KNOWN_TYPES: Record<string, { vcpus: number; enis: number; ips: number }> = {
  "m4.xlarge": { vcpus: 4, enis: 4, ips: 15 },
};

function xml(status: number, body: string): Response {
  return new Response(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`, {
    status,
    headers: { "content-type": "text/xml;charset=UTF-8" },
  });
}

function ec2Error(code: string, message: string): Response {
  return xml(
    400,
    `<Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors>` +
      `<RequestID>00000000-0000-0000-0000-000000000002</RequestID></Response>`,
  );
}

/** One call the AWS fake saw. */
export interface AwsCall {
  action: string;
  status: number;
}

/**
 * The AWS API of nodeadm's container (moto after `aws ec2 run-instances` of the instance): EC2
 * DescribeInstances knows the instance, DescribeInstanceTypes the real types; anything else fails.
 */
export function startAws(instance: Instance): { url: string; calls: AwsCall[]; close(): Promise<void> } {
  const calls: AwsCall[] = [];
  const server = serveLoopback(async (req) => {
    const form = new URLSearchParams(req.method === "POST" ? await req.text() : new URL(req.url).search);
    const action = form.get("Action") ?? "";
    const answer = (() => {
      if (action === "DescribeInstances") {
        return xml(
          200,
          `<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">` +
            `<requestId>00000000-0000-0000-0000-000000000001</requestId><reservationSet><item>` +
            `<reservationId>r-046cb3eca3e201d2f</reservationId><ownerId>123456789012</ownerId><instancesSet><item>` +
            `<instanceId>${instance.id}</instanceId><instanceType>${instance.type}</instanceType>` +
            `<privateDnsName>${instance.privateDnsName}</privateDnsName>` +
            `<privateIpAddress>${instance.privateIp}</privateIpAddress>` +
            `<placement><availabilityZone>${instance.zone}</availabilityZone></placement>` +
            `<instanceState><code>16</code><name>running</name></instanceState>` +
            `</item></instancesSet></item></reservationSet></DescribeInstancesResponse>`,
        );
      }
      if (action === "DescribeInstanceTypes") {
        const asked = [...form.entries()].filter(([k]) => /^InstanceType\.\d+$/.test(k)).map(([, v]) => v);
        const unknown = asked.filter((t) => !KNOWN_TYPES[t]);
        if (unknown.length) {
          return ec2Error(
            "InvalidInstanceType",
            `The following supplied instance types do not exist: [${unknown}]`,
          );
        }
        const items = asked.map((t) => {
          const k = KNOWN_TYPES[t];
          return `<item><instanceType>${t}</instanceType><vCpuInfo><defaultVCpus>${k.vcpus}</defaultVCpus>` +
            `</vCpuInfo><networkInfo><maximumNetworkInterfaces>${k.enis}</maximumNetworkInterfaces>` +
            `<ipv4AddressesPerInterface>${k.ips}</ipv4AddressesPerInterface></networkInfo>` +
            `<hypervisor>xen</hypervisor></item>`;
        }).join("");
        return xml(
          200,
          `<DescribeInstanceTypesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">` +
            `<requestId>00000000-0000-0000-0000-000000000001</requestId>` +
            `<instanceTypeSet>${items}</instanceTypeSet></DescribeInstanceTypesResponse>`,
        );
      }
      return ec2Error("InvalidAction", `The action ${action} is not valid for this web service.`);
    })();
    calls.push({ action, status: answer.status });
    return answer;
  });
  return { url: server.url, calls, close: server.close };
}

/**
 * An AWS endpoint that accepts connections and never answers (nodeadm drops the packets with iptables;
 * a loopback listener cannot, so the client waits on the answer instead of the connection).
 */
export function startBlackhole(): { url: string; close(): void } {
  const listener = listenFetchable("127.0.0.1");
  const held: Deno.Conn[] = [];
  (async () => {
    try {
      for await (const conn of listener) held.push(conn);
    } catch {
      // closed
    }
  })();
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    close() {
      listener.close();
      for (const c of held) {
        try {
          c.close();
        } catch {
          // already closed by the client
        }
      }
    },
  };
}

/** One request through the proxy, as infra/proxy.py logs it. */
export interface ProxyEntry {
  method: string;
  url: string;
  response: number;
}

/**
 * infra/proxy.py's job: a forward HTTP proxy on `port` that logs every request it relays. Undefined
 * when the port is taken (the case's user data names localhost:8080, so no other port will do).
 */
export function startProxy(port: number): { log: ProxyEntry[]; close(): Promise<void> } | undefined {
  const log: ProxyEntry[] = [];
  try {
    const server = Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, async (req) => {
      if (req.method === "CONNECT") {
        log.push({ method: "CONNECT", url: req.url, response: 405 });
        return new Response("", { status: 405 });
      }
      const res = await fetch(req.url, { method: req.method, headers: req.headers, body: req.body });
      log.push({ method: req.method, url: req.url, response: res.status });
      return new Response(res.body, { status: res.status, headers: res.headers });
    });
    return { log, close: () => server.shutdown() };
  } catch (err) {
    if (err instanceof Deno.errors.AddrInUse) return undefined;
    throw err;
  }
}

/** Parses infra/proxy.py's log (`{"method": ..., "url": ..., "response": ...},` a line). */
export function parseProxyLog(text: string): ProxyEntry[] {
  return text.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l.trim().replace(/,$/, "")));
}
