/**
 * `eksnode pull-image IMAGE`: pulls an image into containerd's `k8s.io` namespace (where the kubelet
 * looks) with `ctr`, as amazon-eks-ami's pull-sandbox-image.sh did for sandbox-image.service: an image
 * already present is left alone; for an ECR registry (`ACCOUNT.dkr.ecr[-fips].REGION...`, or any
 * registry with `--ecr-region`) a password comes from ECR GetAuthorizationToken in the registry's region
 * (when that fails, the pull is tried without credentials, as the script did); failed pulls are retried
 * with jittered exponential backoff.
 */
import { Command } from "@commander-js/extra-typings";
import { CommandError, UsageError } from "../lib/errors.ts";
import {
  ctrArgv,
  type CtrTarget,
  DEFAULT_CONTAINERD_ADDRESS,
  isImageReference,
  K8S_NAMESPACE,
  pullImage,
  type RegistryLogin,
} from "../lib/container_images.ts";
import { jsonText, type OutputFormat, outputOption } from "./output.ts";
import { examples } from "./help.ts";

/** Flags of `eksnode pull-image`. */
export interface PullImageFlags {
  namespace: string;
  address: string;
  platform?: string;
  plainHttp?: boolean;
  hostsDir?: string;
  ecrRegion?: string;
  ecrAuth: boolean;
  attempts: string;
  force?: boolean;
  output: OutputFormat;
}

/** What happened (the JSON output). */
export interface PullImageReport {
  image: string;
  namespace: string;
  address: string;
  /** "present" (nothing to do) or "pulled". */
  result: "present" | "pulled";
  /** Tries the pull took (0 when the image was present). */
  attempts: number;
  /** "not needed", "used" (region named), or "failed: ..." (then pulled without credentials). */
  ecrLogin: string;
  seconds: number;
}

/** containerd's registry hosts directory (hosts.toml per registry), used when it exists. */
const CERTS_D = "/etc/containerd/certs.d";

/**
 * A reference ctr can pull: registry host (with a dot, colon or localhost), path, tag or digest. It must
 * also pass isImageReference (no leading `-` in any part, so ctr never reads it as a flag).
 */
const IMAGE_REF =
  /^[A-Za-z0-9.-]+(?::\d+)?\/[a-z0-9._\/-]+(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[0-9a-f]{64})$/;

/** Options beyond the flags, for tests: the environment and where progress lines go. */
export interface PullImageDeps {
  env?: Record<string, string | undefined>;
  progress?: (line: string) => void;
}

