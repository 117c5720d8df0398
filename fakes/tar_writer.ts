/** Moved to lib/tar_write.ts (collect-logs writes archives too); re-exported for the tests that import it here. */
export { makeTar, type TarInput } from "../lib/tar_write.ts";
