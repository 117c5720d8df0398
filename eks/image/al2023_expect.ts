/**
 * What `eksnode verify --phase ami` expects of an image whose bake ran the AL2023 phase (release.json
 * `al2023`): the files and directories of steps 39-51 with their modes, the units they enable, and the
 * kernel arguments of step 40. Derived from the same constants the steps write, so the two agree.
 */
import { SOCI_ROOT, SOCI_SERVICE } from "../containerd/soci.ts";
import {
  type Al2023Variant,
  DEFAULT_NVIDIA_DRIVER,
  DKMS_NVIDIA_CONF,
  IB_UMAD_CONF,
  KMOD_ARCHIVE_SCRIPT,
  KMOD_UTIL,
  NEURON_INSTALL_SCRIPT,
  NEURON_INSTALL_SERVICE,
  NEURON_PACKAGE_CACHE,
  NEURON_REPO_FILE,
  NVIDIA_KMOD_LOAD_SCRIPT,
  NVIDIA_KMOD_LOAD_SERVICE,
  NVIDIA_REPO_FILE,
  nvidiaDriver,
  nvidiaOpenDevicesFile,
  OPEN_DEVICE_LISTS,
  SET_NVIDIA_CLOCKS_SCRIPT,
  SET_NVIDIA_CLOCKS_SERVICE,
} from "./accelerators.ts";
import {
  EBS_INITIALIZE_TEMPLATE,
  EBS_INITIALIZE_UNITS,
  LINK_POLICY_DROPIN,
  PHASE_UNIT_DIR,
  SOCI_CONFIG_DIR,
  SOCI_SOCKET_UNIT,
  VERSION_INFO_PATH,
} from "./al2023.ts";

/** A path the AL2023 phase writes, with its mode (undefined: a file it edits, any mode). */
export interface Al2023Path {
  path: string;
  kind: "dir" | "file";
  mode?: number;
}

const d = (path: string, mode = 0o755): Al2023Path => ({ path, kind: "dir", mode });
const f = (path: string, mode: number | undefined = 0o644): Al2023Path => ({ path, kind: "file", mode });

/** The files and directories of the AL2023 phase for a variant. */
export function al2023Paths(v: Al2023Variant): Al2023Path[] {
  const out: Al2023Path[] = [
    f(`${PHASE_UNIT_DIR}/${EBS_INITIALIZE_TEMPLATE}`),
    d(SOCI_CONFIG_DIR),
    d(SOCI_ROOT, 0o700),
    f(`${PHASE_UNIT_DIR}/${SOCI_SERVICE}`),
    f(`${PHASE_UNIT_DIR}/${SOCI_SOCKET_UNIT}`),
    f(LINK_POLICY_DROPIN),
    f(VERSION_INFO_PATH),
  ];
  if (v.accelerator === "nvidia") {
    const driver = nvidiaDriver(v.nvidiaDriver ?? DEFAULT_NVIDIA_DRIVER.version);
    out.push(
      f(NVIDIA_REPO_FILE),
      f(DKMS_NVIDIA_CONF),
      f(KMOD_UTIL, 0o755),
      f(KMOD_ARCHIVE_SCRIPT, 0o755),
      f(IB_UMAD_CONF),
      f(NVIDIA_KMOD_LOAD_SCRIPT, 0o755),
      f(SET_NVIDIA_CLOCKS_SCRIPT, 0o755),
      f(`${PHASE_UNIT_DIR}/${NVIDIA_KMOD_LOAD_SERVICE}`),
      f(`${PHASE_UNIT_DIR}/${SET_NVIDIA_CLOCKS_SERVICE}`),
    );
    if (Object.hasOwn(OPEN_DEVICE_LISTS, driver.major)) out.push(f(nvidiaOpenDevicesFile(driver.major)));
  }
  if (v.accelerator === "neuron") {
    out.push(
      f(NEURON_REPO_FILE),
      d(NEURON_PACKAGE_CACHE),
      f(NEURON_INSTALL_SCRIPT, 0o755),
      f(`${PHASE_UNIT_DIR}/${NEURON_INSTALL_SERVICE}`),
    );
  }
  return out;
}

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
