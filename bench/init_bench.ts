/**
 * `eksnode init`, config phase (steps 1-7: every file written, no systemctl) into a fresh temp root
 * against the simulated IMDS, with a complete NodeConfig in user data (no EKS call), against `deno run`
 * of an empty script; peak RSS of the init process; and the time of each phase and step. As at a real
 * boot, the node name comes from EC2 DescribeInstances (a loopback fake) signed with the instance role's
 * credentials, which the SDK's credential chain reads from the simulated IMDS (no keys in the
 * environment). Measured for the released form (the bundle build.ts compiles) and, beside it, for
 * main.ts run from source.
 * Targets: <= 3x, peak RSS <= 120 MiB.
 */
import { bakedRoot } from "../fakes/baked_root.ts";
import { start as startEc2 } from "../fakes/ec2.ts";
import { defaultMetadata, start as startImds } from "../fakes/imds.ts";
import { TEST_CA_PEM } from "../fakes/node_settings.ts";
import { cliForms, denoRun, eventTime, jsonLines, measureOk, stepPhases } from "./lib/proc.ts";
import { markdownTable, type Section } from "./lib/report.ts";
import { fmt, fmtMs, fmtRatio, pairedRatios, summarize } from "./lib/stats.ts";
import { emptyScript } from "./startup_bench.ts";

/** The user data of a node whose NodeConfig names the cluster completely (as EKS managed node groups do). */
const USER_DATA = `apiVersion: node.eks.aws/v1alpha1
kind: NodeConfig
spec:
  cluster:
    name: bench-cluster
    apiServerEndpoint: https://0123456789ABCDEF0123456789ABCDEF.gr7.us-west-2.eks.amazonaws.com
    certificateAuthority: ${btoa(TEST_CA_PEM)}
    cidr: 10.100.0.0/16
`;

/** Phases of one init run in seconds, from its JSON log's timestamps and the parent's clock. */
function phases(stdout: string, spawnedAt: number, endedAt: number): Map<string, number> {
  const events = jsonLines(stdout);
  const settings = events.find((e) => e.event === "init.settings");
  const start = events.find((e) => e.event === "run.start");
  const done = events.find((e) => e.event === "run.done");
  if (!settings || !start || !done) throw new Error("init log lacks init.settings, run.start or run.done");
  return new Map([
    ["start-up and inputs (module loading, IMDS, user data)", (eventTime(settings) - spawnedAt) / 1000],
    ["journal", (eventTime(start) - eventTime(settings)) / 1000],
    ...stepPhases(events, eventTime(start), endedAt),
  ]);
}

/** The ms init's log gives for its DescribeInstances call, if it made one. */
function describeInstancesMs(stdout: string): number | undefined {
  for (const e of jsonLines(stdout)) {
    const m = /read with DescribeInstances in ([0-9]+) ms/.exec(String(e.msg ?? e.message ?? ""));
    if (m) return Number(m[1]);
  }
  return undefined;
}

