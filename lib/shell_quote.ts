/** Quoting one word for a POSIX shell script eksnode writes. */

/** Quotes a word for sh: bare when it is plainly safe, else single-quoted. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
