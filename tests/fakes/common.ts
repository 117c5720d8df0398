/** Shared plumbing of the loopback AWS fakes: a 127.0.0.1 server and SigV4 scope parsing. */

/** One request a fake saw, enough for tests to assert what the client sent. */
export interface FakeCall {
  method: string;
  path: string;
  /** Region from the SigV4 credential scope, when the request was signed. */
  region?: string;
  /** Service from the SigV4 credential scope. */
  service?: string;
  /** Access key id from the SigV4 credential scope. */
  accessKeyId?: string;
  /** Response status the fake chose. */
  status?: number;
  /** When the request arrived (performance.now() of the test process), to check backoff waits. */
  at?: number;
}

/** A running fake: its base URL, what it saw, and how to stop it. */
export interface RunningFake<C = FakeCall> {
  url: string;
  calls: C[];
  close(): Promise<void>;
}

/**
 * Starts `handler` on 127.0.0.1 at a free port, or at `listen` (the boot test serves instance metadata
 * at its link-local address inside a network namespace of its own).
 */
export function serveLoopback(
  handler: (req: Request) => Response | Promise<Response>,
  listen: { hostname: string; port: number } = { hostname: "127.0.0.1", port: 0 },
): {
  url: string;
  close(): Promise<void>;
} {
  const server = Deno.serve({ ...listen, onListen() {} }, handler);
  const addr = server.addr as Deno.NetAddr;
  return {
    url: `http://${listen.hostname}:${addr.port}`,
    async close() {
      await server.shutdown();
    },
  };
}

/** Reads `Credential=AKID/date/region/service/aws4_request` from a SigV4 Authorization header. */
export function sigv4Scope(req: Request): Pick<FakeCall, "region" | "service" | "accessKeyId"> {
  const m = /Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(
    req.headers.get("authorization") ?? "",
  );
  return m ? { accessKeyId: m[1], region: m[2], service: m[3] } : {};
}

/** A loopback port with nothing listening on it: bind, note the port, close. */
export function deadPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}
