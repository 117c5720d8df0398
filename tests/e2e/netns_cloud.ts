/**
 * The boot test's simulated cloud, run as `unshare --net -- deno run netns_cloud.ts` so that it owns a
 * network namespace of its own, which the container then boots into (`systemd-nspawn
 * --network-namespace-path=/proc/PID/ns/net`): the loopback interface is brought up and given the
 * instance metadata service's link-local address, where the fake IMDS answers on port 80 with the user
 * data in $EKSNODE_E2E_USER_DATA, so the baked image reaches it as it would on EC2, without any setting.
 * Also an HTTP proxy on 127.0.0.1 that forwards requests and counts them by path (the test points
 * /etc/environment at it, to see the proxy settings reach the boot units).
 *
 * Prints one JSON line `{ "proxy": URL }`, then serves until stdin closes; a line "stats" on stdin
 * makes it print `{ "proxied": { PATH: COUNT } }`.
 */
import { start as startImds } from "../fakes/imds.ts";

/** The address of the EC2 instance metadata service. */
const IMDS_ADDRESS = "169.254.169.254";

async function ip(...args: string[]): Promise<void> {
  const out = await new Deno.Command("ip", { args, stderr: "piped" }).output();
  if (!out.success) throw new Error(`ip ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
}

await ip("link", "set", "lo", "up");
await ip("addr", "add", `${IMDS_ADDRESS}/32`, "dev", "lo");
const userData = Deno.env.get("EKSNODE_E2E_USER_DATA");
if (!userData) throw new Error("EKSNODE_E2E_USER_DATA is not set");
const imds = startImds({ userData, listen: { hostname: IMDS_ADDRESS, port: 80 } });

const proxied: Record<string, number> = {};
const proxy = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
  // A proxy request names the whole URL; only plain-HTTP targets are forwarded (no CONNECT).
  const url = new URL(req.url);
  proxied[url.pathname] = (proxied[url.pathname] ?? 0) + 1;
  const answer = await fetch(url, {
    method: req.method,
    headers: req.headers,
    body: req.body,
    redirect: "manual",
  });
  return new Response(answer.body, { status: answer.status, headers: answer.headers });
});

console.log(JSON.stringify({ proxy: `http://127.0.0.1:${(proxy.addr as Deno.NetAddr).port}` }));
const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream());
for await (const chunk of lines) {
  if (chunk.includes("stats")) console.log(JSON.stringify({ proxied }));
}
await proxy.shutdown();
await imds.close();
