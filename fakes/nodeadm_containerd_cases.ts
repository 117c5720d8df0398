/**
 * nodeadm's containerd e2e cases as data for eksnode's tests: which containerd, kubelet and NVIDIA
 * runtime each run of a case's run.sh has, which NodeConfig it reads and which file it expects.
 *
 * Source: awslabs/amazon-eks-ami `nodeadm/test/e2e/cases/` at commit 81fec2e8 (licence MIT-0), read from
 * the copy in `shared/reference/nodeadm-e2e/` beside the repository (the cases' inputs and expected
 * files are read as they are; the runs below restate each run.sh: `mock::kubelet VERSION`,
 * `touch /usr/bin/nvidia-container-runtime`, the containerd of the case's image, `nodeadm init` with a
 * config, `assert::files-equal` or the expected failure).
 *
 * How a file is compared: as containerd reads it (parsed TOML), not byte for byte. Two inputs differ on
 * purpose and are mapped: nodeadm's sandbox image is its placeholder `localhost/kubernetes/pause:latest`
 * (nodeadm/cmd/nodeadm/init/init.go), eksnode's the EKS pause image of the region; and eksnode's config
 * has `imports` of /etc/containerd/config.d/*.toml, which with no file there changes nothing.
 */
import { parse as parseToml } from "smol-toml";
import { parse as parseYaml } from "yaml";

/** The reference cases directory (shared/reference beside the repository). */
export const CASES_DIR = new URL("../../shared/reference/nodeadm-e2e/cases/", import.meta.url).pathname;
/** The e2e image's stand-in for NVIDIA's `nvidia-ctk` (copied beside this file). */
export const NVIDIA_CTK_STAND_IN = new URL("./nvidia-ctk", import.meta.url).pathname;

/** The sandbox image nodeadm writes (its placeholder for the pause image imported at boot). */
export const NODEADM_SANDBOX_IMAGE = "localhost/kubernetes/pause:latest";

/** True when the reference cases are beside the repository (else the tests that read them say so and skip). */
export function haveCases(): boolean {
  try {
    return Deno.statSync(CASES_DIR).isDirectory;
  } catch {
    return false;
  }
}

/** One `nodeadm init` of a case's run.sh and what it must give. */
export interface CaseRun {
  case: string;
  /** The NodeConfig file of the case. */
  config: string;
  /** The containerd of the case's image ("1.7.27" for containerdv1-*, "2.1.4" for the others). */
  containerd: string;
  /** `mock::kubelet` version. */
  kubelet: string;
  /** run.sh touches /usr/bin/nvidia-container-runtime. */
  nvidia: boolean;
  /**
   * The expected config.toml: `compact` files are what nodeadm wrote (go-toml of its merged map);
   * `dump` files are `containerd config migrate` output (every default of containerd 2 written out).
   * Undefined: nodeadm must fail.
   */
  expected?: { file: string; kind: "compact" | "dump" };
}

const V1 = "1.7.27";
const V2 = "2.1.4";

/** Every run of the seven containerd cases (pod-infra-container and containerd-base-runtime-spec apart). */
export const CONTAINERD_RUNS: CaseRun[] = [
  ...[["1.31.0", "expected-containerd-config-pre-1.32.toml"], ["1.32.0", "expected-containerd-config.toml"]]
    .map((
      [kubelet, file],
    ): CaseRun => ({
      case: "containerdv1-config",
      config: "configv2.yaml",
      containerd: V1,
      kubelet,
      nvidia: false,
      expected: { file, kind: "compact" },
    })),
  ...["containerdv1-config", "containerdv1-runtime-config-neuron", "containerdv1-runtime-config-nvidia"].map((
    c,
  ): CaseRun => ({
    case: c,
    config: "configv3.yaml",
    containerd: V1,
    kubelet: c === "containerdv1-config" ? "1.32.0" : "1.27.0",
    nvidia: c.endsWith("nvidia"),
  })),
  ...["containerdv1-runtime-config-neuron", "containerdv1-runtime-config-nvidia"].map((c): CaseRun => ({
    case: c,
    config: "configv2.yaml",
    containerd: V1,
    kubelet: "1.27.0",
    nvidia: c.endsWith("nvidia"),
    expected: { file: "expected-containerd-config.toml", kind: "compact" },
  })),
  ...["containerdv2-config", "containerdv2-runtime-config-neuron", "containerdv2-runtime-config-nvidia"]
    .flatMap((
      c,
    ): CaseRun[] => [
      {
        case: c,
        config: "configv2.yaml",
        containerd: V2,
        kubelet: "1.32.0",
        nvidia: c.endsWith("nvidia"),
        expected: { file: "expected-containerd-configv2.toml", kind: "dump" },
      },
      {
        case: c,
        config: "configv3.yaml",
        containerd: V2,
        kubelet: "1.32.0",
        nvidia: c.endsWith("nvidia"),
        expected: { file: "expected-containerd-configv3.toml", kind: "compact" },
      },
    ]),
];

