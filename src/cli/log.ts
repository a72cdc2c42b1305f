// Logging the way runc does it: with --log FILE, lines go to that file as text
// (time="…" level=error msg="…") or, with --log-format json, as JSON lines
// ({"level":"error","msg":"…","time":"…"}), which is what containerd reads back on failure.
// Errors are also printed on stderr, plain, so a person at a terminal sees them. Without a
// log file, warnings go to stderr plain too, and --debug lines in the log format. An error
// may carry fields (the plan step, operation, path and errno runjs-init reported): they follow
// msg in the log line, as logrus writes fields, so a caller need not parse the message.
import { appendText, stderr } from "../sys/fs.ts";
import { UsageError } from "../errors.ts";

export type LogFields = Record<string, string | number>;

export class Logger {
  private file?: string;
  private json = false;
  debug = false;

  configure(file: string | undefined, format: string, debug: boolean): void {
    if (format !== "text" && format !== "json") throw new UsageError(`--log-format: invalid format ${JSON.stringify(format)}: use text or json`);
    this.file = file || undefined;
    this.json = format === "json";
    this.debug = debug;
    // runc opens its log file at start: it exists after every call, even one with nothing to say
    if (this.file)
      try {
        appendText(this.file, "");
      } catch {
        /* reported with the first line that cannot be written */
      }
  }

  private line(level: string, msg: string, fields: LogFields): string {
    const time = new Date().toISOString();
    if (this.json) return JSON.stringify({ level, msg, ...fields, time }) + "\n";
    const more = Object.entries(fields).map(([k, v]) => ` ${k}=${JSON.stringify(v)}`);
    return `time="${time}" level=${level} msg=${JSON.stringify(msg)}${more.join("")}\n`;
  }

  private emit(level: string, msg: string, fields: LogFields = {}): void {
    const line = this.line(level, msg, fields);
    if (this.file) {
      try {
        appendText(this.file, line);
      } catch {
        /* an unwritable log must not hide the error itself */
      }
    }
    if (level === "error") stderr(`runjs: ${msg}\n`);
    // debug lines keep the log's own format on stderr too (runc's --debug without --log)
    else if (!this.file) stderr(this.json || level === "debug" ? line : `runjs: ${level}: ${msg}\n`);
  }

  error(msg: string, fields?: LogFields): void {
    this.emit("error", msg, fields);
  }

  warn(msg: string): void {
    this.emit("warning", msg);
  }

  debugLog(msg: string): void {
    if (this.debug) this.emit("debug", msg);
  }
}
