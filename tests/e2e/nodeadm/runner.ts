/**
 * Runs one nodeadm e2e case (spec.ts) against the real CLI: a temp node root set up as nodeadm's test
 * image (kubelet and containerd of the case's versions, its units, its 2 CPUs), the case's IMDS and AWS
 * API on loopback, each run as `eksnode init --root ROOT ...` (or `eksnode config check`), then every
 * expectation checked on what the daemons would see, and proved able to fail on a wrong expected value.
 */
import { eksnode, MAIN } from "../../support/cli_run.ts";
import { deadPort, fetchablePort } from "../../../fakes/common.ts";
import { type Check, evaluate } from "./checks.ts";
import {
  aemmInstance,
  forwarder,
  type ProxyEntry,
  startAws,
  startBlackhole,
  startInstanceImds,
  startProxy,
} from "./cloud.ts";
import type { Case, Image, Run } from "./spec.ts";

const HERE = new URL("./", import.meta.url).pathname;
/** The copied cases (tests/e2e/nodeadm/cases/NAME). */
export const CASES_DIR = `${HERE}cases`;

/**
 * The cluster CA nodeadm writes for its cases: every case's certificateAuthority is base64 of this word,
 * and nodeadm (like eksnode) writes the decoded bytes as they are.
 */
const CASE_CA = atob("Y2VydGlmaWNhdGVBdXRob3JpdHk=");

const CONTAINERD_RELEASE: Record<NonNullable<Image["containerd"]>, string> = {
  "1.7": "1.7.27",
  "2.0": "2.0.5",
};

async function write(root: string, path: string, text: string, mode = 0o644): Promise<void> {
  await Deno.mkdir(`${root}${path.slice(0, path.lastIndexOf("/"))}`, { recursive: true });
  await Deno.writeTextFile(`${root}${path}`, text, { mode });
  await Deno.chmod(`${root}${path}`, mode);
}

/**
 * nodeadm's test image as eksnode's image would carry it: /etc/eks/release with the kubelet and
 * containerd versions (eksnode's record of what it baked), `kubelet`/`containerd --version` stand-ins
 * (nodeadm's `mock::kubelet`), the stock kubelet and containerd units, runc, the ECR credential
 * provider, the nvidia-ctk mock, and the 2 CPUs of nodeadm's /sys mock.
 */
async function setImage(root: string, image: Required<Image>): Promise<void> {
  const containerd = CONTAINERD_RELEASE[image.containerd];
  await write(
    root,
    "/etc/eks/release",
    `KUBERNETES_VERSION='${image.kubelet}'\nCONTAINERD_VERSION='${containerd}'\n`,
  );
  await write(
    root,
    "/usr/bin/kubelet",
    `#!/usr/bin/env bash\nif [ "$1" = "--version" ]; then echo "Kubernetes v${image.kubelet}"; else sleep infinity; fi\n`,
    0o755,
  );
  const module = image.containerd === "2.0"
    ? "github.com/containerd/containerd/v2"
    : "github.com/containerd/containerd";
  await write(
    root,
    "/usr/bin/containerd",
    `#!/usr/bin/env bash\nif [ "$1" = "--version" ]; then echo "containerd ${module} v${containerd} 0000000"; fi\n`,
    0o755,
  );
}

async function baseImage(root: string): Promise<void> {
  for (const unit of ["kubelet.service", "containerd.service"]) {
    await write(
      root,
      `/usr/lib/systemd/system/${unit}`,
      await Deno.readTextFile(`${HERE}infra/systemd/${unit}`),
    );
  }
  await write(root, "/usr/bin/nvidia-ctk", await Deno.readTextFile(`${HERE}infra/nvidia-ctk`), 0o755);
  await write(root, "/usr/sbin/runc", "#!/bin/sh\n", 0o755);
  await write(root, "/etc/eks/image-credential-provider/ecr-credential-provider", "", 0o755);
  await write(
    root,
    "/proc/cpuinfo",
    "processor\t: 0\nmodel name\t: test\n\nprocessor\t: 1\nmodel name\t: test\n",
  );
  await write(root, "/etc/hosts", AL2023_HOSTS);
}

/** Amazon Linux 2023's /etc/hosts (setup package): `localhost` is only 127.0.0.1 in it. */
const AL2023_HOSTS = "127.0.0.1   localhost localhost.localdomain localhost4 localhost4.localdomain4\n" +
  "::1         localhost6 localhost6.localdomain6\n";

/**
 * The resolver of nodeadm's test container for the one name a case looks up (Outposts pins the API
 * server's addresses): Docker's /etc/hosts maps localhost to 127.0.0.1 and ::1. A `getent` on the CLI's
 * PATH answering as glibc's would, so the result does not depend on this machine's resolver.
 */
