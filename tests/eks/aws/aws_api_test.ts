import assert from "node:assert/strict";
import { AwsApiError, ConfigError } from "../../../lib/errors.ts";
import { awsClientConfig, type AwsEnv, endpointFromEnv } from "../../../eks/aws/call.ts";
import { cachedDescribeCluster, type ClusterCache, describeCluster } from "../../../eks/aws/eks_api.ts";
import { describeInstanceType } from "../../../eks/aws/ec2_api.ts";
import { ecrAuthorizationToken } from "../../../eks/aws/ecr_api.ts";
import { deadPort } from "../../../fakes/common.ts";
import * as fakeEks from "../../../fakes/eks.ts";
import * as fakeEc2 from "../../../fakes/ec2.ts";
import * as fakeEcr from "../../../fakes/ecr.ts";

const KEYS = {
  AWS_ACCESS_KEY_ID: "AKIDFAKEEXAMPLE",
  AWS_SECRET_ACCESS_KEY: "fake-secret",
  AWS_REGION: "us-west-2",
};

/** Retries without real waiting; `sleeps` records the waits asked for. */
function fastRetry(attempts = 4) {
  const sleeps: number[] = [];
  return {
    sleeps,
    retry: {
      attempts,
      baseMs: 10,
      maxMs: 20,
      totalMs: 5000,
      sleep: (ms: number) => {
        sleeps.push(ms);
        return Promise.resolve();
      },
    },
  };
}

Deno.test("aws: endpointFromEnv prefers the service variable, then the generic one, unless ignored", () => {
  const table: [env: AwsEnv, eks: string | undefined, ec2: string | undefined][] = [
    [{}, undefined, undefined],
    [{ AWS_ENDPOINT_URL: "http://g" }, "http://g", "http://g"],
    [{ AWS_ENDPOINT_URL: "http://g", AWS_ENDPOINT_URL_EKS: "http://eks" }, "http://eks", "http://g"],
    [{ AWS_ENDPOINT_URL_EC2: "http://ec2" }, undefined, "http://ec2"],
    [
      { AWS_ENDPOINT_URL_EKS: "http://eks", AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "true" },
      undefined,
      undefined,
    ],
  ];
  for (const [env, eks, ec2] of table) {
    assert.equal(endpointFromEnv("EKS", env), eks, JSON.stringify(env));
    assert.equal(endpointFromEnv("EC2", env), ec2, JSON.stringify(env));
  }
});

Deno.test("aws: awsClientConfig takes region, keys and a default endpoint label from env", () => {
  const cfg = awsClientConfig("ECR", { ...KEYS, AWS_SESSION_TOKEN: "tok" });
  assert.deepEqual(cfg, {
    region: "us-west-2",
    endpoint: undefined,
    credentials: { accessKeyId: "AKIDFAKEEXAMPLE", secretAccessKey: "fake-secret", sessionToken: "tok" },
    endpointLabel: "https://api.ecr.us-west-2.amazonaws.com",
  });
  assert.equal(
    awsClientConfig("EKS", { AWS_DEFAULT_REGION: "cn-north-1" }).endpointLabel,
    "https://eks.cn-north-1.amazonaws.com.cn",
  );
  // The label comes from the partition data, as the endpoint EC2 calls do (eks/aws/call.ts defaultEndpoint).
  assert.equal(
    awsClientConfig("ECR", { AWS_REGION: "us-iso-east-1" }).endpointLabel,
    "https://api.ecr.us-iso-east-1.c2s.ic.gov",
  );
  assert.equal(
    awsClientConfig("EC2", { AWS_REGION: "us-west-2", AWS_USE_FIPS_ENDPOINT: "true" }).endpointLabel,
    "https://ec2-fips.us-west-2.amazonaws.com",
  );
  // A malformed region is the call's error to report: the label never throws.
  assert.equal(
    awsClientConfig("EKS", { AWS_REGION: "US West 2" }).endpointLabel,
    "https://eks.US West 2.amazonaws.com",
  );
  assert.equal(
    awsClientConfig("EKS", { AWS_REGION: "us-east-1" }).credentials,
    undefined,
    "no keys: the SDK default chain",
  );
  assert.throws(() => awsClientConfig("EKS", {}), ConfigError);
});

