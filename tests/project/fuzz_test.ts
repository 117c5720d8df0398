/**
 * Property-based fuzzing of every input eksnode parses (targets in tests/project/fuzz/targets.ts): each case
 * ends in success or an EksnodeError with a one-line message, never an uncaught exception or a hang,
 * and what succeeds renders files whose structure no input can change. Each target runs in a worker
 * with a fixed seed; a target that makes no progress for 60 s is stopped and reported as a hang.
 *
 * Cases per target: 10,000 (200 for init-steps, which writes a tree per case), times EKSNODE_FUZZ_SCALE,
 * or EKSNODE_FUZZ_RUNS for every target; EKSNODE_FUZZ_SEED replaces each target's own seed.
 * `deno task test:fuzz` runs ten times as many cases.
 */
import assert from "node:assert/strict";
import { TARGETS } from "./fuzz/targets.ts";
import type { FuzzReply, FuzzRequest } from "./fuzz/worker.ts";

const RUNS_SET = Deno.env.get("EKSNODE_FUZZ_RUNS");
const SCALE = Number(Deno.env.get("EKSNODE_FUZZ_SCALE") ?? "1");
const SEED = Deno.env.get("EKSNODE_FUZZ_SEED");
const STALL_MS = 60_000;
/** Loading the worker includes its type check: minutes on one busy CPU, and not the code under test. */
const LOAD_MS = 600_000;

const MARKER = "/tmp/eksnode-pwned";

for (const [name, target] of Object.entries(TARGETS)) {
  const seed = SEED === undefined ? target.seed : Number(SEED);
  const runs = RUNS_SET === undefined ? (target.runs ?? 10_000) * SCALE : Number(RUNS_SET);
  Deno.test(`fuzz ${name}: ${target.about}; ${runs} cases, seed ${seed}`, async () => {
    const worker = new Worker(new URL("./fuzz/worker.ts", import.meta.url).href, { type: "module" });
    let cases = 0;
    try {
      const done = await new Promise<Extract<FuzzReply, { kind: "done" }>>((resolve, reject) => {
        let stall = setTimeout(onLoadStall, LOAD_MS);
        function onLoadStall() {
          reject(new Error(`${name}: the fuzz worker did not load in ${LOAD_MS / 1000}s`));
        }
        function onStall() {
          reject(
            new Error(
              `${name}: no progress for ${STALL_MS / 1000}s after ${cases} cases (seed ${seed}): a hang`,
            ),
          );
        }
        worker.onmessage = (e: MessageEvent<FuzzReply>) => {
          clearTimeout(stall);
          if (e.data.kind === "ready") stall = setTimeout(onStall, STALL_MS);
          else if (e.data.kind === "progress") {
            cases = e.data.cases;
            stall = setTimeout(onStall, STALL_MS);
          } else resolve(e.data);
        };
        worker.onerror = (e) => {
          clearTimeout(stall);
          e.preventDefault();
          reject(new Error(`${name}: the worker failed: ${e.message}`));
        };
        worker.postMessage({ name, seed, runs } satisfies FuzzRequest);
      });
      const o = done.outcomes;
      console.log(
        `${name}: ${done.cases} cases in ${
          (done.ms / 1000).toFixed(1)
        }s: ${o.checked} rendered and checked, ` +
          `${o.rejected} rejected with an EksnodeError, ${o.other} accepted with nothing to render`,
      );
      assert.equal(done.failed, false, done.report);
      assert.ok(done.cases >= runs, `${done.cases} cases ran, ${runs} wanted`);
      // The hostile values try to create this file through a shell; nothing may have run one.
      assert.equal(await Deno.stat(MARKER).catch(() => undefined), undefined, `${MARKER} was created`);
    } finally {
      worker.terminate();
    }
  });
}
