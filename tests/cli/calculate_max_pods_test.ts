/**
 * `eksnode calculate-max-pods` gives max-pods-calculator.sh's answers. The expected values are computed
 * here by a transcription of the script's own arithmetic (awslabs/amazon-eks-ami
 * templates/shared/runtime/bin/max-pods-calculator.sh: VERSION_SPLIT, enis_for_pods, IS_NITRO,
 * calculate_max_ip_addresses_*, CPU_COUNT -gt 30), independent of eks/kubelet/max_pods.ts, for every instance type
 * of the embedded table under many option sets; then a hand-checked set of public answers through the CLI.
 */
import assert from "node:assert/strict";
import { calculateMaxPodsAnswer, type CalculateMaxPodsFlags } from "../../cli/calculate_max_pods.ts";
import type { InstanceTypeInfo } from "../../eks/aws/ec2_api.ts";
import { start as startEc2 } from "../../fakes/ec2.ts";
import { eksnode } from "../support/cli_run.ts";

const TABLE: Record<string, [number, number]> =
  JSON.parse(await Deno.readTextFile(new URL("../../assets/eni_limits.json", import.meta.url))).types;
const CPU_ASSET = JSON.parse(
  await Deno.readTextFile(new URL("../../assets/instance_cpus.json", import.meta.url)),
);

interface ScriptOptions {
  cniVersion: string;
  pd?: boolean;
  custom?: boolean;
  maxEni?: number;
  showMaxAllowed?: boolean;
}

/** The script's arithmetic, line by line, on DescribeInstanceTypes-like facts. */
function scriptAnswer(
  f: { enis: number; ips: number; vcpus: number; hypervisor?: string },
  o: ScriptOptions,
): number {
  const [major, minor] = o.cniVersion.replace(/^v/, "").split(".").map((p) => parseInt(p, 10));
  const pdSupported = major > 1 || (major === 1 && minor > 8);
  const isNitro = f.hypervisor === "nitro";
  let enisForPods = o.maxEni === undefined ? f.enis : Math.min(o.maxEni, f.enis);
  if (o.custom) enisForPods = enisForPods - 1;
  const maxPods = isNitro && o.pd && pdSupported
    ? enisForPods * ((f.ips - 1) * 16) + 2
    : enisForPods * (f.ips - 1) + 2;
  if (o.showMaxAllowed) return maxPods;
  return f.vcpus > 30 ? Math.min(250, maxPods) : Math.min(110, maxPods);
}

const VCPUS = [1, 2, 4, 8, 16, 30, 31, 32, 48, 64, 96, 192];
const HYPERVISORS = ["nitro", "xen", undefined, "nitro"];

/** Synthetic but varied EC2 facts for the i-th type: every vCPU class meets every hypervisor. */
function facts(i: number, type: string): InstanceTypeInfo {
  const [enis, ipsPerEni] = TABLE[type];
  const h = HYPERVISORS[Math.floor(i / VCPUS.length) % HYPERVISORS.length];
  return { enis, ipsPerEni, vcpus: VCPUS[i % VCPUS.length], ...(h ? { hypervisor: h } : {}) };
}

/** A CPU table that knows nothing: every CPU fact must come from a flag or EC2. */
const noTable = () => undefined;
const never = () => Promise.reject(new Error("EC2 must not be asked"));

const OPTION_SETS: { flags: Partial<CalculateMaxPodsFlags>; script: ScriptOptions }[] = [
  { flags: { cniVersion: "1.19.2" }, script: { cniVersion: "1.19.2" } },
  {
    flags: { cniVersion: "1.19.2", prefixDelegation: true },
    script: { cniVersion: "1.19.2", pd: true },
  },
  {
    flags: { cniVersion: "1.9.0", prefixDelegation: true, cniCustomNetworkingEnabled: true },
    script: { cniVersion: "1.9.0", pd: true, custom: true },
  },
  {
    flags: { cniVersion: "1.7.5", cniCustomNetworkingEnabled: true },
    script: { cniVersion: "1.7.5", custom: true },
  },
  { flags: { cniVersion: "1.12.0", cniMaxEni: "2" }, script: { cniVersion: "1.12.0", maxEni: 2 } },
  {
    flags: { cniVersion: "1.12.0", prefixDelegation: true, cniMaxEni: "1" },
    script: { cniVersion: "1.12.0", pd: true, maxEni: 1 },
  },
  {
    flags: { cniVersion: "1.8.0", prefixDelegation: true },
    script: { cniVersion: "1.8.0", pd: true },
  },
  {
    flags: { cniVersion: "2.0.0", prefixDelegation: true, showMaxAllowed: true },
    script: { cniVersion: "2.0.0", pd: true, showMaxAllowed: true },
  },
  {
    flags: { cniVersion: "1.10.1", showMaxAllowed: true },
    script: { cniVersion: "1.10.1", showMaxAllowed: true },
  },
];

