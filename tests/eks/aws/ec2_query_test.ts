/**
 * The light EC2 client (eks/aws/ec2_query.ts, eks/aws/ec2_api.ts) against the AWS SDK's EC2 client: the same
 * answers read by both must give the same facts, errors the same names, endpoints the same URLs. The SDK
 * is only a reference here; eksnode no longer loads it.
 */
import assert from "node:assert/strict";
import {
  DescribeInstancesCommand,
  DescribeInstanceTypesCommand,
  EC2Client,
  type EC2ClientConfig,
} from "@aws-sdk/client-ec2";
import { describeInstanceType, describePrivateDnsName } from "../../../eks/aws/ec2_api.ts";
import { ec2Call } from "../../../eks/aws/ec2_query.ts";
import { awsClientConfig, defaultEndpoint } from "../../../eks/aws/call.ts";
import { serveLoopback } from "../../../fakes/common.ts";
import { defaultMetadata, start as startImds } from "../../../fakes/imds.ts";
import * as fakeEc2 from "../../../fakes/ec2.ts";
import { tempFile } from "../../../fakes/temp.ts";
import { privateDnsNameInChild } from "../../support/private_dns_name_child.ts";

const KEYS = {
  AWS_ACCESS_KEY_ID: "AKIDFAKEEXAMPLE",
  AWS_SECRET_ACCESS_KEY: "fake-secret",
  AWS_REGION: "us-west-2",
};

// Shaped as EC2 answers (element names from the EC2 model, @aws-sdk/client-ec2 3.1169.0): the instance's
// network interfaces carry privateDnsName too, and come first here, so only a reader that follows the
// structure finds the instance's own.
const DESCRIBE_INSTANCES = `<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
    <requestId>8f7724cf-496f-496e-8fe3-example</requestId>
    <reservationSet>
        <item>
            <reservationId>r-1234567890abcdef0</reservationId>
            <ownerId>123456789012</ownerId>
            <groupSet/>
            <instancesSet>
                <item>
                    <instanceId>i-1234567890abcdef0</instanceId>
                    <networkInterfaceSet>
                        <item>
                            <networkInterfaceId>eni-0123</networkInterfaceId>
                            <privateDnsName>ip-10-0-9-9.example.internal</privateDnsName>
                            <privateIpAddressesSet><item>
                                <privateIpAddress>10.0.9.9</privateIpAddress>
                                <privateDnsName>ip-10-0-9-8.example.internal</privateDnsName>
                                <primary>true</primary>
                            </item></privateIpAddressesSet>
                        </item>
                    </networkInterfaceSet>
                    <imageId>ami-0abcdef1234567890</imageId>
                    <instanceState><code>16</code><name>running</name></instanceState>
                    <privateDnsName>ip-10-0-1-23.corp.example.com</privateDnsName>
                    <dnsName/>
                    <tagSet><item><key>Name</key><value>a &amp; b</value></item></tagSet>
                </item>
            </instancesSet>
        </item>
    </reservationSet>
</DescribeInstancesResponse>`;

// p4d.24xlarge-like: four network cards; the default one allows 15 interfaces, the type 60 in all.
const DESCRIBE_INSTANCE_TYPES = `<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstanceTypesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
    <requestId>11111111-2222-3333-4444-555555555555</requestId>
    <instanceTypeSet>
        <item>
            <instanceType>p4d.24xlarge</instanceType>
            <hypervisor>nitro</hypervisor>
            <vCpuInfo><defaultVCpus>96</defaultVCpus><defaultCores>48</defaultCores></vCpuInfo>
            <networkInfo>
                <maximumNetworkInterfaces>60</maximumNetworkInterfaces>
                <ipv4AddressesPerInterface>50</ipv4AddressesPerInterface>
                <defaultNetworkCardIndex>0</defaultNetworkCardIndex>
                <networkCards>
                    <item><networkCardIndex>1</networkCardIndex><maximumNetworkInterfaces>16</maximumNetworkInterfaces></item>
                    <item><networkCardIndex>0</networkCardIndex><maximumNetworkInterfaces>15</maximumNetworkInterfaces></item>
                </networkCards>
            </networkInfo>
        </item>
    </instanceTypeSet>
</DescribeInstanceTypesResponse>`;

