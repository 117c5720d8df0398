import assert from "node:assert/strict";
import { partition as sdkPartition } from "@aws-sdk/core/client";
import partitionData from "../../../assets/partitions.json" with { type: "json" };
import { ConfigError } from "../../../lib/errors.ts";
import {
  ECR_ACCOUNT_RULES,
  ecrAccountFor,
  ecrFipsAvailable,
  ecrPartitions,
  ecrRegistry,
  parseEcrAccountsTsv,
  partitionOf,
} from "../../../eks/aws/ecr_registry.ts";
import { BOOTSTRAP_PAUSE_VERSION, sandboxImage } from "../../../eks/containerd/sandbox_image.ts";
import {
  credentialProviderApiVersions,
  ecrMatchImages,
  renderCredentialProviderConfig,
} from "../../../eks/kubelet/credential_provider.ts";

Deno.test("assets/partitions.json answers as the pinned AWS SDK's partition() does", () => {
  // The SDK also lists pseudo-regions ("aws-global"), which are not region names eksnode accepts.
  const regions = partitionData.partitions.flatMap((p) => p.regions).filter((r) => !r.endsWith("-global"));
  assert.ok(regions.length > 40, "the copy lists the SDK's regions");
  // Every listed region, a made-up region of each partition's pattern, and names no pattern matches.
  const probes = [
    ...regions,
    "us-west-9",
    "mx-central-7",
    "cn-west-9",
    "us-gov-south-9",
    "us-iso-north-9",
    "us-isob-west-9",
    "eu-isoe-north-9",
    "us-isof-east-9",
    "eusc-de-west-9",
    "xx-foo-1",
  ];
  for (const region of probes) {
    const sdk = sdkPartition(region);
    assert.deepEqual(partitionOf(region), { id: sdk.name, dnsSuffix: sdk.dnsSuffix }, region);
  }
});

const golden = (name: string) => Deno.readTextFile(new URL(`../../golden/${name}`, import.meta.url));

