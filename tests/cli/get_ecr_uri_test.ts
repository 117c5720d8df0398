/**
 * `eksnode get-ecr-uri` for every region of every partition in assets/ecr_accounts.tsv. The expected
 * registry is computed here from the TSV text and a hand-written table of partition DNS suffixes (AWS
 * General Reference), independent of eks/aws/ecr_registry.ts; then public answers through the CLI.
 */
import assert from "node:assert/strict";
import { ecrUriAnswer } from "../../cli/get_ecr_uri.ts";
import { eksnode } from "../support/cli_run.ts";

const TSV = await Deno.readTextFile(new URL("../../assets/ecr_accounts.tsv", import.meta.url));
const ROWS = TSV.split("\n").filter((l) => l && !l.startsWith("#") && !l.startsWith("region_pattern"))
  .map((l) => l.split("\t"));

/** Partition DNS suffixes by region prefix (most specific first). */
const SUFFIXES: [RegExp, string, string][] = [
  [/^cn-/, "aws-cn", "amazonaws.com.cn"],
  [/^us-gov-/, "aws-us-gov", "amazonaws.com"],
  [/^us-isob-/, "aws-iso-b", "sc2s.sgov.gov"],
  [/^us-isof-/, "aws-iso-f", "csp.hci.ic.gov"],
  [/^us-iso-/, "aws-iso", "c2s.ic.gov"],
  [/^eu-isoe-/, "aws-iso-e", "cloud.adc-e.uk"],
  [/^eusc-/, "aws-eusc", "amazonaws.eu"],
  [/^/, "aws", "amazonaws.com"],
];
const FIPS = new Set(["us-east-1", "us-east-2", "us-west-1", "us-west-2", "us-gov-east-1", "us-gov-west-1"]);

function expected(region: string, fips = false): { registry: string; partition: string } {
  const row = ROWS.find(([pattern]) =>
    new RegExp(`^${pattern.replaceAll("-", "\\-").replaceAll("*", ".*")}$`).test(region)
  )!;
  const [, account, registryRegion] = row;
  const where = registryRegion || region;
  const [, partition, suffix] = SUFFIXES.find(([re]) => re.test(where))!;
  const ecr = fips && FIPS.has(where) ? "ecr-fips" : "ecr";
  return { registry: `${account}.dkr.${ecr}.${where}.${suffix}`, partition };
}

