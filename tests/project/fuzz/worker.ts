/**
 * Runs one fuzz target in a worker, so tests/project/fuzz_test.ts can stop a case that hangs (even in a
 * synchronous loop) and report it. Messages: ready once loaded, progress every 250 cases, then done with
 * the report.
 */
import fc from "fast-check";
import { outcomes, TARGETS } from "./targets.ts";

/** What the test asks for. */
export interface FuzzRequest {
  name: string;
  seed: number;
  runs: number;
}

/** What the worker answers. */
export type FuzzReply =
  | { kind: "ready" }
  | { kind: "progress"; cases: number }
  | { kind: "done"; cases: number; ms: number; failed: boolean; report: string; outcomes: typeof outcomes };

/** The worker's global scope, typed for what is used here (deno check sees the window types). */
const scope = self as unknown as {
  postMessage(m: FuzzReply): void;
  onmessage: ((e: MessageEvent<FuzzRequest>) => void) | null;
};
const post = (m: FuzzReply) => scope.postMessage(m);
// Loaded (and type-checked, which takes long on a slow or busy machine): the test's hang clock starts now.
post({ kind: "ready" });

scope.onmessage = async (e: MessageEvent<FuzzRequest>) => {
  const { name, seed, runs } = e.data;
  let cases = 0;
  const t0 = performance.now();
  const property = TARGETS[name].property(() => {
    if (++cases % 250 === 0) post({ kind: "progress", cases });
  });
  // An async case that never settles fails after 10 s; a synchronous loop is stopped by the test.
  const details = await fc.check(property, { seed, numRuns: runs, timeout: 10_000 });
  post({
    kind: "done",
    cases,
    outcomes,
    ms: performance.now() - t0,
    failed: details.failed,
    report: details.failed
      ? `${fc.defaultReportMessage(details) ?? "failed"}\nError: ${
        details.errorInstance instanceof Error ? details.errorInstance.stack : String(details.errorInstance)
      }`
      : "",
  });
};
