/**
 * Progress display on stderr (stdout stays for the markdown table): a live
 * status line on a terminal, and throttled plain lines when piped to a log.
 */

/** Minimum interval between plain-text updates when stderr is not a terminal (a log stays readable). */
const LOG_INTERVAL_MS = 5000;

export class Progress {
  private readonly started = Date.now();
  private phaseStarted = Date.now();
  private phaseName = "";
  private lastLog = 0;
  private readonly tty = Boolean(process.stderr.isTTY);

  /** Starts a named phase and prints it on its own line. */
  phase(name: string): void {
    this.clear();
    if (this.phaseName) process.stderr.write(`  ${this.phaseName} done in ${secs(Date.now() - this.phaseStarted)}\n`);
    this.phaseName = name;
    this.phaseStarted = Date.now();
    process.stderr.write(`[${secs(Date.now() - this.started)}] ${name}\n`);
  }

  /** Updates the status line; `fraction` in [0, 1] draws a bar. */
  update(detail: string, fraction?: number): void {
    const bar = fraction === undefined ? "" : `${renderBar(fraction)} `;
    const line = `  ${bar}${detail}`;
    if (this.tty) {
      process.stderr.write(`\r\x1b[2K${line.slice(0, (process.stderr.columns ?? 120) - 1)}`);
    } else if (Date.now() - this.lastLog >= LOG_INTERVAL_MS || fraction === 1) {
      this.lastLog = Date.now();
      process.stderr.write(`${line}\n`);
    }
  }

  /** Prints a line that stays (e.g. a finished measurement). */
  note(text: string): void {
    this.clear();
    process.stderr.write(`  ${text}\n`);
  }

  /** Ends the last phase and prints the total time. */
  done(): void {
    this.phase("finished");
    process.stderr.write(`total ${secs(Date.now() - this.started)}\n`);
  }

  private clear(): void {
    if (this.tty) process.stderr.write("\r\x1b[2K");
  }
}

function renderBar(fraction: number): string {
  const width = 24;
  const f = Math.min(Math.max(fraction, 0), 1);
  const full = Math.round(f * width);
  return `[${"#".repeat(full)}${".".repeat(width - full)}] ${(f * 100).toFixed(0).padStart(3)}%`;
}

function secs(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}
