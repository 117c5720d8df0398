/**
 * Loopback fakes never sit on a port `fetch` refuses: on a machine whose ephemeral range starts low
 * (`.ci/elsewhere` narrows it to 1024–9999), a port-0 listener can get 6000 or 5060, and the CLI's
 * requests to it would fail for no fault of the code under test. The list is checked against Deno's
 * own fetch: a listed port is refused before any connection, an unlisted closed one is not.
 */
import assert from "node:assert/strict";
import { deadPort, FETCH_BLOCKED_PORTS, listenFetchable, serveLoopback } from "../../fakes/common.ts";

async function fetchError(port: number): Promise<string> {
  try {
    await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5000) });
    return "answered";
  } catch (err) {
    return String((err as Error).message ?? err);
  }
}

Deno.test("FETCH_BLOCKED_PORTS is what fetch refuses", async () => {
  for (const port of [1, 6000, 5060, 2049, 6667, 10080]) {
    assert.ok(FETCH_BLOCKED_PORTS.has(port), `${port} listed`);
    assert.match(
      await fetchError(port),
      /bad port|port.*(blocked|not allowed)|refused to connect/i,
      `${port}`,
    );
  }
  // A closed port that is not listed fails on the connection itself, not on a refusal by fetch.
  const closed = deadPort();
  assert.ok(!FETCH_BLOCKED_PORTS.has(closed));
  assert.doesNotMatch(await fetchError(closed), /blocked/);
});

Deno.test("fakes listen only on ports fetch connects to", async () => {
  const held = [];
  try {
    for (let i = 0; i < 50; i++) {
      const l = listenFetchable("127.0.0.1");
      held.push(l);
      assert.ok(!FETCH_BLOCKED_PORTS.has(l.addr.port));
    }
    const fake = serveLoopback(() => new Response("ok"));
    try {
      assert.equal(await (await fetch(fake.url)).text(), "ok");
    } finally {
      await fake.close();
    }
  } finally {
    for (const l of held) l.close();
  }
});
