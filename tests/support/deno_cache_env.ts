/**
 * The Deno cache of this test process, for a child started with a clean environment or another HOME: without
 * it the child's Deno looks for its cache under that HOME (or cannot make one under /nonexistent) and fetches
 * every npm package again. DENO_DIR when set, else Deno's default on Linux, `$XDG_CACHE_HOME/deno` or
 * `$HOME/.cache/deno` (what `deno info` prints as "DENO_DIR location").
 * @example new Deno.Command(Deno.execPath(), { clearEnv: true, env: { ...denoCacheEnv(), HOME: "/nonexistent" } })
 */
export function denoCacheEnv(): { DENO_DIR: string } {
  const set = Deno.env.get("DENO_DIR");
  if (set) return { DENO_DIR: set };
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  if (xdg) return { DENO_DIR: `${xdg}/deno` };
  return { DENO_DIR: `${Deno.env.get("HOME") ?? "/root"}/.cache/deno` };
}
