// Dockerfile words: variable expansion and quote removal, as Docker does them.
//
// Instructions other than RUN, CMD and ENTRYPOINT (whose text the container's shell reads)
// have their arguments expanded by the builder itself, with the variables of the build
// (ENV, and ARG while it is in scope): $NAME and ${NAME}, ${NAME:-word} / ${NAME-word}
// (a default when unset or empty / unset), ${NAME:+word} / ${NAME+word} (word when set),
// ${NAME:?message} (an error when unset or empty). Single quotes keep everything as written;
// double quotes keep spaces but expand; the escape character (\ or the one `# escape=`
// chose) makes the next character plain. An unknown variable expands to nothing. PURE.

export class WordError extends Error {}

export type Vars = (name: string) => string | undefined;

interface Piece {
  text: string;
  /** false where the text came from an unquoted expansion or unquoted source: splittable */
  quoted: boolean;
}

class Lexer {
  i = 0;
  constructor(
    readonly s: string,
    readonly vars: Vars,
    readonly escape: string,
  ) {}

  /** The pieces of the input up to `stop` (a character outside quotes) or its end. */
  pieces(stop?: string): Piece[] {
    const out: Piece[] = [];
    const push = (text: string, quoted: boolean) => out.push({ text, quoted });
    while (this.i < this.s.length) {
      const c = this.s[this.i]!;
      if (stop !== undefined && c === stop) break;
      if (c === this.escape) {
        this.i++;
        if (this.i < this.s.length) push(this.s[this.i++]!, true);
        else push(c, true);
      } else if (c === "'") {
        const end = this.s.indexOf("'", this.i + 1);
        if (end < 0) throw new WordError(`unexpected end of text: no closing ' in ${JSON.stringify(this.s)}`);
        push(this.s.slice(this.i + 1, end), true);
        this.i = end + 1;
      } else if (c === '"') {
        this.i++;
        let text = "";
        for (;;) {
          if (this.i >= this.s.length) throw new WordError(`unexpected end of text: no closing " in ${JSON.stringify(this.s)}`);
          const d = this.s[this.i]!;
          if (d === '"') {
            this.i++;
            break;
          }
          if (d === this.escape && this.i + 1 < this.s.length && `"$${this.escape}`.includes(this.s[this.i + 1]!)) {
            text += this.s[this.i + 1];
            this.i += 2;
          } else if (d === "$") text += this.dollar().map((p) => p.text).join("");
          else {
            text += d;
            this.i++;
          }
        }
        push(text, true);
      } else if (c === "$") out.push(...this.dollar().map((p) => ({ text: p.text, quoted: false })));
      else {
        push(c, /\s/.test(c) ? false : true);
        this.i++;
      }
    }
    return out;
  }

  /** At a "$": the expansion, or "$" itself when no name follows. */
  dollar(): Piece[] {
    this.i++;
    const c = this.s[this.i];
    if (c === "{") {
      this.i++;
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.s.slice(this.i));
      if (!m) throw new WordError(`bad substitution in ${JSON.stringify(this.s)}`);
      const name = m[0];
      this.i += name.length;
      const value = this.vars(name);
      if (this.s[this.i] === "}") {
        this.i++;
        return [{ text: value ?? "", quoted: false }];
      }
      const op = /^(:?[-+?])/.exec(this.s.slice(this.i));
      if (!op) throw new WordError(`unsupported modifier in \${${name}${this.s.slice(this.i, this.i + 2)}…} in ${JSON.stringify(this.s)}`);
      this.i += op[1]!.length;
      const word = this.pieces("}");
      if (this.s[this.i] !== "}") throw new WordError(`missing } in ${JSON.stringify(this.s)}`);
      this.i++;
      const colon = op[1]!.startsWith(":");
      const set = colon ? !!value : value !== undefined;
      switch (op[1]!.slice(-1)) {
        case "-":
          return set ? [{ text: value!, quoted: false }] : word;
        case "+":
          return set ? word : [];
        default:
          if (!set) throw new WordError(`${name}: ${word.map((p) => p.text).join("") || "is not set"}`);
          return [{ text: value!, quoted: false }];
      }
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.s.slice(this.i));
    if (!m) return [{ text: "$", quoted: true }];
    this.i += m[0].length;
    return [{ text: this.vars(m[0]) ?? "", quoted: false }];
  }
}

/** One word: expanded, quotes removed, nothing split (ENV values, WORKDIR, USER, …). */
export function expandWord(s: string, vars: Vars, escape = "\\"): string {
  return new Lexer(s, vars, escape)
    .pieces()
    .map((p) => p.text)
    .join("");
}

/** Words separated by unquoted white space, each expanded and unquoted (COPY, EXPOSE, VOLUME, …). */
export function expandWords(s: string, vars: Vars, escape = "\\"): string[] {
  const words: string[] = [];
  let cur: string | undefined;
  for (const p of new Lexer(s, vars, escape).pieces()) {
    if (p.quoted) {
      cur = (cur ?? "") + p.text;
      continue;
    }
    // unquoted text: white space separates words
    for (const part of p.text.split(/(\s+)/)) {
      if (part === "") continue;
      if (/^\s+$/.test(part)) {
        if (cur !== undefined) words.push(cur);
        cur = undefined;
      } else cur = (cur ?? "") + part;
    }
  }
  if (cur !== undefined) words.push(cur);
  return words;
}

/**
 * Split "A=1 B='two words'" (or the old form "A one value") into name/raw-value pairs,
 * without expanding: ENV, LABEL and ARG expand each value afterwards.
 */
export function splitAssignments(s: string, escape = "\\", oldFormAllowed = true): { name: string; value: string | undefined }[] {
  const raw = rawWords(s, escape);
  if (!raw.length) return [];
  if (!raw[0]!.includes("=") && oldFormAllowed) {
    const name = raw[0]!;
    const rest = s.trimStart().slice(name.length).trim();
    return [{ name, value: rest }];
  }
  return raw.map((w) => {
    const eq = w.indexOf("=");
    return eq < 0 ? { name: w, value: undefined } : { name: w.slice(0, eq), value: w.slice(eq + 1) };
  });
}

/** Words as written (quotes and escapes kept), split on white space outside quotes. */
export function rawWords(s: string, escape = "\\"): string[] {
  const out: string[] = [];
  let cur = "";
  let quote = "";
  let any = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === escape && quote !== "'" && i + 1 < s.length) {
      cur += c + s[++i];
      any = true;
    } else if (quote) {
      cur += c;
      if (c === quote) quote = "";
    } else if (c === '"' || c === "'") {
      quote = c;
      cur += c;
      any = true;
    } else if (/\s/.test(c)) {
      if (any) out.push(cur);
      cur = "";
      any = false;
    } else {
      cur += c;
      any = true;
    }
  }
  if (quote) throw new WordError(`unexpected end of text: no closing ${quote} in ${JSON.stringify(s)}`);
  if (any) out.push(cur);
  return out;
}

/** Go's time.ParseDuration, for HEALTHCHECK's flags: nanoseconds. */
export function parseDuration(s: string, what: string): number {
  const units: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  if (s === "0") return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let i = 0;
  while (i < s.length) {
    re.lastIndex = i;
    const m = re.exec(s);
    if (!m) throw new WordError(`${what}: ${JSON.stringify(s)} is not a duration (like 30s, 1m30s, 500ms)`);
    total += Number(m[1]) * units[m[2]!]!;
    i = re.lastIndex;
  }
  if (!s) throw new WordError(`${what}: empty duration`);
  return Math.round(total);
}