Deno.test("aws: describeCluster talks to AWS_ENDPOINT_URL_EKS, signed for the env's region and key", async () => {
  const fake = fakeEks.start({ clusters: { prod: fakeEks.clusterJson("prod") } });
  try {
    const info = await describeCluster("prod", { env: { ...KEYS, AWS_ENDPOINT_URL_EKS: fake.url } });
    assert.deepEqual(info, {
      endpoint: "https://ABCDEF0123456789.gr7.us-west-2.eks.amazonaws.com",
      certificateAuthority: btoa("-----BEGIN CERTIFICATE-----\nFAKE\n-----END CERTIFICATE-----\n"),
      serviceIpv4Cidr: "172.20.0.0/16",
      ipFamily: "ipv4",
      version: "1.31",
    });
    assert.equal(fake.calls.length, 1);
    const { at: _at, ...call } = fake.calls[0];
    assert.deepEqual(
      call,
      {
        method: "GET",
        path: "/clusters/prod",
        region: "us-west-2",
        service: "eks",
        accessKeyId: "AKIDFAKEEXAMPLE",
        status: 200,
      },
    );
  } finally {
    await fake.close();
  }
});

Deno.test("aws: the region option beats AWS_REGION; AWS_ENDPOINT_URL is used when no service variable", async () => {
  const fake = fakeEks.start({ clusters: { c: fakeEks.clusterJson("c") } });
  try {
    await describeCluster("c", { env: { ...KEYS, AWS_ENDPOINT_URL: fake.url }, region: "eu-west-1" });
    assert.equal(fake.calls[0].region, "eu-west-1");
  } finally {
    await fake.close();
  }
});

Deno.test("aws: AWS_ENDPOINT_URL_EKS wins over AWS_ENDPOINT_URL", async () => {
  const fake = fakeEks.start({ clusters: { c: fakeEks.clusterJson("c") } });
  try {
    const env = {
      ...KEYS,
      AWS_ENDPOINT_URL: `http://127.0.0.1:${deadPort()}`,
      AWS_ENDPOINT_URL_EKS: fake.url,
    };
    assert.equal((await describeCluster("c", { env })).version, "1.31");
    assert.equal(fake.calls.length, 1);
  } finally {
    await fake.close();
  }
});