Deno.test("partition and DNS suffix of every partition come from the AWS SDK data", () => {
  const table: [string, string, string][] = [
    ["us-east-1", "aws", "amazonaws.com"],
    ["ap-southeast-7", "aws", "amazonaws.com"],
    ["cn-north-1", "aws-cn", "amazonaws.com.cn"],
    ["cn-south-9", "aws-cn", "amazonaws.com.cn"], // by the partition's region regex
    ["us-gov-west-1", "aws-us-gov", "amazonaws.com"],
    ["us-iso-east-1", "aws-iso", "c2s.ic.gov"],
    ["us-isob-east-1", "aws-iso-b", "sc2s.sgov.gov"],
    ["eu-isoe-west-1", "aws-iso-e", "cloud.adc-e.uk"],
    ["us-isof-south-1", "aws-iso-f", "csp.hci.ic.gov"],
    ["eusc-de-east-1", "aws-eusc", "amazonaws.eu"],
    ["xx-foo-1", "aws", "amazonaws.com"], // unknown: the SDK's default partition
  ];
  for (const [region, id, dnsSuffix] of table) {
    assert.deepEqual(partitionOf(region), { id, dnsSuffix }, region);
  }
  assert.deepEqual(
    ecrPartitions().map((p) => p.id).sort(),
    ["aws", "aws-cn", "aws-eusc", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-us-gov"],
  );
  for (const bad of ["", "US-EAST-1", "us-east-1/", "us_east_1"]) {
    assert.throws(() => partitionOf(bad), ConfigError, bad);
  }
});

Deno.test("ECR account by table order: exact rows, then patterns with their registry region", () => {
  const table: [string, string, string, string][] = [
    ["us-west-2", "602401143452", "us-west-2", "us-west-2"],
    ["ap-east-1", "800184023465", "ap-east-1", "ap-east-1"],
    ["cn-north-1", "918309763551", "cn-north-1", "cn-north-1"],
    ["us-gov-west-1", "013241004608", "us-gov-west-1", "us-gov-west-1"],
    ["us-gov-east-1", "151742754352", "us-gov-east-1", "us-gov-east-1"],
    ["us-isob-west-1", "321162350305", "us-isob-west-1", "us-isob-west-1"],
    ["us-gov-east-2", "013241004608", "us-gov-west-1", "us-gov-*"],
    ["cn-south-1", "961992271922", "cn-northwest-1", "cn-*"],
    ["us-iso-north-1", "725322719131", "us-iso-east-1", "us-iso-*"],
    ["us-isob-north-1", "187977181151", "us-isob-east-1", "us-isob-*"], // not caught by us-iso-*
    ["eu-isoe-north-1", "249663109785", "eu-isoe-west-1", "eu-isoe-*"],
    ["eusc-fr-east-1", "877088126301", "eusc-de-east-1", "eusc-*"],
    ["us-isof-east-2", "676585237158", "us-isof-south-1", "us-isof-*"],
    ["xx-foo-1", "602401143452", "us-west-2", "*"], // unknown region falls back
  ];
  for (const [region, account, registryRegion, matched] of table) {
    assert.deepEqual(ecrAccountFor(region), { account, registryRegion, matched }, region);
  }
  const firstWins = parseEcrAccountsTsv("us-*\t111111111111\tus-east-1\nus-west-2\t222222222222\t\n");
  assert.deepEqual(ecrAccountFor("us-west-2", firstWins), {
    account: "111111111111",
    registryRegion: "us-east-1",
    matched: "us-*",
  });
  assert.throws(() => ecrAccountFor("eu-west-1", firstWins), ConfigError, "no catch-all row");
});

Deno.test("ECR accounts TSV: asset has its source line, parser rejects bad rows", async () => {
  const text = await Deno.readTextFile(new URL("../../../assets/ecr_accounts.tsv", import.meta.url));
  assert.match(
    text.split("\n")[0],
    /^# source: awslabs\/amazon-eks-ami templates\/al2\/runtime\/get-ecr-uri\.sh/,
  );
  assert.equal(ECR_ACCOUNT_RULES.length, 54);
  assert.deepEqual(ECR_ACCOUNT_RULES.at(-1), {
    pattern: "*",
    account: "602401143452",
    registryRegion: "us-west-2",
  });
  assert.throws(() => parseEcrAccountsTsv("us-west-2\t6024011434\t\n"), ConfigError, "short account");
  assert.throws(() => parseEcrAccountsTsv("us-*\t602401143452\t\n"), ConfigError, "pattern without region");
  assert.throws(() => parseEcrAccountsTsv("us west\t602401143452\t\n"), ConfigError, "bad pattern");
});

Deno.test("ECR registry domains of all partitions", () => {
  const table: [string, string, string][] = [
    ["us-east-1", "602401143452.dkr.ecr.us-east-1.amazonaws.com", "aws"],
    ["cn-north-1", "918309763551.dkr.ecr.cn-north-1.amazonaws.com.cn", "aws-cn"],
    ["cn-northwest-1", "961992271922.dkr.ecr.cn-northwest-1.amazonaws.com.cn", "aws-cn"],
    ["us-gov-west-1", "013241004608.dkr.ecr.us-gov-west-1.amazonaws.com", "aws-us-gov"],
    ["us-iso-east-1", "725322719131.dkr.ecr.us-iso-east-1.c2s.ic.gov", "aws-iso"],
    ["us-isob-east-1", "187977181151.dkr.ecr.us-isob-east-1.sc2s.sgov.gov", "aws-iso-b"],
    ["eu-isoe-west-1", "249663109785.dkr.ecr.eu-isoe-west-1.cloud.adc-e.uk", "aws-iso-e"],
    ["us-isof-south-1", "676585237158.dkr.ecr.us-isof-south-1.csp.hci.ic.gov", "aws-iso-f"],
    ["eusc-de-east-1", "877088126301.dkr.ecr.eusc-de-east-1.amazonaws.eu", "aws-eusc"],
    ["us-gov-east-7", "013241004608.dkr.ecr.us-gov-west-1.amazonaws.com", "aws-us-gov"],
    ["xx-foo-1", "602401143452.dkr.ecr.us-west-2.amazonaws.com", "aws"],
  ];
  for (const [region, registry, partition] of table) {
    const r = ecrRegistry({ region });
    assert.deepEqual(
      [r.registry, r.partition, r.fips, r.source],
      [registry, partition, false, "table"],
      region,
    );
  }
});

Deno.test("ECR FIPS host only where ECR has FIPS endpoints", () => {
  const table: [string, string, boolean][] = [
    ["us-east-1", "602401143452.dkr.ecr-fips.us-east-1.amazonaws.com", true],
    ["us-west-2", "602401143452.dkr.ecr-fips.us-west-2.amazonaws.com", true],
    ["us-gov-west-1", "013241004608.dkr.ecr-fips.us-gov-west-1.amazonaws.com", true],
    ["us-gov-east-9", "013241004608.dkr.ecr-fips.us-gov-west-1.amazonaws.com", true], // via us-gov-*
    ["ca-central-1", "602401143452.dkr.ecr.ca-central-1.amazonaws.com", false],
    ["eu-west-1", "602401143452.dkr.ecr.eu-west-1.amazonaws.com", false],
    ["cn-north-1", "918309763551.dkr.ecr.cn-north-1.amazonaws.com.cn", false],
    ["us-iso-east-1", "725322719131.dkr.ecr.us-iso-east-1.c2s.ic.gov", false],
  ];
  for (const [region, registry, fips] of table) {
    const r = ecrRegistry({ region, fips: true });
    assert.deepEqual([r.registry, r.fips], [registry, fips], region);
  }
  assert.equal(ecrFipsAvailable("us-east-2"), true);
  assert.equal(ecrFipsAvailable("ca-west-1"), false);
  assert.equal(
    ecrRegistry({ region: "us-east-1", fips: false }).registry,
    "602401143452.dkr.ecr.us-east-1.amazonaws.com",
  );
});

Deno.test("ECR overrides: account keeps the node's region, registry wins, DNS suffix from IMDS", () => {
  const acct = ecrRegistry({ region: "ap-southeast-6", account: "111122223333" });
  assert.deepEqual(acct, {
    registry: "111122223333.dkr.ecr.ap-southeast-6.amazonaws.com",
    account: "111122223333",
    registryRegion: "ap-southeast-6",
    partition: "aws",
    fips: false,
    source: "account-override",
  });
  assert.equal(
    ecrRegistry({ region: "xx-foo-1", account: "111122223333" }).registry,
    "111122223333.dkr.ecr.xx-foo-1.amazonaws.com",
    "no fallback region with an explicit account, as get-ecr-uri.sh",
  );
  const reg = ecrRegistry({
    region: "us-east-1",
    registry: "https://cache.example.com/",
    account: "111122223333",
  });
  assert.deepEqual([reg.registry, reg.account, reg.source], [
    "cache.example.com",
    undefined,
    "registry-override",
  ]);
  assert.equal(
    ecrRegistry({ region: "us-east-1", dnsSuffix: "example.internal" }).registry,
    "602401143452.dkr.ecr.us-east-1.example.internal",
  );
  assert.equal(
    ecrRegistry({ region: "us-east-1", account: "  " }).source,
    "table",
    "blank account is no override",
  );
  assert.throws(() => ecrRegistry({ region: "us-east-1", account: "12345" }), ConfigError);
});

Deno.test("sandbox image: default tag 3.10, bootstrap.sh overrides", () => {
  const table: [Parameters<typeof sandboxImage>[0], string][] = [
    [{ region: "us-west-2" }, "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.10"],
    [
      { region: "cn-north-1", pauseContainerVersion: BOOTSTRAP_PAUSE_VERSION },
      "918309763551.dkr.ecr.cn-north-1.amazonaws.com.cn/eks/pause:3.5",
    ],
    [
      { region: "us-gov-east-1", fips: true },
      "151742754352.dkr.ecr-fips.us-gov-east-1.amazonaws.com/eks/pause:3.10",
    ],
    [
      { region: "eu-west-1", pauseContainerAccount: "111122223333" },
      "111122223333.dkr.ecr.eu-west-1.amazonaws.com/eks/pause:3.10",
    ],
    [{ region: "eu-west-1", registry: "cache.example.com" }, "cache.example.com/eks/pause:3.10"],
    [
      {
        region: "eu-west-1",
        pauseContainerImage: "registry.example.com/pause",
        pauseContainerVersion: "3.9",
      },
      "registry.example.com/pause:3.9",
    ],
    [{ region: "mx-central-1" }, "730335286997.dkr.ecr.mx-central-1.amazonaws.com/eks/pause:3.10"],
  ];
  for (const [input, want] of table) assert.equal(sandboxImage(input), want, JSON.stringify(input));
  assert.throws(
    () => sandboxImage({ region: "us-west-2", pauseContainerVersion: "3.10; rm -rf /" }),
    ConfigError,
  );
});

Deno.test("credential provider apiVersions: v1 from 1.27, v1alpha1 before", () => {
  const v1 = { config: "kubelet.config.k8s.io/v1", provider: "credentialprovider.kubelet.k8s.io/v1" };
  const alpha = {
    config: "kubelet.config.k8s.io/v1alpha1",
    provider: "credentialprovider.kubelet.k8s.io/v1alpha1",
  };
  const table: [string, typeof v1][] = [
    ["1.26", alpha],
    ["1.26.15-eks-1552ad0", alpha],
    ["v1.27.0", v1],
    ["1.27", v1],
    ["1.33.1", v1],
    ["2.0", v1],
  ];
  for (const [version, want] of table) {
    assert.deepEqual(credentialProviderApiVersions(version), want, version);
  }
  for (const bad of ["", "banana", "1", "1.x"]) {
    assert.throws(() => credentialProviderApiVersions(bad), ConfigError, bad);
  }
});

Deno.test("credential provider matchImages: every partition's ECR domain, same set as nodeadm", () => {
  // nodeadm nodeadm/internal/kubelet/image-credential-provider.go (current main in the search index).
  const nodeadm = [
    "*.dkr.ecr.*.amazonaws.com",
    "*.dkr-ecr.*.on.aws",
    "*.dkr.ecr.*.amazonaws.com.cn",
    "*.dkr-ecr.*.on.amazonwebservices.com.cn",
    "*.dkr.ecr-fips.*.amazonaws.com",
    "*.dkr-ecr-fips.*.on.aws",
    "*.dkr.ecr.*.c2s.ic.gov",
    "*.dkr.ecr.*.sc2s.sgov.gov",
    "*.dkr.ecr.*.cloud.adc-e.uk",
    "*.dkr.ecr.*.csp.hci.ic.gov",
    "*.dkr.ecr.*.amazonaws.eu",
    "public.ecr.aws",
  ];
  assert.deepEqual([...ecrMatchImages("1.31")].sort(), [...nodeadm].sort());
  assert.deepEqual([...ecrMatchImages("1.32")].sort(), [...nodeadm, "ecr-public.aws.com"].sort());
  for (const p of ecrPartitions()) {
    assert.ok(ecrMatchImages("1.33").includes(`*.dkr.ecr.*.${p.dnsSuffix}`), p.id);
  }
  assert.equal(new Set(ecrMatchImages("1.33")).size, ecrMatchImages("1.33").length, "no duplicates");
});

Deno.test("credential provider config renders the golden files, stable and newline-terminated", async () => {
  assert.equal(
    renderCredentialProviderConfig({ kubernetesVersion: "1.33" }),
    await golden("credential_provider_1.33.json"),
  );
  assert.equal(
    renderCredentialProviderConfig({ kubernetesVersion: "v1.26.9" }),
    await golden("credential_provider_1.26.json"),
  );
  const a = renderCredentialProviderConfig({ kubernetesVersion: "1.30" });
  assert.equal(a, renderCredentialProviderConfig({ kubernetesVersion: "1.30" }));
  assert.ok(a.endsWith("}\n"));
  const custom = JSON.parse(renderCredentialProviderConfig({
    kubernetesVersion: "1.30",
    providerName: "my-provider",
    extraMatchImages: ["cache.example.com", "public.ecr.aws"],
  }));
  assert.equal(custom.providers[0].name, "my-provider");
  assert.equal(custom.providers[0].defaultCacheDuration, "12h");
  assert.equal(custom.providers[0].matchImages.at(-1), "cache.example.com");
  assert.equal(custom.providers[0].matchImages.filter((m: string) => m === "public.ecr.aws").length, 1);
  assert.throws(
    () => renderCredentialProviderConfig({ kubernetesVersion: "1.30", providerName: "../x" }),
    ConfigError,
  );
});
