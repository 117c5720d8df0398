/**
 * A loopback ECR API: GetAuthorizationToken only, AWS JSON 1.1 (`POST /` with
 * `X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken`), answering
 * `authorizationData[{authorizationToken, expiresAt (epoch seconds), proxyEndpoint}]`.
 */
import { type FakeCall, type RunningFake, serveLoopback, sigv4Scope } from "./common.ts";

/** One ECR call, with its X-Amz-Target. */
export interface FakeEcrCall extends FakeCall {
  target?: string;
}

/** Behaviour of the fake. */
export interface FakeEcrOptions {
  /** Registry password to hand out (default "fake-ecr-password"). */
  password?: string;
  /** Registry URL to hand out. */
  proxyEndpoint?: string;
  /** Token exactly as sent, instead of base64("AWS:" + password), to test malformed answers. */
  rawToken?: string;
  /** Expiry, epoch seconds (default 1_900_000_000). */
  expiresAt?: number;
}

/** The X-Amz-Target the SDK sends for GetAuthorizationToken. */
export const GET_AUTH_TOKEN_TARGET = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken";

/** Starts the fake ECR API on 127.0.0.1. */
export function start(opts: FakeEcrOptions = {}): RunningFake<FakeEcrCall> {
  const calls: FakeEcrCall[] = [];
  const server = serveLoopback(async (req) => {
    await req.body?.cancel();
    const target = req.headers.get("x-amz-target") ?? undefined;
    const call: FakeEcrCall = {
      method: req.method,
      path: new URL(req.url).pathname,
      target,
      ...sigv4Scope(req),
    };
    calls.push(call);
    const json = (status: number, body: unknown) => {
      call.status = status;
      return new Response(JSON.stringify(body), {
        status,
        headers: { "content-type": "application/x-amz-json-1.1" },
      });
    };
    if (req.method !== "POST" || target !== GET_AUTH_TOKEN_TARGET) {
      return json(400, { __type: "UnknownOperationException", message: `unknown target ${target}` });
    }
    return json(200, {
      authorizationData: [{
        authorizationToken: opts.rawToken ?? btoa(`AWS:${opts.password ?? "fake-ecr-password"}`),
        expiresAt: opts.expiresAt ?? 1_900_000_000,
        proxyEndpoint: opts.proxyEndpoint ?? "https://602401143452.dkr.ecr.us-west-2.amazonaws.com",
      }],
    });
  });
  return { url: server.url, calls, close: server.close };
}
