/**
 * A step's number is its place in its process's index (lib/step.ts `numberSteps`), declared nowhere
 * else: the step files carry no `id` or `number`. These tests prove the numbering and that the file
 * names, which readers navigate by ("what does step 22 write?" → steps/ami/22_*.ts), follow it.
 */
import assert from "node:assert/strict";
import { note } from "../../lib/changes.ts";
import { numberSteps, type StepDef } from "../../lib/step.ts";
import { AL2023_STEPS, AMI_STEPS, amiSteps, HYGIENE_STEP } from "../../steps/ami/index.ts";
import { INIT_PHASES, INIT_STEPS } from "../../steps/init/index.ts";

const def = (title: string): StepDef => ({ title, plan: () => [note(title)] });

Deno.test("numberSteps numbers across groups in order and keeps the groups", () => {
  const [a, b, c, d] = ["a", "b", "c", "d"].map(def);
  const n = numberSteps("t", { first: [a, b], empty: [], second: [c], third: [d] });
  assert.deepEqual(n.first.map((s) => [s.id, s.number, s.title]), [["t.1", 1, "a"], ["t.2", 2, "b"]]);
  assert.deepEqual(n.empty, []);
  assert.deepEqual(n.second.map((s) => s.id), ["t.3"]);
  assert.deepEqual(n.third.map((s) => s.id), ["t.4"]);
  assert.equal(n.second[0].plan, c.plan, "the definition's plan is the numbered step's plan");
});

Deno.test("numberSteps refuses a step listed twice", () => {
  const a = def("a");
  assert.throws(() => numberSteps("t", { one: [a], two: [def("b"), a] }), /t: step "a" is listed twice/);
});

Deno.test("a step appended to the last group takes the next number; the others keep theirs", () => {
  const groups = { process: [def("a"), def("b")], hygiene: [def("h")], extra: [def("x")] };
  const before = numberSteps("t", groups);
  const after = numberSteps("t", { ...groups, extra: [...groups.extra, def("y")] });
  assert.deepEqual(after.extra.map((s) => s.number), [before.extra[0].number, before.extra[0].number + 1]);
  assert.equal(after.hygiene[0].number, before.hygiene[0].number);
});

Deno.test("ami: the 37 of the process, hygiene 38, the AL2023 phase 39 on; hygiene runs last", () => {
  assert.deepEqual(AMI_STEPS.map((s) => s.number), Array.from({ length: 37 }, (_, i) => i + 1));
  assert.equal(HYGIENE_STEP.id, "ami.38");
  // Numbered 39 on in the index's order; run in the phase's order (steps after 51 run before it).
  assert.deepEqual(
    AL2023_STEPS.map((s) => s.number).sort((a, b) => a - b),
    AL2023_STEPS.map((_, i) => 39 + i),
  );
  const all = amiSteps({ al2023: true, accelerator: "nvidia", efa: true }, true);
  assert.equal(all.at(-1), HYGIENE_STEP);
  assert.equal(all.at(-2)!.number, AL2023_STEPS.at(-1)!.number);
  assert.equal(all.at(-2)!.title, AL2023_STEPS.find((s) => s.number === 51)!.title, "version-info runs last");
  for (const s of all) assert.equal(s.id, `ami.${s.number}`);
});

Deno.test("init: the phases are the index's groups, config then run", () => {
  assert.deepEqual(
    INIT_STEPS.map((s) => s.number),
    Array.from({ length: INIT_STEPS.length }, (_, i) => i + 1),
  );
  assert.deepEqual([...INIT_PHASES.config, ...INIT_PHASES.run], INIT_STEPS.map((s) => s.number));
  assert.deepEqual(INIT_PHASES.run, [INIT_STEPS.length]);
  for (const s of INIT_STEPS) assert.equal(s.id, `init.${s.number}`);
});

Deno.test("every step file's name starts with the number its place in the index gives it", async () => {
  for (
    const [process, steps] of [["ami", [...AMI_STEPS, HYGIENE_STEP, ...AL2023_STEPS]], [
      "init",
      INIT_STEPS,
    ]] as const
  ) {
    const dir = new URL(`../../steps/${process}/`, import.meta.url);
    const files = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => /^\d+_.*\.ts$/.test(n)).sort();
    assert.equal(
      files.length,
      steps.length,
      `${process}: a step file that is not in the index, or the reverse`,
    );
    for (const name of files) {
      const { step } = await import(new URL(name, dir).href) as { step: StepDef };
      const numbered = steps.find((s) => s.plan === step.plan);
      assert.ok(numbered, `steps/${process}/${name} is not in the index`);
      assert.equal(numbered.number, Number(name.slice(0, name.indexOf("_"))), `steps/${process}/${name}`);
    }
  }
});
