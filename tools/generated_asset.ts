/**
 * Writes a generated asset, or with `--check` only compares: the generators of assets/ from public
 * reference data (tools/gen_eni_limits.ts, tools/gen_instance_cpus.ts) end the same way.
 */
export async function writeOrCheck(
  output: string,
  text: string,
  opts: { check: boolean; tool: string; count: number },
): Promise<number> {
  if (opts.check) {
    if (await Deno.readTextFile(output).catch(() => "") !== text) {
      console.error(`${output} is out of date; run ${opts.tool}`);
      return 1;
    }
    return 0;
  }
  await Deno.writeTextFile(output, text);
  console.log(`wrote ${opts.count} instance types to ${output}`);
  return 0;
}
