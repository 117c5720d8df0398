/** The crash-test hook of the {@link Host}. */

/**
 * Test hook for the crash-consistency test (tests/lib/crash_test.ts, docs/crash-safety.md): every place
 * where the host is about to change, or has just changed, the disk or the system is a labelled point.
 * `EKSNODE_TEST_CRASH_AT=N` kills this process with a real SIGKILL at the Nth point, as a power cut
 * would; `N@LABEL` at the Nth point labelled LABEL (e.g. `2@write-renamed /usr/bin/kubelet`).
 * `EKSNODE_TEST_CRASH_LOG=FILE` appends `N label` for every point passed. Unset, they do nothing.
 */
export class CrashHook {
  /** Crash points passed so far, in all and by label. */
  private passed = 0;
  private readonly byLabel = new Map<string, number>();
  private readonly at: { n: number; label?: string } | undefined;
  private readonly log: string | undefined;

  constructor(env: Readonly<Record<string, string | undefined>>) {
    const at = /^(\d+)(?:@(.+))?$/s.exec(env.EKSNODE_TEST_CRASH_AT ?? "");
    this.at = at ? { n: Number(at[1]), label: at[2] } : undefined;
    this.log = env.EKSNODE_TEST_CRASH_LOG || undefined;
  }

  /** Passes the point `label`: logged, and the process killed when it is the chosen one. */
  point(label: string): void {
    if (!this.at && !this.log) return;
    this.passed++;
    const seen = (this.byLabel.get(label) ?? 0) + 1;
    this.byLabel.set(label, seen);
    if (this.log) {
      Deno.writeTextFileSync(this.log, `${this.passed} ${label}\n`, { append: true });
    }
    const at = this.at;
    if (at && (at.label === undefined ? at.n === this.passed : at.label === label && at.n === seen)) {
      Deno.kill(Deno.pid, "SIGKILL");
      // SIGKILL cannot be caught; the process ends before this line runs.
    }
  }
}
