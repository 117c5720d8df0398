import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { SignatureV4 } from "@smithy/signature-v4";
import { signV4, uriEscape } from "../../lib/sigv4.ts";

// The worked example of the AWS docs ("Create a signed AWS API request", IAM ListUsers, 2015-08-30).
const EXAMPLE_CREDS = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
};
const EXAMPLE_TIME = new Date("2015-08-30T12:36:00Z");

Deno.test("sigv4: the AWS docs' worked example (IAM ListUsers) gets the published signature", async () => {
  const headers = await signV4(
    {
      method: "GET",
      url: new URL("https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08"),
      headers: { "Content-Type": "application/x-www-form-urlencoded; charset=utf-8" },
      body: "",
    },
    EXAMPLE_CREDS,
    { region: "us-east-1", service: "iam", now: EXAMPLE_TIME },
  );
  assert.equal(headers["x-amz-date"], "20150830T123600Z");
  assert.equal(
    headers.authorization,
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, " +
      "SignedHeaders=content-type;host;x-amz-date, " +
      "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
  );
});

/** The Checksum the smithy signer takes, over node:crypto (HMAC when given a secret). */
class NodeSha256 {
  #h: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
  constructor(secret?: string | Uint8Array) {
    this.#h = secret === undefined ? createHash("sha256") : createHmac("sha256", secret);
  }
  update(data: string | Uint8Array) {
    this.#h.update(data);
  }
  digest() {
    return Promise.resolve(new Uint8Array(this.#h.digest()));
  }
  reset() {}
}

Deno.test("sigv4: signs as the AWS SDK's signer does (@smithy/signature-v4), with and without a session token", async () => {
  const cases = [
    {
      url: "https://ec2.us-west-2.amazonaws.com/",
      body: "Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-0123456789abcdef0",
      token: undefined,
    },
    {
      url: "http://127.0.0.1:18080/",
      body: "Action=DescribeInstanceTypes&Version=2016-11-15&InstanceType.1=m5.large",
      token: "FwoGZXIvYXdzEXAMPLE/+=token",
    },
    {
      url: "https://ec2.cn-north-1.amazonaws.com.cn/a path/x?b=2&a=1&a=0&c=%20x*",
      body: "",
      token: undefined,
    },
  ];
  for (const c of cases) {
    const url = new URL(c.url);
    const creds = { ...EXAMPLE_CREDS, sessionToken: c.token };
    const contentType = "application/x-www-form-urlencoded; charset=utf-8";
    const ours = await signV4(
      { method: "POST", url, headers: { "content-type": contentType }, body: c.body },
      creds,
      {
        region: "us-west-2",
        service: "ec2",
        now: EXAMPLE_TIME,
      },
    );
    const signer = new SignatureV4({
      credentials: creds,
      region: "us-west-2",
      service: "ec2",
      sha256: NodeSha256 as never,
      // EC2 does not want the payload hash as a header; the SDK's EC2 client does not send one.
      applyChecksum: false,
    });
    const query: Record<string, string | string[]> = {};
    for (const k of new Set(url.searchParams.keys())) {
      const all = url.searchParams.getAll(k);
      query[k] = all.length === 1 ? all[0] : all;
    }
    const signed = await signer.sign({
      method: "POST",
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      path: url.pathname,
      query,
      headers: { "content-type": contentType, host: url.host },
      body: c.body,
    }, { signingDate: EXAMPLE_TIME });
    assert.equal(ours.authorization, signed.headers.authorization, c.url);
    assert.equal(ours["x-amz-security-token"], signed.headers["x-amz-security-token"], c.url);
  }
});

Deno.test("sigv4: uriEscape leaves only the unreserved characters", () => {
  assert.equal(uriEscape("a-b_c.d~e f/g*h(i)!'"), "a-b_c.d~e%20f%2Fg%2Ah%28i%29%21%27");
  assert.equal(uriEscape("é"), "%C3%A9");
});
