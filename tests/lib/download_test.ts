import assert from "node:assert/strict";
import { ChecksumError, NetworkError } from "../../lib/errors.ts";
import { downloadVerified, parseChecksumFile } from "../../lib/download.ts";
import { startFaultyProxy } from "../../fakes/faulty_http.ts";
import { fileServer, sha256, tempHost } from "../support/helpers.ts";

const fast = { retry: { attempts: 4, baseMs: 5, maxMs: 20, totalMs: 5_000 } };
const body = new Uint8Array(300_000).map((_, i) => (i * 7) % 251);
const good = sha256(body);

Deno.test("good checksum: file lands with mode, published checksum agrees", async () => {
  const srv = fileServer({ "/kubelet": { body }, "/kubelet.sha256": { body: `${good}  kubelet\n` } });
  try {
    const host = await tempHost();
    const r = await downloadVerified(
      host,
      { url: `${srv.url}/kubelet`, sha256: good, checksumUrl: `${srv.url}/kubelet.sha256` },
      "/usr/bin/kubelet",
      { mode: 0o755 },
      fast,
    );
    assert.equal(r.sha256, good);
    assert.equal(r.bytes, body.length);
    assert.equal((await host.stat("/usr/bin/kubelet"))?.mode, 0o755);
    assert.deepEqual(await host.readBytes("/usr/bin/kubelet"), body);
  } finally {
    await srv.close();
  }
});

Deno.test("bad checksum: error names expected and actual, target untouched, no temp left", async () => {
  const srv = fileServer({ "/kubelet": { body } });
  try {
    const host = await tempHost();
    await host.writeFile("/usr/bin/kubelet", "previous");
    const wrong = "0".repeat(64);
    await assert.rejects(
      downloadVerified(host, { url: `${srv.url}/kubelet`, sha256: wrong }, "/usr/bin/kubelet", {}, fast),
      (e: Error) => e instanceof ChecksumError && e.message.includes(wrong) && e.message.includes(good),
    );
    assert.equal(await host.readText("/usr/bin/kubelet"), "previous");
    assert.deepEqual(await host.readDir("/usr/bin"), ["kubelet"]);
    assert.equal(srv.hits["/kubelet"], 1, "a checksum mismatch is not retried");
  } finally {
    await srv.close();
  }
});

Deno.test("published checksum that disagrees with the pin fails before downloading", async () => {
  const srv = fileServer({ "/k": { body }, "/k.sha256": { body: "a".repeat(64) } });
  try {
    const host = await tempHost();
    await assert.rejects(
      downloadVerified(
        host,
        { url: `${srv.url}/k`, sha256: good, checksumUrl: `${srv.url}/k.sha256` },
        "/k",
        {},
        fast,
      ),
      /disagrees with the pinned one/,
    );
    assert.equal(srv.hits["/k"], undefined);
    assert.equal(await host.exists("/k"), false);
  } finally {
    await srv.close();
  }
});

Deno.test("truncated body every time: error names received and expected bytes, nothing written", async () => {
  const srv = fileServer({ "/cni.tgz": { body, truncateTo: 1000 } });
  try {
    const host = await tempHost();
    await assert.rejects(
      downloadVerified(host, { url: `${srv.url}/cni.tgz`, sha256: good }, "/opt/cni.tgz", {}, fast),
      (e: Error) => e instanceof ChecksumError && /truncated: received 1000 of 300000 bytes/.test(e.message),
    );
    assert.equal(srv.hits["/cni.tgz"], 4, "truncation is retried up to the attempt limit");
    assert.deepEqual(await host.readDir("/opt"), []);
  } finally {
    await srv.close();
  }
});

Deno.test("truncated once (connection reset), then complete: succeeds", async () => {
  const srv = fileServer({ "/x": { body, truncateTo: 5000, truncateTimes: 1 } });
  try {
    const host = await tempHost();
    const r = await downloadVerified(host, { url: `${srv.url}/x`, sha256: good }, "/x", {}, fast);
    assert.equal(r.attempts, 2);
    assert.equal(r.sha256, good);
  } finally {
    await srv.close();
  }
});

