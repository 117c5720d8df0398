/**
 * The run journal under `<root>/var/lib/eksnode/journal/<process>.json`. It records which steps
 * finished and, written atomically *before* each change is applied, which change is about to be
 * applied (write-ahead). When a run is killed midway, the next run finds the journal unfinished,
 * carries the applied and the in-flight changes forward (so triggers such as "restart kubelet when its
 * config changed" still fire, even for a change that landed just before the kill) and completes the job.
 * An in-flight change that had not landed only makes a trigger fire once more than needed.
 */
import { dirname } from "node:path";
import type { Host } from "./host.ts";

/** The journal's content. */
export interface JournalData {
  version: 1;
  process: string;
  runId: string;
  startedAt: string;
  updatedAt: string;
  finished: boolean;
  /** Step ids finished in this run. */
  stepsDone: string[];
  /** Change keys applied in this run (and carried from an interrupted one). */
  changed: string[];
  /** Change keys being applied when the journal was last written (write-ahead). */
  applying?: string[];
  /** Set when this run resumed an interrupted one. */
  resumedFrom?: string;
}

/** Where a process's journal lives inside the root. */
export function journalPath(process: string): string {
  return `/var/lib/eksnode/journal/${process}.json`;
}

/** Reads and writes one process's journal. */
export class Journal {
  private constructor(private host: Host, readonly data: JournalData) {}

  /** Opens a new run; when the previous run did not finish, returns it as `interrupted`. */
  static async begin(host: Host, process: string): Promise<{ journal: Journal; interrupted?: JournalData }> {
    const path = journalPath(process);
    let interrupted: JournalData | undefined;
    const text = await host.readText(path);
    if (text) {
      try {
        const prev = JSON.parse(text) as JournalData;
        if (prev.version === 1 && !prev.finished) interrupted = prev;
      } catch {
        // A journal that does not parse is treated as absent: changes are checked against the disk anyway.
      }
    }
    // A killed run may have left a temp beside a file of this directory that no later run writes again.
    if (interrupted) await host.sweepTemps(dirname(path));
    const now = new Date().toISOString();
    const journal = new Journal(host, {
      version: 1,
      process,
      runId: crypto.randomUUID(),
      startedAt: now,
      updatedAt: now,
      finished: false,
      stepsDone: [],
      changed: interrupted ? [...new Set([...interrupted.changed, ...(interrupted.applying ?? [])])] : [],
      applying: [],
      resumedFrom: interrupted?.runId,
    });
    await journal.save();
    return { journal, interrupted };
  }

  /**
   * Records, durably, that a change is about to be applied. Its completion ({@link changeApplied}) is
   * kept in memory and written with the next record: for a resumed run both mean "may have changed".
   */
  async changeApplying(key: string): Promise<void> {
    this.data.applying = [...(this.data.applying ?? []), key];
    await this.save();
  }

  /** Records an applied change (written with the next save). */
  changeApplied(key: string): void {
    if (!this.data.changed.includes(key)) this.data.changed.push(key);
    this.data.applying = (this.data.applying ?? []).filter((k) => k !== key);
  }

  /**
   * Records a finished step. A step that changed nothing is written with the next save (the next
   * change, step or the end of the run): it holds nothing a resumed run needs (every change is checked
   * again, and triggers come from `changed` and `applying`), and an idempotent run then writes its
   * journal twice, not once a step (bench/ami_bench.ts: 2 fsyncs a step were most of a second bake's
   * step time).
   */
  async stepDone(id: string, changedSomething = true): Promise<void> {
    this.data.stepsDone.push(id);
    if (changedSomething) await this.save();
  }

  /** Marks the run finished. */
  async finish(): Promise<void> {
    this.data.finished = true;
    await this.save();
  }

  /** The last save in flight: saves are written one after another, each with the state at its turn. */
  private saving: Promise<void> = Promise.resolve();

  private save(): Promise<void> {
    const next = this.saving.catch(() => {}).then(() => {
      this.data.updatedAt = new Date().toISOString();
      return this.host.writeFile(journalPath(this.data.process), JSON.stringify(this.data, null, 2) + "\n", {
        mode: 0o600,
      });
    });
    this.saving = next;
    return next;
  }
}
