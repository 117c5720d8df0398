/**
 * Container images in a containerd namespace as changes, through `ctr`: pulled, tagged, labelled.
 * Every change asks `ctr images ls -q` first (once per {@link ImageStore}, then kept up to date by
 * the changes it applies), so images already there are dropped from the plan. Registry passwords are
 * passed with `--user` and masked in every message; they never appear in the plan.
 */
import { CommandError } from "./errors.ts";
import type { Host } from "./host.ts";
import { withBackoff } from "./retry.ts";
import type { ApplyContext, Change } from "./step.ts";

/** containerd's namespace for Kubernetes images. */
export const K8S_NAMESPACE = "k8s.io";

/** containerd's default socket. */
export const DEFAULT_CONTAINERD_ADDRESS = "/run/containerd/containerd.sock";

/** Which containerd and namespace, through which ctr binary. */
export interface CtrTarget {
  /** Path of the ctr binary (of the machine running the bake). */
  ctr: string;
  /** containerd's socket. */
  address: string;
  /** e.g. "k8s.io". */
  namespace: string;
}

/** Registry login for a pull. */
export interface RegistryLogin {
  user: string;
  password: string;
}

/** Options of {@link imagePulled}. */
export interface PullOptions {
  /** `linux/amd64`, `linux/arm64`. */
  platform?: string;
  /** Talk HTTP to the registry (a loopback or air-gap registry). */
  plainHttp?: boolean;
  /**
   * A registry hosts directory in containerd's certs.d layout (`DIR/<host>/hosts.toml`: mirrors,
   * endpoints, CAs), passed to `ctr images pull --hosts-dir`.
   */
  hostsDir?: string;
  /** Obtains a login when the pull runs (not when it is planned); undefined: anonymous. */
  login?: () => Promise<RegistryLogin>;
  /** What the plan says about the login, e.g. "ECR login". */
  loginText?: string;
  timeoutMs?: number;
}

