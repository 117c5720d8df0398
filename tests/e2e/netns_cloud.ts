/**
 * The boot test's simulated cloud, run as `unshare --net -- deno run netns_cloud.ts` so that it owns a
 * network namespace of its own, which the container then boots into (`systemd-nspawn
 * --network-namespace-path=/proc/PID/ns/net`): the loopback interface is brought up and given the
 * instance metadata service's link-local address, where the fake IMDS answers on port 80 with the user
 * data in $EKSNODE_E2E_USER_DATA, so the baked image reaches it as it would on EC2, without any setting.
 * IMDS also hands out instance role credentials, as on EC2, which eksnode's own DescribeInstances call
 * (the node's PrivateDnsName) signs with; the fake EC2 API answering it listens on 127.0.0.1 (EC2's
 * public endpoint needs DNS and the internet; the test names this one with AWS_ENDPOINT_URL_EC2 in
 * /etc/environment, as a site with a VPC endpoint may). Also an HTTP proxy on 127.0.0.1 that forwards
 * requests and counts them by path (the test points /etc/environment at it, to see the proxy settings
 * reach the boot units).
 *
 * Prints one JSON line `{ "proxy": URL, "ec2": URL }`, then serves until stdin closes; a line "stats"
 * on stdin makes it print `{ "proxied": { PATH: COUNT }, "ec2": [ACTION, ...] }`.
 */
import { start as startEc2 } from "../../fakes/ec2.ts";
import { defaultMetadata, start as startImds } from "../../fakes/imds.ts";

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
/** The instance profile's role, as IMDS lists it (AWS SDK: fromInstanceMetadata). */
const ROLE = "eksnode-boot-test-node-role";
const credentials = {
  Code: "Success",
  LastUpdated: new Date().toISOString(),
  Type: "AWS-HMAC",
  AccessKeyId: "ASIABOOTTEST00000000",
  SecretAccessKey: "boot-test-secret",
  Token: "boot-test-session-token",
  Expiration: new Date(Date.now() + 6 * 3600_000).toISOString(),
};
const metadata = {
  ...defaultMetadata(),
  "meta-data/iam/security-credentials/": ROLE,
  [`meta-data/iam/security-credentials/${ROLE}`]: JSON.stringify(credentials),
};
const imds = startImds({ userData, metadata, listen: { hostname: IMDS_ADDRESS, port: 80 } });
const ec2 = startEc2();

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

console.log(JSON.stringify({ proxy: `http://127.0.0.1:${(proxy.addr as Deno.NetAddr).port}`, ec2: ec2.url }));
const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream());
for await (const chunk of lines) {
  if (chunk.includes("stats")) {
    console.log(JSON.stringify({ proxied, ec2: ec2.calls.map((c) => `${c.action}:${c.status ?? 200}`) }));
  }
}
await proxy.shutdown();
await Promise.all([imds.close(), ec2.close()]);
