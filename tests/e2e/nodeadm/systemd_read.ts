/**
 * A reader of systemd unit files under a root, for the nodeadm e2e harness: which unit file and
 * drop-ins systemd loads for a unit, its `ExecStart=` argv with `$VAR` expanded, and the environment the
 * unit's processes get (manager `DefaultEnvironment=`, then `Environment=`, then `EnvironmentFile=`,
 * as systemd.exec(5) orders them). Written after systemd.unit(5), systemd.syntax(7) and
 * systemd-system.conf(5); independent of how eksnode or nodeadm lay their files out.
 */

/** Unit search path of the system manager, highest priority first (systemd.unit(5)). */
const UNIT_DIRS = [
  "/etc/systemd/system",
  "/run/systemd/system",
  "/usr/lib/systemd/system",
  "/lib/systemd/system",
];
/** Where the manager's own drop-ins live (systemd-system.conf(5)), highest priority first. */
const MANAGER_DIRS = [
  "/etc/systemd/system.conf.d",
  "/run/systemd/system.conf.d",
  "/usr/lib/systemd/system.conf.d",
];

async function readIn(root: string, path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(`${root}${path}`);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) return undefined;
    throw err;
  }
}

async function listIn(root: string, dir: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(`${root}${dir}`)) out.push(e.name);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) return [];
    throw err;
  }
  return out;
}

/**
 * Drop-in files `NAME.conf` of `dirs` (highest priority first): one per name, the first dir's wins, in
 * lexical order of names, as systemd applies them.
 */
async function dropIns(root: string, dirs: string[]): Promise<string[]> {
  const byName = new Map<string, string>();
  for (const dir of dirs) {
    for (const name of await listIn(root, dir)) {
      if (name.endsWith(".conf") && !byName.has(name)) byName.set(name, `${dir}/${name}`);
    }
  }
  return [...byName.keys()].sort().map((n) => byName.get(n)!);
}

/** One `Key=value` of a unit-like file, with its section, in file order; continuation lines joined. */
export interface Assignment {
  section: string;
  key: string;
  value: string;
}

/** Parses an INI-style systemd file into assignments (comments and blank lines dropped). */
export function parseUnitText(text: string): Assignment[] {
  const out: Assignment[] = [];
  let section = "";
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i].trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    while (line.endsWith("\\") && i + 1 < lines.length) line = line.slice(0, -1) + " " + lines[++i].trim();
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) {
      section = sec[1];
      continue;
    }
    const eq = line.indexOf("=");
    if (eq < 0) continue;
    out.push({ section, key: line.slice(0, eq).trim(), value: line.slice(eq + 1).trim() });
  }
  return out;
}

/**
 * Splits a systemd value into words: whitespace separates, double and single quotes group, and C-style
 * backslash escapes are decoded (systemd.syntax(7) "Quoting").
 */
export function splitSystemdWords(value: string): string[] {
  const words: string[] = [];
  let cur = "";
  let inWord = false;
  let quote: string | undefined;
  const esc: Record<string, string> = { n: "\n", t: "\t", r: "\r", "\\": "\\", '"': '"', "'": "'", s: " " };
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === "\\" && i + 1 < value.length) cur += esc[value[++i]] ?? value[i];
      else cur += ch;
      continue;
    }
    if (/\s/.test(ch)) {
      if (inWord) words.push(cur);
      cur = "";
      inWord = false;
      continue;
    }
    inWord = true;
    if (ch === '"' || ch === "'") quote = ch;
    else if (ch === "\\" && i + 1 < value.length) cur += esc[value[++i]] ?? value[i];
    else cur += ch;
  }
  if (inWord) words.push(cur);
  return words;
}

/** `NAME=value` words into a map (later wins). */
function assignWords(words: string[], into: Record<string, string>): void {
  for (const w of words) {
    const eq = w.indexOf("=");
    if (eq > 0) into[w.slice(0, eq)] = w.slice(eq + 1);
  }
}

/** Reads an `EnvironmentFile=` text: `KEY=VALUE` lines, `#`/`;` comments, shell-like quotes. */
export function parseEnvironmentFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim().replace(/^export\s+/, "");
    const words = splitSystemdWords(line.slice(eq + 1));
    out[key] = words.join(" ");
  }
  return out;
}

/** What systemd loads for one unit under `root`. */
export interface LoadedUnit {
  /** The unit file's in-root path, undefined when no unit file exists. */
  path?: string;
  /** Drop-in files applied after it, in order. */
  dropIns: string[];
  /** Every assignment of the unit file and its drop-ins, in the order systemd applies them. */
  assignments: Assignment[];
}

