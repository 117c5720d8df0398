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
 * Ports `fetch` refuses to connect to (the Fetch standard's "bad ports", fetch.spec.whatwg.org/#port-blocking).
 * A machine whose ephemeral range starts low hands them out to port-0 listeners, and a fake there would fail
 * the CLI's requests for no reason of its own: every loopback fake here avoids them.
 */
export const FETCH_BLOCKED_PORTS: ReadonlySet<number> = new Set([
  1,
  7,
  9,
  11,
  13,
  15,
  17,
  19,
  20,
  21,
  22,
  23,
  25,
  37,
  42,
  43,
  53,
  69,
  77,
  79,
  87,
  95,
  101,
  102,
  103,
  104,
  109,
  110,
  111,
  113,
  115,
  117,
  119,
  123,
  135,
  137,
  139,
  143,
  161,
  179,
  389,
  427,
  465,
  512,
  513,
  514,
  515,
  526,
  530,
  531,
  532,
  540,
  548,
  554,
  556,
  563,
  587,
  601,
  636,
  989,
  990,
  993,
  995,
  1719,
  1720,
  1723,
  2049,
  3659,
  4045,
  4190,
  5060,
  5061,
  6000,
  6566,
  6665,
  6666,
  6667,
  6668,
  6669,
  6679,
  6697,
  10080,
]);

/** Starts a loopback server (port 0) again until its port is one `fetch` connects to. */
export async function fetchablePort<T extends { url: string; close(): unknown }>(start: () => T): Promise<T> {
  for (;;) {
    const fake = start();
    if (!FETCH_BLOCKED_PORTS.has(Number(new URL(fake.url).port))) return fake;
    await fake.close();
  }
}

/** `Deno.serve` on a port-0 address whose port `fetch` connects to. */
export function serveFetchable(
  opts: { hostname: string },
  handler: (req: Request) => Response | Promise<Response>,
): Deno.HttpServer<Deno.NetAddr> {
  const refused: Deno.HttpServer<Deno.NetAddr>[] = [];
  try {
    for (;;) {
      const server = Deno.serve({ hostname: opts.hostname, port: 0, onListen() {} }, handler);
      if (!FETCH_BLOCKED_PORTS.has(server.addr.port)) return server;
      refused.push(server); // held until a good one is found, so the kernel does not hand it out again
    }
  } finally {
    for (const s of refused) s.shutdown();
  }
}

/** `Deno.listen` on a port-0 address whose port `fetch` connects to. */
export function listenFetchable(hostname: string): Deno.TcpListener {
  const refused: Deno.TcpListener[] = [];
  try {
    for (;;) {
      const l = Deno.listen({ hostname, port: 0 });
      if (!FETCH_BLOCKED_PORTS.has(l.addr.port)) return l;
      refused.push(l);
    }
  } finally {
    for (const l of refused) l.close();
  }
}

/**
 * Starts `handler` on 127.0.0.1 at a free port (one `fetch` connects to), or at a given port (one a client
 * already tries), or at a given address (the boot test serves instance metadata at its link-local
 * address inside a network namespace of its own).
 */
export function serveLoopback(
  handler: (req: Request) => Response | Promise<Response>,
  listen: number | { hostname: string; port: number } = 0,
): {
  url: string;
  close(): Promise<void>;
} {
  const at = typeof listen === "number" ? { hostname: "127.0.0.1", port: listen } : listen;
  const server = at.port === 0
    ? serveFetchable({ hostname: at.hostname }, handler)
    : Deno.serve({ ...at, onListen() {} }, handler);
  return {
    url: `http://${at.hostname}:${server.addr.port}`,
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
  const l = listenFetchable("127.0.0.1");
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}
