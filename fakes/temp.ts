/**
 * Temporary directories and files for tests, benchmarks and the demo: made under the system's temp
 * directory like `Deno.makeTempDir`, and removed when the module that made them ends — after its last
 * test, also when a test failed or threw before its own clean-up. A test that removes its directory
 * itself may do so; removing twice is harmless. A path that cannot be removed (a mount left busy) is
 * named on stderr, so a leak is seen rather than left behind silently.
 */

const made = new Set<string>();

/** Mount points at or below `path` (a test that failed before unmounting leaves them). */
function mountsBelow(path: string): string[] {
  let table = "";
  try {
    table = Deno.readTextFileSync("/proc/self/mountinfo");
  } catch {
    return [];
  }
  // Field 5 is the mount point, with spaces and the like written as octal escapes.
  return table.split("\n").map((line) => line.split(" ")[4] ?? "")
    .map((m) => m.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8))))
    .filter((m) => m === path || m.startsWith(`${path}/`));
}

function removeAll(): void {
  for (const path of made) {
    const mounted = mountsBelow(path);
    if (mounted.length) {
      // Never recurse into a mounted file system: it may be a bind mount of something that must stay.
      console.error(`fakes/temp.ts: not removing ${path}: still mounted there: ${mounted.join(", ")}`);
      continue;
    }
    try {
      Deno.removeSync(path, { recursive: true });
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) {
        console.error(`fakes/temp.ts: could not remove ${path}: ${err instanceof Error ? err.message : err}`);
      }
    }
  }
  made.clear();
}

let listening = false;

function remember(path: string): string {
  if (!listening) {
    // `unload` runs when the module's isolate ends (each test file has its own), after every test and
    // after a failure alike; a synchronous removal is all that can run there.
    globalThis.addEventListener("unload", removeAll);
    listening = true;
  }
  made.add(path);
  return path;
}

/**
 * A new temporary directory, removed when this test module ends.
 * @example const root = await tempDir({ prefix: "eksnode-init-" });
 */
export async function tempDir(opts: Deno.MakeTempOptions = {}): Promise<string> {
  return remember(await Deno.makeTempDir({ prefix: "eksnode-test-", ...opts }));
}

/** A new temporary file, removed when this test module ends. */
export async function tempFile(opts: Deno.MakeTempOptions = {}): Promise<string> {
  return remember(await Deno.makeTempFile({ prefix: "eksnode-test-", ...opts }));
}