const NOT_FOUND = `<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code><Message>The instance ID 'i-1' does not exist</Message></Error></Errors><RequestID>abc</RequestID></Response>`;

/** A loopback server answering every request with `status` and `body`, counting requests. */
function answering(status: number, body: string) {
  const seen: { action: string | null; authorization: string | null }[] = [];
  const server = serveLoopback(async (req) => {
    const form = new URLSearchParams(await req.text());
    seen.push({ action: form.get("Action"), authorization: req.headers.get("authorization") });
    return new Response(body, { status, headers: { "content-type": "text/xml;charset=UTF-8" } });
  });
  return { url: server.url, seen, close: server.close };
}

function sdkClient(endpoint: string): EC2Client {
  const cfg: EC2ClientConfig = {
    region: "us-west-2",
    endpoint,
    maxAttempts: 1,
    credentials: { accessKeyId: KEYS.AWS_ACCESS_KEY_ID, secretAccessKey: KEYS.AWS_SECRET_ACCESS_KEY },
  };
  return new EC2Client(cfg);
}

Deno.test("ec2 query: DescribeInstances gives the PrivateDnsName the SDK reads, not an interface's", async () => {
  const server = answering(200, DESCRIBE_INSTANCES);
  const client = sdkClient(server.url);
  try {
    const sdk = await client.send(new DescribeInstancesCommand({ InstanceIds: ["i-1234567890abcdef0"] }));
    const ours = await describePrivateDnsName("i-1234567890abcdef0", {
      env: { ...KEYS, AWS_ENDPOINT_URL_EC2: server.url },
    });
    assert.equal(ours, sdk.Reservations![0].Instances![0].PrivateDnsName);
    assert.equal(ours, "ip-10-0-1-23.corp.example.com");
    assert.deepEqual(server.seen.map((s) => s.action), ["DescribeInstances", "DescribeInstances"]);
  } finally {
    client.destroy();
    await server.close();
  }
});

Deno.test("ec2 query: DescribeInstanceTypes reads the default network card as the SDK's model has it", async () => {
  const server = answering(200, DESCRIBE_INSTANCE_TYPES);
  const client = sdkClient(server.url);
  try {
    const sdk = (await client.send(new DescribeInstanceTypesCommand({ InstanceTypes: ["p4d.24xlarge"] })))
      .InstanceTypes![0];
    const net = sdk.NetworkInfo!;
    const card = net.NetworkCards!.find((c) => c.NetworkCardIndex === net.DefaultNetworkCardIndex)!;
    const ours = await describeInstanceType("p4d.24xlarge", {
      env: { ...KEYS, AWS_ENDPOINT_URL_EC2: server.url },
    });
    assert.deepEqual(ours, {
      enis: card.MaximumNetworkInterfaces,
      ipsPerEni: net.Ipv4AddressesPerInterface,
      vcpus: sdk.VCpuInfo!.DefaultVCpus,
      hypervisor: sdk.Hypervisor,
    });
    assert.equal(ours.enis, 15);
  } finally {
    client.destroy();
    await server.close();
  }
});

