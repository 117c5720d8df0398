import assert from "node:assert/strict";
import { MetadataError } from "../../../lib/errors.ts";
import {
  DEFAULT_IMDS_ENDPOINT,
  IMDS_RETRY,
  ImdsClient,
  instanceMetadata,
  userData,
} from "../../../eks/aws/imds.ts";
import { deadPort } from "../../../fakes/common.ts";
import { defaultMetadata, FAKE_MAC, start } from "../../../fakes/imds.ts";

/** Fast retries so failure tests finish in milliseconds. */
const FAST = { attempts: 4, baseMs: 1, maxMs: 5, totalMs: 2000 };

Deno.test("imds: instanceMetadata reads the standard paths with one IMDSv2 token", async () => {
  const fake = start();
  try {
    const md = await instanceMetadata({ env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: fake.url }, retry: FAST });
    assert.deepEqual(md, {
      instanceId: "i-0123456789abcdef0",
      instanceType: "m5.large",
      region: "us-west-2",
      availabilityZone: "us-west-2a",
      localIpv4: "10.0.1.23",
      ipv6: "2600:1f14:abc:de00::1",
      mac: FAKE_MAC,
      vpcIpv4Cidrs: ["10.0.0.0/16", "100.64.0.0/16"],
      vpcIpv6Cidrs: ["2600:1f14:abc:de00::/56"],
      hostname: "ip-10-0-1-23.us-west-2.compute.internal",
      localHostname: "ip-10-0-1-23.us-west-2.compute.internal",
    });
    assert.equal(fake.calls.tokens, 1, "one token serves every read");
    assert.deepEqual(fake.calls.ttlHeaders, ["21600"]);
    assert.equal(fake.calls.unauthorized, 0, "every GET carried the token");
    assert.ok(
      fake.calls.paths.includes(`meta-data/network/interfaces/macs/${FAKE_MAC}/vpc-ipv4-cidr-blocks`),
    );
  } finally {
    await fake.close();
  }
});

Deno.test("imds: endpoint comes from AWS_EC2_METADATA_SERVICE_ENDPOINT, else the link-local address", () => {
  assert.equal(new ImdsClient({ env: {} }).endpoint, DEFAULT_IMDS_ENDPOINT);
  assert.equal(new ImdsClient().endpoint, "http://169.254.169.254");
  const c = new ImdsClient({ env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: "http://127.0.0.1:9/" } });
  assert.equal(c.endpoint, "http://127.0.0.1:9");
});

Deno.test("imds: an instance without IPv6 has no ipv6 or vpcIpv6Cidrs", async () => {
  const tree = defaultMetadata();
  delete tree[`meta-data/network/interfaces/macs/${FAKE_MAC}/ipv6s`];
  delete tree[`meta-data/network/interfaces/macs/${FAKE_MAC}/vpc-ipv6-cidr-blocks`];
  const fake = start({ metadata: tree });
  try {
    const md = await new ImdsClient({ endpoint: fake.url, retry: FAST }).instanceMetadata();
    assert.equal(md.ipv6, undefined);
    assert.equal(md.vpcIpv6Cidrs, undefined);
    assert.ok(!("ipv6" in md) && !("vpcIpv6Cidrs" in md));
    assert.deepEqual(md.vpcIpv4Cidrs, ["10.0.0.0/16", "100.64.0.0/16"]);
  } finally {
    await fake.close();
  }
});

Deno.test("imds: three 500s then success is retried to the right answer", async () => {
  const fake = start({ failFirst: 3 });
  try {
    const c = new ImdsClient({ endpoint: fake.url, retry: { ...FAST, attempts: 5 } });
    assert.equal(await c.get("meta-data/instance-id"), "i-0123456789abcdef0");
    assert.equal(fake.calls.failures, 3);
    assert.equal(fake.calls.tokens, 1);
  } finally {
    await fake.close();
  }
});

Deno.test("imds: always down gives one MetadataError naming path and endpoint, within the bound", async () => {
  const fake = start({ down: true });
  try {
    const t0 = performance.now();
    const err = await instanceMetadata({ endpoint: fake.url, retry: FAST }).then(
      () => assert.fail("expected a MetadataError"),
      (e) => e,
    );
    const elapsed = performance.now() - t0;
    assert.ok(err instanceof MetadataError, String(err));
    assert.match(err.message, /meta-data\/instance-id/);
    assert.ok(err.message.includes(fake.url), err.message);
    assert.match(err.message, /4 tries/);
    assert.match(err.hint ?? "", /AWS_EC2_METADATA_SERVICE_ENDPOINT/);
    assert.equal(fake.calls.failures, 4, "exactly `attempts` token requests, no parallel storm");
    assert.ok(elapsed < 2000, `took ${elapsed} ms`);
  } finally {
    await fake.close();
  }
});

