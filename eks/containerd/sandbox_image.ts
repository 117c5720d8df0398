/**
 * The sandbox (pause) image the container runtime and kubelet use, e.g.
 * `602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.10`.
 *
 * Sources (awslabs/amazon-eks-ami):
 * - `templates/al2023/variables-default.json` (commit 9e910f87): `pause_container_image` =
 *   `602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.10`, the tag the AL2023/nodeadm AMIs
 *   bake today (an earlier revision, 004328fe, had 3.5).
 * - `templates/al2/runtime/bootstrap.sh` (commit 029f7c7d): `--pause-container-account`,
 *   `--pause-container-version` (default 3.5), `PAUSE_CONTAINER_IMAGE` (repository without the tag),
 *   image = `$(get-ecr-uri.sh)/eks/pause:VERSION`.
 * - nodeadm `nodeadm/internal/aws/ecr/ecr.go` (commit 4d8c2617) `GetSandboxImage` still says 3.5.
 */
import { ConfigError } from "../../lib/errors.ts";
import { ecrRegistry } from "../aws/ecr_registry.ts";

/** The pause tag eksnode uses by default: the one the AL2023 EKS AMI build pins. */
export const DEFAULT_PAUSE_VERSION = "3.10";
/** bootstrap.sh's default `--pause-container-version`, for users who want the AL2 behaviour. */
export const BOOTSTRAP_PAUSE_VERSION = "3.5";
/** The repository of the pause image inside the EKS registry. */
export const PAUSE_REPOSITORY = "eks/pause";

/** Inputs of {@link sandboxImage}. */
export interface SandboxImageInput {
  region: string;
  /** Use the FIPS registry host where one exists. */
  fips?: boolean;
  /** `--pause-container-account`. */
  pauseContainerAccount?: string;
  /** `--pause-container-version` (tag); default {@link DEFAULT_PAUSE_VERSION}. */
  pauseContainerVersion?: string;
  /** A full registry host that replaces the EKS one. */
  registry?: string;
  /** bootstrap.sh `PAUSE_CONTAINER_IMAGE`: the whole repository (host/path, no tag). */
  pauseContainerImage?: string;
  /** The service domain (IMDS `services/domain`); default: from the SDK partition data. */
  dnsSuffix?: string;
}

/**
 * The pause image reference. Example: `sandboxImage({ region: "us-west-2" })` →
 * "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.10".
 */
export function sandboxImage(input: SandboxImageInput): string {
  const version = input.pauseContainerVersion?.trim() || DEFAULT_PAUSE_VERSION;
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(version)) {
    throw new ConfigError(
      `pause container version ${JSON.stringify(version)} is not a valid image tag`,
      'give a tag such as "3.10"',
    );
  }
  const repository = input.pauseContainerImage?.trim() ||
    `${
      ecrRegistry({
        region: input.region,
        fips: input.fips,
        account: input.pauseContainerAccount,
        registry: input.registry,
        dnsSuffix: input.dnsSuffix,
      }).registry
    }/${PAUSE_REPOSITORY}`;
  return `${repository}:${version}`;
}
