/**
 * Child process of bench/download_bench.ts: a static file server on 127.0.0.1 for every file of DIR,
 * held in memory (so the server is never the bottleneck), at `/NAME` with Content-Length. With
 * `--rate BYTES_PER_SECOND`, each response is paced to that rate (a stand-in for one TCP stream from
 * a real mirror). Prints the base URL on its first line; stops when stdin closes.
 * Usage: deno run -A bench/lib/serve_child.ts DIR [--rate N]
 */
const [dir] = Deno.args;
const rateArg = Deno.args.indexOf("--rate");
const rate = rateArg >= 0 ? Number(Deno.args[rateArg + 1]) : 0;

const files = new Map<string, Uint8Array<ArrayBuffer>>();
for await (const e of Deno.readDir(dir)) {
  if (e.isFile) files.set(`/${e.name}`, await Deno.readFile(`${dir}/${e.name}`));
}

/** A body paced to `rate` bytes a second, in 256 KiB pieces. */
function paced(body: Uint8Array<ArrayBuffer>): ReadableStream<Uint8Array<ArrayBuffer>> {
  const piece = 256 * 1024;
  let off = 0;
  const t0 = performance.now();
  return new ReadableStream({
    async pull(ctrl) {
      if (off >= body.length) return ctrl.close();
      const due = t0 + (off / rate) * 1000;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      // A view, not a copy: copying 6 x 100 MiB/s on the 2 cores the client also needs made the server
      // part of what the paced figure measured.
      ctrl.enqueue(body.subarray(off, off + piece));
      off += piece;
    },
  });
}

const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
  const body = files.get(new URL(req.url).pathname);
  if (!body) return new Response("not found\n", { status: 404 });
  const headers = { "content-length": String(body.length) };
  return new Response(rate > 0 ? paced(body) : body, { headers });
});
console.log(`http://127.0.0.1:${(server.addr as Deno.NetAddr).port}`);
// The parent closes stdin to stop the server.
for await (const _ of Deno.stdin.readable) { /* drain */ }
await server.shutdown();
