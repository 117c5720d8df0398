/**
 * Every file of every golden case (tests/golden/ami/full-bake and each tests/golden/init case laid
 * over it, see tests/support/validators/golden_roots.ts) through the real tool that will read it on a node:
 * containerd, systemd-analyze and systemctl, kubectl, sysctl, logrotate, sshd, bash, and the
 * KubeletConfiguration schema. Golden tests prove the output did not change; these prove the
 * programs accept it. A validator whose tool is missing here is skipped with one line saying so.
 */
import assert from "node:assert/strict";
import { KUBELET_CONFIG_DROPIN } from "../../eks/paths/node.ts";
import {
  accepted,
  describeVerdict,
  enableUnits,
  FILE_VALIDATORS,
  findTool,
  isUnitFile,
  type Verdict,
  verifyUnits,
} from "../support/validators/mod.ts";
import {
  type GoldenCase,
  goldenCases,
  type GoldenRoot,
  goldenRoot,
} from "../support/validators/golden_roots.ts";

const CASES = await goldenCases();

// The roots are laid out once, on first use; fakes/temp.ts removes them when the test file ends (also on failure).
let roots: Promise<GoldenRoot[]> | undefined;

/** Runs `fn` on each golden root; verdict subjects name the case and the path inside the root. */
async function eachRoot(fn: (g: GoldenRoot) => Promise<Verdict[]>): Promise<Verdict[]> {
  roots ??= (async () => {
    const out: GoldenRoot[] = [];
    for (const c of CASES) out.push(await goldenRoot(c));
    return out;
  })();
  const out: Verdict[] = [];
  for (const g of await roots) {
    const verdicts = await fn(g);
    out.push(
      ...verdicts.map((v) => ({ ...v, subject: `${g.case.name}: ${v.subject.replaceAll(g.root, "")}` })),
    );
  }
  return out;
}

function report(verdicts: Verdict[]): void {
  const rejected = verdicts.filter((v) => !accepted(v));
  assert.deepEqual(rejected.map(describeVerdict), [], "every golden file is accepted");
  const notes = new Set(
    verdicts.flatMap((v) => v.notes.map((n) => `${v.tool}: ${n.replace(/\S*config\.toml/, "")}`)),
  );
  for (const n of notes) console.log(`  note (${n})`);
}

function skipped(tool: string | undefined): string | undefined {
  if (!tool || findTool(tool)) return undefined;
  console.log(`golden_validate_test: ${tool} not installed: golden files are not checked with it`);
  return tool;
}

Deno.test("golden cases: the full bake and every init case are present", () => {
  assert.equal(CASES.filter((c: GoldenCase) => c.kind === "ami").length, 1);
  assert.ok(
    CASES.filter((c) => c.name.startsWith("init/")).length >= 20,
    CASES.map((c) => c.name).join(", "),
  );
});

for (const v of FILE_VALIDATORS) {
  const missing = skipped(v.tool);
  Deno.test({
    name: `golden files pass ${v.name}${missing ? ` (skipped: ${missing} not installed)` : ""}`,
    ignore: missing !== undefined,
    async fn() {
      const perCase = new Map<string, number>();
      const verdicts = await eachRoot(async (g) => {
        const files = g.files.filter((f) => v.matches(f));
        perCase.set(g.case.name, files.length);
        return await Promise.all(files.map((f) => v.validate(g.root, f)));
      });
      assert.ok(verdicts.length > 0, `${v.name} found no file to check in the golden cases`);
      report(verdicts);
    },
  });
}

// Every case writes a containerd config, a kubelet config and a kubeconfig: each validator that
// judges them must have judged every case (a pattern that stops matching must not pass silently).
Deno.test("golden files: each case's containerd config, kubelet config and kubeconfig are validated", async () => {
  const pick = (name: string) => FILE_VALIDATORS.find((v) => v.name === name)!;
  await eachRoot((g) => {
    const count = (name: string) => g.files.filter((f) => pick(name).matches(f)).length;
    assert.ok(count("containerd") >= 1, `${g.case.name}: no containerd config`);
    if (g.case.kind === "init") {
      // The main file, and the drop-in of NodeConfig kubelet.config where kubelet reads config.json.d.
      const dropIn = g.files.includes(KUBELET_CONFIG_DROPIN) ? 1 : 0;
      assert.equal(count("kubelet config"), 1 + dropIn, `${g.case.name}: kubelet config`);
      assert.equal(count("kubectl"), 1, `${g.case.name}: kubeconfig`);
      assert.ok(g.files.filter(isUnitFile).length >= 3, `${g.case.name}: units`);
    }
    return Promise.resolve([]);
  });
});

const analyze = skipped("systemd-analyze");
Deno.test({
  name: `golden units pass systemd-analyze verify inside the baked root${
    analyze ? " (skipped: systemd-analyze not installed)" : ""
  }`,
  ignore: analyze !== undefined,
  async fn() {
    const verdicts = await eachRoot(async (g) => {
      const units = g.files.filter((f) => isUnitFile(f) && !f.includes(".d/")).map((f) =>
        f.split("/").pop()!
      );
      // Unit files kept at bootstrap.sh's paths (/etc/eks/containerd/*.service) are verified as units too.
      for (const copy of g.files.filter((f) => /^\/etc\/eks\/containerd\/[^/]+\.service$/.test(f))) {
        const name = `eksnode-copy-${copy.split("/").pop()}`;
        await Deno.copyFile(`${g.root}${copy}`, `${g.root}/etc/systemd/system/${name}`);
        units.push(name);
      }
      assert.ok(units.length > 0, `${g.case.name}: no unit`);
      return [await verifyUnits(g.root, units)];
    });
    report(verdicts);
  },
});

const systemctl = skipped("systemctl");
Deno.test({
  name: `golden units: systemctl --root enable makes the recorded wants/ links${
    systemctl ? " (skipped: systemctl not installed)" : ""
  }`,
  ignore: systemctl !== undefined,
  async fn() {
    const verdicts = await eachRoot(async (g) => {
      assert.ok(g.wants.length >= 2, `${g.case.name} records the units it enables`);
      const units = [...new Set(g.wants.map((w) => w.split("/")[1]))];
      return [await enableUnits(g.root, units, g.wants)];
    });
    report(verdicts);
  },
});
