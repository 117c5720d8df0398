/**
 * AL2023 phase with `--fips`: FIPS mode, as templates/al2023/provisioners/enable-fips.sh @ 81fec2e8
 * does with `enable_fips`: crypto-policies and crypto-policies-scripts installed, then
 * `fips-mode-setup --enable` on the build instance (the FIPS crypto policy at once, `fips=1` on every boot
 * entry, so the node's kernel starts in FIPS mode, which nodeadm and `eksnode init` read from
 * /proc/sys/crypto/fips_enabled). Under another --root a note says what is left: fips-mode-setup works on the
 * running system only. With apt a note: Debian has no FIPS-validated modules, Ubuntu's are Ubuntu Pro's.
 */
import { note } from "../../lib/changes.ts";
import { CRYPTO_POLICY_CONFIG, FIPS_ENABLE, FIPS_PACKAGES, fipsPolicy } from "../../eks/image/security.ts";
import type { AmiStepDef } from "./context.ts";
import { installPackages, notThisVariant, onBuildInstance } from "./variant_changes.ts";

export const step: AmiStepDef = {
  title: "FIPS mode: the FIPS crypto policy, fips=1 on every boot entry (fips-mode-setup)",
  group: "AL2023",
  downloads: false,
  async plan(ctx) {
    if (!ctx.bake.fips) return notThisVariant("FIPS mode", "--fips");
    if (ctx.packageManager === "apt") {
      return [
        note(
          "FIPS mode not set: Debian ships no FIPS-validated modules and Ubuntu's come with Ubuntu Pro (pro enable fips), outside eksnode",
        ),
      ];
    }
    return [
      ...await installPackages(ctx, FIPS_PACKAGES),
      onBuildInstance(ctx, [...FIPS_ENABLE], {
        why: "the FIPS crypto policy now and fips=1 on every boot entry: the node boots in FIPS mode",
        key: "fips:enabled",
        check: async ({ host }) => fipsPolicy(await host.readText(CRYPTO_POLICY_CONFIG)),
      }),
    ];
  },
};
