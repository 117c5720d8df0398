/**
 * The step contract. A step declares the changes it wants; the runner drops the ones that are
 * already true and applies the rest through the {@link Host}. `--dry-run` and idempotence come
 * from the same code: a plan of changes whose `satisfied` check runs against the disk.
 */
import type { DownloadTuning } from "./download.ts";
import type { Host } from "./host.ts";
import type { Logger } from "./log.ts";

export { type Owner, ROOT } from "./owner.ts";

/** What the runner knows about the current run while applying changes. */
export interface RunState {
  /** Keys of changes applied in this run (and in an interrupted earlier run being resumed). */
  readonly changed: Set<string>;
  /** True when nothing is written: changes are only planned. */
  readonly dryRun: boolean;
  /** Downloads started ahead of their step (by change key); a change's apply awaits its own. */
  readonly prefetched?: Map<string, Promise<void>>;
  /** Idle timeout and plain-HTTP allowances of the downloads (from `--download-timeout`, `--insecure-mirror`). */
  readonly download?: DownloadTuning;
}

/** Everything a change may use while checking or applying itself. */
export interface ApplyContext {
  host: Host;
  run: RunState;
  log: Logger;
}

/** One unit of desired state: a directory, a file, a download, a command, a unit, a package. */
export interface Change {
  /** Kind shown in the plan: dir, file, download, extract, exec, unit, package, remove, symlink, note, ... */
  readonly kind: string;
  /** Stable identity within a run, e.g. the path (`/etc/eks/release`) or `unit:kubelet.service`. */
  readonly key: string;
  /** Informational lines (notes) are printed but never counted or applied. */
  readonly informational?: boolean;
  /** Changes marked parallel that stand next to each other in a step are applied concurrently. */
  readonly parallel?: boolean;
  /** One line for the plan: what, where, mode and owner, checksum, argv. */
  describe(): string;
  /** True when the system already is as this change wants it; such changes are dropped. */
  satisfied(ctx: ApplyContext): Promise<boolean>;
  /** Makes it so. Must be atomic: on failure nothing half-written remains. */
  apply(ctx: ApplyContext): Promise<void>;
  /**
   * Optional: fetch what `apply` needs ahead of time (verified, into a cache under the root), so the
   * downloads of all steps run in parallel while earlier steps work. `apply` must still work without it.
   */
  prefetch?(ctx: ApplyContext): Promise<void>;
  /** Optional: remove what `prefetch` left when `apply` never ran (a failed or partial run). */
  discardPrefetch?(ctx: ApplyContext): Promise<void>;
}

/** Context every step receives; commands extend it with their own inputs. */
export interface StepContext {
  host: Host;
  log: Logger;
  dryRun: boolean;
}

/** A numbered step of a process (`ami` or `init`): its definition and its place, from {@link numberSteps}. */
export interface Step<C extends StepContext = StepContext> extends StepDef<C> {
  /** `ami.22`, `init.5`. */
  readonly id: string;
  /** Position in the process, 1-based; `--only`, `--skip` and `--from` select by it. */
  readonly number: number;
}

/**
 * A step as its file defines it: what it does, not where it stands. Its number is its place in the
 * process's index (steps/ami/index.ts, steps/init/index.ts), assigned by {@link numberSteps}.
 */
export interface StepDef<C extends StepContext = StepContext> {
  /** Title as in the process document. */
  readonly title: string;
  /** Section of the process document (Linux, Containerd, Kubelet, Kubernetes/EKS). */
  readonly group?: string;
  /**
   * False for a step that never downloads. The runner plans every other step ahead of its turn, to
   * start all the downloads of a run at once; a step without any is then planned only when it runs
   * (`eksnode init`'s steps rendered every file twice).
   */
  readonly downloads?: boolean;
  /** Returns the changes this step wants. Reads are allowed; writes are not. */
  plan(ctx: C): Promise<Change[]> | Change[];
}

/**
 * Numbers a process's steps in the order its index lists them: 1, 2, ... across the groups in their
 * order, `id` `<process>.<number>`. A group is a run of steps the process selects together (a phase, a
 * variant); the groups come back numbered, under the same names. Adding a step is adding its file and
 * one line in the index.
 * @example numberSteps("init", { config: [a, b], run: [c] }).run[0].id // "init.3"
 */
export function numberSteps<D extends StepDef<never>, K extends string>(
  process: string,
  groups: Record<K, readonly D[]>,
): Readonly<Record<K, (D & Numbered)[]>> {
  const seen = new Set<D>();
  let number = 0;
  const out = {} as Record<K, (D & Numbered)[]>;
  for (const [name, defs] of Object.entries(groups) as [K, readonly D[]][]) {
    out[name] = defs.map((def) => {
      if (seen.has(def)) throw new Error(`${process}: step "${def.title}" is listed twice`);
      seen.add(def);
      number++;
      return { ...def, id: `${process}.${number}`, number };
    });
  }
  return out;
}

/** What {@link numberSteps} adds to a step's definition. */
export type Numbered = Pick<Step, "id" | "number">;
