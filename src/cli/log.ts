// Logging the way runc does it: with --log FILE, lines go to that file as text
// (time="…" level=error msg="…") or, with --log-format json, as JSON lines
// ({"level":"error","msg":"…","time":"…"}), which is what containerd reads back on failure.
// Errors are also printed on stderr, plain, so a person at a terminal sees them.
import { appendText, stderr } from "../sys/fs.ts";

export class Logger {
  private file?: string;
  private json = false;
  debug = false;

  configure(file: string | undefined, format: string, debug: boolean): void {
    if (format !== "text" && format !== "json") throw new Error(`--log-format: invalid format ${JSON.stringify(format)}: use text or json`);
    this.file = file || undefined;
    this.json = format === "json";
    this.debug = debug;
  }

  private line(level: string, msg: string): string {
    const time = new Date().toISOString();
    if (this.json) return JSON.stringify({ level, msg, time }) + "\n";
    return `time="${time}" level=${level} msg=${JSON.stringify(msg)}\n`;
  }

  private emit(level: string, msg: string): void {
    const line = this.line(level, msg);
    if (this.file) {
      try {
        appendText(this.file, line);
      } catch {
        /* an unwritable log must not hide the error itself */
      }
    }
    if (level === "error") stderr(`runjs: ${msg}\n`);
    else if (!this.file) stderr(this.json ? line : `runjs: ${level}: ${msg}\n`);
  }

  error(msg: string): void {
    this.emit("error", msg);
  }

  warn(msg: string): void {
    this.emit("warning", msg);
  }

  debugLog(msg: string): void {
    if (this.debug) this.emit("debug", msg);
  }
}