/** Pulls the image unless present; throws a CommandError when every try failed. */
export async function runPullImage(
  image: string,
  flags: Omit<PullImageFlags, "output">,
  deps: PullImageDeps = {},
): Promise<PullImageReport> {
  const started = performance.now();
  const progress = deps.progress ?? ((line: string) => console.error(line));
  if (!IMAGE_REF.test(image) || !isImageReference(image)) {
    throw new UsageError(
      `"${image}" is not a full image reference`,
      "give registry/repository:tag, e.g. 602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.10",
    );
  }
  const attempts = Number(flags.attempts);
  if (!/^\d+$/.test(flags.attempts) || attempts < 1) {
    throw new UsageError(`--attempts: "${flags.attempts}" is not a positive number`);
  }
  const { Host } = await import("../lib/host.ts");
  const host = await Host.open("/", deps.env ?? Deno.env.toObject());
  const ctr = await host.which("ctr");
  if (!ctr) throw new CommandError("ctr not found on PATH", "install containerd (it ships ctr)");
  const target: CtrTarget = { ctr, address: flags.address, namespace: flags.namespace };
  const report = (result: PullImageReport["result"], tries: number, ecrLogin: string): PullImageReport => ({
    image,
    namespace: flags.namespace,
    address: flags.address,
    result,
    attempts: tries,
    ecrLogin,
    seconds: Math.round((performance.now() - started) / 10) / 100,
  });

  if (!(await host.exists(flags.address))) {
    throw new CommandError(
      `containerd does not answer at ${flags.address}: no such socket`,
      "start containerd (systemctl start containerd), or pass --address SOCKET",
    );
  }
  const listed = await host.exec(ctrArgv(target, "images", "ls", "-q"), {
    allowFailure: true,
    timeoutMs: 60_000,
  });
  if (listed.code !== 0) {
    throw new CommandError(
      `containerd does not answer at ${flags.address}: ${listed.stderr.trim().split("\n").pop() ?? ""}`,
      "start containerd (systemctl start containerd), or pass --address SOCKET",
    );
  }
  if (!flags.force && listed.stdout.split("\n").some((l) => l.trim() === image)) {
    progress(`${image} is already present in namespace ${flags.namespace}`);
    return report("present", 0, "not needed");
  }

  const registry = image.split("/")[0];
  const { ecrRegistryRegion } = await import("../eks/aws/ecr_registry.ts");
  const region = flags.ecrRegion ?? ecrRegistryRegion(registry);
  let login: RegistryLogin | undefined;
  let ecrLogin = "not needed";
  if (region && flags.ecrAuth) {
    try {
      const { ecrAuthorizationToken } = await import("../eks/aws/ecr_api.ts");
      const c = await ecrAuthorizationToken(region, { env: host.env, retry: { attempts: 3 } });
      login = { user: c.username, password: c.password };
      ecrLogin = `used (ECR in ${region})`;
    } catch (err) {
      ecrLogin = `failed: ${(err as Error).message}`;
      progress(
        `could not get an ECR password for ${region} (${(err as Error).message}); pulling without one`,
      );
    }
  }
  progress(`pulling ${image} into namespace ${flags.namespace}${login ? " with an ECR login" : ""}`);
  // Mirrors, endpoints and CAs configured for the node's containerd apply to this pull too.
  const hostsDir = flags.hostsDir ?? ((await host.exists(CERTS_D)) ? CERTS_D : undefined);
  const tries = await pullImage(host, target, image, {
    platform: flags.platform,
    plainHttp: flags.plainHttp,
    hostsDir,
    login,
    attempts,
    onRetry: (err, attempt, delay) =>
      progress(
        `try ${attempt} of ${attempts} failed: ${(err as Error).message.split("\n")[0]}; retrying in ${
          (delay / 1000).toFixed(1)
        }s`,
      ),
  });
  const r = report("pulled", tries, ecrLogin);
  progress(`pulled ${image} in ${r.seconds}s (${tries} ${tries === 1 ? "try" : "tries"})`);
  return r;
}

/** The `pull-image` command. */
export function pullImageCommand() {
  return new Command("pull-image")
    .addHelpText(
      "after",
      examples([
        [
          "pull the pause image into containerd, with an ECR login",
          "sudo eksnode pull-image \\\n  602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.10",
        ],
      ]),
    )
    .description(
      "pull an image into containerd's k8s.io namespace with ECR authentication and retries " +
        "(what sandbox-image.service runs)",
    )
    .argument("<image>", "full reference: registry/repository:tag (see the example below)")
    .option("--namespace <ns>", "containerd namespace", K8S_NAMESPACE)
    .option("--address <socket>", "containerd's socket", DEFAULT_CONTAINERD_ADDRESS)
    .option("--platform <platform>", "pull for this platform, e.g. linux/arm64 (default: this machine)")
    .option("--plain-http", "talk plain HTTP to the registry")
    .option(
      "--hosts-dir <dir>",
      `registry hosts directory, certs.d layout (default ${"/etc/containerd/certs.d"} when it exists)`,
    )
    .option(
      "--ecr-region <region>",
      "log in with an ECR token from this region (default: the ECR registry's own)",
    )
    .option("--no-ecr-auth", "never ask ECR for a password")
    .option("--attempts <n>", "tries in all before giving up", "5")
    .option("--force", "pull even when the image is present")
    .addOption(outputOption())
    .action(async (image, opts) => {
      const r = await runPullImage(image, opts);
      if (opts.output === "json") console.log(jsonText(r));
      else console.log(r.result === "present" ? `present ${image}` : `pulled ${image}`);
    });
}
