/**
 * `describePrivateDnsName` run in a child Deno with only the given environment (plus PATH, the Deno cache
 * and TMPDIR): the AWS SDK's credential chain reads the process environment, so a test of which credentials
 * it finds needs a process of its own.
 */
import assert from "node:assert/strict";
import { denoCacheEnv } from "./deno_cache_env.ts";

/**
 * Runs DescribeInstances for `instanceId` in a child with `env` and returns the node name it printed;
 * a child that fails fails the test with its stderr.
 * @example await privateDnsNameInChild("i-0123456789abcdef0", { AWS_REGION: "us-west-2", ... })
 */
export async function privateDnsNameInChild(
  instanceId: string,
  env: Record<string, string>,
): Promise<string> {
  const script = `import { describePrivateDnsName } from ${
    JSON.stringify(new URL("../../eks/aws/ec2_api.ts", import.meta.url).href)
  };
console.log(await describePrivateDnsName(${JSON.stringify(instanceId)}, { env: Deno.env.toObject() }));`;
  const tmp = Deno.env.get("TMPDIR");
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", script],
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      ...denoCacheEnv(),
      ...(tmp ? { TMPDIR: tmp } : {}),
      ...env,
    },
    clearEnv: true,
    cwd: new URL("../..", import.meta.url).pathname,
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).trim();
}