Deno.test("5xx then success: retried with backoff", async () => {
  const srv = fileServer({ "/runc": { body, failFirst: [503, 500] } });
  try {
    const host = await tempHost();
    const r = await downloadVerified(
      host,
      { url: `${srv.url}/runc`, sha256: good },
      "/usr/sbin/runc",
      {},
      fast,
    );
    assert.equal(r.attempts, 3);
    assert.equal(srv.hits["/runc"], 3);
  } finally {
    await srv.close();
  }
});

Deno.test("404 is not retried and is a NetworkError naming the URL", async () => {
  const srv = fileServer({});
  try {
    const host = await tempHost();
    await assert.rejects(
      downloadVerified(host, { url: `${srv.url}/missing`, sha256: good }, "/m", {}, fast),
      (e: Error) => e instanceof NetworkError && e.message.includes("/missing") && e.message.includes("404"),
    );
    assert.equal(srv.hits["/missing"], 1);
  } finally {
    await srv.close();
  }
});

Deno.test("unreachable endpoint: bounded retries then one NetworkError", async () => {
  const host = await tempHost();
  const t0 = performance.now();
  await assert.rejects(
    downloadVerified(host, { url: "http://127.0.0.1:9/nothing", sha256: good }, "/n", {}, fast),
    (e: Error) => e instanceof NetworkError && e.message.includes("127.0.0.1:9"),
  );
  assert.ok(performance.now() - t0 < 5_000);
  assert.equal(await host.exists("/n"), false);
});

Deno.test("parseChecksumFile: bare hash, sha256sum lines, picks by name", () => {
  const a = "a".repeat(64), b = "b".repeat(64);
  assert.equal(parseChecksumFile(`${a}\n`, "x"), a);
  assert.equal(parseChecksumFile(`${a}  one.tgz\n${b} *two.tgz\n`, "two.tgz"), b);
  assert.equal(parseChecksumFile(`${a}  one.tgz\n${b}  two.tgz\n`, "three.tgz"), undefined);
  assert.equal(parseChecksumFile("garbage", "x"), undefined);
});

Deno.test("a redirect is followed (as GitHub releases redirect to object storage) and the file lands verified", async () => {
  const srv = fileServer({ "/objects/kubelet": { body } });
  const front = startFaultyProxy(srv.url, {
    "/releases/kubelet": { kind: "redirect", to: `${srv.url}/objects/kubelet` },
  });
  try {
    const host = await tempHost();
    const r = await downloadVerified(
      host,
      { url: `${front.url}/releases/kubelet`, sha256: good },
      "/k",
      {},
      fast,
    );
    assert.equal(r.attempts, 1);
    assert.equal(front.hits["/releases/kubelet"], 1);
    assert.equal(srv.hits["/objects/kubelet"], 1);
    assert.deepEqual(await host.readBytes("/k"), body);
  } finally {
    await front.close();
    await srv.close();
  }
});

Deno.test("an idle source ends the try after idleTimeoutMs; the last error names the timeout and the tries", async () => {
  const srv = fileServer({ "/x": { body } });
  const stalled = startFaultyProxy(srv.url, { "/x": { kind: "stall", at: 10 } });
  try {
    const host = await tempHost();
    await assert.rejects(
      downloadVerified(host, { url: `${stalled.url}/x`, sha256: good }, "/x", {}, {
        ...fast,
        retry: { ...fast.retry, attempts: 2 },
        idleTimeoutMs: 100,
      }),
      (e: Error) =>
        e instanceof NetworkError &&
        /no data for 0\.1s after 10 of 300000 bytes \(2 tries\)$/.test(e.message),
    );
    assert.equal(stalled.hits["/x"], 2);
    assert.deepEqual(await host.readDir("/"), [], "no target, no temp file");
  } finally {
    await stalled.close();
    await srv.close();
  }
});
