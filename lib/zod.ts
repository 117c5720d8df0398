/**
 * zod for every schema in eksnode: the tree-shakable `zod/mini` build with English messages. The
 * classic `zod` build is one 760 KB module that took ~9 ms of every `eksnode init` start to evaluate
 * (bench/results.md); mini bundles to ~40 KB with the same validation core and the same message texts
 * (they come from the same `en` locale, which mini leaves unset until configured here).
 */
import { config } from "zod/mini";
import en from "zod/v4/locales/en.js";

config(en());

// Importers use `import * as z from "lib/zod.ts"` and name members (`z.string()`), so the bundler keeps
// only the parts used; re-exporting the namespace as one value would keep all of it.
export * from "zod/mini";