/** A name for a run in test output. */
export function runName(r: CaseRun): string {
  return `${r.case} ${r.config} (containerd ${r.containerd}, kubelet ${r.kubelet}${
    r.nvidia ? ", nvidia" : ""
  })`;
}

/** A case file's text. */
export function caseFile(name: string, file: string): string {
  return Deno.readTextFileSync(`${CASES_DIR}${name}/${file}`);
}

/** A case's NodeConfig, parsed. */
// deno-lint-ignore no-explicit-any -- a NodeConfig document walked by known keys
export function caseNodeConfig(name: string, file: string): any {
  return parseYaml(caseFile(name, file));
}

type Obj = Record<string, unknown>;

/** The leaves of a parsed TOML document: dotted path → value (tables walked, arrays kept whole). */
export function leaves(doc: Obj, prefix: string[] = []): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [k, v] of Object.entries(doc)) {
    const path = [...prefix, k];
    if (typeof v === "object" && v !== null && !Array.isArray(v)) {
      const sub = leaves(v as Obj, path);
      if (sub.size === 0) out.set(JSON.stringify(path), {});
      for (const [p, x] of sub) out.set(p, x);
    } else out.set(JSON.stringify(path), v);
  }
  return out;
}

/**
 * The expected file as eksnode must mean it on a node whose sandbox image is `sandboxImage`: nodeadm's
 * placeholder sandbox image replaced, the user's own sandbox image kept.
 */
export function expectedConfig(r: CaseRun, sandboxImage: string): Obj {
  const text = caseFile(r.case, r.expected!.file).replaceAll(NODEADM_SANDBOX_IMAGE, sandboxImage);
  return parseToml(text) as Obj;
}

/** eksnode's config without its `imports` (which nodeadm's file does not have), parsed. */
export function oursWithoutImports(text: string): Obj {
  const doc = parseToml(text) as Obj;
  delete doc.imports;
  return doc;
}

/**
 * Problems of eksnode's config against a case's expected one (empty: the same as containerd reads them).
 * compact: the parsed documents are equal. dump: every key eksnode sets holds the dump's value, and every
 * key of nodeadm's compact version-3 file for the same case (what nodeadm's template sets) is set.
 */
export function compareWithCase(r: CaseRun, ours: string, sandboxImage: string): string[] {
  const got = oursWithoutImports(ours);
  const want = expectedConfig(r, sandboxImage);
  const problems: string[] = [];
  const g = leaves(got);
  const w = leaves(want);
  if (r.expected!.kind === "compact") {
    for (const [p, v] of w) {
      if (!g.has(p)) problems.push(`${p} missing (nodeadm: ${JSON.stringify(v)})`);
      else if (JSON.stringify(g.get(p)) !== JSON.stringify(v)) {
        problems.push(`${p} = ${JSON.stringify(g.get(p))}, nodeadm: ${JSON.stringify(v)}`);
      }
    }
    for (const p of g.keys()) if (!w.has(p)) problems.push(`${p} set, nodeadm does not set it`);
    return problems;
  }
  for (const [p, v] of g) {
    if (!w.has(p)) problems.push(`${p} not in containerd's dump of nodeadm's config`);
    else if (JSON.stringify(w.get(p)) !== JSON.stringify(v)) {
      problems.push(
        `${p} = ${JSON.stringify(v)}, containerd's dump of nodeadm's: ${JSON.stringify(w.get(p))}`,
      );
    }
  }
  const compactV3 = parseToml(caseFile(r.case, "expected-containerd-configv3.toml")) as Obj;
  for (const p of leaves(compactV3).keys()) {
    if (!g.has(p)) problems.push(`${p} (set by nodeadm's template) missing`);
  }
  return problems;
}
