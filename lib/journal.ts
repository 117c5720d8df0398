/**
 * The run journal under `<root>/var/lib/eksnode/journal/<process>.json`. It records which steps
 * finished and which changes were applied, written atomically after each change. When a run is
 * killed midway, the next run finds the journal unfinished, carries its applied changes forward
 * (so triggers such as "restart kubelet when its config changed" still fire) and completes the job.
 */
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
    const now = new Date().toISOString();
    const journal = new Journal(host, {
      version: 1,
      process,
      runId: crypto.randomUUID(),
      startedAt: now,
      updatedAt: now,
      finished: false,
      stepsDone: [],
      changed: interrupted ? [...interrupted.changed] : [],
      resumedFrom: interrupted?.runId,
    });
    await journal.save();
    return { journal, interrupted };
  }

  /** Records an applied change. */
  async changeApplied(key: string): Promise<void> {
    if (!this.data.changed.includes(key)) this.data.changed.push(key);
    await this.save();
  }

  /**
   * Records a finished step. A step that changed nothing is written with the next save (the next
   * change, step or the end of the run): it holds nothing a resumed run needs (every change is checked
   * again, and triggers come from `changed`), and an idempotent run then writes its journal twice, not
   * once a step (bench/ami_bench.ts: 2 fsyncs a step were most of a second bake's step time).
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

  private async save(): Promise<void> {
    this.data.updatedAt = new Date().toISOString();
    await this.host.writeFile(journalPath(this.data.process), JSON.stringify(this.data, null, 2) + "\n", {
      mode: 0o600,
    });
  }
}
