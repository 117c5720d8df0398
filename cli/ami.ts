/**
 * `eksnode ami`: flags and bake config → the ami step context → run the 37 bake steps (and the AL2023
 * phase, steps 39-54, with --al2023, --accelerator or --efa; hygiene, step 38, last). The versions,
 * the bake config parser and the steps are imported when the command runs, not when the CLI starts.
 */
import { Command, Option } from "@commander-js/extra-typings";
import type { Arch } from "../assets/versions.ts";
import type { DownloadTuning } from "../lib/download.ts";
import { ConfigError, UsageError } from "../lib/errors.ts";
import { regionValue } from "./flag_values.ts";
import { VERSION } from "./version.ts";
import type { AmiContext } from "../steps/ami/context.ts";
import type { BakeConfig } from "./bake_config.ts";
import {
  confirmOnRunningSystem,
  type Prepared,
  prepareRun,
  type RunFlags,
  type StepExamples,
  withRunFlags,
} from "./global_flags.ts";
import { examples } from "./help.ts";

/** `--only` and `--skip` values of ami's steps, for its help and hints. */
const AMI_STEP_EXAMPLES: StepExamples = { only: "22,29 or 1-7", skip: "22,29 or 1-7" };

/** Flags of `eksnode ami` beyond the run flags. */
export interface AmiFlags extends RunFlags {
  kubernetesVersion?: string;
  arch?: Arch;
  region?: string;
  config?: string;
  mirror?: string;
  insecureMirror?: boolean;
  downloadTimeout?: string;
  packageManager?: "dnf" | "yum" | "apt" | "none";
  self?: string;
  containerdSource?: "tarball" | "package";
  keepSwap?: boolean;
  hygiene?: boolean;
  al2023?: boolean;
  accelerator?: "nvidia" | "neuron";
  efa?: boolean;
  fips?: boolean;
  cacheImages?: boolean;
  containerdAddress?: string;
  imageRegistry?: string;
}

