/**
 * A loopback EKS API: DescribeCluster only, REST-JSON `GET /clusters/{name}` answering `{"cluster": {...}}`.
 * Errors carry their name in `x-amzn-ErrorType` and a JSON `message`, as restJson1 services do
 * (Smithy "AWS restJson1 protocol", error serialization); @aws-sdk/client-eks 3.1175.0 parses both in
 * tests/eks/aws/aws_api_test.ts.
 */
import { type FakeCall, type RunningFake, serveLoopback, sigv4Scope } from "./common.ts";

/** A DescribeCluster `cluster` object for `name`, with the fields eksnode reads; override any of them. */
export function clusterJson(name: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    arn: `arn:aws:eks:us-west-2:111122223333:cluster/${name}`,
    createdAt: 1_700_000_000,
    version: "1.31",
    endpoint: "https://ABCDEF0123456789.gr7.us-west-2.eks.amazonaws.com",
    roleArn: "arn:aws:iam::111122223333:role/eks-cluster",
    resourcesVpcConfig: { subnetIds: ["subnet-1"], vpcId: "vpc-1", endpointPublicAccess: true },
    kubernetesNetworkConfig: { serviceIpv4Cidr: "172.20.0.0/16", ipFamily: "ipv4" },
    certificateAuthority: { data: btoa("-----BEGIN CERTIFICATE-----\nFAKE\n-----END CERTIFICATE-----\n") },
    status: "ACTIVE",
    platformVersion: "eks.5",
    ...overrides,
  };
}

/** Behaviour of the fake. */
export interface FakeEksOptions {
  /** Clusters by name: the `cluster` object to answer with. */
  clusters?: Record<string, Record<string, unknown>>;
  /** Answer the first N calls with 429 ThrottlingException. */
  throttleFirst?: number;
  /** Delay every answer by this many ms (to exercise client timeouts). */
  delayMs?: number;
  /** Answer every call with this status and error name (e.g. 403 AccessDeniedException). */
  failWith?: { status: number; type: string };
}

/** Starts the fake EKS API on 127.0.0.1. */
export function start(opts: FakeEksOptions = {}): RunningFake {
  const calls: FakeCall[] = [];
  let toThrottle = opts.throttleFirst ?? 0;
  const server = serveLoopback(async (req) => {
    const path = new URL(req.url).pathname;
    const call: FakeCall = { method: req.method, path, at: performance.now(), ...sigv4Scope(req) };
    calls.push(call);
    if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
    const answer = (status: number, body: unknown, type?: string) => {
      call.status = status;
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (type) headers["x-amzn-ErrorType"] = `${type}:http://internal.amazon.com/coral/com.amazonaws.eks/`;
      return new Response(JSON.stringify(body), { status, headers });
    };
    if (opts.failWith) {
      return answer(opts.failWith.status, { message: "injected failure" }, opts.failWith.type);
    }
    if (toThrottle > 0) {
      toThrottle--;
      return answer(429, { message: "Rate exceeded" }, "ThrottlingException");
    }
    const m = /^\/clusters\/([^/]+)$/.exec(path);
    if (req.method !== "GET" || !m) {
      return answer(404, { message: "unknown operation" }, "UnknownOperationException");
    }
    const name = decodeURIComponent(m[1]);
    const cluster = opts.clusters?.[name];
    if (!cluster) {
      return answer(404, { message: `No cluster found for name: ${name}.` }, "ResourceNotFoundException");
    }
    return answer(200, { cluster });
  });
  return { url: server.url, calls, close: server.close };
}