/** Runs the init figures. */
export async function initBench(reps: number): Promise<Section> {
  const empty = await emptyScript();
  const forms = await cliForms();
  const role = "bench-node-role";
  const imds = startImds({
    userData: USER_DATA,
    metadata: {
      ...defaultMetadata(),
      "meta-data/iam/security-credentials/": role,
      [`meta-data/iam/security-credentials/${role}`]: JSON.stringify({
        Code: "Success",
        Type: "AWS-HMAC",
        AccessKeyId: "ASIABENCHROLE",
        SecretAccessKey: "bench-secret-not-real",
        Token: "bench-session-token",
        Expiration: new Date(Date.now() + 6 * 3600_000).toISOString(),
      }),
    },
  });
  const ec2 = startEc2();
  const env = {
    AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url,
    AWS_ENDPOINT_URL_EC2: ec2.url,
    AWS_REGION: "us-west-2",
    // The credential chain must not find a profile on the benchmarking machine.
    AWS_CONFIG_FILE: "/nonexistent/config",
    AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/credentials",
    EKSNODE_FIPS: "false",
    EKSNODE_PREFIX_DELEGATION: "false",
    NO_COLOR: "1",
  };
  const roots: string[] = [];
  const initOnce = async (main: string) => {
    const root = await bakedRoot("eksnode-bench-init-");
    roots.push(root);
    const spawnedAt = Date.now();
    const m = await measureOk(
      denoRun(main, "init", "--root", root, "--skip", "8-9", "--output", "json"),
      { env, rss: true },
    );
    return { m, phases: phases(m.stdout, spawnedAt, Date.now()) };
  };
  try {
    await initOnce(forms.released); // warm-up (transpile and code caches)
    await initOnce(forms.source);
    await measureOk(denoRun(empty.path), { rss: true });
    const base: number[] = [];
    const init: number[] = [];
    const fromSource: number[] = [];
    const rss: number[] = [];
    const baseRss: number[] = [];
    const byPhase = new Map<string, number[]>();
    const describeMs: number[] = [];
    for (let i = 0; i < reps; i++) {
      const b = await measureOk(denoRun(empty.path), { rss: true });
      base.push(b.seconds);
      if (b.peakRssMiB !== undefined) baseRss.push(b.peakRssMiB);
      const r = await initOnce(forms.released);
      init.push(r.m.seconds);
      fromSource.push((await initOnce(forms.source)).m.seconds);
      if (r.m.peakRssMiB !== undefined) rss.push(r.m.peakRssMiB);
      for (const [k, v] of r.phases) byPhase.set(k, [...(byPhase.get(k) ?? []), v]);
      const ms = describeInstancesMs(r.m.stdout);
      if (ms !== undefined) describeMs.push(ms / 1000);
    }
    const ratio = pairedRatios(init, base);
    const sourceRatio = pairedRatios(fromSource, base);
    const rssStats = rss.length ? summarize(rss) : undefined;
    const breakdown = markdownTable(
      ["phase of `eksnode init --skip 8-9`", "ms: median (min–max)"],
      [...byPhase].map(([k, v]) => [k, fmtMs(summarize(v)).replace(" ms", "")]),
    );
    return {
      title: "eksnode init (config phase)",
      rows: [
        {
          figure: "`eksnode init` config phase (steps 1-7, no systemctl) into a temp root, simulated IMDS " +
            "(released form: the bundle build.ts compiles)",
          baseline: `empty-script start-up: ${fmtMs(summarize(base))}`,
          result: `${fmtRatio(ratio)}; ${fmtMs(summarize(init))}`,
          target: "<= 3x",
          met: ratio.median <= 3,
        },
        {
          figure: "same, from source (`deno run main.ts`)",
          baseline: "same",
          result: `${fmtRatio(sourceRatio)}; ${fmtMs(summarize(fromSource))}`,
          target: "-",
        },
        {
          figure: "of that init: the node name from EC2 DescribeInstances (credential chain, role " +
            "credentials from IMDS, one signed call; overlaps the IMDS reads)",
          baseline: "-",
          result: describeMs.length ? fmtMs(summarize(describeMs)) : "not logged",
          target: "-",
        },
        {
          figure: "peak RSS of that init (released form)",
          baseline: baseRss.length ? `empty script: ${fmt(summarize(baseRss), " MiB", 0)}` : "-",
          result: rssStats ? fmt(rssStats, " MiB", 0) : "not measured (no /usr/bin/time)",
          target: "<= 120 MiB",
          met: rssStats ? rssStats.max <= 120 : undefined,
        },
      ],
      details: [
        "Where the time of one `eksnode init` (released form) goes (timestamps of its JSON log; the first",
        "phase includes process start, module loading, the IMDSv2 reads and the user data parse):",
        "",
        breakdown,
      ],
    };
  } finally {
    await Promise.all([imds.close(), ec2.close()]);
    await empty.dispose();
    for (const r of roots) await Deno.remove(r, { recursive: true });
  }
}

if (import.meta.main) {
  const s = await initBench(Number(Deno.env.get("BENCH_REPS") ?? 5));
  console.log(s.rows);
  console.log(s.details?.join("\n"));
}
