/**
 * The bake steps of `eksnode ami`, one file a step: the 37 of the process document, image hygiene
 * (38, always last) and the AL2023 phase (39-54, docs/al2023.md). A step's number is its place in this list.
 */
import { numberSteps } from "../../lib/step.ts";
import type { AmiStep } from "./context.ts";
import { type ExpectedPath, type ImageFacts, leavesFor } from "../../eks/verify/expected_path.ts";
import type { AmiStepDef } from "./context.ts";
import { step as s01 } from "./01_install_eksnode.ts";
import { step as s02 } from "./02_iptables_legacy.ts";
import { step as s03 } from "./03_aws_cli.ts";
import { step as s04 } from "./04_ssm_agent.ts";
import { step as s05 } from "./05_remove_ec2_net_utils.ts";
import { step as s06 } from "./06_ssh_hardening.ts";
import { step as s07 } from "./07_logrotate_conf.ts";
import { step as s08 } from "./08_etc_eks.ts";
import { step as s09 } from "./09_runtime_slice.ts";
import { step as s10 } from "./10_runc.ts";
import { step as s11 } from "./11_containerd.ts";
import { step as s12 } from "./12_etc_eks_containerd.ts";
import { step as s13 } from "./13_containerd_dropin_dir.ts";
import { step as s14 } from "./14_kernel_modules.ts";
import { step as s15 } from "./15_sysctl_cri.ts";
import { step as s16 } from "./16_image_cache.ts";
import { step as s17 } from "./17_containerd_config.ts";
import { step as s18 } from "./18_sandbox_image_unit.ts";
import { step as s19 } from "./19_cache_pause.ts";
import { step as s20 } from "./20_cache_addon_images.ts";
import { step as s21 } from "./21_var_lib_kubelet.ts";
import { step as s22 } from "./22_kubelet.ts";
import { step as s23 } from "./23_etc_kubernetes_kubelet.ts";
import { step as s24 } from "./24_kubelet_dropin_dir.ts";
import { step as s25 } from "./25_logrotate_kube_proxy.ts";
import { step as s26 } from "./26_manifests_dir.ts";
import { step as s27 } from "./27_var_lib_kubernetes.ts";
import { step as s28 } from "./28_opt_cni_bin.ts";
import { step as s29 } from "./29_cni_plugins.ts";
import { step as s30 } from "./30_aws_iam_authenticator.ts";
import { step as s31 } from "./31_credential_provider_dir.ts";
import { step as s32 } from "./32_ecr_credential_provider.ts";
import { step as s33 } from "./33_release_file.ts";
import { step as s34 } from "./34_sysctl_amazon.ts";
import { step as s35 } from "./35_sysctl_node.ts";
import { step as s36 } from "./36_bootstrap_shim.ts";
import { step as s37 } from "./37_log_collector.ts";
import { step as s38 } from "./38_image_hygiene.ts";
import { step as s39 } from "./39_al2023_packages.ts";
import { step as s40 } from "./40_kernel_args.ts";
import { step as s41 } from "./41_ebs_initialize.ts";
import { step as s42 } from "./42_soci_snapshotter.ts";
import { step as s43 } from "./43_soci_units.ts";
import { step as s44 } from "./44_nvidia_repo.ts";
import { step as s45 } from "./45_nvidia_kmods.ts";
import { step as s46 } from "./46_nvidia_packages.ts";
import { step as s47 } from "./47_nvidia_units.ts";
import { step as s48 } from "./48_neuron_repo.ts";
import { step as s49 } from "./49_neuron_driver.ts";
import { step as s50 } from "./50_efa.ts";
import { step as s51 } from "./51_version_info.ts";
import { step as s52 } from "./52_link_policy.ts";
import { step as s53 } from "./53_fips.ts";
import { step as s54 } from "./54_selinux_labels.ts";
import { type BakeSettings, runsAl2023Phase } from "./context.ts";

export { runsAl2023Phase };

/**
 * Every bake step, numbered by its place here (lib/step.ts `numberSteps`): the process, then image
 * hygiene, then the AL2023 phase by variant. A new step is its file and one line in its group.
 */