Deno.test("calculate-max-pods: max-pods-calculator.sh's answer for every table type under 9 option sets", async () => {
  const types = Object.keys(TABLE);
  assert.ok(types.length > 1000, "the embedded table is the full one");
  let cases = 0;
  let offline = 0;
  for (const set of OPTION_SETS) {
    for (const [i, type] of types.entries()) {
      const f = facts(i, type);
      let asked = 0;
      // The CPU table is left out (noTable) so that EC2's synthetic facts meet every ENI row.
      const answer = await calculateMaxPodsAnswer({ instanceType: type, ...set.flags }, (t) => {
        assert.equal(t, type);
        asked++;
        return Promise.resolve(f);
      }, noTable);
      const want = scriptAnswer(
        { enis: f.enis, ips: f.ipsPerEni, vcpus: f.vcpus, hypervisor: f.hypervisor },
        set.script,
      );
      assert.equal(answer.maxPods, want, `${type} ${JSON.stringify(set.flags)} (${JSON.stringify(f)})`);
      assert.ok(asked <= 1, `${type}: EC2 asked at most once`);
      // Without prefix delegation a value below both ceilings is answered from the table alone.
      const uncapped = scriptAnswer({ enis: f.enis, ips: f.ipsPerEni, vcpus: 1 }, {
        ...set.script,
        showMaxAllowed: true,
      });
      if (!set.script.pd && uncapped <= 110) {
        assert.equal(asked, 0, `${type} ${JSON.stringify(set.flags)}: EC2 asked though the table answers`);
        offline++;
      }
      cases++;
    }
  }
  assert.equal(cases, types.length * OPTION_SETS.length);
  assert.ok(offline > 0);
});

Deno.test("calculate-max-pods: --max-pods-cap replaces the 110/250 ceiling, --vcpus and --hypervisor replace EC2", async () => {
  const big = await calculateMaxPodsAnswer(
    { instanceType: "m5.24xlarge", maxPodsCap: "500" },
    never,
    noTable,
  );
  assert.equal(big.maxPods, 500); // 15 × 49 + 2 = 737, capped at 500
  assert.equal(
    (await calculateMaxPodsAnswer({ instanceType: "m5.24xlarge", vcpus: "96" }, never, noTable)).maxPods,
    250,
  );
  const pd = await calculateMaxPodsAnswer(
    { instanceType: "m5.large", prefixDelegation: true, vcpus: "2", hypervisor: "nitro" },
    never,
    noTable,
  );
  assert.deepEqual([pd.maxPods, pd.maxAllowed, pd.mode, pd.sources.vcpus], [
    110,
    434,
    "prefix-delegation",
    "flag",
  ]);
  const metal = await calculateMaxPodsAnswer(
    { instanceType: "m5.metal", prefixDelegation: true, vcpus: "96", hypervisor: "none" },
    never,
    noTable,
  );
  assert.equal(metal.mode, "secondary-ips");
  assert.match(metal.prefixDelegation.skipped ?? "", /not a Nitro instance/);
  assert.equal(metal.maxPods, 250);
  assert.equal((await calculateMaxPodsAnswer({ instanceType: "t3.micro" }, never, noTable)).maxPods, 4);
});