/** Builds the ami context from flags (which override the bake config, which overrides the defaults). */
export async function amiContext(flags: AmiFlags, env = Deno.env.toObject()) {
  const [
    { applyOverrides, kubernetesRelease, versions: embedded },
    { resolveArtifact },
    { checkBakeValue, parseBakeConfig },
    { transportProblem },
    { amiSteps },
  ] = await Promise.all([
    import("../assets/versions.ts"),
    import("../steps/ami/context.ts"),
    import("./bake_config.ts"),
    import("../lib/download.ts"),
    import("../steps/ami/index.ts"),
  ]);
  const prepared = await prepareRun(flags, AMI_STEP_EXAMPLES, env);
  let bake: BakeConfig = {};
  if (flags.config) {
    let text: string;
    try {
      text = await Deno.readTextFile(flags.config);
    } catch (err) {
      throw new UsageError(`--config ${flags.config}: cannot read it (${(err as Error).message})`);
    }
    bake = parseBakeConfig(text, flags.config);
  }
  const v = bake.versions ? applyOverrides(embedded, bake.versions) : embedded;
  const kubernetesVersion = flags.kubernetesVersion ?? bake.kubernetes_version ?? v.defaultKubernetesVersion;
  const release = kubernetesRelease(kubernetesVersion, v);
  const arch: Arch = flags.arch ?? bake.arch ?? (Deno.build.arch as Arch);
  const mirror = flags.mirror ?? bake.mirror;
  const download = downloadTuning(flags, bake, mirror, transportProblem);
  const region = flags.region ?? bake.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-west-2";
  // Flags and the environment meet the bake config's rules too, before anything is written.
  const regionFrom = flags.region !== undefined ? "--region" : bake.region !== undefined
    ? undefined // checked with the bake config
    : env.AWS_REGION
    ? "AWS_REGION"
    : env.AWS_DEFAULT_REGION
    ? "AWS_DEFAULT_REGION"
    : undefined;
  if (regionFrom) checkBakeValue("region", region, regionFrom);
  if (flags.imageRegistry !== undefined) {
    checkBakeValue("image_registry", flags.imageRegistry, "--image-registry");
  }
  if (flags.containerdAddress !== undefined) {
    checkBakeValue("containerd_address", flags.containerdAddress, "--containerd-address");
  }
  // The accelerated variants are AL2023's (dnf module streams, rpm names, kernel6.12-devel): docs/al2023.md.
  const accelerator = flags.accelerator ?? bake.accelerator;
  const packageManager = flags.packageManager ?? bake.package_manager ?? "dnf";
  if (accelerator && packageManager === "apt") {
    const what =
      `--accelerator ${accelerator} with package manager apt: the accelerated variants are built on Amazon Linux 2023 (dnf)`;
    const hint =
      "bake the variant on AL2023, or without --accelerator on Debian/Ubuntu (docs/al2023.md, NVIDIA)";
    // Both from the bake config: the config is wrong; a flag in it: the command line is.
    if (flags.accelerator === undefined && flags.packageManager === undefined) {
      throw new ConfigError(`${flags.config}: ${what.replace("--accelerator", "accelerator =")}`, hint);
    }
    throw new UsageError(what, hint);
  }
  let selfPath = flags.self;
  let selfMissingReason: string | undefined;
  if (!selfPath) {
    if (Deno.build.standalone) selfPath = Deno.execPath();
    else {selfMissingReason =
        "eksnode runs under `deno run`, not as a compiled binary; pass --self PATH to install one";}
  }
  const resolved = new Map<string, ReturnType<AmiContext["artifact"]>>();
  const ctx: AmiContext & Pick<Prepared, "jobs" | "selection"> & { download: DownloadTuning } = {
    ...prepared,
    download,
    versions: v,
    kubernetesVersion: release.minor,
    release,
    arch,
    region,
    mirror,
    packageManager,
    selfPath,
    selfMissingReason,
    bake: {
      al2023: flags.al2023 ?? bake.al2023 ?? false,
      accelerator,
      efa: flags.efa ?? bake.efa ?? false,
      nvidiaDriverVersion: bake.nvidia_driver_version,
      containerdSource: flags.containerdSource ?? bake.containerd_source ?? "tarball",
      keepSwap: flags.keepSwap ?? bake.keep_swap ?? false,
      fips: flags.fips ?? bake.fips ?? false,
      extraImages: bake.extra_images ?? [],
      cacheImages: flags.cacheImages === false ? false : (bake.cache_images ?? true),
      baseImage: bake.base_image,
      containerdAddress: flags.containerdAddress ?? bake.containerd_address,
      imageRegistry: flags.imageRegistry ?? bake.image_registry,
      plainHttp: bake.plain_http ?? false,
      imageTagRegions: bake.image_tag_regions,
    },
    eksnodeVersion: VERSION,
    buildTime: env.SOURCE_DATE_EPOCH ? new Date(Number(env.SOURCE_DATE_EPOCH) * 1000) : new Date(),
    // Resolved once per run: steps are planned twice (downloads are prefetched ahead of their step), and
    // resolving an unpinned artifact fetches its published checksum file (never in a dry run).
    artifact: (name) => {
      let p = resolved.get(name);
      if (!p) {
        resolved.set(
          name,
          p = resolveArtifact(v, release.minor, name, arch, mirror, download, {
            offline: prepared.dryRun,
          }),
        );
      }
      return p;
    },
    steps: [],
  };
  ctx.steps = amiSteps(ctx.bake, true);
  return ctx;
}

/**
 * The download settings of a bake: the idle timeout (`--download-timeout`) and which plain-HTTP origin
 * may serve artifacts. A mirror must be HTTPS unless it is on loopback or `--insecure-mirror` (bake
 * `insecure_mirror`) says otherwise.
 */
function downloadTuning(
  flags: AmiFlags,
  bake: BakeConfig,
  mirror: string | undefined,
  transportProblem: (url: string, plainHttpOrigins?: readonly string[]) => string | undefined,
): DownloadTuning {
  const out: { idleTimeoutMs?: number; plainHttpOrigins?: string[] } = {};
  if (flags.downloadTimeout !== undefined) {
    const secs = Number(flags.downloadTimeout);
    if (!/^\d+(\.\d+)?$/.test(flags.downloadTimeout) || !(secs > 0)) {
      throw new UsageError(
        `--download-timeout: "${flags.downloadTimeout}" is not a positive number of seconds`,
      );
    }
    out.idleTimeoutMs = secs * 1000;
  }
  const insecure = flags.insecureMirror ?? bake.insecure_mirror ?? false;
  if (insecure && !mirror) {
    throw new UsageError("--insecure-mirror needs a mirror (--mirror URL or mirror in the bake config)");
  }
  if (mirror) {
    const origin = URL.canParse(mirror) ? new URL(mirror).origin : undefined;
    if (insecure && origin) out.plainHttpOrigins = [origin];
    const problem = transportProblem(mirror, out.plainHttpOrigins);
    if (problem) {
      const hint =
        "use an https:// mirror, a mirror on loopback, or --insecure-mirror (bake: insecure_mirror = true)";
      if (flags.mirror !== undefined) throw new UsageError(`--mirror ${mirror}: ${problem}`, hint);
      throw new ConfigError(`${flags.config}: mirror ${mirror}: ${problem}`, hint);
    }
  }
  return out;
}