/** Loads `unit` (e.g. "kubelet.service") as systemd would under `root`. */
export async function loadUnit(root: string, unit: string): Promise<LoadedUnit> {
  let path: string | undefined;
  let text: string | undefined;
  for (const dir of UNIT_DIRS) {
    text = await readIn(root, `${dir}/${unit}`);
    if (text !== undefined) {
      path = `${dir}/${unit}`;
      break;
    }
  }
  const assignments = text === undefined ? [] : parseUnitText(text);
  const drops = await dropIns(root, UNIT_DIRS.map((d) => `${d}/${unit}.d`));
  for (const d of drops) assignments.push(...parseUnitText((await readIn(root, d)) ?? ""));
  return { path, dropIns: drops, assignments };
}

/** The manager's `DefaultEnvironment=` (system.conf, then system.conf.d drop-ins), which every unit gets. */
export async function defaultEnvironment(root: string): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  const files = ["/etc/systemd/system.conf", ...await dropIns(root, MANAGER_DIRS)];
  for (const f of files) {
    for (const a of parseUnitText((await readIn(root, f)) ?? "")) {
      if (a.section === "Manager" && a.key === "DefaultEnvironment") {
        assignWords(splitSystemdWords(a.value), env);
      }
    }
  }
  return env;
}

/**
 * The environment the processes of `unit` get, apart from what systemd itself adds (PATH, INVOCATION_ID,
 * ...): DefaultEnvironment, then the unit's Environment= in order, then its EnvironmentFile= files (they
 * override Environment=; a `-` prefix means optional).
 */
export async function unitEnvironment(root: string, unit: string): Promise<Record<string, string>> {
  const loaded = await loadUnit(root, unit);
  const env = await defaultEnvironment(root);
  const files: string[] = [];
  for (const a of loaded.assignments) {
    if (a.section !== "Service") continue;
    if (a.key === "Environment") {
      if (a.value === "") continue;
      assignWords(splitSystemdWords(a.value), env);
    } else if (a.key === "EnvironmentFile") {
      if (a.value === "") files.length = 0;
      else files.push(...splitSystemdWords(a.value));
    }
  }
  for (const f of files) {
    const optional = f.startsWith("-");
    const path = optional ? f.slice(1) : f;
    const text = await readIn(root, path);
    if (text === undefined) {
      if (!optional) {
        throw new Error(`${unit}: EnvironmentFile ${path} does not exist (systemd would fail the unit)`);
      }
      continue;
    }
    Object.assign(env, parseEnvironmentFile(text));
  }
  return env;
}

/**
 * The argv of the unit's (last) `ExecStart=` with `${VAR}` and `$VAR` expanded from its environment as
 * systemd.service(5) says: `${VAR}` stays one word, a lone `$VAR` word splits on whitespace; `$$` is `$`.
 * Prefix characters (`-`, `@`, `+`, `!`, `:`) are dropped. Undefined when the unit has no ExecStart.
 */
export async function execStartArgv(root: string, unit: string): Promise<string[] | undefined> {
  const loaded = await loadUnit(root, unit);
  let exec: string | undefined;
  for (const a of loaded.assignments) {
    if (a.section === "Service" && a.key === "ExecStart") exec = a.value === "" ? undefined : a.value;
  }
  if (exec === undefined) return undefined;
  const env = await unitEnvironment(root, unit);
  const out: string[] = [];
  for (const [i, raw] of splitSystemdWords(exec).entries()) {
    const word = i === 0 ? raw.replace(/^[-@+!:]+/, "") : raw;
    const lone = /^\$([A-Za-z_][A-Za-z0-9_]*)$/.exec(word);
    if (lone) {
      out.push(...(env[lone[1]] ?? "").split(/\s+/).filter((w) => w !== ""));
      continue;
    }
    out.push(
      word.replace(
        /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g,
        (m, name?: string) => (m === "$$" ? "$" : env[name!] ?? ""),
      ),
    );
  }
  return out;
}

/** True when `unit` is enabled for boot: a link in some `*.wants/` directory of the unit search path. */
export async function unitEnabled(root: string, unit: string): Promise<boolean> {
  for (const dir of UNIT_DIRS) {
    for (const name of await listIn(root, dir)) {
      if (!name.endsWith(".wants") && !name.endsWith(".requires")) continue;
      if ((await listIn(root, `${dir}/${name}`)).includes(unit)) return true;
    }
  }
  return false;
}

/** Names of the unit files (`*.service`) under the unit search path of `root`. */
export async function serviceUnits(root: string): Promise<string[]> {
  const names = new Set<string>();
  for (const dir of UNIT_DIRS) {
    for (const n of await listIn(root, dir)) if (n.endsWith(".service")) names.add(n);
  }
  return [...names].sort();
}
