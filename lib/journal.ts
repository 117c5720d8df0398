/**
 * The run journal under `<root>/var/lib/eksnode/journal/`. It records which steps finished and, durably
 * *before* each change is applied, which change is about to be applied (write-ahead). When a run is
 * killed midway, the next run finds the journal unfinished, carries the applied and the in-flight
 * changes forward (so triggers such as "restart kubelet when its config changed" still fire, even for a
 * change that landed just before the kill) and completes the job. An in-flight change that had not
 * landed only makes a trigger fire once more than needed.
 *
 * Two files:
 * - `<process>.wal` exists while a run goes on (and after it was killed): a log whose first line is the
 *   journal as the run began (written atomically), and each further line one record: a change about to
 *   be applied (fdatasynced before the change starts), a change applied, a step finished. A record costs
 *   one write, and the write-ahead ones one fdatasync, where rewriting the whole journal atomically cost
 *   two fsyncs and a dozen file system calls (most of `eksnode init`'s step time, bench/init_bench.ts).
 *   A power cut may tear the last line: it is ignored, as the change it announced had not started.
 * - `<process>.json`, the journal of the last finished run, written atomically when the run finishes;
 *   the log is removed after it.
 */
import { dirname } from "node:path";
import type { AppendLog, Host } from "./host.ts";

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
  /**
   * Change keys whose triggers (restart a service whose config changed) are still owed: set by a
   * finished run that left them to a later one (`eksnode init --skip run`, the boot's config phase),
   * carried into the next run's `changed`, and dropped by the first run that finishes without keeping them.
   */
  pending?: string[];
}

/** One line of the log after its first: exactly one of the fields. */
interface JournalRecord {
  /** A change about to be applied (durable before it is). */
  applying?: string;
  /** A change applied. */
  applied?: string;
  /** A step finished. */
  step?: string;
}

/** Where a process's journal of its last finished run lives inside the root. */
export function journalPath(process: string): string {
  return `/var/lib/eksnode/journal/${process}.json`;
}

/** Where the log of a process's current (or killed) run lives inside the root. */
export function journalLogPath(process: string): string {
  return `/var/lib/eksnode/journal/${process}.wal`;
}

/** Parses a journal, or undefined when it is not one (treated as absent: changes are checked against the disk anyway). */
function parseJournal(text: string | undefined): JournalData | undefined {
  if (!text) return undefined;
  try {
    const data = JSON.parse(text) as JournalData;
    return data?.version === 1 && typeof data.runId === "string" ? data : undefined;
  } catch {
    return undefined;
  }
}

/** The journal a log describes: its first line with the records after it applied in order. */
function replay(log: string): JournalData | undefined {
  const [first, ...records] = log.split("\n");
  const data = parseJournal(first);
  if (!data) return undefined;
  data.applying ??= [];
  for (const line of records) {
    let r: JournalRecord;
    try {
      r = JSON.parse(line) as JournalRecord;
    } catch {
      continue; // the empty tail after the last newline, or a line torn by a power cut
    }
    if (typeof r?.applying === "string") data.applying.push(r.applying);
    if (typeof r?.applied === "string") applied(data, r.applied);
    if (typeof r?.step === "string") data.stepsDone.push(r.step);
  }
  return data;
}

function applied(data: JournalData, key: string): void {
  if (!data.changed.includes(key)) data.changed.push(key);
  data.applying = (data.applying ?? []).filter((k) => k !== key);
}

/**
 * The journal of a process's latest run, finished or not (undefined when there is none): its log while
 * one is there, unless the log belongs to the run the finished journal already records (a run killed
 * between writing that and removing its log).
 */
export async function readJournal(host: Host, process: string): Promise<JournalData | undefined> {
  const finished = parseJournal(await host.readText(journalPath(process)));
  const log = await host.readText(journalLogPath(process));
  const current = log === undefined ? undefined : replay(log);
  return current && current.runId !== finished?.runId ? current : finished;
}

/** Reads and writes one process's journal. */
export class Journal {
  private constructor(private host: Host, readonly data: JournalData, private log: AppendLog) {}

  /**
   * Opens a new run; when the previous run did not finish, returns it as `interrupted`. The changes an
   * interrupted run applied or began, or those a finished one left `pending`, start as this run's `changed`.
   */
  static async begin(
    host: Host,
    process: string,
  ): Promise<{ journal: Journal; interrupted?: JournalData; pending: string[] }> {
    const previous = await readJournal(host, process);
    const interrupted = previous && !previous.finished ? previous : undefined;
    const pending = previous?.finished ? previous.pending ?? [] : [];
    // A killed run may have left a temp beside a file of this directory that no later run writes again.
    if (interrupted) await host.sweepTemps(dirname(journalPath(process)));
    const now = new Date().toISOString();
    const data: JournalData = {
      version: 1,
      process,
      runId: crypto.randomUUID(),
      startedAt: now,
      updatedAt: now,
      finished: false,
      stepsDone: [],
      changed: interrupted
        ? [...new Set([...interrupted.changed, ...(interrupted.applying ?? [])])]
        : [...pending],
      applying: [],
      resumedFrom: interrupted?.runId,
    };
    // Replacing the log atomically keeps the interrupted run's records until this run's are in place.
    const log = await host.createLog(journalLogPath(process), JSON.stringify(data), { mode: 0o600 });
    return { journal: new Journal(host, data, log), interrupted, pending };
  }

  /** Records, durably, that a change is about to be applied. */
  async changeApplying(key: string): Promise<void> {
    this.data.applying = [...(this.data.applying ?? []), key];
    await this.log.append(JSON.stringify({ applying: key } satisfies JournalRecord), true);
  }

  /**
   * Records an applied change. Not synced: for a resumed run, "applying" (already on disk) and
   * "applied" both mean "may have changed".
   */
  async changeApplied(key: string): Promise<void> {
    applied(this.data, key);
    await this.log.append(JSON.stringify({ applied: key } satisfies JournalRecord), false);
  }

  /**
   * Records a finished step. Not synced: it holds nothing a resumed run needs (every change is checked
   * again, and triggers come from `changed` and `applying`).
   */
  async stepDone(id: string): Promise<void> {
    this.data.stepsDone.push(id);
    await this.log.append(JSON.stringify({ step: id } satisfies JournalRecord), false);
  }

  /**
   * Marks the run finished: the journal is written whole, and the log removed. With `keepPending`, every
   * change of the run (those carried in included) stays owed to the next run ({@link JournalData.pending}).
   */
  async finish(keepPending = false): Promise<void> {
    this.data.finished = true;
    if (keepPending && this.data.changed.length > 0) this.data.pending = [...this.data.changed];
    else delete this.data.pending;
    this.data.updatedAt = new Date().toISOString();
    await this.log.close();
    await this.host.writeFile(journalPath(this.data.process), JSON.stringify(this.data, null, 2) + "\n", {
      mode: 0o600,
    });
    // Were this lost to a power cut, the log left over belongs to the finished run and is ignored.
    await this.host.remove(journalLogPath(this.data.process));
  }
}
