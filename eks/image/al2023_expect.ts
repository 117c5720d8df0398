/**
 * What `eksnode verify --phase ami` expects of an image whose bake ran the AL2023 phase (release.json
 * `al2023`) beside the paths its steps declare (`leaves`): the units they enable, and the variant as
 * release.json records it. Derived from the same constants the steps write, so the two agree.
 */
import {
  type Al2023Variant,
  NEURON_INSTALL_SERVICE,
  NVIDIA_KMOD_LOAD_SERVICE,
  SET_NVIDIA_CLOCKS_SERVICE,
} from "./accelerators.ts";
import { EBS_INITIALIZE_UNITS, SOCI_SOCKET_UNIT } from "./al2023.ts";

/** The units the AL2023 phase enables for a variant. */
export function al2023Units(v: Al2023Variant): string[] {
  return [
    ...EBS_INITIALIZE_UNITS,
    SOCI_SOCKET_UNIT,
    ...(v.accelerator === "nvidia" ? [NVIDIA_KMOD_LOAD_SERVICE, SET_NVIDIA_CLOCKS_SERVICE] : []),
    ...(v.accelerator === "neuron" ? [NEURON_INSTALL_SERVICE] : []),
  ];
}

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
