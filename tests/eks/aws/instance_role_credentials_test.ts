/**
 * Credentials for init's signed EC2 call: the instance role read from IMDS by eksnode's own client when
 * nothing else could come first in the SDK's chain, the SDK's chain when something could (a shared
 * config file, a profile, web identity, a container endpoint), and a node without a role failing at once
 * with a line that says so.
 */
import assert from "node:assert/strict";
import { describePrivateDnsName } from "../../../eks/aws/ec2_api.ts";
import {
  forgetInstanceRoleCredentials,
  instanceRoleCredentials,
  instanceRoleOnly,
} from "../../../eks/aws/instance_role_credentials.ts";
import { defaultMetadata, type FakeImds, start as startImds } from "../../../fakes/imds.ts";
import * as fakeEc2 from "../../../fakes/ec2.ts";
import { tempDir } from "../../../fakes/temp.ts";
import { privateDnsNameInChild } from "../../support/private_dns_name_child.ts";

const ROLE = "eks-node-role";
const INSTANCE = "i-0123456789abcdef0";

/** A fake IMDS whose instance has `ROLE`, with credentials expiring `inMs` from now. */
function imdsWithRole(keyId: string, inMs = 3600_000): FakeImds {
  return startImds({
    metadata: {
      ...defaultMetadata(),
      "meta-data/iam/security-credentials/": ROLE,
      [`meta-data/iam/security-credentials/${ROLE}`]: JSON.stringify({
        Code: "Success",
        Type: "AWS-HMAC",
        AccessKeyId: keyId,
        SecretAccessKey: "role-secret",
        Token: "role-session-token",
        Expiration: new Date(Date.now() + inMs).toISOString(),
        LastUpdated: new Date().toISOString(),
      }),
    },
  });
}

/** An environment with no other credential source: HOME and the shared files point nowhere. */
function bootEnv(imds: FakeImds, ec2Url: string): Record<string, string> {
  return {
    HOME: "/nonexistent",
    AWS_REGION: "us-west-2",
    AWS_ENDPOINT_URL_EC2: ec2Url,
    AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url,
    AWS_CONFIG_FILE: "/nonexistent/config",
    AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/credentials",
  };
}

const roleReads = (imds: FakeImds) =>
  imds.calls.paths.filter((p) => p.endsWith(`security-credentials/${ROLE}`));

Deno.test("instance role: only when nothing else could come first in the SDK's chain", async () => {
  const none = { HOME: "/nonexistent" };
  assert.equal(instanceRoleOnly(none), true);
  for (
    const [k, v] of [
      ["AWS_ACCESS_KEY_ID", "AKID"],
      ["AWS_PROFILE", "dev"],
      ["AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/secrets/token"],
      ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/x"],
      ["AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:9/creds"],
      ["AWS_EC2_METADATA_DISABLED", "true"],
      ["AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv6"],
    ]
  ) {
    assert.equal(instanceRoleOnly({ ...none, [k]: v }), false, k);
  }
  {
    const dir = await tempDir({ prefix: "eksnode-role-files-" });
    await Deno.mkdir(`${dir}/.aws`);
    await Deno.writeTextFile(`${dir}/.aws/credentials`, "[default]\n");
    assert.equal(instanceRoleOnly({ HOME: dir }), false, "~/.aws/credentials");
    assert.equal(instanceRoleOnly({ HOME: dir, AWS_SHARED_CREDENTIALS_FILE: `${dir}/none` }), true);
    assert.equal(
      instanceRoleOnly({ HOME: "/nonexistent", AWS_CONFIG_FILE: `${dir}/.aws/credentials` }),
      false,
    );
  }
});

Deno.test("instance role: DescribeInstances is signed with the role's keys, read from IMDS by eksnode's client", async () => {
  forgetInstanceRoleCredentials();
  const imds = imdsWithRole("ASIAROLEEXAMPLE");
  const ec2 = fakeEc2.start();
  try {
    // The environment is passed, not the process's: the SDK's chain (which reads the process's) would
    // not know this IMDS, so only eksnode's reader can find the role.
    const env = bootEnv(imds, ec2.url);
    const name = await describePrivateDnsName(INSTANCE, { env, region: "us-west-2" });
    assert.equal(name, "ip-10-0-1-23.us-west-2.compute.internal");
    assert.equal(ec2.calls.length, 1);
    assert.equal(ec2.calls[0].accessKeyId, "ASIAROLEEXAMPLE");
    // A second call within the credentials' lifetime reads them no more.
    await describePrivateDnsName(INSTANCE, { env, region: "us-west-2" });
    assert.equal(roleReads(imds).length, 1, imds.calls.paths.join());
  } finally {
    forgetInstanceRoleCredentials();
    await ec2.close();
    await imds.close();
  }
});

Deno.test("instance role: credentials within 5 minutes of expiring are read again", async () => {
  forgetInstanceRoleCredentials();
  const imds = imdsWithRole("ASIASHORTLIVED", 2 * 60_000);
  try {
    const env = bootEnv(imds, "http://127.0.0.1:9");
    const a = await instanceRoleCredentials(env);
    const b = await instanceRoleCredentials(env);
    assert.equal(a.accessKeyId, "ASIASHORTLIVED");
    assert.equal(a.sessionToken, "role-session-token");
    assert.equal(b.accessKeyId, "ASIASHORTLIVED");
    assert.equal(roleReads(imds).length, 2);
  } finally {
    forgetInstanceRoleCredentials();
    await imds.close();
  }
});

Deno.test("instance role: a node without one fails at once, naming what is missing, and EC2 is not called", async () => {
  forgetInstanceRoleCredentials();
  const imds = startImds({ metadata: defaultMetadata() });
  const ec2 = fakeEc2.start();
  try {
    const env = bootEnv(imds, ec2.url);
    await assert.rejects(
      describePrivateDnsName(INSTANCE, { env, region: "us-west-2", retry: { attempts: 5, baseMs: 1 } }),
      (err: Error) => {
        assert.match(err.message, /failed after 1 try: CredentialsProviderError: no credentials/);
        assert.match(err.message, /no instance role in instance metadata at http:\/\/127\.0\.0\.1:\d+/);
        return true;
      },
    );
    assert.equal(ec2.calls.length, 0);
  } finally {
    forgetInstanceRoleCredentials();
    await ec2.close();
    await imds.close();
  }
});

Deno.test("instance role: with a shared credentials file the SDK's chain is used, as the AWS CLI would", async () => {
  const imds = imdsWithRole("ASIAROLEEXAMPLE");
  const ec2 = fakeEc2.start();
  try {
    {
      const dir = await tempDir({ prefix: "eksnode-role-chain-" });
      await Deno.writeTextFile(
        `${dir}/credentials`,
        "[default]\naws_access_key_id = AKIDFROMTHEFILE\naws_secret_access_key = file-secret\n",
      );
      // The chain reads the process environment, as the SDK does: a child process with a clean one.
      const name = await privateDnsNameInChild(INSTANCE, {
        ...bootEnv(imds, ec2.url),
        AWS_SHARED_CREDENTIALS_FILE: `${dir}/credentials`,
      });
      assert.equal(name, "ip-10-0-1-23.us-west-2.compute.internal");
    }
    assert.equal(ec2.calls.length, 1);
    assert.equal(ec2.calls[0].accessKeyId, "AKIDFROMTHEFILE");
    assert.equal(roleReads(imds).length, 0);
  } finally {
    await ec2.close();
    await imds.close();
  }
});
