/**
 * The golden cases of `eksnode init`: every directory under tests/golden/init/ (case.yaml, userdata,
 * expected/; see tests/golden/init/README.md) run through the real CLI (`deno run -A main.ts init --root T`)
 * against loopback IMDS, EKS and EC2 fakes. The runner bakes a minimal image into a temp root (plus the
 * case's machine files), runs init, checks the API calls and stdout lines the case names, compares every
 * file init wrote (plus MODES and the normalized stdout) with expected/, runs init again expecting no change
 * and no EKS call, then hands the root to the real tools (tests/support/init_golden/real_tool_checks.ts).
 * Regenerate with `UPDATE_GOLDEN=1 deno test -A tests/steps/init/init_golden_test.ts` and review the diff.
 */
import assert from "node:assert/strict";
import { eksnode } from "../../support/cli_run.ts";
import { start as startEc2 } from "../../../fakes/ec2.ts";
import { clusterJson, start as startEks } from "../../../fakes/eks.ts";
import { start as startImds } from "../../../fakes/imds.ts";
import { BAKED, bakedRoot } from "../../../fakes/baked_root.ts";
import { TEST_CA_PEM } from "../../../fakes/node_settings.ts";
import { compareOrUpdate } from "../../support/golden.ts";
import { snapshotTree } from "../../support/helpers.ts";
import { type InitCase, initCases, parseCaseFile } from "../../support/init_golden/case_file.ts";
import { instanceTree, privateDnsName, regionOf } from "../../support/init_golden/instance_tree.ts";
import { initOutputs, JOURNAL, normalizeOutput } from "../../support/init_golden/outputs.ts";
import {
  checkContainerdConfig,
  checkKubeconfigs,
  checkKubeletConfig,
  checkUnitsEnabled,
  checkUnitsVerify,
  type InitResult,
} from "../../support/init_golden/real_tool_checks.ts";

/** The test CA as the cases carry it (NodeConfig certificateAuthority, --b64-cluster-ca): never printed. */
const CA_B64 = btoa(TEST_CA_PEM);

/** The image and machine files of a case, by in-root path: inputs, never outputs. */
function inputFiles(c: InitCase): Record<string, string> {
  const files = { ...BAKED, ...c.machine };
  if (c.kubernetesVersion) files["/etc/eks/release"] = `KUBERNETES_VERSION='${c.kubernetesVersion}'\n`;
  return files;
}

const CASES = await initCases();

Deno.test("init golden: the cases are there", () => {
  assert.ok(CASES.length >= 20, CASES.map((c) => c.name).join(", "));
});

Deno.test("init golden: a misspelt case.yaml field fails naming the file and the field", () => {
  const file = "tests/golden/init/x/case.yaml";
  assert.throws(() => parseCaseFile("description: x\nsays: [y]\ninstance:\n  regoin: eu-west-1\n", file), {
    message: /^tests\/golden\/init\/x\/case\.yaml: instance: .*regoin/,
  });
  assert.throws(() => parseCaseFile("description: x\nsays: [y]\ncalls: {eks: many}\n", file), {
    message: /^tests\/golden\/init\/x\/case\.yaml: calls\.eks: /,
  });
  assert.throws(() => parseCaseFile("description: x\n", file), { message: /case\.yaml: says: / });
});

for (const c of CASES) {
  Deno.test(`init golden: ${c.name}`, async (t) => {
    const root = await bakedRoot("eksnode-init-golden-");
    const inputs = inputFiles(c);
    for (const [path, text] of Object.entries(inputs)) {
      await Deno.mkdir(`${root}${path.slice(0, path.lastIndexOf("/"))}`, { recursive: true });
      await Deno.writeTextFile(`${root}${path}`, text, text.startsWith("#!") ? { mode: 0o755 } : {});
    }
    const imds = startImds({ metadata: instanceTree(c.instance), userData: c.userData });
    const clusters = Object.fromEntries(
      Object.entries(c.clusters ?? {}).map(([name, fields]) => [name, clusterJson(name, fields)]),
    );
    const eks = startEks({ clusters, throttleFirst: c.throttleFirst });
    const region = regionOf(c.instance);
    const ec2 = startEc2({
      ...(c.ec2Types ? { types: c.ec2Types } : {}),
      instances: { "i-0123456789abcdef0": { privateDnsName: privateDnsName(region) } },
    });
    const ec2Calls = (action: string) => ec2.calls.filter((call) => call.action === action).length;
    const env = {
      AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url,
      AWS_ENDPOINT_URL_EKS: eks.url,
      AWS_ENDPOINT_URL_EC2: ec2.url,
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: "AKIDINITGOLDENTEST",
      AWS_SECRET_ACCESS_KEY: "init-golden-secret-not-real",
      // Hermetic: the switches init also reads from the environment are off unless a flag says so.
      EKSNODE_FIPS: "false",
      EKSNODE_PREFIX_DELEGATION: "false",
    };
    const args = ["init", ...(c.args ?? []), "--root", root];
    try {
      const first = await eksnode(args, { env });
      assert.equal(first.code, 0, `exit ${first.code}\n${first.stdout}\n${first.stderr}`);
      assert.equal(eks.calls.length, c.calls?.eks ?? 0, "EKS calls on the first run");
      assert.equal(
        ec2Calls("DescribeInstanceTypes"),
        c.calls?.describeInstanceTypes ?? 0,
        "DescribeInstanceTypes",
      );
      assert.equal(ec2Calls("DescribeInstances"), c.calls?.describeInstances ?? 1, "DescribeInstances");
      for (const call of [...eks.calls, ...ec2.calls]) assert.equal(call.region, region, "signing region");
      for (const s of c.says) assert.ok(first.stdout.includes(s), `stdout lacks ${JSON.stringify(s)}`);
      assert.ok(!first.stdout.includes(CA_B64), "the CA is not printed");
      const files = await initOutputs(root, inputs);
      const stderr = normalizeOutput(first.stderr, root);
      await compareOrUpdate(c.expected, {
        ...files,
        STDOUT: normalizeOutput(first.stdout, root),
        ...(stderr ? { STDERR: stderr } : {}),
      });

      // A reboot: same inputs, nothing to do, and the cluster comes from the cache, not the API.
      const before = await snapshotTree(root, [JOURNAL]);
      const eksBefore = eks.calls.length;
      const second = await eksnode(args, { env });
      assert.equal(second.code, 0, `exit ${second.code}\n${second.stdout}\n${second.stderr}`);
      assert.match(second.stdout, /^init: 9 steps, 0 changes in /m);
      assert.equal(eks.calls.length - eksBefore, 0, "EKS calls on the second run");
      assert.deepEqual(await snapshotTree(root, [JOURNAL]), before, "the second run changed the tree");
      for (const [path, text] of Object.entries(inputs)) {
        assert.equal(await Deno.readTextFile(`${root}${path}`), text, `${path} was modified`);
      }

      // What the programs that read these files on a node make of them.
      const result: InitResult = { root, files, stdout: first.stdout };
      await t.step("kubectl reads the kubeconfig", () => checkKubeconfigs(c, result));
      await t.step("kubelet config parses, overrides win", () => checkKubeletConfig(c, result));
      await t.step("containerd config is TOML with the sandbox image pinned", () => {
        checkContainerdConfig(c, result);
      });
      await t.step("units pass systemd-analyze verify", () => checkUnitsVerify(result));
      await t.step("units are enabled in the root", () => checkUnitsEnabled(result));
    } finally {
      await Promise.all([imds.close(), eks.close(), ec2.close()]);
      await Deno.remove(root, { recursive: true });
    }
  });
}
