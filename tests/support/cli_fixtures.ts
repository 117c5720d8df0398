/**
 * Setups shared by the tests that run `eksnode ami` and `eksnode init` through the real CLI against the
 * loopback fakes (faults, transport and secrets, file modes): a bake directory with its config and a
 * stand-in binary, a root baked just enough for init, NodeConfig user data, the fakes of one instance,
 * and the assertions on what a run printed and left on disk.
 */
import { tempDir } from "../../fakes/temp.ts";
import assert from "node:assert/strict";
import { type CliResult, eksnode } from "./cli_run.ts";
import { BAKED, bakedRoot } from "../../fakes/baked_root.ts";
import * as fakeEc2 from "../../fakes/ec2.ts";
import * as fakeEks from "../../fakes/eks.ts";
import * as fakeImds from "../../fakes/imds.ts";
import { TEST_CA_PEM } from "../../fakes/node_settings.ts";
import { walkTree } from "./helpers.ts";

/**
 * The one `error:` line of a failed run (asserting there is exactly one and no stack), and the exit code.
 * Under `--output json` the error is a JSON record (event run.error); its message is read as the line.
 */
export function assertFailed(run: CliResult, exit: number, line: RegExp): string {
  const errors = run.stderr.split("\n").flatMap((l) => {
    if (l.startsWith("error: ")) return [l];
    if (!l.startsWith("{")) return [];
    const record = JSON.parse(l);
    if (record.event !== "run.error") return [];
    assert.equal(record.exitCode, exit, l);
    return [`error: ${record.msg}`];
  });
  assert.equal(run.code, exit, `exit ${run.code}, expected ${exit}\n${run.stdout}\n${run.stderr}`);
  assert.equal(errors.length, 1, `one error line in:\n${run.stderr}`);
  assert.match(errors[0], line);
  assert.doesNotMatch(run.stderr, /^\s+at /m, "no stack trace without --debug");
  return errors[0];
}

/** Regular files and symlinks under `root` (in-root paths, sorted); directories are not listed. */
export async function filesUnder(root: string): Promise<string[]> {
  const out: string[] = [];
  for await (const { path, info } of walkTree(root)) if (!info.isDirectory) out.push(path);
  return out.sort();
}

// ---------------------------------------------------------------------------------------------
// ami

/** A temp bake directory: `bake.toml` and a stand-in eksnode binary; `args` builds an `ami` command line. */
export async function bakeDir(
  bakeToml: string,
): Promise<{ dir: string; args: (root: string, ...more: string[]) => string[] }> {
  const dir = await tempDir({ prefix: "eksnode-bake-" });
  await Deno.writeTextFile(`${dir}/bake.toml`, bakeToml);
  await Deno.writeTextFile(`${dir}/eksnode-binary`, "#!/bin/sh\n# stand-in eksnode binary for tests\n");
  return {
    dir,
    args: (root, ...more) => [
      "ami",
      "--root",
      root,
      "--config",
      `${dir}/bake.toml`,
      "--self",
      `${dir}/eksnode-binary`,
      ...more,
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// init

/** The CA of the test clusters, as NodeConfig carries it. */
export const CA_B64 = btoa(TEST_CA_PEM);
/** An API server endpoint of the shape EKS hands out. */
export const ENDPOINT = "https://0123456789ABCDEF0123456789ABCDEF.gr7.us-west-2.eks.amazonaws.com";

/** What `eksnode ami` leaves that init reads (fakes/baked_root.ts). */
export const INIT_BAKED: Readonly<Record<string, string>> = BAKED;

/**
 * NodeConfig user data for cluster "prod"; with `full`, endpoint, CA and CIDR too (no DescribeCluster).
 * `spec` is YAML appended under `spec:` (two-space indented).
 */
export function nodeConfigUserData(full: boolean, spec = ""): string {
  const cluster = full
    ? `    name: prod\n    apiServerEndpoint: ${ENDPOINT}\n    certificateAuthority: ${CA_B64}\n    cidr: 10.100.0.0/16\n`
    : "    name: prod\n";
  return `apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  cluster:\n${cluster}${spec}`;
}

/** How the instance and its cloud behave for one init run. */
export interface InitCloud {
  imds?: fakeImds.FakeImdsOptions;
  eks?: fakeEks.FakeEksOptions;
  ec2?: fakeEc2.FakeEc2Options;
  /** Extra environment (IMDS timeouts, keys) and arguments. */
  env?: Record<string, string>;
  args?: string[];
  /** IMDS endpoint to use instead of the fake (e.g. a port nothing listens on). */
  imdsUrl?: string;
  /** The root to run in (default: a fresh baked root, fakes/baked_root.ts). */
  root?: string;
}

/** One init run and the fakes it talked to. */
export interface InitRun {
  run: CliResult;
  root: string;
  imds: fakeImds.FakeImds;
  eks: ReturnType<typeof fakeEks.start>;
  ec2: ReturnType<typeof fakeEc2.start>;
}

/**
 * Runs `eksnode init --root R ARGS` in an isolated environment against a fake IMDS (m5.large in
 * us-west-2) and a fake EKS knowing cluster "prod". Unless `imds.userData` says otherwise, user data is
 * a complete NodeConfig, or a name-only one when `eks` options are given (so DescribeCluster is called).
 */
export async function runInit(c: InitCloud = {}): Promise<InitRun> {
  const imds = fakeImds.start({ userData: nodeConfigUserData(c.eks === undefined), ...c.imds });
  const eks = fakeEks.start({ clusters: { prod: fakeEks.clusterJson("prod") }, ...c.eks });
  const ec2 = fakeEc2.start(c.ec2);
  const root = c.root ?? await bakedRoot("eksnode-init-");
  try {
    const run = await eksnode(["init", "--root", root, ...(c.args ?? [])], {
      isolated: true,
      env: {
        AWS_ACCESS_KEY_ID: "AKIDCLITEST",
        AWS_SECRET_ACCESS_KEY: "cli-test-secret",
        AWS_EC2_METADATA_SERVICE_ENDPOINT: c.imdsUrl ?? imds.url,
        AWS_ENDPOINT_URL_EKS: eks.url,
        AWS_ENDPOINT_URL_EC2: ec2.url,
        EKSNODE_FIPS: "false",
        EKSNODE_PREFIX_DELEGATION: "false",
        ...c.env,
      },
    });
    return { run, root, imds, eks, ec2 };
  } finally {
    await Promise.all([imds.close(), eks.close(), ec2.close()]);
  }
}
