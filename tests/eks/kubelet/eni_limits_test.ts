import assert from "node:assert/strict";
import { ENI_LIMITS_SOURCE, eniLimits, eniTableSize } from "../../../eks/kubelet/eni_limits.ts";
import { convertEniLimits, renderEniLimits } from "../../../tools/gen_eni_limits.ts";

const ASSET = new URL("../../../assets/eni_limits.json", import.meta.url);
const REFERENCE = new URL("../../../../shared/reference/instance-eni-limits.jsonl", import.meta.url);
const referencePresent = (() => {
  try {
    return Deno.statSync(REFERENCE).isFile;
  } catch {
    return false;
  }
})();

Deno.test("eniLimits: known types, unknown types, no prototype keys", () => {
  const table: [string, { enis: number; ipsPerEni: number } | undefined][] = [
    ["m5.large", { enis: 3, ipsPerEni: 10 }],
    ["m5.xlarge", { enis: 4, ipsPerEni: 15 }],
    ["t3.micro", { enis: 2, ipsPerEni: 2 }],
    ["m5.24xlarge", { enis: 15, ipsPerEni: 50 }],
    ["m5.huge", undefined],
    ["", undefined],
    ["constructor", undefined],
    ["__proto__", undefined],
    ["toString", undefined],
  ];
  for (const [type, want] of table) assert.deepEqual(eniLimits(type), want, type);
  assert.equal(eniTableSize(), 1384);
  assert.match(ENI_LIMITS_SOURCE, /^awslabs\/amazon-eks-ami .*instance-info\.jsonl at commit 81fec2e8/);
});

Deno.test("gen_eni_limits: converts, sorts, rejects bad lines", () => {
  const jsonl = [
    '{"instanceType":"z.large","defaultMaxENIs":3,"ipv4AddressesPerInterface":10}',
    "",
    '{"instanceType":"a.small","defaultMaxENIs":2,"ipv4AddressesPerInterface":4}',
  ].join("\n");
  const asset = convertEniLimits(jsonl, "test source");
  assert.deepEqual(asset, { source: "test source", types: { "a.small": [2, 4], "z.large": [3, 10] } });
  assert.equal(
    renderEniLimits(asset),
    '{\n  "source": "test source",\n  "types": {\n    "a.small": [2, 4],\n    "z.large": [3, 10]\n  }\n}\n',
  );
  const bad = [
    "{not json",
    '{"defaultMaxENIs":3,"ipv4AddressesPerInterface":10}',
    '{"instanceType":"x","defaultMaxENIs":0,"ipv4AddressesPerInterface":10}',
    '{"instanceType":"x","defaultMaxENIs":3,"ipv4AddressesPerInterface":"10"}',
    '{"instanceType":"x","defaultMaxENIs":3,"ipv4AddressesPerInterface":10}\n' +
    '{"instanceType":"x","defaultMaxENIs":3,"ipv4AddressesPerInterface":10}',
  ];
  for (const b of bad) assert.throws(() => convertEniLimits(b, "s"), Error, b);
});

Deno.test("assets/eni_limits.json is exactly what the generator renders", async () => {
  const text = await Deno.readTextFile(ASSET);
  assert.equal(renderEniLimits(JSON.parse(text)), text);
});

Deno.test({
  name: "assets/eni_limits.json matches shared/reference/instance-eni-limits.jsonl",
  ignore: !referencePresent,
  async fn() {
    const text = await Deno.readTextFile(ASSET);
    const source = JSON.parse(text).source;
    assert.equal(renderEniLimits(convertEniLimits(await Deno.readTextFile(REFERENCE), source)), text);
  },
});