/** The `ami` command. */
export function amiCommand() {
  return withRunFlags(
    new Command("ami")
      .addHelpText(
        "after",
        examples([
          [
            "plan a bake into a directory, offline: every step, and every missing pin in one error",
            "eksnode ami --dry-run --root /tmp/image --config bake.toml",
          ],
          [
            "write the bake config's missing pins from the published checksum files",
            "eksnode versions --pin --config bake.toml",
          ],
          [
            "bake the running system (Packer, Image Builder); packages with dnf, the default",
            "sudo eksnode ami --config bake.toml --hygiene --yes",
          ],
          [
            "only the kubelet and CNI plugin steps, into a directory",
            "eksnode ami --root /tmp/image --config bake.toml --only 22,29",
          ],
        ]),
      )
      .description(
        "bake an EKS worker image: the 37 numbered steps, with --al2023 steps 39-54 (see `eksnode steps ami`)",
      )
      .option(
        "--kubernetes-version <version>",
        "Kubernetes minor version, e.g. 1.32 (default: versions file)",
      )
      .addOption(
        new Option("--arch <arch>", "target architecture (default: this machine)").choices(
          ["x86_64", "aarch64"] as const,
        ),
      )
      .option(
        "--region <region>",
        "AWS region the image is built for (default: AWS_REGION, else us-west-2)",
        regionValue,
      )
      .option("--config <file>", "TOML bake config: inputs and version/checksum/URL overrides")
      .option("--mirror <url>", "fetch every artifact from this mirror, laid out as MIRROR/<host>/<path>")
      .option(
        "--insecure-mirror",
        "allow a plain-HTTP --mirror that is not on loopback (checksums are still verified)",
      )
      .option(
        "--download-timeout <seconds>",
        "end a download try when no byte arrived for this long (default 30); tries are retried",
      )
      .addOption(
        new Option(
          "--package-manager <pm>",
          "package manager of the base image (default: dnf, or the bake config's package_manager; none: " +
            "plan package steps only)",
        )
          .choices(["dnf", "yum", "apt", "none"] as const),
      )
      .option("--self <path>", "eksnode binary to install as /usr/bin/eksnode when not running compiled")
      .addOption(
        new Option("--containerd-source <src>", "containerd from release tarballs or packages").choices(
          ["tarball", "package"] as const,
        ),
      )
      .option("--keep-swap", "keep swap on (for kubelet swap support)")
      .option(
        "--hygiene",
        "last, step 38: remove what the build instance left (SSH host keys, machine id, logs, caches)",
      )
      .option(
        "--al2023",
        "also the AL2023 phase, steps 39-54: what Amazon Linux 2023's EKS image adds (docs/al2023.md)",
      )
      .addOption(
        new Option("--accelerator <kind>", "accelerated variant (implies --al2023)").choices(
          ["nvidia", "neuron"] as const,
        ),
      )
      .option("--efa", "EFA: the verified EFA installer, no deep C-states (implies --al2023)")
      .option(
        "--fips",
        "use FIPS ECR endpoints where the partition has them; with the AL2023 phase also FIPS mode (step 53)",
      )
      .option("--no-cache-images", "do not cache container images (no containerd at bake time)")
      .option(
        "--containerd-address <socket>",
        "containerd socket to cache images into (default: /run/containerd/containerd.sock under --root /)",
      )
      .option(
        "--image-registry <host>",
        "pull cached images from this registry instead of ECR (no ECR login)",
      ),
    AMI_STEP_EXAMPLES,
  ).action(async (opts) => {
    const [ctx, { runSteps }, { amiSteps }] = await Promise.all([
      amiContext(opts as AmiFlags),
      import("../lib/runner.ts"),
      import("../steps/ami/index.ts"),
    ]);
    const steps = amiSteps(ctx.bake, opts.hygiene === true);
    const run = { process: "ami", jobs: ctx.jobs, download: ctx.download, ...ctx.selection };
    await confirmOnRunningSystem(
      opts,
      "eksnode ami",
      () => runSteps(steps, { ...ctx, dryRun: true }, { ...run, dryRun: true }),
    );
    await runSteps(steps, ctx, { ...run, dryRun: ctx.dryRun });
  });
}