Deno.test("aws: the SDK itself honours AWS_ENDPOINT_URL_EKS (fresh process, no endpoint option)", async () => {
  const fake = fakeEks.start({ clusters: { native: fakeEks.clusterJson("native") } });
  try {
    const code = `
      import { EKSClient, DescribeClusterCommand } from "@aws-sdk/client-eks";
      const c = new EKSClient({ region: "ap-south-1" });
      const out = await c.send(new DescribeClusterCommand({ name: "native" }));
      console.log(out.cluster.version);
      c.destroy();`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--ext=ts", code],
      cwd: new URL("../../..", import.meta.url).pathname,
      env: {
        ...KEYS,
        AWS_ENDPOINT_URL_EKS: fake.url,
        AWS_CONFIG_FILE: "/dev/null",
        AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    assert.equal(new TextDecoder().decode(out.stdout).trim(), "1.31");
    assert.equal(fake.calls.length, 1);
    assert.equal(fake.calls[0].region, "ap-south-1");
  } finally {
    await fake.close();
  }
});

Deno.test("aws: an IPv6 Outposts cluster reports ipFamily, service CIDRs, id and outpost", async () => {
  const cluster = fakeEks.clusterJson("edge", {
    id: "a1b2c3d4-0000-1111-2222-333344445555",
    kubernetesNetworkConfig: { serviceIpv6Cidr: "fd30:1c53:5f8a::/108", ipFamily: "ipv6" },
    outpostConfig: {
      outpostArns: ["arn:aws:outposts:us-west-2:111122223333:outpost/op-1"],
      controlPlaneInstanceType: "m5d.large",
    },
  });
  const fake = fakeEks.start({ clusters: { edge: cluster } });
  try {
    const info = await describeCluster("edge", { env: { ...KEYS, AWS_ENDPOINT_URL_EKS: fake.url } });
    assert.equal(info.ipFamily, "ipv6");
    assert.equal(info.serviceIpv6Cidr, "fd30:1c53:5f8a::/108");
    assert.equal(info.serviceIpv4Cidr, undefined);
    assert.equal(info.id, "a1b2c3d4-0000-1111-2222-333344445555");
    assert.deepEqual(info.outpost, {
      outpostArns: ["arn:aws:outposts:us-west-2:111122223333:outpost/op-1"],
      controlPlaneInstanceType: "m5d.large",
    });
  } finally {
    await fake.close();
  }
});

Deno.test("aws: DescribeCluster throttled twice then succeeds, with two backoff waits", async () => {
  const fake = fakeEks.start({ clusters: { prod: fakeEks.clusterJson("prod") }, throttleFirst: 2 });
  const { retry, sleeps } = fastRetry(4);
  try {
    const info = await describeCluster("prod", { env: { ...KEYS, AWS_ENDPOINT_URL_EKS: fake.url }, retry });
    assert.equal(info.version, "1.31");
    assert.deepEqual(fake.calls.map((c) => c.status), [429, 429, 200], "SDK retries are off: 3 wire calls");
    assert.equal(sleeps.length, 2);
  } finally {
    await fake.close();
  }
});

Deno.test("aws: throttled past the retry bound is one AwsApiError naming cluster, region and endpoint", async () => {
  const fake = fakeEks.start({ clusters: { prod: fakeEks.clusterJson("prod") }, throttleFirst: 100 });
  const { retry } = fastRetry(3);
  try {
    const err = await describeCluster("prod", { env: { ...KEYS, AWS_ENDPOINT_URL_EKS: fake.url }, retry })
      .then(
        () => assert.fail("expected AwsApiError"),
        (e) => e,
      );
    assert.ok(err instanceof AwsApiError, String(err));
    for (const part of ['"prod"', "us-west-2", fake.url, "3 tries", "ThrottlingException", "HTTP 429"]) {
      assert.ok(err.message.includes(part), `${part} missing from: ${err.message}`);
    }
    assert.equal(fake.calls.length, 3);
  } finally {
    await fake.close();
  }
});

Deno.test("aws: unknown cluster and access denied fail at once, each with its own hint", async () => {
  const missing = fakeEks.start({ clusters: {} });
  const denied = fakeEks.start({ failWith: { status: 403, type: "AccessDeniedException" } });
  const { retry, sleeps } = fastRetry(5);
  try {
    await assert.rejects(
      () => describeCluster("nope", { env: { ...KEYS, AWS_ENDPOINT_URL_EKS: missing.url }, retry }),
      (e: unknown) => e instanceof AwsApiError && /"nope" in us-west-2 .* not found/.test(e.message),
    );
    await assert.rejects(
      () => describeCluster("prod", { env: { ...KEYS, AWS_ENDPOINT_URL_EKS: denied.url }, retry }),
      (e: unknown) =>
        e instanceof AwsApiError && /eks:DescribeCluster/.test(e.hint ?? "") && /HTTP 403/.test(e.message),
    );
    assert.equal(missing.calls.length, 1);
    assert.equal(denied.calls.length, 1);
    assert.deepEqual(sleeps, []);
  } finally {
    await missing.close();
    await denied.close();
  }
});

Deno.test("aws: an unreachable EKS endpoint is retried, then one AwsApiError", async () => {
  const url = `http://127.0.0.1:${deadPort()}`;
  const { retry, sleeps } = fastRetry(3);
  await assert.rejects(
    () => describeCluster("prod", { env: { ...KEYS, AWS_ENDPOINT_URL_EKS: url }, retry }),
    (e: unknown) => e instanceof AwsApiError && e.message.includes(url) && e.message.includes("3 tries"),
  );
  assert.equal(sleeps.length, 2);
});

Deno.test("aws: a hung EKS endpoint hits the per-request timeout on every try", async () => {
  const fake = fakeEks.start({ clusters: { prod: fakeEks.clusterJson("prod") }, delayMs: 400 });
  const { retry } = fastRetry(2);
  try {
    const t0 = performance.now();
    await assert.rejects(
      () =>
        describeCluster("prod", { env: { ...KEYS, AWS_ENDPOINT_URL_EKS: fake.url }, retry, timeoutMs: 50 }),
      (e: unknown) =>
        e instanceof AwsApiError && /2 tries: TimeoutError: request timed out after 50 ms/.test(e.message),
    );
    assert.ok(performance.now() - t0 < 350, "both tries were cut at 50 ms, not left to the 400 ms answer");
    assert.equal(fake.calls.length, 2);
  } finally {
    await fake.close();
  }
});

/** An in-memory ClusterCache. */
function memoryCache(initial?: string): ClusterCache & { text?: string; writes: number } {
  const c = {
    text: initial,
    writes: 0,
    read: () => Promise.resolve(c.text),
    write: (t: string) => {
      c.text = t;
      c.writes++;
      return Promise.resolve();
    },
  };
  return c;
}

Deno.test("aws: cachedDescribeCluster calls once, then answers from the cache", async () => {
  const fake = fakeEks.start({
    clusters: { prod: fakeEks.clusterJson("prod"), other: fakeEks.clusterJson("other") },
  });
  const opts = { env: { ...KEYS, AWS_ENDPOINT_URL_EKS: fake.url } };
  const cache = memoryCache();
  try {
    const first = await cachedDescribeCluster("prod", cache, opts);
    assert.equal(fake.calls.length, 1);
    assert.equal(cache.writes, 1);
    assert.equal(JSON.parse(cache.text!).name, "prod");
    const second = await cachedDescribeCluster("prod", cache, opts);
    assert.deepEqual(second, first);
    assert.equal(fake.calls.length, 1, "cache hit: no API call");
    // A cache for another cluster, or a torn file, is not trusted.
    await cachedDescribeCluster("other", cache, opts);
    assert.equal(fake.calls.length, 2);
    await cachedDescribeCluster("prod", memoryCache('{"name":"prod","clus'), opts);
    assert.equal(fake.calls.length, 3);
  } finally {
    await fake.close();
  }
});

Deno.test("aws: describeInstanceType parses DescribeInstanceTypes from AWS_ENDPOINT_URL_EC2", async () => {
  const fake = fakeEc2.start({
    types: {
      "m5.large": { enis: 3, ipsPerEni: 10, vcpus: 2, hypervisor: "nitro" },
      "c5.metal": { enis: 15, ipsPerEni: 50, vcpus: 96 },
    },
  });
  try {
    const opts = { env: { ...KEYS, AWS_ENDPOINT_URL_EC2: fake.url } };
    assert.deepEqual(await describeInstanceType("m5.large", opts), {
      enis: 3,
      ipsPerEni: 10,
      vcpus: 2,
      hypervisor: "nitro",
    });
    assert.deepEqual(await describeInstanceType("c5.metal", opts), { enis: 15, ipsPerEni: 50, vcpus: 96 });
    assert.equal(fake.calls[0].action, "DescribeInstanceTypes");
    assert.deepEqual(fake.calls[0].instanceTypes, ["m5.large"]);
    assert.equal(fake.calls[0].service, "ec2");
  } finally {
    await fake.close();
  }
});

Deno.test("aws: an unknown instance type is an AwsApiError, not retried", async () => {
  const fake = fakeEc2.start();
  const { retry } = fastRetry(4);
  try {
    await assert.rejects(
      () => describeInstanceType("m99.huge", { env: { ...KEYS, AWS_ENDPOINT_URL_EC2: fake.url }, retry }),
      (e: unknown) =>
        e instanceof AwsApiError && /does not know instance type "m99.huge" in us-west-2/.test(e.message),
    );
    assert.equal(fake.calls.length, 1);
  } finally {
    await fake.close();
  }
});

Deno.test("aws: EC2 RequestLimitExceeded is retried", async () => {
  const fake = fakeEc2.start({ throttleFirst: 1 });
  const { retry, sleeps } = fastRetry(3);
  try {
    const info = await describeInstanceType("m5.large", {
      env: { ...KEYS, AWS_ENDPOINT_URL_EC2: fake.url },
      retry,
    });
    assert.equal(info.enis, 3);
    assert.equal(fake.calls.length, 2);
    assert.equal(sleeps.length, 1);
  } finally {
    await fake.close();
  }
});

Deno.test("aws: ecrAuthorizationToken decodes AWS:<password> from AWS_ENDPOINT_URL_ECR", async () => {
  const fake = fakeEcr.start({ password: "s3cr3t:with:colons", expiresAt: 1_900_000_000 });
  try {
    const creds = await ecrAuthorizationToken("us-east-1", {
      env: { ...KEYS, AWS_ENDPOINT_URL_ECR: fake.url },
    });
    assert.deepEqual(creds, {
      username: "AWS",
      password: "s3cr3t:with:colons",
      proxyEndpoint: "https://602401143452.dkr.ecr.us-west-2.amazonaws.com",
      expiresAt: new Date(1_900_000_000_000),
    });
    assert.equal(fake.calls.length, 1);
    assert.equal(fake.calls[0].target, fakeEcr.GET_AUTH_TOKEN_TARGET);
    assert.equal(fake.calls[0].region, "us-east-1", "the region argument, not AWS_REGION");
  } finally {
    await fake.close();
  }
});

Deno.test("aws: a malformed ECR token is an AwsApiError that does not echo the token", async () => {
  const fake = fakeEcr.start({ rawToken: btoa("nobody:topsecret") });
  try {
    await assert.rejects(
      () => ecrAuthorizationToken("us-west-2", { env: { ...KEYS, AWS_ENDPOINT_URL_ECR: fake.url } }),
      (e: unknown) =>
        e instanceof AwsApiError && /AWS:<password>/.test(e.message) && !/topsecret|bm9ib2R5/.test(e.message),
    );
  } finally {
    await fake.close();
  }
});
