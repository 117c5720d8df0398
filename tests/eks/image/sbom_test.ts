/**
 * The image's SBOM (/etc/eks/sbom.cdx.json, `eksnode ami` step 33) through the real CLI and the loopback
 * mirror: it is a valid CycloneDX 1.6 document (the schema validator of @cyclonedx/cyclonedx-library, ajv
 * underneath), lists every artifact with version, upstream URL, pinned SHA-256, licence and each installed
 * file's SHA-256 equal to release.json's, and the packages of the root's dpkg database; a rebake changes
 * nothing and a bake of the same inputs into another root from another mirror writes the same bytes;
 * `eksnode verify --phase ami` fails naming a file whose bytes no longer match, and a missing SBOM. The
 * package database readers against real databases: this machine's dpkg (licences from its machine-readable
 * copyright files) and an rpm database of RPMs built here with rpmbuild and installed with rpm, baked into
 * an SBOM that lists each with name, epoch, version, release, arch and licence.
 */
import assert from "node:assert/strict";
import * as CDX from "@cyclonedx/cyclonedx-library";
import { bakeDir } from "../../support/cli_fixtures.ts";
import { eksnode } from "../../support/cli_run.ts";
import { startMirror } from "../../../fakes/mirror.ts";
import { onPath } from "../../support/helpers.ts";
import { tempDir } from "../../../fakes/temp.ts";
import { Host } from "../../../lib/host.ts";
import {
  installedPackages,
  parseDebianCopyright,
  parseDpkgStatus,
  parseRpmQuery,
} from "../../../lib/installed_packages.ts";
import { buildRpm, runTool } from "../../support/rpm_repo.ts";
import { uuidUrn } from "../../../eks/image/sbom.ts";

const ENV = { SOURCE_DATE_EPOCH: "1767225600" };
const SBOM = "/etc/eks/sbom.cdx.json";

/** A Debian-like base: os-release and a dpkg database of three packages, one removed (config files left). */
const DPKG_STATUS = `Package: base-files
Status: install ok installed
Priority: required
Architecture: amd64
Version: 12.4+deb12u5
Description: Debian base system miscellaneous files

Package: libc6
Status: install ok installed
Architecture: amd64
Multi-Arch: same
Version: 2.36-9+deb12u7
Description: GNU C Library: Shared libraries

Package: ufw
Status: deinstall ok config-files
Architecture: all
Version: 0.36.2-1
`;

/** base-files' copyright in the machine-readable format (two License paragraphs, one an expression). */
const DEP5_COPYRIGHT = `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: base-files

Files: *
Copyright: 1995-2024 Debian project
License: GPL-2+
 This program is free software; you can redistribute it and/or modify
 it under the terms of the GNU General Public License (version 2 or later).
License: GPL-2+

Files: licenses/*
Copyright: n/a
License: public-domain or CC0-1.0

License: GPL-2+
 On Debian systems, the complete text is in /usr/share/common-licenses/GPL-2.
`;

/** A Debian root: os-release, the dpkg database, base-files' DEP-5 copyright and libc6's free-form one. */
async function seedDebian(root: string): Promise<void> {
  await Deno.mkdir(`${root}/var/lib/dpkg`, { recursive: true });
  await Deno.mkdir(`${root}/etc`, { recursive: true });
  await Deno.writeTextFile(`${root}/var/lib/dpkg/status`, DPKG_STATUS);
  await Deno.writeTextFile(
    `${root}/etc/os-release`,
    'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n',
  );
  for (
    const [pkg, text] of [
      ["base-files", DEP5_COPYRIGHT],
      ["libc6", "This is the Debian prepackaged version of the GNU C Library.\n\nLicense: LGPL (prose)\n"],
    ]
  ) {
    await Deno.mkdir(`${root}/usr/share/doc/${pkg}`, { recursive: true });
    await Deno.writeTextFile(`${root}/usr/share/doc/${pkg}/copyright`, text);
  }
}

async function seededBake(mirrorToml: string, seed: (root: string) => Promise<void> = seedDebian) {
  const { dir, args } = await bakeDir(mirrorToml);
  const root = `${dir}/root`;
  await seed(root);
  const r = await eksnode(args(root), { env: ENV });
  assert.equal(r.code, 0, r.stderr);
  return { root, args };
}

interface Component {
  type: string;
  name: string;
  version?: string;
  purl?: string;
  hashes?: { alg: string; content: string }[];
  licenses?: { license: { id?: string; name?: string } }[];
  externalReferences?: { type: string; url: string }[];
  properties?: { name: string; value: string }[];
  components?: Component[];
}

