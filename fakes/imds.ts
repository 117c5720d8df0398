/**
 * A loopback EC2 instance metadata service (IMDSv2 only): `PUT /latest/api/token` with a TTL header
 * hands out tokens; every GET must carry a valid one or gets 401, as on an instance with
 * HttpTokens=required. Layout after the EC2 user guide "Instance metadata categories".
 */
import { serveLoopback } from "./common.ts";

/** The sample instance's primary MAC. */
export const FAKE_MAC = "0e:49:61:0f:c3:11";

/** A realistic metadata tree, keyed by path under /latest/. */
export function defaultMetadata(): Record<string, string> {
  const nic = `meta-data/network/interfaces/macs/${FAKE_MAC}`;
  return {
    "meta-data/instance-id": "i-0123456789abcdef0",
    "meta-data/instance-type": "m5.large",
    "meta-data/placement/region": "us-west-2",
    "meta-data/placement/availability-zone": "us-west-2a",
    "meta-data/local-ipv4": "10.0.1.23",
    "meta-data/mac": FAKE_MAC,
    "meta-data/hostname": "ip-10-0-1-23.us-west-2.compute.internal",
    "meta-data/local-hostname": "ip-10-0-1-23.us-west-2.compute.internal",
    [`${nic}/vpc-ipv4-cidr-blocks`]: "10.0.0.0/16\n100.64.0.0/16",
    [`${nic}/ipv6s`]: "2600:1f14:abc:de00::1\n2600:1f14:abc:de00::2",
    [`${nic}/vpc-ipv6-cidr-blocks`]: "2600:1f14:abc:de00::/56",
    "dynamic/instance-identity/document": JSON.stringify({
      accountId: "111122223333",
      architecture: "x86_64",
      availabilityZone: "us-west-2a",
      instanceId: "i-0123456789abcdef0",
      instanceType: "m5.large",
      privateIp: "10.0.1.23",
      region: "us-west-2",
    }),
  };
}

/** Behaviour of the fake. */
export interface FakeImdsOptions {
  /** Metadata tree by path under /latest/ (default {@link defaultMetadata}). */
  metadata?: Record<string, string>;
  /** User data; undefined means the instance has none (404). */
  userData?: string | Uint8Array<ArrayBuffer>;
  /** Answer the first N requests (token or GET) with 500, then behave. */
  failFirst?: number;
  /** Answer every request with 500. */
  down?: boolean;
  /** Delay every answer by this many ms (to exercise client timeouts). */
  delayMs?: number;
  /** Delay only the first N requests by `delayMs`, then answer at once. */
  delayFirst?: number;
  /** Answer every token request (PUT /latest/api/token) with this status, e.g. 403 (IMDS disabled). */
  tokenStatus?: number;
  /** Listen on this loopback port (default: a free one), e.g. to come up where a client already knocks. */
  port?: number;
  /** A token stops working after this many GETs (as if it expired), so the client must take a new one. */
  tokenLifetimeGets?: number;
  /** Where to listen (default 127.0.0.1 at a free port). */
  listen?: { hostname: string; port: number };
}

/** Counters a test can assert on. */
export interface FakeImdsStats {
  tokens: number;
  gets: number;
  unauthorized: number;
  failures: number;
  /** Requests held back by `delayMs`. */
  delayed: number;
  paths: string[];
  ttlHeaders: string[];
}

/** A running fake IMDS. */
export interface FakeImds {
  url: string;
  calls: FakeImdsStats;
  /** Forget every token handed out, so the next GET with an old one gets 401. */
  expireTokens(): void;
  close(): Promise<void>;
}

/** Starts the fake IMDS on 127.0.0.1. */
export function start(opts: FakeImdsOptions = {}): FakeImds {
  const tree = opts.metadata ?? defaultMetadata();
  const calls: FakeImdsStats = {
    tokens: 0,
    gets: 0,
    unauthorized: 0,
    failures: 0,
    delayed: 0,
    paths: [],
    ttlHeaders: [],
  };
  /** Live tokens and the GETs each has served. */
  const tokens = new Map<string, number>();
  let toFail = opts.failFirst ?? 0;
  let requests = 0;
  const server = serveLoopback(async (req) => {
    const path = new URL(req.url).pathname;
    requests++;
    if (opts.delayMs && (opts.delayFirst === undefined || requests <= opts.delayFirst)) {
      calls.delayed++;
      await new Promise((r) => setTimeout(r, opts.delayMs));
    }
    if (opts.down || toFail > 0) {
      toFail--;
      calls.failures++;
      return new Response("Internal Server Error", { status: 500 });
    }
    if (path === "/latest/api/token") {
      if (req.method !== "PUT") return new Response("", { status: 405 });
      if (opts.tokenStatus) return new Response("", { status: opts.tokenStatus });
      const ttl = req.headers.get("x-aws-ec2-metadata-token-ttl-seconds") ?? "";
      calls.ttlHeaders.push(ttl);
      const n = Number(ttl);
      if (!Number.isInteger(n) || n < 1 || n > 21600) return new Response("", { status: 400 });
      calls.tokens++;
      const token = crypto.randomUUID();
      tokens.set(token, 0);
      return new Response(token, { headers: { "x-aws-ec2-metadata-token-ttl-seconds": ttl } });
    }
    if (req.method !== "GET") return new Response("", { status: 405 });
    calls.gets++;
    const token = req.headers.get("x-aws-ec2-metadata-token") ?? "";
    const used = tokens.get(token);
    if (used === undefined || (opts.tokenLifetimeGets !== undefined && used >= opts.tokenLifetimeGets)) {
      calls.unauthorized++;
      return new Response("", { status: 401 });
    }
    tokens.set(token, used + 1);
    const key = path.replace(/^\/latest\//, "");
    calls.paths.push(key);
    if (key === "user-data") {
      return opts.userData === undefined ? notFound() : new Response(opts.userData);
    }
    const value = tree[key];
    return value === undefined
      ? notFound()
      : new Response(value, { headers: { "content-type": "text/plain" } });
  }, opts.listen ?? opts.port ?? 0);
  return {
    url: server.url,
    calls,
    expireTokens: () => tokens.clear(),
    close: server.close,
  };
}

function notFound(): Response {
  return new Response('<?xml version="1.0"?><title>404 - Not Found</title>', {
    status: 404,
    headers: { "content-type": "text/html" },
  });
}
