/**
 * `eksnode init` on a local Outposts cluster: the API server's addresses pinned in <root>/etc/hosts.
 * Through the real CLI with the real `getent` (the endpoint names a host of this machine's own /etc/hosts,
 * which is only read), and in-process with a stand-in lookup for an Outpost that loses its connection.
 */
import { tempDir } from "../../../fakes/temp.ts";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { gatherInputs } from "../../../cli/init_inputs.ts";
import { getentAddresses, type HostLookup } from "../../../eks/system/api_server_hosts.ts";
import { Host } from "../../../lib/host.ts";
import { memoryLogger } from "../../../lib/log.ts";
import { runSteps } from "../../../lib/runner.ts";
import { INIT_STEPS } from "../../../steps/init/index.ts";
import { eksnode } from "../../support/cli_run.ts";
import * as fakeEc2 from "../../../fakes/ec2.ts";
import * as fakeImds from "../../../fakes/imds.ts";
import { TEST_CA_PEM } from "../../../fakes/node_settings.ts";

const REPO = fileURLToPath(new URL("../../..", import.meta.url));
const CA = btoa(TEST_CA_PEM);
const GETENT = await (await Host.open("/")).which("getent");

/** A name this machine's /etc/hosts gives (so no network is needed), or undefined. */
async function localName(): Promise<string | undefined> {
  const text = await Deno.readTextFile("/etc/hosts").catch(() => "");
  return text.split("\n").map((l) => l.replace(/#.*/, "").trim().split(/\s+/)).find((f) => f.length > 1)?.[1]
    ?.toLowerCase();
}

async function tempRoot(): Promise<string> {
  const root = await tempDir({ prefix: "eksnode-outposts-" });
  await Deno.mkdir(`${root}/etc/eks`, { recursive: true });
  await Deno.writeTextFile(`${root}/etc/eks/release`, "KUBERNETES_VERSION='1.32.3'\n");
  return root;
}

/** The lines of our block, without its markers. */
function blockLines(hosts: string): string[] {
  const m = /# BEGIN eksnode[^\n]*\n([\s\S]*?)# END eksnode/.exec(hosts);
  return m ? m[1].split("\n").filter((l) => l) : [];
}

Deno.test({
  name:
    "init (CLI, real getent): step 5 pins the API server host in <root>/etc/hosts; a rerun changes nothing",
  ignore: GETENT === undefined,
  async fn() {
    const name = await localName();
    assert.ok(name, "this machine's /etc/hosts names a host");
    const root = await tempRoot();
    const own = "127.0.0.1 localhost\n10.1.1.1 registry.internal\n";
    await Deno.writeTextFile(`${root}/etc/hosts`, own);
    const imds = fakeImds.start();
    const ec2 = fakeEc2.start();
    try {
      const args = [
        "init",
        "prod",
        `--apiserver-endpoint=https://${name}:443`,
        `--b64-cluster-ca=${CA}`,
        "--enable-local-outpost=true",
        "--cluster-id=7a8e9b1c-2d3f-4a5b-8c6d-0e1f2a3b4c5d",
        "--dns-cluster-ip=10.100.0.10",
        "--root",
        root,
        "--only",
        "5",
      ];
      const env = {
        AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url,
        AWS_ENDPOINT_URL_EC2: ec2.url,
        AWS_ACCESS_KEY_ID: "AKIDOUTPOSTSTEST",
        AWS_SECRET_ACCESS_KEY: "outposts-secret-not-real",
      };
      const first = await eksnode(args, { cwd: REPO, isolated: true, env });
      assert.equal(first.code, 0, first.stderr);
      const hosts = await Deno.readTextFile(`${root}/etc/hosts`);
      assert.ok(hosts.startsWith(own), hosts);
      const pinned = blockLines(hosts);
      const getent = await new Deno.Command("getent", { args: ["ahosts", name], stdout: "piped" }).output();
      const system = getentAddresses(new TextDecoder().decode(getent.stdout));
      assert.ok(pinned.length > 0, `pinned ${name}:\n${hosts}\n${first.stdout}${first.stderr}`);
      for (const line of pinned) {
        const [addr, host] = line.split("\t");
        assert.equal(host, name);
        assert.ok(system.includes(addr), `${addr} is one of getent's answers ${system}`);
      }
      assert.match(first.stdout + first.stderr, new RegExp(`${name.replaceAll(".", "\\.")} resolves to`));

      const again = await eksnode(args, { cwd: REPO, isolated: true, env });
      assert.equal(again.code, 0, again.stderr);
      assert.equal(await Deno.readTextFile(`${root}/etc/hosts`), hosts, "a rerun writes the same file");

      // `eksnode verify --phase init` has a row for the pin (this partial tree fails other rows, not this one;
      // verify wants the image's release.json first).
      await Deno.writeTextFile(`${root}/etc/eks/release.json`, JSON.stringify({ artifacts: [] }));
      const hostsRow = async () => {
        const v = await eksnode(["verify", "--root", root, "--phase", "init", "--output", "json"], {
          cwd: REPO,
        });
        const rows = JSON.parse(v.stdout).checks as { name: string; status: string; detail?: string }[];
        return rows.find((r) => r.name === "/etc/hosts");
      };
      const pinnedRow = await hostsRow();
      assert.equal(pinnedRow?.status, "ok", JSON.stringify(pinnedRow));
      assert.ok(pinnedRow?.detail?.includes(pinned[0].split("\t")[0]), JSON.stringify(pinnedRow));
      await Deno.writeTextFile(`${root}/etc/hosts`, own);
      const unpinnedRow = await hostsRow();
      assert.equal(unpinnedRow?.status, "fail", JSON.stringify(unpinnedRow));
      assert.match(unpinnedRow?.detail ?? "", /no eksnode block pins the API server/);
    } finally {
      await Promise.all([imds.close(), ec2.close()]);
      await Deno.remove(root, { recursive: true });
    }
  },
});

if (GETENT === undefined) {
  console.log("outposts_hosts_test: getent not installed: the CLI run with the real resolver is not checked");
}

Deno.test("init: an Outpost that loses its connection keeps the pinned block, with a warning", async () => {
  const root = await tempRoot();
  const name = "abc.gr7.us-west-2.eks.amazonaws.com";
  const imds = fakeImds.start();
  const ec2 = fakeEc2.start();
  try {
    const host = await Host.open(root, {});
    const request = {
      bootstrapArgv: [
        "prod",
        `--apiserver-endpoint=https://${name}`,
        `--b64-cluster-ca=${CA}`,
        "--enable-local-outpost=true",
        "--cluster-id=abc-123",
        "--dns-cluster-ip=10.100.0.10",
      ],
      configSources: [],
      fips: false,
      prefixDelegation: false,
    };
    const env = {
      AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url,
      AWS_ENDPOINT_URL_EC2: ec2.url,
      AWS_ACCESS_KEY_ID: "AKIDOUTPOSTSTEST",
      AWS_SECRET_ACCESS_KEY: "outposts-secret-not-real",
    };
    const connected: HostLookup = (_n, via) =>
      Promise.resolve(via === "dns" ? { addresses: ["10.0.1.10", "10.0.2.11"] } : { addresses: [] });
    const boot = async (lookup: HostLookup) => {
      const log = memoryLogger();
      const gathered = await gatherInputs(host, log, request, env, { lookupHost: lookup });
      await runSteps(INIT_STEPS.filter((s) => s.number === 5), {
        host,
        log,
        dryRun: false,
        node: gathered.node,
      }, {
        process: "init",
        dryRun: false,
      });
      return { node: gathered.node, log: log.lines.join("\n") };
    };
    const first = await boot(connected);
    assert.deepEqual(first.node.cluster.apiServerAddresses, ["10.0.1.10", "10.0.2.11"]);
    const hosts = (await host.readText("/etc/hosts"))!;
    assert.deepEqual(blockLines(hosts).sort(), [`10.0.1.10\t${name}`, `10.0.2.11\t${name}`]);

    // Disconnected: DNS fails, and the system resolver only echoes our own block back.
    const disconnected: HostLookup = (_n, via) =>
      Promise.resolve(
        via === "dns"
          ? { addresses: [], problem: "getent ahosts: not found" }
          : { addresses: ["10.0.2.11", "10.0.1.10"] },
      );
    const second = await boot(disconnected);
    assert.match(
      second.log,
      /warning: cannot resolve abc\.gr7\S+ \(getent ahosts: not found\).*keeping the 2/,
    );
    assert.equal(await host.readText("/etc/hosts"), hosts, "the block is kept as it was");

    // Disconnected and no block at all: init still goes on, without a block, warning.
    await Deno.remove(`${root}/etc/hosts`);
    const third = await boot(() => Promise.resolve({ addresses: [], problem: "not found" }));
    assert.deepEqual(third.node.cluster.apiServerAddresses, []);
    assert.match(third.log, /warning: cannot resolve .* not pinned in \/etc\/hosts/);
    assert.equal(await host.exists("/etc/hosts"), false);
  } finally {
    await Promise.all([imds.close(), ec2.close()]);
    await Deno.remove(root, { recursive: true });
  }
});