Deno.test("sbom: the bake writes a valid CycloneDX document of every artifact and package; rebakes and other roots give the same bytes", async () => {
  const mirror = await startMirror({});
  const other = await startMirror({});
  try {
    const { root, args } = await seededBake(mirror.bakeToml);
    const text = await Deno.readTextFile(`${root}${SBOM}`);
    assert.equal((await Deno.stat(`${root}${SBOM}`)).mode! & 0o777, 0o644);

    const validator = new CDX.Validation.JsonStrictValidator(CDX.Spec.Version.v1dot6);
    assert.equal(
      await validator.validate(text),
      null,
      "valid against the CycloneDX 1.6 JSON schema (strict)",
    );
    const broken = text.replace('"alg": "SHA-256"', '"alg": "SHA-257"');
    assert.notEqual(await validator.validate(broken), null, "the validator does reject a bad document");

    const doc = JSON.parse(text);
    assert.equal(doc.bomFormat, "CycloneDX");
    assert.equal(doc.specVersion, "1.6");
    assert.equal(doc.metadata.timestamp, "2026-01-01T00:00:00.000Z", "SOURCE_DATE_EPOCH");
    assert.equal(doc.serialNumber, uuidUrn(await sha256Hex(text.replace(/^ {2}"serialNumber": .*\n/m, ""))));
    const release = JSON.parse(await Deno.readTextFile(`${root}/etc/eks/release.json`));
    const components: Component[] = doc.components;
    const artifacts = components.filter((c) => c.properties?.some((p) => p.name === "eksnode:artifact"));
    const prop = (c: Component, n: string) => c.properties?.find((p) => p.name === `eksnode:${n}`)?.value;

    // Every artifact of release.json, each of its files with the same SHA-256.
    const files = artifacts.flatMap((a) =>
      (a.components ?? []).map((f) => ({
        path: f.name,
        sha256: f.hashes![0].content,
        artifact: prop(a, "artifact"),
      }))
    ).sort((a, b) => a.path < b.path ? -1 : 1);
    assert.deepEqual(
      files,
      release.artifacts.map((f: { path: string; sha256: string; artifact: string }) => ({
        path: f.path,
        sha256: f.sha256,
        artifact: f.artifact,
      })),
    );
    const kubelet = artifacts.find((a) => a.name === "kubelet")!;
    const pin = mirror.artifacts.kubelet;
    assert.equal(kubelet.version, release.kubernetesVersion);
    assert.deepEqual(kubelet.hashes, [{ alg: "SHA-256", content: pin.sha256 }]);
    assert.deepEqual(kubelet.licenses, [{ license: { id: "Apache-2.0" } }]);
    const url = kubelet.externalReferences!.find((r) => r.type === "distribution")!.url;
    assert.match(url, /^https:\/\/.*\/kubelet$/, "the upstream URL, not the mirror's");
    assert.equal(url, release.artifacts.find((f: { artifact: string }) => f.artifact === "kubelet").source);
    for (const name of ["containerd", "runc", "cni-plugins", "ecr-credential-provider", "kubelet"]) {
      const a = artifacts.find((c) => c.name === name);
      assert.ok(a, `${name} listed`);
      assert.deepEqual(a.licenses, [{ license: { id: "Apache-2.0" } }], name);
      assert.ok(a.version && a.hashes?.length && a.purl?.startsWith(`pkg:generic/${name}@`), name);
    }
    const cni = artifacts.find((c) => c.name === "cni-plugins")!;
    assert.ok(cni.components!.some((f) => f.name === "/opt/cni/bin/bridge"));
    assert.equal(artifacts.find((c) => c.name === "eksnode")!.components![0].name, "/usr/bin/eksnode");

    // The packages dpkg lists as installed, not the removed one.
    // Licences from the machine-readable copyright file only: libc6's prose is not read.
    const packages = components.filter((c) => prop(c, "packageDatabase") === "dpkg");
    assert.deepEqual(packages.map((p) => [p.name, p.version, p.purl, p.licenses]), [
      [
        "base-files",
        "12.4+deb12u5",
        "pkg:deb/debian/base-files@12.4+deb12u5?arch=amd64&distro=debian-12",
        [{ license: { name: "GPL-2+ AND (public-domain or CC0-1.0)" } }],
      ],
      [
        "libc6",
        "2.36-9+deb12u7",
        "pkg:deb/debian/libc6@2.36-9+deb12u7?arch=amd64&distro=debian-12",
        undefined,
      ],
    ]);
    assert.equal(prop(doc.metadata.component, "distro"), "debian-12");

    // Idempotent: a second run changes nothing; the same inputs from another mirror give the same bytes.
    const again = await eksnode(args(root), { env: ENV });
    assert.match(again.stdout, /ami: 37 steps, 0 changes in/);
    assert.equal(await Deno.readTextFile(`${root}${SBOM}`), text);
    const second = await seededBake(other.bakeToml);
    assert.equal(
      await Deno.readTextFile(`${second.root}${SBOM}`),
      text,
      "a second bake writes the same SBOM",
    );
  } finally {
    await Promise.all([mirror.close(), other.close()]);
  }
});