// An image reference after the grammar of distribution/reference (reference.go, "Grammar"): an
// optional registry host (and port), lower-case path components, an optional tag, an optional digest.
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::[0-9]+)?`;
const PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const REFERENCE = new RegExp(
  `^(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*` +
    "(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$",
);

/**
 * True when `ref` is a container image reference (`registry:5000/path/name:tag@sha256:...`). Such a
 * reference cannot start with `-`, so it is never taken for a flag of `ctr`, and holds no whitespace,
 * quote or control character.
 * @example isImageReference("public.ecr.aws/eks-distro/kubernetes/pause:3.10") // true
 */
export function isImageReference(ref: string): boolean {
  return ref.length <= 512 && REFERENCE.test(ref);
}

/** The argv prefix for a ctr command against the target. */
export function ctrArgv(t: CtrTarget, ...args: string[]): string[] {
  return [t.ctr, "--address", t.address, "--namespace", t.namespace, ...args];
}

/** The image names in a namespace, listed once and updated as changes apply. */
export class ImageStore {
  readonly target: CtrTarget;
  private names?: Promise<Set<string>>;

  /** A store for one target; names are listed on first use. */
  constructor(target: CtrTarget) {
    this.target = target;
  }

  /** The names present; an unreachable containerd counts as none (the change that needs it then fails loudly). */
  list(host: Host): Promise<Set<string>> {
    this.names ??= host.exec(ctrArgv(this.target, "images", "ls", "-q"), {
      allowFailure: true,
      timeoutMs: 60_000,
    })
      .then((r) => new Set(r.code === 0 ? r.stdout.split("\n").map((l) => l.trim()).filter(Boolean) : []));
    return this.names;
  }

  /** True when `ref` is present. */
  async has(host: Host, ref: string): Promise<boolean> {
    return (await this.list(host)).has(ref);
  }

  /** Records that `ref` is now present. */
  async added(host: Host, ref: string): Promise<void> {
    (await this.list(host)).add(ref);
  }

  /** Forgets the listing (after containerd restarted with another root, say). */
  reset(): void {
    this.names = undefined;
  }
}

/** Options of {@link pullImage}. */
export interface PullNowOptions {
  platform?: string;
  plainHttp?: boolean;
  /** A registry hosts directory (certs.d layout) for `ctr images pull --hosts-dir`. */
  hostsDir?: string;
  login?: RegistryLogin;
  /** Tries in all (default 1); failures are retried with jittered exponential backoff. */
  attempts?: number;
  /** Base wait before the first retry in ms (default 1000; waits are capped at 15 s). */
  baseMs?: number;
  /** Called before each retry. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  timeoutMs?: number;
}

/** The `ctr images pull` flags for platform, plain HTTP and the hosts directory. */
function pullFlags(opts: { platform?: string; plainHttp?: boolean; hostsDir?: string }): string[] {
  return [
    ...(opts.platform ? ["--platform", opts.platform] : []),
    ...(opts.plainHttp ? ["--plain-http"] : []),
    ...(opts.hostsDir ? ["--hosts-dir", opts.hostsDir] : []),
  ];
}

/**
 * Pulls `ref` into the target's namespace with `ctr images pull`, retrying failed pulls; the registry
 * password goes to ctr as `--user` and is masked in every error. Returns the number of tries it took.
 */
export async function pullImage(
  host: Host,
  target: CtrTarget,
  ref: string,
  opts: PullNowOptions = {},
): Promise<number> {
  const user = opts.login ? ["--user", `${opts.login.user}:${opts.login.password}`] : [];
  let tries = 0;
  await withBackoff(async () => {
    tries++;
    await host.exec(ctrArgv(target, "images", "pull", ...pullFlags(opts), ...user, ref), {
      timeoutMs: opts.timeoutMs ?? 600_000,
      redact: opts.login ? [opts.login.password] : undefined,
    });
  }, { attempts: opts.attempts ?? 1, baseMs: opts.baseMs ?? 1000, maxMs: 15_000, onRetry: opts.onRetry });
  return tries;
}

/** `ref` pulled into the store's namespace. */
export function imagePulled(store: ImageStore, ref: string, opts: PullOptions = {}): Change {
  const flags = pullFlags(opts);
  return {
    kind: "image",
    key: `image:${store.target.namespace}:${ref}`,
    describe: () =>
      `pull image ${ref} into ${store.target.namespace}${flags.length ? ` (${flags.join(" ")})` : ""}${
        opts.loginText ? ` with ${opts.loginText}` : ""
      }`,
    satisfied: ({ host }) => store.has(host, ref),
    async apply({ host }: ApplyContext) {
      const login = opts.login ? await opts.login() : undefined;
      await pullImage(host, store.target, ref, { ...opts, login });
      await store.added(host, ref);
    },
  };
}

/** `to` as another name of the image `from` (which must be present when this applies). */
export function imageTagged(store: ImageStore, from: string, to: string): Change {
  return {
    kind: "image-tag",
    key: `image:${store.target.namespace}:${to}`,
    describe: () => `tag image ${from} as ${to}`,
    satisfied: ({ host }) => store.has(host, to),
    async apply({ host }) {
      if (!(await store.has(host, from))) {
        throw new CommandError(
          `cannot tag ${from} as ${to}: ${from} is not in namespace ${store.target.namespace}`,
        );
      }
      await host.exec(ctrArgv(store.target, "images", "tag", from, to), { timeoutMs: 60_000 });
      await store.added(host, to);
    },
  };
}

/** A label `key=value` on the image `ref` (e.g. io.cri-containerd.pinned=pinned), checked with `ctr images ls`. */
export function imageLabeled(store: ImageStore, ref: string, key: string, value: string): Change {
  return {
    kind: "image-label",
    key: `image-label:${store.target.namespace}:${ref}:${key}`,
    describe: () => `label image ${ref} ${key}=${value}`,
    async satisfied({ host }) {
      if (!(await store.has(host, ref))) return false;
      const r = await host.exec(ctrArgv(store.target, "images", "ls", `name==${ref}`), {
        allowFailure: true,
        timeoutMs: 60_000,
      });
      return r.code === 0 &&
        r.stdout.split("\n").some((l) => l.startsWith(`${ref} `) && l.includes(`${key}=${value}`));
    },
    async apply({ host }) {
      await host.exec(ctrArgv(store.target, "images", "label", ref, `${key}=${value}`), {
        timeoutMs: 60_000,
      });
    },
  };
}

/**
 * A check that containerd answers at the target (`ctr images ls`), shown in the plan only when it
 * does not; applying it fails with the reason when containerd still does not answer.
 */
export function containerdAnswers(store: ImageStore): Change {
  const argv = ctrArgv(store.target, "images", "ls", "-q");
  return {
    kind: "check",
    key: `containerd-answers:${store.target.address}`,
    describe: () => `check containerd answers at ${store.target.address} (${argv.slice(1).join(" ")})`,
    async satisfied({ host }) {
      return (await host.exec(argv, { allowFailure: true, timeoutMs: 30_000 })).code === 0;
    },
    async apply({ host }) {
      const r = await host.exec(argv, { allowFailure: true, timeoutMs: 30_000 });
      if (r.code !== 0) {
        throw new CommandError(
          `containerd does not answer at ${store.target.address}: ${
            r.stderr.trim().split("\n").pop() ?? `exit ${r.code}`
          }`,
          "start containerd (or set containerd_address in the bake config), or bake with --no-cache-images",
        );
      }
      store.reset();
    },
  };
}
