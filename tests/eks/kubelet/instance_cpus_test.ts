/** The embedded vCPU / hypervisor table: its lookups, its generator, and that the asset is the generator's. */
import assert from "node:assert/strict";
import {
  INSTANCE_CPUS_SOURCE,
  instanceCpus,
  instanceCpusTableSize,
} from "../../../eks/kubelet/instance_cpus.ts";
import { convertInstanceCpus, renderInstanceCpus } from "../../../tools/gen_instance_cpus.ts";

const ASSET = new URL("../../../assets/instance_cpus.json", import.meta.url);

Deno.test("instanceCpus: Nitro, Xen and bare-metal types as EC2 describes them; unknown and prototype keys", () => {
  const table: [string, ReturnType<typeof instanceCpus>][] = [
    ["m5.large", { vcpus: 2, hypervisor: "nitro" }],
    ["m5.24xlarge", { vcpus: 96, hypervisor: "nitro" }],
    ["c5.4xlarge", { vcpus: 16, hypervisor: "nitro" }],
    ["m4.large", { vcpus: 2, hypervisor: "xen" }],
    ["m5.metal", { vcpus: 96 }],
    ["t3.micro", { vcpus: 2, hypervisor: "nitro" }],
    ["m5.huge", undefined],
    ["constructor", undefined],
    ["__proto__", undefined],
  ];
  for (const [type, want] of table) assert.deepEqual(instanceCpus(type), want, type);
  assert.equal(instanceCpusTableSize(), 1363);
  assert.match(INSTANCE_CPUS_SOURCE, /^aws\/karpenter-provider-aws .*instance-types\.md at commit 692ccdd0/);
});

Deno.test("gen_instance_cpus: reads Karpenter's reference, sorts, rejects what it cannot read", () => {
  const md = (type: string, cpu: string, hv: string) =>
    `### \`${type}\`\n#### Labels\n | Label | Value |\n |--|--|\n |karpenter.k8s.aws/instance-cpu|${cpu}|\n` +
    ` |karpenter.k8s.aws/instance-cpu-manufacturer|intel|\n |karpenter.k8s.aws/instance-hypervisor|${hv}|\n` +
    `#### Resources\n |cpu|1930m|\n`;
  const asset = convertInstanceCpus(
    "## z Family\n" + md("z.metal", "96", "") + md("z.large", "2", "nitro") + md("a.large", "2", "xen"),
    "test source",
  );
  assert.deepEqual(asset, {
    source: "test source",
    vcpus: { "a.large": 2, "z.large": 2, "z.metal": 96 },
    xen: ["a.large"],
    bareMetal: ["z.metal"],
  });
  assert.equal(
    renderInstanceCpus(asset),
    '{\n  "source": "test source",\n  "vcpus": {\n    "a.large": 2,\n    "z.large": 2,\n    "z.metal": 96\n  },\n' +
      '  "xen": [\n    "a.large"\n  ],\n  "bareMetal": [\n    "z.metal"\n  ]\n}\n',
  );
  const bad = [
    md("x.large", "two", "nitro"),
    md("x.large", "2", "kvm"),
    md("x.large", "2", "nitro") + md("x.large", "2", "nitro"),
    "### `x.large`\n |karpenter.k8s.aws/instance-cpu|2|\n",
    "no types here\n",
  ];
  for (const b of bad) assert.throws(() => convertInstanceCpus(b, "s"), Error, b);
});

Deno.test("assets/instance_cpus.json is exactly what the generator renders", async () => {
  const text = await Deno.readTextFile(ASSET);
  assert.equal(renderInstanceCpus(JSON.parse(text)), text);
});
