/**
 * The /etc/hosts block of local Outposts clusters (eks/system/api_server_hosts.ts): rendering and replacement
 * against the shapes /etc/hosts comes in, the deterministic shuffle, the nsswitch line, and the lookup
 * through the real `getent` (for names this machine resolves from its own /etc/hosts, read only).
 */
import assert from "node:assert/strict";
import {
  apiServerHostName,
  chooseApiServerAddresses,
  getentAddresses,
  getentLookup,
  type HostLookup,
  hostsServicesWithoutFiles,
  pinnedAddresses,
  renderHostsBlock,
  replaceHostsBlock,
  shuffledAddresses,
} from "../../../eks/system/api_server_hosts.ts";
import { Host } from "../../../lib/host.ts";

const NAME = "abc123.gr7.us-west-2.eks.amazonaws.com";
const ADDRS = ["10.0.1.10", "10.0.2.11", "10.0.3.12"];
const BLOCK = renderHostsBlock("prod", NAME, ADDRS, "i-0123456789abcdef0");
const BASE = "127.0.0.1   localhost localhost.localdomain\n::1         localhost6\n";

Deno.test("hosts block: names eksnode and the cluster, one line an address, LF endings", () => {
  const lines = BLOCK.split("\n");
  assert.match(lines[0], /^# BEGIN eksnode: .*cluster prod /);
  assert.match(lines.at(-2)!, /^# END eksnode: .*cluster prod$/);
  assert.equal(lines.at(-1), "", "ends with a newline");
  // ADDRESS<TAB>NAME, as nodeadm writes its lines.
  assert.deepEqual(lines.slice(1, -2).map((l) => l.split("\t")[1]), [NAME, NAME, NAME]);
  assert.deepEqual(lines.slice(1, -2).map((l) => l.split("\t")[0]).sort(), ADDRS);
  assert.deepEqual(pinnedAddresses(BASE + BLOCK, NAME).sort(), ADDRS);
  assert.deepEqual(pinnedAddresses(BASE + BLOCK, "other.example"), []);
});

Deno.test("hosts block: the shuffle depends on the set and the seed only", () => {
  const many = Array.from({ length: 8 }, (_, i) => `10.0.${i}.5`);
  const a = shuffledAddresses(many, "i-0aaa");
  assert.deepEqual(shuffledAddresses([...many].reverse(), "i-0aaa"), a, "answer order does not matter");
  assert.deepEqual(shuffledAddresses([...many, many[0]], "i-0aaa"), a, "duplicates dropped");
  assert.deepEqual([...a].sort(), [...many].sort(), "a permutation");
  // Different instances spread: among 20 seeds the first address is not always the same.
  const firsts = new Set(Array.from({ length: 20 }, (_, i) => shuffledAddresses(many, `i-${i}`)[0]));
  assert.ok(firsts.size > 1, `first addresses: ${[...firsts]}`);
});

Deno.test("hosts file: the block is added, replaced in place, removed; other lines kept byte for byte", () => {
  // Missing file: only the block; nothing to remove leaves it missing.
  assert.equal(replaceHostsBlock(undefined, BLOCK), BLOCK);
  assert.equal(replaceHostsBlock(undefined, undefined), undefined);
  // Empty file.
  assert.equal(replaceHostsBlock("", BLOCK), BLOCK);
  assert.equal(replaceHostsBlock("", undefined), "");
  // Existing entries: appended after them; removed again, the file is as it was.
  const withBlock = replaceHostsBlock(BASE, BLOCK)!;
  assert.equal(withBlock, BASE + BLOCK);
  assert.equal(replaceHostsBlock(withBlock, undefined), BASE);
  assert.equal(replaceHostsBlock(withBlock, BLOCK), withBlock, "same block: same text");
  // An old block in the middle is replaced where it stands; lines after it stay after it.
  const old = renderHostsBlock("prod", NAME, ["10.9.9.9"], "i-0123456789abcdef0");
  const after = "10.1.1.1 admin-own.example\n";
  const replaced = replaceHostsBlock(BASE + old + after, BLOCK)!;
  assert.equal(replaced, BASE + BLOCK + after);
  // Two blocks (a hand-copied one): one remains, at the first's place.
  assert.equal(replaceHostsBlock(BASE + old + after + old, BLOCK), BASE + BLOCK + after);
  // CRLF lines of the admin stay CRLF; ours are LF.
  const crlf = "127.0.0.1 localhost\r\n10.1.1.1 a.example\r\n";
  assert.equal(replaceHostsBlock(crlf, BLOCK), crlf + BLOCK);
  assert.equal(replaceHostsBlock(crlf + BLOCK, undefined), crlf);
  // A block whose markers were converted to CRLF is still recognised.
  assert.equal(replaceHostsBlock(crlf + BLOCK.replaceAll("\n", "\r\n"), BLOCK), crlf + BLOCK);
  // No newline at the end: the last line gets one only because the block follows it.
  const noEol = "127.0.0.1 localhost";
  assert.equal(replaceHostsBlock(noEol, BLOCK), noEol + "\n" + BLOCK);
  assert.equal(replaceHostsBlock(noEol, undefined), noEol);
  assert.equal(replaceHostsBlock(noEol + "\n" + BLOCK, undefined), noEol + "\n");
  // Our block without its END line (cut by hand): only the marker line is dropped, the rest is kept.
  const cut = BASE + BLOCK.split("\n")[0] + "\n" + after;
  assert.equal(replaceHostsBlock(cut, undefined), BASE + after);
  assert.equal(replaceHostsBlock(cut, BLOCK), BASE + BLOCK + after);
  // Comments that merely mention eksnode are not ours.
  const mention = "# eksnode manages the API server block below\n";
  assert.equal(replaceHostsBlock(mention, undefined), mention);
});

Deno.test("hosts: API server host name from the endpoint, port stripped, IP literals skipped", () => {
  assert.equal(apiServerHostName(`https://${NAME.toUpperCase()}`), NAME);
  assert.equal(apiServerHostName(`https://${NAME}:8443/`), NAME);
  assert.equal(apiServerHostName("https://10.0.0.1:443"), undefined);
  assert.equal(apiServerHostName("https://[fd00::1]"), undefined);
  assert.equal(apiServerHostName("not a url"), undefined);
});

Deno.test("hosts: getent output and the nsswitch hosts line", () => {
  const out = "10.0.1.10       STREAM h\n10.0.1.10       DGRAM  \n10.0.1.10       RAW    \n" +
    "fd00::5         STREAM \nfd00::5         DGRAM  \n";
  assert.deepEqual(getentAddresses(out), ["10.0.1.10", "fd00::5"]);
  assert.deepEqual(getentAddresses("10.0.1.10  h\n"), ["10.0.1.10"], "`getent hosts` output too");
  assert.equal(hostsServicesWithoutFiles("hosts:          files dns\n"), "dns");
  assert.equal(
    hostsServicesWithoutFiles("# c\nhosts: files myhostname resolve [!UNAVAIL=return] dns # AL2023\n"),
    "myhostname resolve [!UNAVAIL=return] dns",
  );
  assert.equal(hostsServicesWithoutFiles("hosts: files [NOTFOUND=return] dns"), "dns");
  assert.equal(hostsServicesWithoutFiles("hosts: files"), undefined);
  assert.equal(hostsServicesWithoutFiles(undefined), "dns", "glibc's default without the file");
});

/** A lookup that answers from tables, recording what it was asked. */
function fakeLookup(dns: string[], system: string[]): HostLookup & { asked: string[] } {
  const asked: string[] = [];
  const fn = (name: string, via: "dns" | "system") => {
    asked.push(`${via} ${name}`);
    const addresses = via === "dns" ? dns : system;
    return Promise.resolve(addresses.length ? { addresses } : { addresses, problem: "not found" });
  };
  return Object.assign(fn, { asked });
}

Deno.test("hosts: fresh DNS answers win over the pinned block", async () => {
  const d = await chooseApiServerAddresses(NAME, "prod", BASE + BLOCK, fakeLookup(["10.0.7.7"], ADDRS));
  assert.deepEqual(d.addresses, ["10.0.7.7"]);
  assert.equal(d.how, "resolved");
  assert.equal(d.warn, false);
});

Deno.test("hosts: without DNS, the system resolver minus our block; else the block is kept with a warning", async () => {
  // The admin's own /etc/hosts line answers through the system resolver (our block's addresses dropped).
  const own = await chooseApiServerAddresses(
    NAME,
    "prod",
    BASE + BLOCK,
    fakeLookup([], [...ADDRS, "10.5.5.5"]),
  );
  assert.deepEqual(own.addresses, ["10.5.5.5"]);
  // Disconnected: only our block answers: kept, with a warning naming the name.
  const lookup = fakeLookup([], ADDRS);
  const kept = await chooseApiServerAddresses(NAME, "prod", BASE + BLOCK, lookup);
  assert.equal(kept.how, "kept");
  assert.deepEqual([...kept.addresses].sort(), ADDRS);
  assert.equal(kept.warn, true);
  assert.match(
    kept.message,
    new RegExp(`cannot resolve ${NAME.replaceAll(".", "\\.")} \\(not found\\).*keeping the 3`),
  );
  assert.deepEqual(lookup.asked, [`dns ${NAME}`, `system ${NAME}`]);
  // Nothing resolves and nothing is pinned: a warning, no addresses (init goes on).
  const none = await chooseApiServerAddresses(NAME, "prod", BASE, fakeLookup([], []));
  assert.equal(none.how, "none");
  assert.deepEqual(none.addresses, []);
  assert.equal(none.warn, true);
  assert.match(none.message, /not pinned in \/etc\/hosts/);
});

const GETENT = await (await Host.open("/")).which("getent");

Deno.test({
  name: "hosts: the real getent resolves names of this machine's /etc/hosts (read only)",
  ignore: GETENT === undefined,
  async fn() {
    const host = await Host.open("/");
    const systemHosts = await Deno.readTextFile("/etc/hosts");
    // A name the machine's own /etc/hosts gives, so no network is needed.
    const name = systemHosts.split("\n").map((l) => l.replace(/#.*/, "").trim().split(/\s+/))
      .find((f) => f.length > 1)?.[1];
    assert.ok(name, "/etc/hosts names a host");
    const exec = (argv: string[], o: Parameters<Host["exec"]>[1]) => host.exec(argv, o);
    // `files` only: what /etc/hosts says (the lookup without files would skip it).
    const lookup = getentLookup(exec, "hosts: dns files\n");
    const system = await lookup(name, "system");
    const expected = getentAddresses(
      (await host.exec(["getent", "ahosts", name], { allowFailure: true })).stdout,
    );
    assert.ok(system.addresses.length > 0, `${name}: ${system.problem}`);
    assert.deepEqual(system.addresses, expected);
    // A name nobody knows: not found, with the command in the message.
    const missing = await getentLookup(exec, "hosts: files\n")("eksnode-test.invalid", "system");
    assert.deepEqual(missing.addresses, []);
    assert.match(missing.problem!, /getent ahosts eksnode-test\.invalid: not found/);
    // Only files in nsswitch: the lookup without files has nothing to ask.
    const noDns = await getentLookup(exec, "hosts: files\n")(name, "dns");
    assert.deepEqual(noDns.addresses, []);
  },
});

if (GETENT === undefined) {
  console.log("api_server_hosts_test: getent not installed: the real lookup is not checked");
}
