/**
 * OpenSCAP on a baked root, offline: `oscap` with `OSCAP_PROBE_ROOT` (what `oscap-chroot` sets; Debian's
 * openscap-scanner does not ship that wrapper) and Debian's SCAP Security Guide content (ssg-debian, which
 * at 0.1.65 has Debian 10 and 11 content only, no CIS profile for Debian).
 *
 * The root is the boot test's cached Debian root (tests/e2e/debian_root.ts) when this machine has one, baked
 * by `eksnode ami` from the loopback mirror; else an empty root baked the same way. Two evaluations:
 * - `oscap xccdf eval --profile standard`: the content's CPE platform is Debian 11, so on any other root
 *   (bookworm, or no distribution at all) every rule is `notapplicable`; asserted, as docs/cis.md says;
 * - `oscap oval eval` of the same rules' OVAL definitions, which carry no platform check: each rule's
 *   true/false is printed, and the ones eksnode's bake must not break (ownership and modes of the account
 *   files, no telnet/NIS servers) are asserted true on a Debian root.
 * Without oscap or the content the test is ignored and says why.
 */
import assert from "node:assert/strict";
import { bakeDir } from "../../support/cli_fixtures.ts";
import { eksnode } from "../../support/cli_run.ts";
import { startMirror } from "../../../fakes/mirror.ts";
import { onPath } from "../../support/helpers.ts";
import { cacheBase, hostSuite } from "../../e2e/debian_root.ts";

const SSG = "/usr/share/xml/scap/ssg/content";
const DATASTREAM = `${SSG}/ssg-debian11-ds.xml`;
const OVAL = `${SSG}/ssg-debian11-oval.xml`;
const PROFILE = "xccdf_org.ssgproject.content_profile_standard";
const RULE = "xccdf_org.ssgproject.content_rule_";

const exists = (p: string) => {
  try {
    Deno.statSync(p);
    return true;
  } catch {
    return false;
  }
};
const missing = !onPath("oscap")
  ? "oscap is not installed (apt-get install openscap-scanner)"
  : !exists(DATASTREAM) || !exists(OVAL)
  ? `${DATASTREAM} is missing (apt-get install ssg-debian ssg-base)`
  : undefined;
if (missing) console.log(`openscap_test: ignored: ${missing}`);

/** A cached Debian root of the boot test for this machine's suite, if one was built. */
async function cachedDebianRoot(): Promise<string | undefined> {
  const suite = await hostSuite();
  try {
    for (const e of [...Deno.readDirSync(cacheBase())].sort((a, b) => a.name < b.name ? -1 : 1)) {
      const root = `${cacheBase()}/${e.name}/root`;
      if (e.name.startsWith(`${suite}-`) && exists(`${root}/etc/debian_version`)) return root;
    }
  } catch {
    // no cache directory
  }
  return undefined;
}

async function oscap(
  root: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command("oscap", {
    args,
    env: { OSCAP_PROBE_ROOT: root, LC_ALL: "C" },
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(5 * 60_000),
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test({
  name:
    "openscap: the standard profile of ssg-debian11 on a baked root (XCCDF: notapplicable; its OVAL checks)",
  ignore: missing !== undefined,
  fn: async () => {
    const mirror = await startMirror({});
    try {
      const { dir, args } = await bakeDir(mirror.bakeToml);
      const root = `${dir}/root`;
      const debian = await cachedDebianRoot();
      if (debian) {
        const cp = await new Deno.Command("cp", { args: ["-a", "--reflink=auto", debian, root] }).output();
        assert.ok(cp.success, new TextDecoder().decode(cp.stderr));
      }
      const bake = await eksnode(args(root), { env: { SOURCE_DATE_EPOCH: "1767225600" } });
      assert.equal(bake.code, 0, bake.stderr);
      const version = debian ? Deno.readTextFileSync(`${root}/etc/debian_version`).trim() : "none";
      console.log(
        `openscap_test: root ${debian ? `Debian ${version} (${debian})` : "empty (no cached Debian root)"}`,
      );

      const x = await oscap(root, ["xccdf", "eval", "--profile", PROFILE, DATASTREAM]);
      // 0: every rule passed or did not apply; 2: some failed; anything else is an error of oscap.
      assert.ok(x.code === 0 || x.code === 2, `oscap xccdf eval exit ${x.code}: ${x.stderr.slice(-500)}`);
      const rules = [...x.stdout.matchAll(/^Rule\s+(\S+)\s+Result\s+(\S+)/gm)]
        .map((m) => ({ rule: m[1].replace(RULE, ""), result: m[2] }));
      assert.ok(rules.length >= 40, `the profile's rules were evaluated:\n${x.stdout.slice(0, 500)}`);
      const results = new Set(rules.map((r) => r.result));
      console.log(
        `openscap_test: xccdf ${PROFILE}: ${rules.length} rules, results ${[...results].join(", ")}`,
      );
      if (!/^1[01]\./.test(version)) {
        assert.deepEqual([...results], ["notapplicable"], "content is for Debian 11");
      }

      const o = await oscap(root, ["oval", "eval", OVAL]);
      assert.equal(o.code, 0, o.stderr.slice(-500));
      const defs = new Map(
        [...o.stdout.matchAll(/^Definition oval:ssg-(\S+):def:1: (\S+)$/gm)].map((m) => [m[1], m[2]]),
      );
      const table = rules.map((r) => `${defs.get(r.rule) ?? "(no definition)"}\t${r.rule}`);
      console.log(`openscap_test: oval definitions of the profile's rules:\n${table.join("\n")}`);
      assert.ok(rules.every((r) => defs.has(r.rule)), "every rule of the profile has its OVAL definition");
      if (debian) {
        for (
          const rule of rules.map((r) => r.rule).filter((r) =>
            /^file_(groupowner|owner|permissions)_etc_/.test(r)
          )
        ) {
          assert.equal(defs.get(rule), "true", rule);
        }
        for (
          const rule of [
            "package_telnetd_removed",
            "package_nis_removed",
            "package_inetutils-telnetd_removed",
          ]
        ) {
          assert.equal(defs.get(rule), "true", rule);
        }
      }
    } finally {
      await mirror.close();
    }
  },
});
