/** Shared test helpers: temp roots, a loopback file server with fault injection, tree snapshots. */
import { tempDir } from "../../fakes/temp.ts";
import { createHash } from "node:crypto";
import { modeString } from "../../lib/changes.ts";
import { Host } from "../../lib/host.ts";
import { memoryLogger } from "../../lib/log.ts";
import type { ApplyContext, StepContext } from "../../lib/step.ts";
import { serveFetchable } from "../../fakes/common.ts";

/** A fresh temp directory opened as a host root. */
export async function tempHost(prefix = "eksnode-test-"): Promise<Host> {
  return await Host.open(await tempDir({ prefix }), { PATH: Deno.env.get("PATH") });
}

/** A step context on a temp host with a memory logger. */
export async function tempContext(
  dryRun = false,
): Promise<StepContext & { log: ReturnType<typeof memoryLogger> }> {
  return { host: await tempHost(), log: memoryLogger(), dryRun };
}

/** An apply context for calling changes directly. */
export function applyContext(ctx: StepContext): ApplyContext {
  return { host: ctx.host, log: ctx.log, run: { changed: new Set(), dryRun: ctx.dryRun } };
}

/** True when `cmd` is an executable file in a directory of PATH. */
export function onPath(cmd: string): boolean {
  return (Deno.env.get("PATH") ?? "").split(":").some((dir) => {
    try {
      return Deno.statSync(`${dir}/${cmd}`).isFile;
    } catch {
      return false;
    }
  });
}

/** SHA-256 hex of bytes. */
export function sha256(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Behaviour of one path of the {@link fileServer}. */
export interface Served {
  body: Uint8Array | string;
  /** Answer these statuses first, one per request, then the body. */
  failFirst?: number[];
  /** Send only this many bytes while announcing the full Content-Length (then close). */
  truncateTo?: number;
  /** Truncate this many times, then serve fully. */
  truncateTimes?: number;
  /** Delay before answering (ms). */
  delayMs?: number;
}

/** A loopback HTTP server serving fixed paths, counting requests. */
export function fileServer(files: Record<string, Served>) {
  const hits: Record<string, number> = {};
  const server = serveFetchable({ hostname: "127.0.0.1" }, async (req) => {
    const path = new URL(req.url).pathname;
    hits[path] = (hits[path] ?? 0) + 1;
    const f = files[path];
    if (!f) return new Response("not found", { status: 404 });
    if (f.delayMs) await new Promise((r) => setTimeout(r, f.delayMs));
    const n = hits[path];
    if (f.failFirst && n <= f.failFirst.length) return new Response("fail", { status: f.failFirst[n - 1] });
    const body = typeof f.body === "string" ? new TextEncoder().encode(f.body) : f.body;
    if (f.truncateTo !== undefined && n <= (f.truncateTimes ?? Infinity) + (f.failFirst?.length ?? 0)) {
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(body.subarray(0, f.truncateTo));
          setTimeout(() => c.error(new Error("connection reset by test")), 20);
        },
      });
      return new Response(stream, { headers: { "content-length": String(body.length) } });
    }
    return new Response(body as Uint8Array<ArrayBuffer>, {
      headers: { "content-length": String(body.length) },
    });
  });
  const addr = server.addr as Deno.NetAddr;
  return {
    url: `http://127.0.0.1:${addr.port}`,
    hits,
    files,
    close: () => server.shutdown(),
  };
}

/** One entry met by {@link walkTree}: its path under the root ("/etc/x"), full path and lstat. */
export interface TreeEntry {
  path: string;
  full: string;
  info: Deno.FileInfo;
}

/**
 * Every entry under a real directory, each directory before its contents, from lstat (symlinks are
 * listed, not followed). An entry for which `skip(path)` is true is left out with all it contains.
 */
export async function* walkTree(
  root: string,
  skip: (path: string) => boolean = () => false,
  rel = "",
): AsyncGenerator<TreeEntry> {
  for await (const e of Deno.readDir(`${root}${rel}`)) {
    const path = `${rel}/${e.name}`;
    if (skip(path)) continue;
    const full = `${root}${path}`;
    const info = await Deno.lstat(full);
    yield { path, full, info };
    if (info.isDirectory) yield* walkTree(root, skip, path);
  }
}

/** The permission bits of a file as 4 octal digits ("0644"). */
export function octalMode(info: Deno.FileInfo): string {
  return modeString((info.mode ?? 0) & 0o7777);
}

/** Every file, dir and symlink under a real directory with mode and content hash (for tree comparisons). */
export async function snapshotTree(root: string, exclude: RegExp[] = []): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const { path, full, info } of walkTree(root, (p) => exclude.some((r) => r.test(p)))) {
    if (info.isSymlink) out[path] = `link -> ${await Deno.readLink(full)}`;
    else if (info.isDirectory) out[path] = `dir ${octalMode(info)}`;
    else out[path] = `file ${octalMode(info)} ${sha256(await Deno.readFile(full)).slice(0, 16)}`;
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}