Deno.test("get-ecr-uri: every region of the table, plus regions only a wildcard row covers, with and without FIPS", async () => {
  const named = ROWS.map(([p]) => p).filter((p) => !p.includes("*"));
  const wildcardOnly = [
    "us-gov-east-2",
    "cn-south-1",
    "us-iso-south-1",
    "us-isob-north-1",
    "eu-isoe-east-1",
    "eusc-de-west-1",
    "us-isof-west-1",
    // A region no partition's pattern covers ("xx-newregion-1", "eusc-fr-west-1") is refused by the
    // command (below), not sent to the "*" row's registry.
  ];
  assert.ok(named.length >= 45, `${named.length} regions named`);
  const partitions = new Set<string>();
  for (const region of [...named, ...wildcardOnly]) {
    for (const fips of [false, true]) {
      const want = expected(region, fips);
      const got = await ecrUriAnswer({ region, fips });
      assert.equal(got.registry, want.registry, `${region} fips=${fips}`);
      assert.equal(got.partition, want.partition, region);
      partitions.add(got.partition);
    }
  }
  assert.deepEqual(
    [...partitions].sort(),
    ["aws", "aws-cn", "aws-eusc", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-us-gov"],
  );
});

Deno.test("get-ecr-uri CLI: public answers (EKS docs, get-ecr-uri.sh), --account, --output json, errors", async () => {
  const known: [string[], string][] = [
    [["--region", "us-west-2"], "602401143452.dkr.ecr.us-west-2.amazonaws.com"],
    [["--region", "eu-west-1"], "602401143452.dkr.ecr.eu-west-1.amazonaws.com"],
    [["--region", "af-south-1"], "877085696533.dkr.ecr.af-south-1.amazonaws.com"],
    [["--region", "ap-east-1"], "800184023465.dkr.ecr.ap-east-1.amazonaws.com"],
    [["--region", "me-south-1"], "558608220178.dkr.ecr.me-south-1.amazonaws.com"],
    [["--region", "cn-north-1"], "918309763551.dkr.ecr.cn-north-1.amazonaws.com.cn"],
    [["--region", "cn-northwest-1"], "961992271922.dkr.ecr.cn-northwest-1.amazonaws.com.cn"],
    [["--region", "us-gov-west-1"], "013241004608.dkr.ecr.us-gov-west-1.amazonaws.com"],
    [["--region", "us-gov-east-1", "--fips"], "151742754352.dkr.ecr-fips.us-gov-east-1.amazonaws.com"],
    [["--region", "us-east-1", "--fips"], "602401143452.dkr.ecr-fips.us-east-1.amazonaws.com"],
    [["--region", "ca-central-1", "--fips"], "602401143452.dkr.ecr.ca-central-1.amazonaws.com"],
    [["--region", "eu-west-1", "--account", "123456789012"], "123456789012.dkr.ecr.eu-west-1.amazonaws.com"],
  ];
  for (const [args, want] of known) {
    const r = await eksnode(["get-ecr-uri", ...args]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${want}\n`, args.join(" "));
  }
  const json = await eksnode(["get-ecr-uri", "--region", "us-isob-east-1", "--output", "json"]);
  assert.equal(json.code, 0, json.stderr);
  assert.deepEqual(JSON.parse(json.stdout), {
    region: "us-isob-east-1",
    registry: "187977181151.dkr.ecr.us-isob-east-1.sc2s.sgov.gov",
    account: "187977181151",
    registryRegion: "us-isob-east-1",
    partition: "aws-iso-b",
    dnsSuffix: "sc2s.sgov.gov",
    fips: false,
    source: "table",
  });
  const bad = await eksnode(["get-ecr-uri", "--region", "Oregon"]);
  assert.equal(bad.code, 2, "a bad flag value is a usage error, as in every command");
  assert.match(bad.stderr, /"Oregon" is not an AWS region name/);
  const badAccount = await eksnode(["get-ecr-uri", "--region", "us-west-2", "--account", "12"]);
  assert.equal(badAccount.code, 2);
  assert.match(badAccount.stderr, /"12" is not a 12-digit AWS account id/);
  assert.equal((await eksnode(["get-ecr-uri"])).code, 2);
});

Deno.test("get-ecr-uri: a region no partition knows is a usage error, not another region's registry", async () => {
  const mars = await eksnode(["get-ecr-uri", "--region", "mars-east-1"]);
  assert.equal(mars.code, 2, mars.stdout);
  assert.equal(mars.stdout, "");
  await assert.rejects(ecrUriAnswer({ region: "xx-newregion-1" }), /not a region of any AWS partition/);
  assert.match(mars.stderr, /^error: --region mars-east-1: not a region of any AWS partition/);
  // A region the SDK's patterns cover but its list does not yet name is still known (as the SDK decides).
  const future = await eksnode(["get-ecr-uri", "--region", "us-north-9"]);
  assert.equal(future.code, 0, future.stderr);
});

Deno.test("a bad --region or --instance-type exits 2 in every command that takes it", async () => {
  for (
    const args of [
      ["get-ecr-uri", "--region", "US-WEST-2"],
      ["calculate-max-pods", "--instance-type", "m5.large", "--region", "US-WEST-2"],
      ["calculate-max-pods", "--instance-type", "M5.LARGE"],
      ["ami", "--region", "US-WEST-2", "--dry-run", "--root", "/nonexistent-eksnode-root"],
    ]
  ) {
    const r = await eksnode(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, /^error: /);
  }
});
