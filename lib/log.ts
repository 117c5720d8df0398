/**
 * Output for humans and machines. Text lines (colored on a terminal unless NO_COLOR is set) or one
 * JSON object per line with `--output json`: every object has `time`, `level`, `event` (a free-form
 * line is `log.info`, `log.warn`, ...) and, while a step runs (see {@link Logger.scope}), `step`.
 * Secrets never reach a logger: callers redact.
 */

/** `text` for people, `json` for log pipelines. */
export type LogFormat = "text" | "json";
/** Severity of a line. */
export type Level = "debug" | "info" | "warn" | "error";

/** The logging surface every part of eksnode writes through. */
export interface Logger {
  readonly format: LogFormat;
  readonly color: boolean;
  /** A free-form line at a level; `fields` go into the JSON object. */
  log(level: Level, msg: string, fields?: Record<string, unknown>): void;
  /** A structured event (`step.start`, `change.applied`, ...) with its human rendering. */
  event(event: string, fields: Record<string, unknown>, text: string): void;
  /** Download progress: a redrawn bar on a terminal, nothing otherwise (start/end are events). */
  progress(label: string, done: number, total: number | undefined): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  /** Names the step now running (the runner sets it), or none: JSON records carry it as `step`. */
  scope(step: string | undefined): void;
}

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  format?: LogFormat;
  debug?: boolean;
  /** Defaults to: stdout is a terminal and NO_COLOR is unset. */
  color?: boolean;
  /** Where lines go (default stdout). */
  write?: (line: string) => void;
  /** Whether a progress bar may be drawn (default: stdout is a terminal and format is text). */
  tty?: boolean;
}

const enc = new TextEncoder();

/** Colors for text output; identity functions when color is off. */
export function palette(color: boolean) {
  const wrap = (code: number) => (s: string) => color ? `\x1b[${code}m${s}\x1b[0m` : s;
  return { dim: wrap(2), bold: wrap(1), green: wrap(32), yellow: wrap(33), red: wrap(31), cyan: wrap(36) };
}

/** Creates the logger for a run. */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const format = opts.format ?? "text";
  const isTty = Deno.stdout.isTerminal();
  const color = opts.color ?? (isTty && !Deno.env.get("NO_COLOR") && format === "text");
  const tty = opts.tty ?? (isTty && format === "text");
  const write = opts.write ?? ((line: string) => Deno.stdout.writeSync(enc.encode(line + "\n")));
  const c = palette(color);
  let barShown = false;
  let step: string | undefined;
  const clearBar = () => {
    if (barShown) {
      Deno.stdout.writeSync(enc.encode("\r\x1b[2K"));
      barShown = false;
    }
  };
  const emit = (level: Level, msg: string, fields: Record<string, unknown> = {}, event?: string) => {
    if (level === "debug" && !opts.debug) return;
    if (format === "json") {
      write(
        JSON.stringify({
          time: new Date().toISOString(),
          level,
          event: event ?? `log.${level}`,
          ...(step !== undefined ? { step } : {}),
          msg,
          ...fields,
        }),
      );
      return;
    }
    clearBar();
    const prefix = level === "warn" ? c.yellow("warning: ") : level === "error" ? c.red("error: ") : "";
    write(level === "debug" ? c.dim(msg) : prefix + msg);
  };
  return {
    format,
    color,
    log: (level, msg, fields) => emit(level, msg, fields),
    event: (event, fields, text) => emit("info", text, fields, event),
    progress(label, done, total) {
      if (!tty) return;
      const width = 30;
      const frac = total ? Math.min(1, done / total) : 0;
      const bar = total ? "#".repeat(Math.round(frac * width)).padEnd(width, ".") : "?".repeat(width);
      const mib = (n: number) => (n / 1048576).toFixed(1);
      const line = `  ${label} [${bar}] ${mib(done)}${total ? "/" + mib(total) : ""} MiB`;
      Deno.stdout.writeSync(enc.encode("\r\x1b[2K" + line.slice(0, 120)));
      barShown = true;
    },
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    scope: (s) => void (step = s),
  };
}

/** A logger that collects lines in memory (for tests and for the demo's summary). */
export function memoryLogger(format: LogFormat = "text"): Logger & { lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger({ format, color: false, tty: false, write: (l) => lines.push(l), debug: true });
  return Object.assign(logger, { lines });
}

/**
 * A logger that holds what it is told until `release()`, then passes it on to `to` in order: work
 * that runs side by side logs in a fixed order, whichever finishes first.
 * @example const held = heldLogger(log); await Promise.all([a(held.logger), ...]); held.release();
 */
export function heldLogger(to: Logger): { logger: Logger; release(): void } {
  const held: (() => void)[] = [];
  const logger: Logger = {
    format: to.format,
    color: to.color,
    log: (level, msg, fields) => held.push(() => to.log(level, msg, fields)),
    event: (event, fields, text) => held.push(() => to.event(event, fields, text)),
    progress: (label, done, total) => to.progress(label, done, total),
    debug: (msg, fields) => held.push(() => to.debug(msg, fields)),
    info: (msg, fields) => held.push(() => to.info(msg, fields)),
    warn: (msg, fields) => held.push(() => to.warn(msg, fields)),
    scope: (step) => held.push(() => to.scope(step)),
  };
  return { logger, release: () => held.splice(0).forEach((emit) => emit()) };
}
