/**
 * Neuron variant: the AWS Neuron repository, GPG-checked (dnf imports its key on the first
 * install). Follows templates/al2023/provisioners/install-neuron-driver.sh @ 81fec2e8, "Add repository".
 */
import { NEURON_REPO_FILE, renderNeuronRepo } from "../../eks/image/accelerators.ts";
import type { AmiStepDef } from "./context.ts";
import { isVariant, notThisVariant, repoFile } from "./variant_changes.ts";
import { expectFile } from "../../eks/verify/expected_path.ts";

/** The step. */
export const step: AmiStepDef = {
  title: "Neuron: add the AWS Neuron repository",
  group: "Neuron",
  leaves: [expectFile(NEURON_REPO_FILE)],
  downloads: false,
  plan: (ctx) =>
    isVariant(ctx, "neuron")
      ? repoFile(ctx, NEURON_REPO_FILE, renderNeuronRepo(), "Neuron")
      : notThisVariant("Neuron repository", "--accelerator neuron"),
};