const NUMBERED = numberSteps("ami", {
  process: [
    s01,
    s02,
    s03,
    s04,
    s05,
    s06,
    s07,
    s08,
    s09,
    s10,
    s11,
    s12,
    s13,
    s14,
    s15,
    s16,
    s17,
    s18,
    s19,
    s20,
    s21,
    s22,
    s23,
    s24,
    s25,
    s26,
    s27,
    s28,
    s29,
    s30,
    s31,
    s32,
    s33,
    s34,
    s35,
    s36,
    s37,
  ],
  hygiene: [s38],
  base: [s39, s40, s41, s42, s43],
  nvidia: [s44, s45, s46, s47],
  neuron: [s48, s49],
  efa: [s50],
  last: [s51],
  // Numbered after 51 but run before it (version-info records what the phase installed, so it stays
  // last): the groups below are numbered here and spliced into the run order in AL2023_PHASE.
  baseLate: [s52],
  fips: [s53],
  labels: [s54],
});

/** The steps of the process, in order. */
export const AMI_STEPS: AmiStep[] = NUMBERED.process;

/** The image hygiene step, run last (after the AL2023 phase too) with `eksnode ami --hygiene`. */
export const HYGIENE_STEP: AmiStep = NUMBERED.hygiene[0];

/**
 * The AL2023 phase (`--al2023`, implied by `--accelerator` and `--efa`; docs/al2023.md): what Amazon Linux
 * 2023's EKS image adds around the worker, by variant. Every step, whichever variants it belongs to.
 */
export const AL2023_PHASE: {
  base: AmiStep[];
  nvidia: AmiStep[];
  neuron: AmiStep[];
  efa: AmiStep[];
  fips: AmiStep[];
  last: AmiStep[];
} = {
  base: [...NUMBERED.base, ...NUMBERED.baseLate],
  fips: NUMBERED.fips,
  nvidia: NUMBERED.nvidia,
  neuron: NUMBERED.neuron,
  efa: NUMBERED.efa,
  // SELinux labels after everything the phase writes, version-info last.
  last: [...NUMBERED.labels, ...NUMBERED.last],
};

/** Every step of the AL2023 phase, in order (for `eksnode steps ami`). */
export const AL2023_STEPS: AmiStep[] = [
  ...AL2023_PHASE.base,
  ...AL2023_PHASE.nvidia,
  ...AL2023_PHASE.neuron,
  ...AL2023_PHASE.efa,
  ...AL2023_PHASE.fips,
  ...AL2023_PHASE.last,
];

/**
 * The steps of a bake: the 37, then the AL2023 phase's steps of its variants when it runs, then hygiene.
 * @example amiSteps({ al2023: true, accelerator: "nvidia" }, false).map((s) => s.number).at(-1) // 51
 */
export function amiSteps(
  bake: Pick<BakeSettings, "al2023" | "accelerator" | "efa"> & { fips?: boolean },
  hygiene: boolean,
): AmiStep[] {
  const out = [...AMI_STEPS];
  if (runsAl2023Phase(bake)) {
    out.push(...AL2023_PHASE.base);
    if (bake.accelerator === "nvidia") out.push(...AL2023_PHASE.nvidia);
    if (bake.accelerator === "neuron") out.push(...AL2023_PHASE.neuron);
    if (bake.efa) out.push(...AL2023_PHASE.efa);
    if (bake.fips) out.push(...AL2023_PHASE.fips);
    out.push(...AL2023_PHASE.last);
  }
  if (hygiene) out.push(HYGIENE_STEP);
  return out;
}

/**
 * The directories and files an image has, as the steps of its bake declare them (`leaves`), in step
 * order: what `eksnode verify` checks. `image` is what release.json records of the bake (its containerd
 * source and AL2023 variant), which decides the steps that ran and what some of them left.
 * @example imageLeaves({}).some((p) => p.path === "/etc/eks") // true
 */
export function imageLeaves(image: ImageFacts): ExpectedPath[] {
  return bakeSteps(image).flatMap((s) => [...leavesFor(s.leaves, image)]);
}

/**
 * The units an image has enabled, as the steps of its bake declare them (`enables`), in step order.
 * @example imageUnits({}).includes("sandbox-image.service") // true
 */
export function imageUnits(image: ImageFacts): string[] {
  return bakeSteps(image).flatMap((s) => [...(s.enables ?? [])]);
}

/** The steps a bake ran, from what release.json records of it (hygiene aside). */
function bakeSteps(image: ImageFacts): AmiStepDef[] {
  const v = image.al2023;
  return amiSteps({
    al2023: v !== undefined,
    accelerator: v?.accelerator,
    efa: v?.efa === true,
    fips: v?.fips,
  }, false);
}
