/**
 * /etc/logrotate.conf as in the EKS AMIs (assets/templates/logrotate.conf cites the source),
 * checked with `logrotate -d` before it is installed when logrotate exists here.
 */
import { dirname, join } from "node:path";
import logrotateConf from "../../assets/templates/logrotate.conf" with { type: "text" };
import { checkedFile, dir, file, note, type ValidationResult } from "../../lib/changes.ts";
import type { Host } from "../../lib/host.ts";
import type { Change } from "../../lib/step.ts";
import type { AmiStepDef } from "./context.ts";
import { expectDir, expectFile } from "../../eks/verify/expected_path.ts";

/** The file's content. */
export const LOGROTATE_CONF: string = logrotateConf;

/**
 * Runs `logrotate -d` (debug: reads, rotates nothing) on the candidate, with its `include
 * /etc/logrotate.d` pointed at the one under --root and a throwaway state file.
 */
export async function validateLogrotate(
  logrotate: string,
  candidate: string,
  host: Host,
): Promise<ValidationResult> {
  // The candidate sits alone in a scratch directory (lib/changes.ts Validator): work files go beside it.
  const tmp = join(dirname(candidate), "logrotate.eksnode-check");
  await Deno.mkdir(tmp);
  try {
    const text = (await Deno.readTextFile(candidate)).replace(
      /^include \/etc\/logrotate\.d$/m,
      `include ${host.real("/etc/logrotate.d")}`,
    );
    const conf = `${tmp}/logrotate.conf`;
    await Deno.writeTextFile(conf, text, { mode: 0o644 });
    const r = await host.exec([logrotate, "-d", "-s", `${tmp}/status`, conf], {
      allowFailure: true,
      timeoutMs: 30_000,
    });
    const errors = (r.stdout + "\n" + r.stderr).split("\n").filter((l) => /^error:/.test(l.trim()));
    if (r.code === 0 && errors.length === 0) return { ok: true };
    return { ok: false, detail: errors.join(" | ").replaceAll(conf, "logrotate.conf") || `exit ${r.code}` };
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

/** The step. */
export const step: AmiStepDef = {
  title: "Install /etc/logrotate.conf",
  group: "Linux",
  leaves: [expectDir("/etc/logrotate.d"), expectFile("/etc/logrotate.conf")],
  async plan(ctx) {
    const out: Change[] = [dir("/etc/logrotate.d")];
    const logrotate = (await ctx.host.which("logrotate")) ?? (await ctx.host.which("/usr/sbin/logrotate"));
    if (!logrotate) {
      out.push(
        note("logrotate not found on this machine: /etc/logrotate.conf is not checked with logrotate -d"),
      );
      out.push(file("/etc/logrotate.conf", LOGROTATE_CONF));
    } else {
      out.push(
        checkedFile(
          "/etc/logrotate.conf",
          LOGROTATE_CONF,
          {},
          "logrotate -d",
          (c, h) => validateLogrotate(logrotate, c, h),
        ),
      );
    }
    return out;
  },
};