const GETENT = `#!/bin/sh
# getent [-s hosts:SERVICES] ahosts|hosts NAME, answered from nodeadm's container /etc/hosts
while [ "$1" = "-s" ]; do shift 2; done
db=$1; name=$2
[ "$name" = localhost ] || exit 2
if [ "$db" = ahosts ]; then
  printf '127.0.0.1       STREAM localhost\n127.0.0.1       DGRAM  \n127.0.0.1       RAW    \n'
  printf '::1             STREAM \n::1             DGRAM  \n::1             RAW    \n'
else
  printf '::1             localhost\n'
fi
`;

/**
 * Copies the case directory as it is: nodeadm's inputs unedited, its placeholder certificateAuthority
 * (base64 of the word) and plain-http endpoints included, which eksnode accepts with a warning as nodeadm
 * accepts them.
 */
async function copyCase(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyCase(`${from}/${e.name}`, `${to}/${e.name}`);
    else await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

/** The command line of a run (without `--root`). */
function argvOf(run: Run, caseDir: string, root: string): string[] {
  const sources = (run.sources ?? []).flatMap((s) => {
    const uri = s.includes("://")
      ? s
      : s.startsWith("root:")
      ? `file://${root}${s.slice(5)}`
      : `file://${caseDir}/${s}`;
    return ["--config-source", uri];
  });
  if (run.command === "config check") return ["config", "check", ...sources];
  const args = ["init", "--root", root, ...sources];
  // nodeadm's `--skip run` (config only, no daemon started): under --root eksnode enables units with
  // `systemctl --root` and starts nothing, which is the same for the daemons. `--skip config` has no
  // such equivalent and is passed on as a phase.
  if (run.skip?.includes("config")) args.push("--skip", "config");
  // Like every path of `init --root`, the cache path is inside the root.
  if (run.configCache) args.push("--config-cache", run.configCache);
  return args;
}

/** What one case proved. */
export interface CaseResult {
  runs: number;
  checks: number;
  /** Checks whose deliberately wrong expected value was caught (must equal `checks`). */
  caught: number;
}

function fail(message: string): never {
  throw new Error(message);
}

/**
 * Runs a case; throws on the first difference, naming the run and the view. `editCase` may change the
 * case's copied files first (the harness's own tests make an expected file wrong with it).
 */
export async function runCase(
  c: Case,
  opts: { editCase?: (dir: string) => Promise<void> } = {},
): Promise<CaseResult> {
  const work = await Deno.makeTempDir({ prefix: `eksnode-nodeadm-${c.name}-` });
  const caseDir = `${work}/case`;
  const root = `${work}/root`;
  const closers: (() => unknown)[] = [];
  const result: CaseResult = { runs: 0, checks: 0, caught: 0 };
  try {
    await copyCase(`${CASES_DIR}/${c.name}`, caseDir);
    await opts.editCase?.(caseDir);
    await Deno.mkdir(`${work}/bin`);
    await Deno.writeTextFile(`${work}/bin/getent`, GETENT, { mode: 0o755 });
    await baseImage(root);
    const image: Required<Image> = { kubelet: "1.35.0", containerd: "1.7", ...c.image };
    await setImage(root, image);
    const imdsConfig = c.imds?.config
      ? `${caseDir}/${c.imds.config}`
      : `${HERE}infra/aemm-default-config.json`;
    const instance = await aemmInstance(imdsConfig, { instanceType: c.imds?.instanceType });
    const imds = await fetchablePort(() => startInstanceImds(instance));
    closers.push(() => imds.close());
    let awsUrl: string;
    if (c.aws === "blackhole") {
      const hole = await fetchablePort(startBlackhole);
      closers.push(() => hole.close());
      awsUrl = hole.url;
    } else {
      const aws = await fetchablePort(() => startAws(instance));
      closers.push(() => aws.close());
      // nodeadm's suite names its AWS mock as http://0.0.0.0:5000: not loopback to Go's proxy rules (only
      // localhost and 127/8, ::1 are exempt), so a case's HTTP_PROXY carries the API calls. 0.0.0.0 reaches
      // the fake on 127.0.0.1 here, and eksnode's proxy rules (eks/aws/call.ts proxyFor) are Go's.
      awsUrl = c.runs.some((r) => r.proxy) ? aws.url.replace("//127.0.0.1:", "//0.0.0.0:") : aws.url;
    }

    for (const [i, run] of c.runs.entries()) {
      const label = `${c.name} run ${i + 1}`;
      if (run.image) {
        Object.assign(image, run.image);
        await setImage(root, image);
      }
      for (const d of run.dirs ?? []) await Deno.mkdir(`${root}${d}`, { recursive: true });
      for (const [path, text] of Object.entries(run.before ?? {})) {
        if (text === null) await Deno.remove(`${root}${path}`).catch(() => {});
        else await write(root, path, text);
      }
      for (const [path, file] of Object.entries(run.copy ?? {})) {
        await write(root, path, await Deno.readTextFile(`${caseDir}/${file}`));
      }

      let imdsUrl = imds.url;
      let lateImds: ReturnType<typeof forwarder> | undefined;
      let lateTimer: ReturnType<typeof setTimeout> | undefined;
      if (run.noImds || run.imdsStartsAfter !== undefined) {
        const port = deadPort();
        imdsUrl = `http://127.0.0.1:${port}`;
        if (run.imdsStartsAfter !== undefined) {
          lateTimer = setTimeout(() => {
            lateImds = forwarder(port, imds.url);
          }, run.imdsStartsAfter * 1000);
        }
      }
      let proxy: ReturnType<typeof startProxy>;
      if (run.proxy) {
        proxy = startProxy(8080);
        if (!proxy) fail(`${label}: port 8080 (HTTP_PROXY of the case's user data) is taken on this machine`);
      }
      const argv = argvOf(run, caseDir, root);
      const env: Record<string, string> = {
        // helpers.sh of nodeadm's e2e suite
        AWS_ACCESS_KEY_ID: "testing",
        AWS_SECRET_ACCESS_KEY: "testing",
        AWS_SESSION_TOKEN: "testing",
        AWS_REGION: "us-east-1",
        AWS_ENDPOINT_URL: awsUrl,
        AWS_EC2_METADATA_SERVICE_ENDPOINT: imdsUrl,
        // eksnode's own switches read from the environment: fixed so the machine does not decide
        EKSNODE_FIPS: "false",
        EKSNODE_PREFIX_DELEGATION: "false",
        PATH: `${work}/bin:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
        ...run.env,
      };
      const started = performance.now();
      let out;
      try {
        if (run.stillRunningAfter !== undefined) {
          out = await runAndKill(argv, env, run.stillRunningAfter);
        } else {
          out = await eksnode(argv, { isolated: true, env });
        }
      } finally {
        if (lateTimer !== undefined) clearTimeout(lateTimer);
        await lateImds?.close();
        await proxy?.close();
      }
      const seconds = (performance.now() - started) / 1000;
      result.runs++;
      const said = `\n$ eksnode ${argv.join(" ")}\nexit ${out.code}\n${out.stdout}\n${out.stderr}`;
      if (run.stillRunningAfter !== undefined && out.code !== -1) {
        fail(`${label}: ended (exit ${out.code}) before ${run.stillRunningAfter}s${said}`);
      }
      if (run.exit === "ok" && out.code !== 0) fail(`${label}: expected success${said}`);
      if (run.exit === "fail" && out.code === 0) fail(`${label}: expected a failure${said}`);
      if (run.seconds?.min !== undefined && seconds < run.seconds.min) {
        fail(`${label}: took ${seconds.toFixed(1)}s, nodeadm takes at least ${run.seconds.min}s${said}`);
      }
      if (run.seconds?.max !== undefined && seconds > run.seconds.max) {
        fail(`${label}: took ${seconds.toFixed(1)}s, nodeadm at most ${run.seconds.max}s${said}`);
      }
      for (const e of run.expect ?? []) {
        let check: Check;
        try {
          check = await evaluate(e, {
            root,
            caseDir,
            caPem: CASE_CA,
            awsUrl,
            kubeletVersion: image.kubelet,
            proxyLog: proxy?.log as ProxyEntry[] | undefined,
          });
        } catch (err) {
          fail(`${label}: ${e.kind}: ${(err as Error).message}${said}`);
        }
        const diff = check.compare(check.expected);
        result.checks++;
        if (diff.length) {
          fail(`${label}: ${check.title} differs from nodeadm's:\n  ${diff.join("\n  ")}${said}`);
        }
        if (check.compare(check.wrong).length === 0) {
          fail(`${label}: ${check.title}: the check did not notice a wrong expected value (harness bug)`);
        }
        result.caught++;
      }
    }
    return result;
  } finally {
    for (const close of closers.reverse()) await close();
    await Deno.remove(work, { recursive: true });
  }
}

/** Starts the CLI, waits `seconds`, and kills it if still running (code -1 then). */
async function runAndKill(
  argv: string[],
  env: Record<string, string>,
  seconds: number,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--quiet", MAIN, ...argv],
    cwd: "/",
    clearEnv: true,
    env: { HOME: Deno.env.get("HOME") ?? "/", NO_COLOR: "1", ...denoEnv(), ...env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let done = false;
  const status = child.status.then((s) => {
    done = true;
    return s;
  });
  await Promise.race([status, new Promise((r) => setTimeout(r, seconds * 1000))]);
  const stillRunning = !done;
  if (stillRunning) child.kill("SIGKILL");
  const out = await child.output();
  const dec = new TextDecoder();
  return {
    code: stillRunning ? -1 : out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  };
}

function denoEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ["DENO_DIR", "XDG_CACHE_HOME"]) {
    const v = Deno.env.get(k);
    if (v !== undefined) out[k] = v;
  }
  return out;
}
