/**
 * Sshd offers only strong ciphers, MACs and key exchanges, through a drop-in
 * (assets/templates/sshd-crypto.conf names the sources of the lists). The drop-in is checked with
 * `sshd -t` before it is installed when sshd exists on the machine running the bake.
 */
import { dirname, join } from "node:path";
import sshdCrypto from "../../assets/templates/sshd-crypto.conf" with { type: "text" };
import { checkedFile, file, note, type ValidationResult } from "../../lib/changes.ts";
import type { Host } from "../../lib/host.ts";
import type { Change } from "../../lib/step.ts";
import type { AmiStepDef } from "./context.ts";
import { SSHD_DROPIN } from "../../eks/paths/node.ts";
import { expectFile } from "../../eks/verify/expected_path.ts";

/** The drop-in's content. */
export const SSHD_CRYPTO: string = sshdCrypto;

/** sshd's complaint when its runtime dir is missing: it comes after the whole config was parsed. */
const PRIVSEP_MISSING = /^Missing privilege separation directory: \S+$/;

/**
 * Runs `sshd -t -f MAIN` where MAIN only includes the candidate drop-in. sshd reports syntax and
 * unknown-algorithm errors while parsing; a missing /run/sshd (only there while sshd runs) is
 * reported after parsing, so that alone counts as a pass, with a caveat.
 */
export async function validateSshdDropin(
  sshd: string,
  candidate: string,
  host: Host,
): Promise<ValidationResult> {
  // The candidate sits alone in a scratch directory (lib/changes.ts Validator): the main file goes beside it.
  const main = join(dirname(candidate), "sshd_config.eksnode-check");
  try {
    await Deno.writeTextFile(main, `Include ${candidate}\n`);
    const r = await host.exec([sshd, "-t", "-f", main], { allowFailure: true, timeoutMs: 30_000 });
    if (r.code === 0) return { ok: true };
    const lines = r.stderr.split("\n").map((l) => l.trim()).filter(Boolean);
    if (lines.length > 0 && lines.every((l) => PRIVSEP_MISSING.test(l))) {
      return {
        ok: true,
        detail: "parsed cleanly (sshd stopped at its missing runtime dir, which only exists while it runs)",
      };
    }
    return { ok: false, detail: lines.join(" | ").replaceAll(candidate, "the drop-in") || `exit ${r.code}` };
  } finally {
    await Deno.remove(main).catch(() => {});
  }
}

/** The step. */
export const step: AmiStepDef = {
  title: "Disable weak SSH ciphers, MACs and key exchanges",
  group: "Linux",
  leaves: [expectFile(SSHD_DROPIN, 0o600)],
  async plan(ctx) {
    const out: Change[] = [];
    const sshd = (await ctx.host.which("sshd")) ?? (await ctx.host.which("/usr/sbin/sshd"));
    const main = await ctx.host.readText("/etc/ssh/sshd_config");
    if (main !== undefined && !/^\s*Include\s+\S*sshd_config\.d\/\*\.conf/im.test(main)) {
      out.push(note(
        "/etc/ssh/sshd_config has no `Include /etc/ssh/sshd_config.d/*.conf` (e.g. Amazon Linux 2): the drop-in takes effect once it does",
      ));
    }
    if (!sshd) {
      out.push(note("sshd not found on this machine: the drop-in is not checked with sshd -t"));
      out.push(file(SSHD_DROPIN, SSHD_CRYPTO, { mode: 0o600 }));
    } else {
      out.push(
        checkedFile(
          SSHD_DROPIN,
          SSHD_CRYPTO,
          { mode: 0o600 },
          "sshd -t",
          (c, h) => validateSshdDropin(sshd, c, h),
        ),
      );
    }
    return out;
  },
};