Deno.test("imds: nothing listening gives a MetadataError within the total time bound", async () => {
  const endpoint = `http://127.0.0.1:${deadPort()}`;
  const t0 = performance.now();
  await assert.rejects(
    () => userData({ endpoint, retry: { attempts: 50, baseMs: 20, maxMs: 50, totalMs: 300 } }),
    (e: unknown) =>
      e instanceof MetadataError && e.message.includes(endpoint) && e.message.includes("user-data"),
  );
  assert.ok(performance.now() - t0 < 1000, "the 300 ms total bound held");
});

Deno.test("imds: a slow IMDS hits the per-request timeout and is reported as such", async () => {
  const fake = start({ delayMs: 300 });
  try {
    const c = new ImdsClient({ endpoint: fake.url, timeoutMs: 30, retry: { ...FAST, attempts: 2 } });
    await assert.rejects(() => c.get("meta-data/instance-id"), (e: unknown) => {
      assert.ok(e instanceof MetadataError);
      assert.match(e.message, /timed out after 30 ms/);
      return true;
    });
  } finally {
    await fake.close();
  }
});

Deno.test("imds: user data is bytes when present and undefined on 404", async () => {
  const bytes = new Uint8Array([0x1f, 0x8b, 0x08, 0x00, 0xff]);
  const withData = start({ userData: bytes });
  const without = start();
  try {
    assert.deepEqual(await userData({ endpoint: withData.url, retry: FAST }), bytes);
    assert.equal(await userData({ endpoint: without.url, retry: FAST }), undefined);
    assert.equal(without.calls.failures, 0);
  } finally {
    await withData.close();
    await without.close();
  }
});

Deno.test("imds: a 401 (expired token) takes a new token and succeeds", async () => {
  const fake = start();
  try {
    const c = new ImdsClient({ endpoint: fake.url, retry: FAST });
    assert.equal(await c.get("meta-data/instance-type"), "m5.large");
    fake.expireTokens();
    assert.equal(await c.get("meta-data/instance-type"), "m5.large");
    assert.equal(fake.calls.tokens, 2);
    assert.equal(fake.calls.unauthorized, 1);
  } finally {
    await fake.close();
  }
});

Deno.test("imds: a missing required entry is a MetadataError naming it, without retries", async () => {
  const tree = defaultMetadata();
  delete tree["meta-data/hostname"];
  const fake = start({ metadata: tree });
  try {
    await assert.rejects(
      () => instanceMetadata({ endpoint: fake.url, retry: FAST }),
      (e: unknown) => e instanceof MetadataError && /meta-data\/hostname not found \(404\)/.test(e.message),
    );
    assert.equal(fake.calls.paths.filter((p) => p === "meta-data/hostname").length, 1);
  } finally {
    await fake.close();
  }
});

Deno.test("imds: the default policy waits out an IMDS that answers only 10 s after the first try (nodeadm case imds-timeouts)", async () => {
  // nodeadm's e2e case starts IMDS 10 s into init and expects the node to join. The wait is replayed on
  // a virtual clock: the injected sleep advances it, an injected fetch refuses connections until it
  // reads 10 s, and the retry policy is IMDS_RETRY itself (only clock, sleep and jitter are injected).
  const fake = start({ userData: "hello" });
  try {
    let now = 0;
    let refused = 0;
    const fetchLate: typeof fetch = (input, init) => {
      if (now < 10_000) {
        refused++;
        return Promise.reject(new TypeError("error sending request: Connection refused (os error 111)"));
      }
      return fetch(input, init);
    };
    const c = new ImdsClient({
      endpoint: fake.url,
      fetch: fetchLate,
      retry: {
        now: () => now,
        sleep: (ms) => {
          now += ms;
          return Promise.resolve();
        },
        random: () => 0.5,
      },
    });
    assert.equal(new TextDecoder().decode(await c.userData()), "hello");
    assert.ok(refused >= 10, `${refused} refused tries before IMDS came up`);
    assert.ok(now >= 10_000, `virtual ${now} ms waited`);

    // The same wait with the old bound (8 tries) gave up before IMDS came up.
    now = 0;
    const old = new ImdsClient({
      endpoint: fake.url,
      fetch: fetchLate,
      retry: {
        attempts: 8,
        baseMs: 200,
        maxMs: 2000,
        totalMs: 30_000,
        now: () => now,
        sleep: (ms) => {
          now += ms;
          return Promise.resolve();
        },
        random: () => 0.5,
      },
    });
    await assert.rejects(() => old.userData(), MetadataError);
  } finally {
    await fake.close();
  }
});

Deno.test("imds: IMDS_RETRY is nodeadm's wait of about a minute: 60 tries, waits capped at 2 s, 2 minutes in all", () => {
  assert.deepEqual({ ...IMDS_RETRY }, { attempts: 60, baseMs: 250, maxMs: 2000, totalMs: 120_000 });
  // With the mean jitter each wait is half its ceiling: the tries span about a minute.
  let mean = 0;
  for (let n = 1; n < IMDS_RETRY.attempts!; n++) {
    mean += 0.5 * Math.min(IMDS_RETRY.maxMs!, IMDS_RETRY.baseMs! * 2 ** (n - 1));
  }
  assert.ok(mean > 50_000 && mean < 70_000, `${mean} ms`);
});