Deno.test("ec2 query: an EC2 error has the SDK's name and HTTP status; a non-XML answer is an error too", async () => {
  const server = answering(400, NOT_FOUND);
  const client = sdkClient(server.url);
  const cfg = awsClientConfig("EC2", { ...KEYS, AWS_ENDPOINT_URL_EC2: server.url });
  try {
    const sdkErr = await client.send(new DescribeInstancesCommand({ InstanceIds: ["i-1"] })).then(
      () => undefined,
      (e) => e,
    );
    const ours = await ec2Call(
      cfg,
      {},
      "DescribeInstances",
      { "InstanceId.1": "i-1" },
      AbortSignal.timeout(5000),
    )
      .then(() => undefined, (e) => e);
    assert.equal(ours.name, sdkErr.name);
    assert.equal(ours.name, "InvalidInstanceID.NotFound");
    assert.equal(ours.message, sdkErr.message);
    assert.equal(ours.$metadata.httpStatusCode, sdkErr.$metadata.httpStatusCode);
  } finally {
    client.destroy();
    await server.close();
  }
  const html = answering(502, "<html><body>Bad gateway</body></html>");
  try {
    const cfg2 = awsClientConfig("EC2", { ...KEYS, AWS_ENDPOINT_URL_EC2: html.url });
    await assert.rejects(
      () => ec2Call(cfg2, {}, "DescribeInstances", {}, AbortSignal.timeout(5000)),
      (e: Error & { $metadata?: { httpStatusCode: number } }) =>
        e.name === "Ec2HttpError" && e.$metadata?.httpStatusCode === 502 && /HTTP 502/.test(e.message),
    );
  } finally {
    await html.close();
  }
});

Deno.test("ec2 query: default endpoints are the SDK's for every partition, with and without FIPS", async () => {
  const client = new EC2Client({ region: "us-west-2" });
  try {
    for (
      const region of [
        "us-west-2",
        "eu-central-1",
        "cn-north-1",
        "us-gov-west-1",
        "us-iso-east-1",
        "us-isob-east-1",
        "eusc-de-east-1",
        "mx-central-1",
      ]
    ) {
      for (const fips of [false, true]) {
        const sdk = await client.config.endpointProvider({
          Region: region,
          UseFIPS: fips,
          UseDualStack: false,
        });
        const ours = defaultEndpoint("EC2", region, fips ? { AWS_USE_FIPS_ENDPOINT: "true" } : {});
        assert.equal(ours, sdk.url.href.replace(/\/$/, ""), `${region} fips=${fips}`);
      }
    }
  } finally {
    client.destroy();
  }
});

Deno.test("ec2 query: with a shared config file but no keys, the SDK's credential chain goes on to the instance role in IMDS", async () => {
  const role = "eks-node-role";
  const imds = startImds({
    metadata: {
      ...defaultMetadata(),
      "meta-data/iam/security-credentials/": role,
      [`meta-data/iam/security-credentials/${role}`]: JSON.stringify({
        Code: "Success",
        Type: "AWS-HMAC",
        AccessKeyId: "ASIAROLEEXAMPLE",
        SecretAccessKey: "role-secret",
        Token: "role-session-token",
        Expiration: new Date(Date.now() + 3600_000).toISOString(),
        LastUpdated: new Date().toISOString(),
      }),
    },
  });
  const ec2 = fakeEc2.start();
  // A config file that names a region and no keys: the chain is loaded (eksnode does not read profiles
  // itself) and ends at IMDS (eks/aws/instance_role_credentials.ts reads the role only without such files).
  const config = await tempFile({ prefix: "eksnode-aws-config-" });
  await Deno.writeTextFile(config, "[default]\nregion = us-west-2\n");
  try {
    // The chain reads the process environment, as the SDK clients do: a child process with a clean one.
    const name = await privateDnsNameInChild("i-0123456789abcdef0", {
      HOME: "/nonexistent",
      AWS_REGION: "us-west-2",
      AWS_ENDPOINT_URL_EC2: ec2.url,
      AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url,
      AWS_CONFIG_FILE: config,
      AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/credentials",
    });
    assert.equal(name, "ip-10-0-1-23.us-west-2.compute.internal");
    assert.equal(ec2.calls.length, 1);
    assert.equal(ec2.calls[0].accessKeyId, "ASIAROLEEXAMPLE");
    assert.ok(
      imds.calls.paths.some((p) => p.endsWith(`security-credentials/${role}`)),
      imds.calls.paths.join(),
    );
  } finally {
    await ec2.close();
    await imds.close();
  }
});