Deno.test("calculate-max-pods: every type of the CPU table is answered offline, as the script on its facts", async () => {
  const cpus: Record<string, number> = CPU_ASSET.vcpus;
  const xen = new Set<string>(CPU_ASSET.xen), metal = new Set<string>(CPU_ASSET.bareMetal);
  const both = Object.keys(TABLE).filter((t) => Object.hasOwn(cpus, t));
  assert.ok(both.length > 1300, `${both.length} types have ENI and CPU facts`);
  let fromTable = 0;
  for (const set of OPTION_SETS) {
    for (const type of both) {
      const [enis, ips] = TABLE[type];
      const hypervisor = metal.has(type) ? undefined : xen.has(type) ? "xen" : "nitro";
      const answer = await calculateMaxPodsAnswer({ instanceType: type, ...set.flags }, never);
      const want = scriptAnswer({ enis, ips, vcpus: cpus[type], hypervisor }, set.script);
      assert.equal(answer.maxPods, want, `${type} ${JSON.stringify(set.flags)}`);
      if (answer.sources.vcpus === "table") fromTable++;
    }
  }
  assert.ok(fromTable > 1000, `the vCPU count came from the table ${fromTable} times`);
  // Spot checks against EC2's instance type pages: m5.large 2 vCPUs Nitro, m4.large Xen, m5.metal none.
  const m5 = await calculateMaxPodsAnswer({ instanceType: "m5.large", prefixDelegation: true }, never);
  assert.deepEqual([m5.maxPods, m5.vcpus, m5.hypervisor, m5.sources], [110, 2, "nitro", {
    enis: "table",
    vcpus: "table",
    hypervisor: "table",
  }]);
  const m4 = await calculateMaxPodsAnswer({ instanceType: "m4.large", prefixDelegation: true }, never);
  assert.deepEqual([m4.maxPods, m4.hypervisor, m4.prefixDelegation.used], [20, "xen", false]);
  const metalPd = await calculateMaxPodsAnswer({ instanceType: "m5.metal", prefixDelegation: true }, never);
  assert.deepEqual([metalPd.maxPods, metalPd.vcpus, metalPd.hypervisor, metalPd.mode], [
    250,
    96,
    null,
    "secondary-ips",
  ]);
});

/** Public facts (EC2 instance type pages) for the types of the known answers. */
const EC2_FACTS = {
  "m5.large": { enis: 3, ipsPerEni: 10, vcpus: 2, hypervisor: "nitro" },
  "m5.xlarge": { enis: 4, ipsPerEni: 15, vcpus: 4, hypervisor: "nitro" },
  "m5.4xlarge": { enis: 8, ipsPerEni: 30, vcpus: 16, hypervisor: "nitro" },
  "m5.24xlarge": { enis: 15, ipsPerEni: 50, vcpus: 96, hypervisor: "nitro" },
  "c5.18xlarge": { enis: 15, ipsPerEni: 50, vcpus: 72, hypervisor: "nitro" },
  "t3.medium": { enis: 3, ipsPerEni: 6, vcpus: 2, hypervisor: "nitro" },
  "t3.micro": { enis: 2, ipsPerEni: 2, vcpus: 2, hypervisor: "nitro" },
  "m4.large": { enis: 2, ipsPerEni: 10, vcpus: 2, hypervisor: "xen" },
  "zz9.nano": { enis: 2, ipsPerEni: 4, vcpus: 2, hypervisor: "nitro" },
  "dl1.24xlarge": { enis: 15, ipsPerEni: 50, vcpus: 96, hypervisor: "nitro" },
};

Deno.test("calculate-max-pods CLI: hand-checked public answers (EKS docs, eni-max-pods.txt, the calculator's README)", async () => {
  const ec2 = startEc2({ types: EC2_FACTS });
  const env = {
    AWS_REGION: "us-west-2",
    AWS_ENDPOINT_URL_EC2: ec2.url,
    AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
    AWS_SECRET_ACCESS_KEY: "secret",
  };
  try {
    const known: [string[], number][] = [
      [["--instance-type", "m5.large"], 29], // eni-max-pods.txt
      [["--instance-type", "m5.large", "--cni-version", "1.9.0", "--cni-prefix-delegation-enabled"], 110],
      [["--instance-type", "m5.large", "--cni-custom-networking-enabled"], 20], // EKS docs, custom networking
      [["--instance-type", "m5.xlarge"], 58],
      [["--instance-type", "m5.4xlarge", "--cni-version", "1.7.1"], 110], // 234 capped (16 vCPUs)
      [["--instance-type", "m5.24xlarge", "--show-max-allowed"], 737], // eni-max-pods.txt
      [["--instance-type", "m5.24xlarge"], 250],
      [["--instance-type", "c5.18xlarge", "--prefix-delegation"], 250],
      [["--instance-type", "t3.medium"], 17],
      [["--instance-type", "t3.micro"], 4],
      [["--instance-type", "m4.large", "--prefix-delegation"], 20], // Xen: no prefixes
      [["--instance-type", "zz9.nano"], 8], // not in the table: all facts from EC2
      [["--instance-type", "dl1.24xlarge"], 250], // in the ENI table, not in the CPU table: vCPUs from EC2
    ];
    for (const [args, want] of known) {
      const r = await eksnode(["calculate-max-pods", ...args], { env, isolated: true });
      assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
      assert.equal(r.stdout, `${want}\n`, args.join(" "));
    }
    const json = await eksnode(
      [
        "calculate-max-pods",
        "--instance-type",
        "m5.24xlarge",
        "--prefix-delegation",
        "--output",
        "json",
      ],
      { env, isolated: true },
    );
    assert.equal(json.code, 0, json.stderr);
    const a = JSON.parse(json.stdout);
    assert.deepEqual(
      [a.maxPods, a.maxAllowed, a.ceiling, a.vcpus, a.hypervisor, a.mode, a.sources],
      [250, 11762, 250, 96, "nitro", "prefix-delegation", {
        enis: "table",
        vcpus: "table",
        hypervisor: "table",
      }],
    );
    // EC2 was asked only for what neither table knows: zz9.nano (everything) and dl1.24xlarge (vCPUs).
    const asked = (t: string) => ec2.calls.filter((c) => c.instanceTypes.includes(t)).length;
    assert.deepEqual(
      ["m5.large", "m5.4xlarge", "m5.24xlarge", "m4.large", "zz9.nano", "dl1.24xlarge"].map(asked),
      [0, 0, 0, 0, 1, 1],
    );
  } finally {
    await ec2.close();
  }
});

