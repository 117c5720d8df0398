/**
 * The AL2023 phase's variant as release.json records it (`al2023`), for `eksnode verify`: which of the
 * phase's steps ran, and so which paths and units they declare (steps/ami/index.ts).
 */
import type { Al2023Variant } from "./accelerators.ts";

/** Reads release.json's `al2023` value, or undefined when the bake did not run the phase (or it is malformed). */
export function parseAl2023Variant(value: unknown): Al2023Variant | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const o = value as Record<string, unknown>;
  const accelerator = o.accelerator === "nvidia" || o.accelerator === "neuron" ? o.accelerator : undefined;
  return {
    efa: o.efa === true,
    ...(o.fips === true ? { fips: true } : {}),
    ...(accelerator ? { accelerator } : {}),
    ...(typeof o.nvidiaDriver === "string" ? { nvidiaDriver: o.nvidiaDriver } : {}),
  };
}
