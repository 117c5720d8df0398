/** What `eksnode init` wrote under a root, and its console output, in the form golden files keep. */
import { octalMode } from "../helpers.ts";

/** The runner's journal holds timestamps; it is runner state, not an output of the steps. */
export const JOURNAL = /^\/var\/lib\/eksnode\/journal(\/|$)/;

/**
 * The files init wrote under `root` (golden-relative path → text; the DescribeCluster cache's fetch time
 * replaced), and MODES: one line for each file, symlink and empty directory. Files of `inputs` (the baked
 * image and the machine, by in-root path) are not outputs.
 */
export async function initOutputs(
  root: string,
  inputs: Record<string, string>,
): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  const modes: string[] = [];
  /** Walks `rel`; returns whether it has any entry at all (inputs and journal ones included). */
  const walk = async (rel: string): Promise<boolean> => {
    let any = false;
    for await (const e of Deno.readDir(`${root}${rel}`)) {
      any = true;
      const p = `${rel}/${e.name}`;
      if (p in inputs || JOURNAL.test(p)) continue;
      const st = await Deno.lstat(`${root}${p}`);
      const mode = octalMode(st);
      if (st.isSymlink) modes.push(`link ${p} -> ${await Deno.readLink(`${root}${p}`)}`);
      else if (st.isDirectory) {
        if (!(await walk(p))) modes.push(`${mode} ${p}/`);
      } else {
        files[p.slice(1)] = (await Deno.readTextFile(`${root}${p}`))
          .replace(/"fetchedAt": "[^"]+"/, '"fetchedAt": "<FETCHED_AT>"');
        modes.push(`${mode} ${p}`);
      }
    }
    return any;
  };
  await walk("");
  return { ...files, MODES: modes.sort().join("\n") + "\n" };
}

/** CLI output without what changes from run to run: timings, the temp root, loopback ports, jitter. */
export function normalizeOutput(text: string, root: string): string {
  return text
    .replaceAll(root, "<ROOT>")
    .replace(/http:\/\/127\.0\.0\.1:\d+/g, "http://127.0.0.1:<PORT>")
    // A change line shows its time only past 0.1 s, which a loaded machine reaches: drop it.
    .replace(/^(\s+\+ .*?) \(\d+\.\d+s\)$/gm, "$1")
    .replace(/\(\d+\.\d+s\)/g, "(<T>s)")
    .replace(/ in \d+\.\d+s\b/g, " in <T>s")
    .replace(/ in \d+ ms\b/g, " in <N> ms");
}