Deno.test("calculate-max-pods CLI: errors name what is wrong, with distinct exit codes", async () => {
  const noAws = { AWS_EC2_METADATA_DISABLED: "true" };
  const cases: [string[], number, RegExp][] = [
    [
      ["--instance-type", "m5.large", "--cni-max-eni", "zero"],
      2,
      /--cni-max-eni: "zero" is not a whole number/,
    ],
    [["--instance-type", "m5.large", "--cni-version", "one.nine"], 2, /VPC CNI version "one.nine"/],
    [["--instance-type", "m5 large"], 2, /is not an instance type/],
    [
      ["--instance-type", "dl1.24xlarge"],
      3,
      /dl1.24xlarge: the answer depends on the vCPU count, which .*no AWS region.*\nhint: pass --vcpus N, or set AWS_REGION/,
    ],
    [
      ["--instance-type", "dl1.24xlarge", "--prefix-delegation"],
      3,
      /the vCPU count and the hypervisor, .*\nhint: pass --vcpus N and --hypervisor nitro\|xen\|none, or set/,
    ],
    [
      ["--instance-type", "dl1.24xlarge", "--prefix-delegation", "--vcpus", "96"],
      3,
      /depends on the hypervisor, .*\nhint: pass --hypervisor nitro\|xen\|none, or set AWS_REGION/,
    ],
    [
      ["--instance-type", "dl1.24xlarge", "--prefix-delegation", "--hypervisor", "nitro"],
      3,
      /depends on the vCPU count, .*\nhint: pass --vcpus N, or set AWS_REGION/,
    ],
    [["--instance-type", "zz9.nano"], 3, /zz9.nano: it is not in the embedded ENI table/],
    [[], 2, /required option '--instance-type <type>' not specified/],
  ];
  for (const [args, code, message] of cases) {
    const r = await eksnode(["calculate-max-pods", ...args], { env: noAws, isolated: true });
    assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.stdout, "");
  }
});

Deno.test("calculate-max-pods CLI: offline with the facts given; the calculator's flag name still works", async () => {
  const noAws = { AWS_EC2_METADATA_DISABLED: "true" };
  const r = await eksnode(
    [
      "calculate-max-pods",
      "--instance-type",
      "m5.large",
      "--prefix-delegation",
      "--vcpus",
      "2",
      "--hypervisor",
      "nitro",
    ],
    { env: noAws, isolated: true },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "110\n");
  assert.equal(r.stderr, "");
  const old = await eksnode(
    [
      "calculate-max-pods",
      "--instance-type",
      "m5.large",
      "--cni-prefix-delegation-enabled",
      "--vcpus",
      "2",
      "--hypervisor",
      "nitro",
    ],
    { env: noAws, isolated: true },
  );
  assert.equal(old.code, 0, old.stderr);
  assert.equal(old.stdout, "110\n");
  assert.match(old.stderr, /warning: --cni-prefix-delegation-enabled is an old name of --prefix-delegation/);
  const help = await eksnode(["calculate-max-pods", "--help"]);
  assert.doesNotMatch(help.stdout, /--cni-prefix-delegation-enabled/, "the old name is hidden");
});
