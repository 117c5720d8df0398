/**
 * Real tools in tests: a validator's verdict must accept, and a tool this machine lacks prints one line
 * saying what is not checked instead of failing (.ci/run installs them).
 */
import assert from "node:assert/strict";
import { accepted, describeVerdict, findTool, type Verdict } from "./validators/mod.ts";

/** Asserts `v` accepts; a verdict whose tool is missing prints one line, `who: tool: why`, and passes. */
export function assertValid(v: Verdict, who: string): void {
  if (v.notChecked) {
    console.log(`${who}: ${v.tool}: ${v.notChecked}`);
    return;
  }
  assert.ok(accepted(v), describeVerdict(v));
}

/** True when `command` is installed; otherwise prints one line saying what is not checked. */
export function have(command: string, who: string): boolean {
  if (findTool(command)) return true;
  console.log(`${who}: ${command} not installed: what it would check is not checked`);
  return false;
}