Deno.test("sbom: verify --phase ami checks the SBOM against the disk and fails naming the file", async () => {
  const mirror = await startMirror({});
  try {
    const { root } = await seededBake(mirror.bakeToml);
    const ok = await eksnode(["verify", "--root", root, "--phase", "ami", "--output", "json"]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    const rows: { group: string; name: string; status: string; detail: string }[] =
      JSON.parse(ok.stdout).checks;
    assert.deepEqual(rows.filter((r) => r.group === "sbom").map((r) => [r.name, r.status]), [[SBOM, "ok"]]);

    // An SBOM whose recorded hash no longer matches the file (someone replaced the runc it describes).
    const doc = JSON.parse(await Deno.readTextFile(`${root}${SBOM}`));
    const runc = doc.components.find((c: Component) => c.name === "runc").components[0] as Component;
    runc.hashes![0].content = "0".repeat(64);
    await Deno.writeTextFile(`${root}${SBOM}`, JSON.stringify(doc, null, 2));
    const bad = await eksnode(["verify", "--root", root, "--phase", "ami"]);
    assert.equal(bad.code, 5, bad.stdout);
    assert.match(
      bad.stdout,
      new RegExp(
        `FAIL +sbom +${runc.name} +runc: ${SBOM} records sha256 0{64}, /etc/eks/release.json [0-9a-f]{64}`,
      ),
    );
    assert.match(
      bad.stdout,
      new RegExp(`FAIL +sbom +${runc.name} +runc: changed: ${SBOM} records sha256 0{64}, found`),
    );

    await Deno.remove(`${root}${SBOM}`);
    const missing = await eksnode(["verify", "--root", root, "--phase", "ami"]);
    assert.equal(missing.code, 5);
    assert.match(
      missing.stdout,
      new RegExp(`FAIL +sbom +${SBOM} +missing: \`eksnode ami\` writes it \\(step 33\\)`),
    );
  } finally {
    await mirror.close();
  }
});

Deno.test("sbom: the dpkg reader agrees with dpkg-query and the copyright files on this machine; rpm's query format is parsed", async (t) => {
  await t.step({
    name: "dpkg-query",
    ignore: !onPath("dpkg-query"),
    fn: async () => {
      const { database, packages } = await installedPackages(await Host.open("/"));
      assert.equal(database, "dpkg");
      const q = await new Deno.Command("dpkg-query", {
        args: ["-W", "-f", "${db:Status-Abbrev}\t${binary:Package}\t${Version}\n"],
      }).output();
      const want = new TextDecoder().decode(q.stdout).split("\n").filter((l) => /^.i/.test(l)).length;
      assert.equal(packages.length, want);
      assert.ok(packages.some((p) => p.name === "dpkg" && p.version !== ""));

      // Licences: for every package, the first `License:` line of a machine-readable copyright file (as
      // grep finds it) is part of its licence; a free-form file gives none.
      let machineReadable = 0;
      for (const p of packages) {
        const path = `/usr/share/doc/${p.name}/copyright`;
        const text = await Deno.readTextFile(path).catch(() => "");
        const first = /^License:[ \t]*(\S.*)$/m.exec(text)?.[1].trim();
        if (text.startsWith("Format:") && first) {
          machineReadable++;
          assert.ok(p.licence?.includes(first), `${p.name}: ${p.licence} lacks ${first} (${path})`);
        } else if (!/^Format/im.test(text.split(/\n\s*\n/)[0])) {
          assert.equal(p.licence, undefined, `${p.name}: a licence guessed from free-form ${path}`);
        }
      }
      assert.ok(machineReadable > 0, "this machine has machine-readable copyright files");
    },
  });
  assert.deepEqual(
    parseRpmQuery(
      "bash\t0\t5.2.15\t5.amzn2023.0.2\tx86_64\tGPL-3.0-or-later\ngpg-pubkey\t0\ta\tb\t(none)\t(none)\nshadow-utils\t2\t4.9\t12.amzn2023\tx86_64\tBSD and GPLv2+\n",
    ),
    [
      { name: "bash", version: "5.2.15-5.amzn2023.0.2", arch: "x86_64", licence: "GPL-3.0-or-later" },
      { name: "shadow-utils", version: "2:4.9-12.amzn2023", arch: "x86_64", licence: "BSD and GPLv2+" },
    ],
  );
  assert.deepEqual(parseDpkgStatus(DPKG_STATUS).map((p) => p.name), ["base-files", "libc6"]);
  assert.equal(parseDebianCopyright(DEP5_COPYRIGHT), "GPL-2+ AND (public-domain or CC0-1.0)");
  assert.equal(parseDebianCopyright("Format: x\n\nFiles: *\nLicense: Expat\n"), "Expat");
  assert.equal(parseDebianCopyright("Format: x\nUpstream-Name: y\n"), undefined, "no License field");
  assert.equal(parseDebianCopyright("Copyright 2001 someone.\nLicense: GPL\n"), undefined, "free-form");

  const rpmTools = ["rpm", "rpmbuild"].filter((c) => !onPath(c));
  await t.step({
    name: "a real rpm database: RPMs built with rpmbuild, installed with rpm, baked into the SBOM",
    ignore: rpmTools.length > 0,
    fn: async () => {
      const mirror = await startMirror({});
      try {
        const work = await tempDir({ prefix: "eksnode-rpmdb-" });
        const built = [
          await buildRpm(work, {
            name: "eksnode-standin-epoch",
            version: "4.9",
            release: "12.amzn2023",
            epoch: 2,
            licence: "BSD-3-Clause AND GPL-2.0-or-later",
          }),
          await buildRpm(work, {
            name: "eksnode-standin-noarch",
            version: "1.0.1",
            release: "3.amzn2023.0.1",
            licence: "MIT",
            buildArch: "noarch",
          }),
        ];
        const arch = /\.([^.]+)\.rpm$/.exec(built[0])![1];
        const seedRpm = async (root: string) => {
          await Deno.mkdir(`${root}/etc`, { recursive: true });
          await Deno.writeTextFile(
            `${root}/etc/os-release`,
            'NAME="Amazon Linux"\nID="amzn"\nVERSION_ID="2023"\n',
          );
          await runTool(["rpm", "--root", root, "--dbpath", "/var/lib/rpm", "--initdb"]);
          await runTool(["rpm", "--root", root, "--dbpath", "/var/lib/rpm", "-i", "--nodeps", ...built]);
        };
        const root = `${work}/root`;
        await seedRpm(root);
        const want = [
          {
            name: "eksnode-standin-epoch",
            version: "2:4.9-12.amzn2023",
            arch,
            licence: "BSD-3-Clause AND GPL-2.0-or-later",
          },
          { name: "eksnode-standin-noarch", version: "1.0.1-3.amzn2023.0.1", arch: "noarch", licence: "MIT" },
        ];
        assert.deepEqual(await installedPackages(await Host.open(root)), { database: "rpm", packages: want });

        // The same database baked: the SBOM lists both, schema-valid, with purls as purl-spec's rpm type.
        const bake = await seededBake(mirror.bakeToml, seedRpm);
        const text = await Deno.readTextFile(`${bake.root}${SBOM}`);
        const validator = new CDX.Validation.JsonStrictValidator(CDX.Spec.Version.v1dot6);
        assert.equal(await validator.validate(text), null);
        const doc = JSON.parse(text);
        const prop = (c: Component, n: string) => c.properties?.find((p) => p.name === `eksnode:${n}`)?.value;
        assert.equal(prop(doc.metadata.component, "packageDatabase"), "rpm");
        assert.equal(prop(doc.metadata.component, "distro"), "amzn-2023");
        const rpms = (doc.components as Component[]).filter((c) => prop(c, "packageDatabase") === "rpm");
        assert.deepEqual(rpms.map((c) => [c.name, c.version, c.purl, c.licenses]), [
          [
            "eksnode-standin-epoch",
            "2:4.9-12.amzn2023",
            `pkg:rpm/amzn/eksnode-standin-epoch@4.9-12.amzn2023?arch=${arch}&distro=amzn-2023&epoch=2`,
            [{ license: { name: "BSD-3-Clause AND GPL-2.0-or-later" } }],
          ],
          [
            "eksnode-standin-noarch",
            "1.0.1-3.amzn2023.0.1",
            "pkg:rpm/amzn/eksnode-standin-noarch@1.0.1-3.amzn2023.0.1?arch=noarch&distro=amzn-2023",
            [{ license: { name: "MIT" } }],
          ],
        ]);
      } finally {
        await mirror.close();
      }
    },
  });
});

async function sha256Hex(text: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
