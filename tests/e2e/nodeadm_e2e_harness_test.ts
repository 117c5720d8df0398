/**
 * Tests of the nodeadm e2e harness itself (tests/e2e/nodeadm/): the views read what systemd, kubelet and
 * containerd read, and every comparison can fail. The cases themselves run in nodeadm_e2e_test.ts.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { parse as parseToml } from "smol-toml";
import { splitShellWords } from "../../lib/shell_words.ts";
import { v3PathToV2 } from "../support/validators/containerd.ts";
import { leaves } from "../support/validators/common.ts";
import { evaluate, goDuration, jsonDiff, mutateJson, v2PathToV3 } from "./nodeadm/checks.ts";
import { execStartArgv, splitSystemdWords, unitEnvironment } from "./nodeadm/systemd_read.ts";
import {
  containerdConfig,
  effectiveFlags,
  type Json,
  kubeletConfig,
  withBaseSpecMarkers,
} from "./nodeadm/views.ts";
import { runCase } from "./nodeadm/runner.ts";
import { type Case, CASES } from "./nodeadm/spec.ts";
import { onPath } from "../support/helpers.ts";

async function withRoot<T>(files: Record<string, string>, fn: (root: string) => Promise<T>): Promise<T> {
  const root = await Deno.makeTempDir({ prefix: "eksnode-nodeadm-harness-" });
  try {
    for (const [path, text] of Object.entries(files)) {
      await Deno.mkdir(`${root}${path.slice(0, path.lastIndexOf("/"))}`, { recursive: true });
      await Deno.writeTextFile(`${root}${path}`, text);
    }
    return await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("mutateJson: every document differs from its mutation (so no check passes a wrong expectation)", () => {
  fc.assert(fc.property(fc.jsonValue(), (doc) => jsonDiff(doc, mutateJson(doc)).length > 0));
  assert.deepEqual(jsonDiff({ a: [1, 2] }, { a: [2, 1] }), ["a: eksnode [1,2], nodeadm [2,1]"]);
});

Deno.test("splitSystemdWords and the unit reader: quoting, escapes, environment order as systemd.exec(5) says", async () => {
  assert.deepEqual(splitSystemdWords(`"A=x y" 'B=it''s' C=a\\ b "D=q\\"uote" E=`), [
    "A=x y",
    "B=its",
    "C=a b",
    'D=q"uote',
    "E=",
  ]);
  await withRoot({
    "/etc/systemd/system.conf.d/env.conf": '[Manager]\nDefaultEnvironment="A=default" "B=default"\n',
    "/usr/lib/systemd/system/k.service":
      "[Service]\nEnvironment=B=unit C=unit\nEnvironmentFile=-/etc/k.env\n" +
      "ExecStart=/usr/bin/k --x=${C} $ARGS\n",
    "/etc/systemd/system/k.service.d/10-a.conf": '[Service]\nEnvironment="C=drop in"\n',
    "/etc/k.env": "ARGS=--v=2 --y=z\n# comment\nB=file\n",
  }, async (root) => {
    assert.deepEqual(await unitEnvironment(root, "k.service"), {
      A: "default",
      B: "file",
      C: "drop in",
      ARGS: "--v=2 --y=z",
    });
    assert.deepEqual(await execStartArgv(root, "k.service"), ["/usr/bin/k", "--x=drop in", "--v=2", "--y=z"]);
  });
});

Deno.test("execStartArgv reads ExecStart as systemd itself does (systemd-analyze verify)", async () => {
  if (!onPath("systemd-analyze")) {
    console.log("systemd-analyze is not installed: skipped");
    return;
  }
  const unit = "[Unit]\nDescription=t\n[Service]\nType=oneshot\nExecStart=/bin/true \\\n    --a=1 \\\n" +
    '    "--b=two words" \\\n    \'--c=single\' \\\n    "--d=back\\\\slash"\n';
  await withRoot({ "/etc/systemd/system/t.service": unit, "/bin/true": "" }, async (root) => {
    await Deno.chmod(`${root}/bin/true`, 0o755);
    const r = await new Deno.Command("systemd-analyze", {
      args: ["verify", "--man=no", `--root=${root}`, "t.service"],
      env: { SYSTEMD_LOG_LEVEL: "debug" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
    const line = /Command Line: (.*)/.exec(text)?.[1];
    assert.ok(line, "systemd-analyze printed the command line");
    assert.deepEqual(await execStartArgv(root, "t.service"), splitShellWords(line));
  });
});

const TYPE = { kind: "KubeletConfiguration", apiVersion: "kubelet.config.k8s.io/v1beta1" };
const TYPE_YAML = "kind: KubeletConfiguration\napiVersion: kubelet.config.k8s.io/v1beta1\n";

Deno.test("kubelet's effective config: --config with the --config-dir drop-ins as kubelet walks and merges them, last flag wins", async () => {
  assert.deepEqual(effectiveFlags(["--config", "/a", "--v=2", "--config=/b", "--x"]), {
    "--config": "/b",
    "--v": "2",
    "--x": "true",
  });
  await withRoot({
    "/etc/systemd/system/kubelet.service":
      "[Service]\nExecStart=/usr/bin/kubelet --config=/k/c.json --config-dir=/k/d\n",
    "/k/c.json": JSON.stringify({ ...TYPE, a: 1, m: { x: 1, y: 1 }, l: [1, 2], gone: { z: 1 } }),
    "/k/d/20-b.conf": JSON.stringify({ ...TYPE, a: 3, gone: null }),
    "/k/d/10-a.conf": `${TYPE_YAML}a: 2\nm:\n  y: 2\nl: [3]\n`,
    "/k/d/30-ignored.json": JSON.stringify({ ...TYPE, a: 99 }),
    // filepath.WalkDir: a subdirectory is walked where its name sorts ("15-sub" between 10 and 20).
    "/k/d/15-sub/99-deep.conf": JSON.stringify({ ...TYPE, a: 15, m: { z: 3 } }),
  }, async (root) => {
    assert.deepEqual(await kubeletConfig(root, "1.35.0"), {
      ...TYPE,
      a: 3,
      m: { x: 1, y: 2, z: 3 },
      l: [3],
    });
  });
});

Deno.test("kubelet's effective config: what would stop kubelet from starting is an error, not a config", async () => {
  const unit = (flags: string, env = "") =>
    `[Service]\n${env}ExecStart=/usr/bin/kubelet --config=/k/c.json ${flags}\n`;
  const files = {
    "/k/c.json": JSON.stringify({ ...TYPE, maxPods: 58 }),
    "/k/d/50-user.conf": JSON.stringify({ ...TYPE, maxPods: 7 }),
  };
  const effective = (service: string, version: string, extra: Record<string, string> = {}) =>
    withRoot(
      { ...files, ...extra, "/etc/systemd/system/kubelet.service": service },
      (root) => kubeletConfig(root, version),
    );
  // No --config-dir (or an empty one): the directory is not read, whatever is in it.
  assert.deepEqual(await effective(unit(""), "1.35.0"), { ...TYPE, maxPods: 58 });
  assert.deepEqual(await effective(unit("--config-dir="), "1.27.0"), { ...TYPE, maxPods: 58 });
  assert.deepEqual(await effective(unit("--config-dir=/k/d"), "1.30.0"), { ...TYPE, maxPods: 7 });
  await assert.rejects(effective(unit("--config-dir=/k/d"), "1.27.0"), /1\.27\.0 has no --config-dir flag/);
  await assert.rejects(
    effective(unit("--config-dir=/k/d"), "1.29.0"),
    /refuses --config-dir without KUBELET_CONFIG_DROPIN_DIR_ALPHA/,
  );
  assert.deepEqual(
    await effective(unit("--config-dir=/k/d", "Environment=KUBELET_CONFIG_DROPIN_DIR_ALPHA=on\n"), "1.28.0"),
    { ...TYPE, maxPods: 7 },
  );
  await assert.rejects(effective(unit("--config-dir=/k/missing"), "1.35.0"), /does not exist/);
  await assert.rejects(
    effective(unit("--config-dir=/k/d"), "1.35.0", { "/k/d/60-untyped.conf": "maxPods: 9\n" }),
    /60-untyped\.conf has no kind and apiVersion/,
  );
});

Deno.test("containerd views: imports merged by plugin, EKS pause image and base spec path as markers", async () => {
  await withRoot({
    "/etc/containerd/config.toml": 'version = 2\nimports = ["/etc/containerd/config.d/*.toml"]\n' +
      "[plugins.'io.containerd.grpc.v1.cri']\nsandbox_image = '602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.10'\n" +
      "[plugins.'io.containerd.grpc.v1.cri'.containerd]\ndefault_runtime_name = 'runc'\n" +
      "[plugins.'io.containerd.grpc.v1.cri'.containerd.runtimes.runc]\nbase_runtime_spec = '/x/spec.json'\n" +
      "[plugins.other]\nkept = true\n",
    "/etc/containerd/config.d/a.toml": "[plugins.other]\nreplaced = true\n",
    "/x/spec.json": "{}",
  }, async (root) => {
    const config = await containerdConfig(root);
    assert.deepEqual({ ...(config.plugins as Record<string, Json>).other as object }, { replaced: true });
    assert.equal(config.imports, undefined);
    const exists = (p: string) => Deno.stat(`${root}${p}`).then(() => true, () => false);
    const marked = await withBaseSpecMarkers(config, exists) as Record<
      string,
      Record<string, Record<string, Json>>
    >;
    const cri = marked.plugins["io.containerd.grpc.v1.cri"] as Record<
      string,
      Record<string, Record<string, Json>>
    >;
    assert.equal(cri.sandbox_image, "(the EKS pause image)");
    assert.equal(
      (cri.containerd.runtimes.runc as Record<string, Json>).base_runtime_spec,
      "(a base runtime spec file)",
    );
    const upstream = {
      plugins: {
        "io.containerd.cri.v1.images": { pinned_images: { sandbox: "registry.k8s.io/pause:3.10" } },
      },
    };
    assert.deepEqual(await withBaseSpecMarkers(upstream, exists), upstream);
  });
});

Deno.test("v2PathToV3 inverts containerd 2's migration for every key of nodeadm's version-3 files", async () => {
  const cases = new URL("./nodeadm/cases/", import.meta.url).pathname;
  let n = 0;
  for (const c of ["containerdv2-config", "containerdv2-runtime-config-nvidia"]) {
    const doc = parseToml(await Deno.readTextFile(`${cases}${c}/expected-containerd-configv3.toml`));
    for (const { path } of leaves(doc)) {
      const v2 = v3PathToV2(path);
      if (!v2 || path[0] !== "plugins") continue;
      assert.deepEqual(v2PathToV3(v2), path, path.join("."));
      n++;
    }
  }
  assert.ok(n > 10, `${n} keys checked`);
});

Deno.test("containerdDump check: a wrong value and a missing key nodeadm set are both differences", async () => {
  const dump = "version = 3\n[grpc]\naddress = '/run/foo.sock'\nuid = 0\n";
  const template = "version = 3\n[grpc]\naddress = '/run/foo.sock'\n";
  await withRoot({
    "/case/dump.toml": dump,
    "/case/template.toml": template,
    "/case/user.yaml": "spec:\n  containerd:\n    config: |\n      version = 2\n",
  }, async (dir) => {
    const check = async (ours: string) => {
      await Deno.mkdir(`${dir}/root/etc/containerd`, { recursive: true });
      await Deno.writeTextFile(`${dir}/root/etc/containerd/config.toml`, ours);
      const c = await evaluate(
        { kind: "containerdDump", file: "dump.toml", template: "template.toml", user: "user.yaml" },
        { root: `${dir}/root`, caseDir: `${dir}/case`, caPem: "", awsUrl: "", kubeletVersion: "1.35.0" },
      );
      return c.compare(c.expected);
    };
    assert.deepEqual(await check("version = 3\n[grpc]\naddress = '/run/foo.sock'\n"), []);
    assert.equal((await check("version = 3\n[grpc]\naddress = '/run/bar.sock'\n")).length, 1);
    assert.equal((await check("version = 3\n")).length, 1);
  });
});

Deno.test("goDuration: the spellings kubelet reads as one duration", () => {
  assert.equal(goDuration("12h"), goDuration("12h0m0s"));
  assert.equal(goDuration("2m0s"), goDuration("120s"));
  assert.equal(goDuration("1h30m"), 5.4e12);
  assert.equal(goDuration("0s"), 0);
  for (const s of ["", "abc", "12", "1.2.3s", "/var/lib"]) assert.equal(goDuration(s), undefined, s);
});

Deno.test({
  name: "runCase: a case fails on a deliberately wrong expected file (kubelet-config-dir, maxPods 58 → 57)",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const c = CASES.find((x) => x.name === "kubelet-config-dir")!;
    await assert.rejects(
      runCase(c, {
        async editCase(dir) {
          const f = `${dir}/expected-kubelet-config.json`;
          const text = await Deno.readTextFile(f);
          assert.ok(text.includes(`"maxPods": 58`));
          await Deno.writeTextFile(f, text.replace(`"maxPods": 58`, `"maxPods": 57`));
        },
      }),
      /kubelet's effective config differs from nodeadm's:\n {2}maxPods: eksnode 58, nodeadm 57/,
    );
  },
});

Deno.test({
  name:
    "runCase: a user's drop-in in config.json.d counts only when kubelet reads the directory, in nodeadm's order",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // Written by a user (or a cloud-init script) before init, as for nodeadm: 30-user.conf sorts before
    // nodeadm's 40-nodeadm.conf (kubelet.config's verbosity 5 wins over its 9; its readOnlyPort stays),
    // 50-user.conf after it (its maxPods wins over kubelet.config's and eksnode's). A .txt is never read.
    const dir = "/etc/kubernetes/kubelet/config.json.d";
    const userDropIns = {
      [`${dir}/30-user.conf`]: JSON.stringify({ ...TYPE, logging: { verbosity: 9 }, readOnlyPort: 10255 }),
      [`${dir}/50-user.conf`]: `${TYPE_YAML}maxPods: 7\npodPidsLimit: 4096\n`,
      [`${dir}/60-notes.txt`]: `${TYPE_YAML}maxPods: 1\n`,
    };
    const base = CASES.find((x) => x.name === "kubelet-config-dir")!;
    const c: Case = {
      ...base,
      runs: [
        {
          command: "init",
          sources: ["config.kubelet-config-yaml.yaml"],
          skip: ["run"],
          before: userDropIns,
          exit: "ok",
          expect: [{
            kind: "kubeletConfig",
            base: "expected-kubelet-config.json",
            dropIn: "with-user-drop-ins.json",
          }],
        },
        // The same node without kubelet.config: nodeadm passes no --config-dir, so the files stay unread.
        {
          command: "init",
          sources: ["no-kubelet-config.yaml"],
          skip: ["run"],
          exit: "ok",
          expect: [{ kind: "kubeletConfig", base: "expected-kubelet-config.json" }],
        },
        // kubelet.config on kubelet 1.27, which has no --config-dir flag: the directory is not read.
        {
          command: "init",
          image: { kubelet: "1.27.0" },
          sources: ["config.kubelet-config-yaml.yaml"],
          skip: ["run"],
          exit: "ok",
          expect: [{ kind: "kubeletConfigLacks", fields: ["podPidsLimit"] }],
        },
      ],
    };
    const r = await runCase(c, {
      async editCase(caseDir) {
        const dropIn = JSON.parse(await Deno.readTextFile(`${caseDir}/expected-kubelet-config-drop-in.json`));
        assert.deepEqual(dropIn.logging, { verbosity: 5 });
        await Deno.writeTextFile(
          `${caseDir}/with-user-drop-ins.json`,
          JSON.stringify({ ...dropIn, readOnlyPort: 10255, maxPods: 7, podPidsLimit: 4096 }),
        );
        const config = await Deno.readTextFile(`${caseDir}/config.kubelet-config-yaml.yaml`);
        const i = config.indexOf("  kubelet:");
        assert.ok(i > 0);
        await Deno.writeTextFile(`${caseDir}/no-kubelet-config.yaml`, config.slice(0, i));
      },
    });
    assert.deepEqual(r, { runs: 3, checks: 3, caught: 3 });
  },
});
