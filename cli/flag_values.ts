/**
 * Checks of flag values shared by the commands, as commander argument parsers: a bad value is a
 * {@link UsageError} (exit 2) in every command, one line naming the flag (control characters escaped).
 */
import { UsageError } from "../lib/errors.ts";

/** The shape of an AWS region name (lowercase, e.g. us-west-2, us-gov-east-1, eusc-de-east-1). */
export const REGION_NAME = /^[a-z]{2,}(-[a-z0-9]+)+-[0-9]+$/;

/**
 * Argument parser of a `--region` flag: the value trimmed, refused unless it looks like a region.
 * @example regionValue(" us-west-2") // "us-west-2"
 */
export function regionValue(value: string): string {
  const region = value.trim();
  if (!REGION_NAME.test(region)) {
    throw new UsageError(
      `--region: ${JSON.stringify(region)} is not an AWS region name`,
      'regions look like "us-west-2"',
    );
  }
  return region;
}

/**
 * Prints the warning for an old flag name that still works (a hidden alias) on stderr, so stdout and
 * `--output json` stay what the new name gives.
 * @example warnOldFlag("--log-format", "--output")
 */
export function warnOldFlag(old: string, current: string, write = (l: string) => console.error(l)): void {
  write(`warning: ${old} is an old name of ${current}; it still works, but use ${current}`);
}
