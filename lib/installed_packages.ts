/**
 * The distribution packages installed in a tree, read from its package database: dpkg's status file
 * (`/var/lib/dpkg/status`, read directly, as `dpkg-query --admindir` would) or rpm's database (`rpm --root
 * DIR -qa`, the only reader of its formats). Licences: rpm's LICENSE tag; for dpkg, which records none,
 * the `License:` fields of the package's machine-readable copyright file (`/usr/share/doc/NAME/copyright`
 * in the Debian copyright format 1.0, DEP-5), and none where the file is free-form. Knows nothing about EKS.
 */
import type { Host } from "./host.ts";
import { byCodeUnits } from "./order.ts";

/** One installed package. */
export interface InstalledPackage {
  name: string;
  /** The full version as the database spells it (`[epoch:]upstream-revision`, rpm `[epoch:]version-release`). */
  version: string;
  arch: string;
  /**
   * Declared licence: rpm's LICENSE tag, or the `License:` short names of a Debian package's
   * machine-readable copyright file; undefined when neither says.
   */
  licence?: string;
}

/** Which database the packages came from. */
export type PackageDatabase = "dpkg" | "rpm" | "none";

/** dpkg's status file under the root. */
export const DPKG_STATUS = "/var/lib/dpkg/status";
/** rpm databases: the current location first (rpm ≥ 4.16), then the historical one. */
const RPM_DB_DIRS = ["/usr/lib/sysimage/rpm", "/var/lib/rpm"];

/**
 * The packages a dpkg status file lists as installed (`Status: install ok installed`), sorted by name.
 * @example parseDpkgStatus("Package: bash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 5.2-1\n")
 * // [{ name: "bash", version: "5.2-1", arch: "amd64" }]
 */
export function parseDpkgStatus(text: string): InstalledPackage[] {
  const out: InstalledPackage[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const line of stanza.split("\n")) {
      const m = /^([A-Za-z][A-Za-z0-9-]*):\s*(.*)$/.exec(line);
      if (m) fields.set(m[1].toLowerCase(), m[2].trim());
    }
    const name = fields.get("package");
    const status = fields.get("status")?.split(/\s+/);
    if (!name || status?.[2] !== "installed") continue;
    out.push({ name, version: fields.get("version") ?? "", arch: fields.get("architecture") ?? "" });
  }
  return out.sort((a, b) => byCodeUnits(a.name, b.name) || byCodeUnits(a.arch, b.arch));
}

/**
 * The licence a Debian copyright file declares when it is machine-readable (copyright format 1.0, DEP-5:
 * its first paragraph has a `Format:` field): the distinct first lines of its `License:` fields in the
 * order they appear, joined with ` AND ` (each part covers other files, so all apply), a part holding a
 * space put in parentheses. Undefined for a free-form file or one without `License:` fields: nothing is
 * guessed from prose.
 * @example parseDebianCopyright("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: GPL-2+\n\nFiles: lib/*\nLicense: BSD-3-clause or Expat\n")
 * // "GPL-2+ AND (BSD-3-clause or Expat)"
 */
export function parseDebianCopyright(text: string): string | undefined {
  const paragraphs = text.replace(/\r\n/g, "\n").split(/\n[ \t]*\n/).filter((p) => p.trim() !== "");
  if (!paragraphs.length || !/^Format(-Specification)?:/im.test(paragraphs[0])) {
    return undefined;
  }
  const names: string[] = [];
  for (const p of paragraphs) {
    for (const line of p.split("\n")) {
      const m = /^License:[ \t]*(.*)$/i.exec(line);
      const name = m?.[1].trim();
      if (name && !names.includes(name)) names.push(name);
    }
  }
  if (!names.length) return undefined;
  return names.map((n) => names.length > 1 && /\s/.test(n) ? `(${n})` : n).join(" AND ");
}

/** Lines of `rpm -qa --qf '%{NAME}\t%{EPOCHNUM}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\t%{LICENSE}\n'`. */
export function parseRpmQuery(text: string): InstalledPackage[] {
  const out: InstalledPackage[] = [];
  for (const line of text.split("\n")) {
    const [name, epoch, version, release, arch, licence] = line.split("\t");
    if (!name || version === undefined || name === "gpg-pubkey") continue;
    out.push({
      name,
      version: `${epoch && epoch !== "0" ? `${epoch}:` : ""}${version}-${release ?? ""}`,
      arch: arch === "(none)" ? "noarch" : arch ?? "",
      ...(licence && licence !== "(none)" ? { licence } : {}),
    });
  }
  return out.sort((a, b) => byCodeUnits(a.name, b.name) || byCodeUnits(a.arch, b.arch));
}

/**
 * A Debian package's copyright file (dpkg installs it as /usr/share/doc/NAME/copyright, also for a
 * Multi-Arch: same package), or undefined when it is missing or unreadable (a doc directory linked to
 * another package's is followed while it stays inside the root).
 */
async function debianCopyright(host: Host, name: string): Promise<string | undefined> {
  try {
    return await host.readText(`/usr/share/doc/${name}/copyright`);
  } catch {
    return undefined;
  }
}

/**
 * The packages installed under the host's root: dpkg's when its status file is there, else rpm's when
 * an rpm database is there (and `rpm` is on PATH; its `--dbpath` is given, as this rpm's default may be
 * elsewhere), else none.
 */
export async function installedPackages(
  host: Host,
): Promise<{ database: PackageDatabase; packages: InstalledPackage[] }> {
  const status = await host.readText(DPKG_STATUS);
  if (status !== undefined) {
    const packages = parseDpkgStatus(status);
    for (const p of packages) {
      const licence = parseDebianCopyright(await debianCopyright(host, p.name) ?? "");
      if (licence) p.licence = licence;
    }
    return { database: "dpkg", packages };
  }
  for (const dir of RPM_DB_DIRS) {
    if (!(await host.readDir(dir))?.length) continue;
    const rpm = await host.which("rpm");
    if (!rpm) break;
    const r = await host.exec([
      rpm,
      "--root",
      host.root,
      "--dbpath",
      dir,
      "-qa",
      "--qf",
      "%{NAME}\\t%{EPOCHNUM}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\t%{LICENSE}\\n",
    ], { timeoutMs: 120_000 });
    return { database: "rpm", packages: parseRpmQuery(r.stdout) };
  }
  return { database: "none", packages: [] };
}
