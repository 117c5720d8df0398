/**
 * A loopback HTTP/1.1 proxy that misbehaves on purpose, written on raw TCP so it can do what a polite
 * server library will not: announce a Content-Length and close early, reset the connection mid-body,
 * stall after a few bytes, redirect in a loop. Paths without a fault are passed to the upstream server
 * (fakes/mirror.ts) unchanged. Every response carries `Connection: close`.
 */
import { listenFetchable } from "./common.ts";

/** What goes wrong for one path. Faults with `times` misbehave that many times, then serve normally. */
export type Fault =
  /** Answer these statuses, one per request, then serve the body. */
  | { kind: "status"; statuses: number[] }
  /** Answer this status to every request. */
  | { kind: "statusForever"; status: number }
  /** Announce the full length, send `at` body bytes, then close the connection cleanly (FIN). */
  | { kind: "truncate"; at: number; times?: number }
  /** Announce the full length, send `at` body bytes, then reset the connection (RST). */
  | { kind: "reset"; at: number; times?: number }
  /** Announce the full length, send `at` body bytes, then send nothing more until the client leaves. */
  | { kind: "stall"; at: number; times?: number }
  /** Serve these bytes instead of the upstream body (a compromised or stale mirror). */
  | { kind: "replace"; body: Uint8Array }
  /** Redirect to the same path, forever. */
  | { kind: "redirectLoop" }
  /** Redirect to this URL. */
  | { kind: "redirect"; to: string };

/** A running proxy. */
export interface FaultyProxy {
  url: string;
  /** Requests by path. */
  hits: Record<string, number>;
  close(): Promise<void>;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

function head(status: number, headers: Record<string, string | number>): Uint8Array {
  const lines = [`HTTP/1.1 ${status} X`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  return enc.encode(lines.join("\r\n") + "\r\n\r\n");
}

/**
 * Reads the request line in small pieces and returns its path, leaving most of the request head
 * unread: a socket closed with unread input is reset by the kernel (RST), which the reset fault wants.
 */
async function readRequestLine(conn: Deno.Conn): Promise<{ path: string; seen: string } | undefined> {
  const buf = new Uint8Array(16);
  let seen = "";
  while (!seen.includes("\r\n")) {
    const n = await conn.read(buf);
    if (n === null) return undefined;
    seen += dec.decode(buf.subarray(0, n));
  }
  const path = seen.split(" ")[1] ?? "/";
  return { path, seen };
}

/** Reads the rest of the request head (GET requests have no body). */
async function readRestOfHead(conn: Deno.Conn, seen: string): Promise<void> {
  const buf = new Uint8Array(4096);
  while (!seen.includes("\r\n\r\n")) {
    const n = await conn.read(buf);
    if (n === null) return;
    seen += dec.decode(buf.subarray(0, n));
  }
}

/** Starts the proxy on 127.0.0.1 in front of `upstream`, with `faults` by path. */
export function startFaultyProxy(upstream: string, faults: Record<string, Fault>): FaultyProxy {
  const listener = listenFetchable("127.0.0.1");
  const url = `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
  const hits: Record<string, number> = {};
  const open = new Set<Deno.Conn>();
  let closing = false;

  const handle = async (conn: Deno.Conn) => {
    const req = await readRequestLine(conn);
    if (!req) return;
    const path = new URL(req.path, url).pathname;
    const n = hits[path] = (hits[path] ?? 0) + 1;
    const fault = faults[path];
    const active = fault && (!("times" in fault) || fault.times === undefined || n <= fault.times);
    if (!(active && fault.kind === "reset")) await readRestOfHead(conn, req.seen);

    if (active && fault.kind === "status" && n <= fault.statuses.length) {
      return await writeAll(conn, head(fault.statuses[n - 1], { "content-length": 0, connection: "close" }));
    }
    if (active && fault.kind === "statusForever") {
      return await writeAll(conn, head(fault.status, { "content-length": 0, connection: "close" }));
    }
    if (active && (fault.kind === "redirectLoop" || fault.kind === "redirect")) {
      const location = fault.kind === "redirect" ? fault.to : path;
      return await writeAll(conn, head(302, { location, "content-length": 0, connection: "close" }));
    }
    let status = 200;
    let body: Uint8Array;
    if (active && fault.kind === "replace") {
      body = fault.body;
    } else {
      const res = await fetch(`${upstream}${path}`);
      status = res.status;
      body = new Uint8Array(await res.arrayBuffer());
    }
    const announce = head(status, { "content-length": body.length, connection: "close" });
    if (active && (fault.kind === "truncate" || fault.kind === "reset" || fault.kind === "stall")) {
      await writeAll(conn, announce);
      await writeAll(conn, body.subarray(0, fault.at));
      if (fault.kind === "stall") {
        // Nothing more: wait until the client gives up (its read returns null) or the proxy closes.
        await conn.read(new Uint8Array(1)).catch(() => null);
        return;
      }
      // Let the client read what was sent before the connection goes away.
      await new Promise((r) => setTimeout(r, 100));
      return;
    }
    await writeAll(conn, announce);
    await writeAll(conn, body);
  };

  const loop = (async () => {
    for await (const conn of listener) {
      open.add(conn);
      handle(conn).catch(() => {}).finally(() => {
        open.delete(conn);
        try {
          conn.close();
        } catch {
          // closed by close()
        }
      });
    }
  })().catch(() => {});

  return {
    url,
    hits,
    async close() {
      if (closing) return;
      closing = true;
      listener.close();
      for (const c of open) {
        try {
          c.close();
        } catch {
          // already closed
        }
      }
      await loop;
    },
  };
}
