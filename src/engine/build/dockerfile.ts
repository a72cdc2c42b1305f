// Reading a Dockerfile into a list of instructions.
//
// The text is parsed by dockerfile-ast (the parser of the Dockerfile language server, kept
// by rcjsuen on npm): it knows the parser directives (`# escape=`, `# syntax=`), comments,
// line continuations (the escape character at a line's end, comment lines inside them
// dropped), flags (`--from=…`) and heredocs (`<<EOF` … `EOF`). This module turns its tree
// into plain records — keyword, line, flags, the argument text, the exec form when the
// arguments are a JSON array, heredoc bodies — and refuses what Docker refuses: an unknown
// instruction, a bad escape directive, an unterminated heredoc, anything before the first
// FROM but ARG. Every error names the file and the line. Expansion is words.ts's.
import { DockerfileParser } from "dockerfile-ast";

export class DockerfileError extends Error {}

export interface Heredoc {
  name: string;
  content: string;
  /** false when the delimiter was quoted (<<'EOF'): the body is taken as written */
  expand: boolean;
}

export interface Instruction {
  keyword: string;
  /** 1-based line of the instruction's first line */
  line: number;
  /** `--name=value` flags before the arguments, in order (value undefined for a bare --name) */
  flags: { name: string; value: string | undefined }[];
  /** The arguments, continuation lines joined (heredoc bodies cut off) */
  args: string;
  /** The arguments as an exec-form JSON array of strings, when they are one */
  json?: string[];
  heredocs: Heredoc[];
  /** ONBUILD: the instruction it records */
  trigger?: string;
}

export interface Dockerfile {
  escape: string;
  /** `# syntax=` (ignored with a warning: this builder reads the language itself) */
  syntax?: string;
  instructions: Instruction[];
}

export const KEYWORDS = [
  "FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME", "USER",
  "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
];

/** Instructions whose exec form is a JSON array. */
const JSON_FORMS = new Set(["RUN", "CMD", "ENTRYPOINT", "SHELL", "VOLUME", "COPY", "ADD"]);

function lineStarts(text: string): number[] {
  const out = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === "\n") out.push(i + 1);
  return out;
}

/** The exec form: a JSON array of strings, else undefined (then it is the shell form). */
export function execForm(args: string): string[] | undefined {
  const t = args.trim();
  if (!t.startsWith("[")) return undefined;
  try {
    const v = JSON.parse(t);
    return Array.isArray(v) && v.every((x) => typeof x === "string") ? v : undefined;
  } catch {
    return undefined;
  }
}

export function parseDockerfile(text: string, file: string): Dockerfile {
  const where = (line: number) => `${file}:${line}`;
  // the directives: only at the very top, before any other line (as Docker reads them)
  let escape = "\\";
  let syntax: string | undefined;
  for (const l of text.split("\n")) {
    const m = /^\s*#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.*?)\s*$/.exec(l);
    if (!m) break;
    const key = m[1]!.toLowerCase();
    if (key === "escape") {
      if (m[2] !== "\\" && m[2] !== "`") throw new DockerfileError(`${where(1 + text.split("\n").indexOf(l))}: invalid escape directive ${JSON.stringify(m[2])}: must be \` or \\`);
      escape = m[2]!;
    } else if (key === "syntax") syntax = m[2];
  }
  const starts = lineStarts(text);
  const offset = (p: { line: number; character: number }) => (starts[p.line] ?? text.length) + p.character;
  const doc = DockerfileParser.parse(text);
  const out: Instruction[] = [];
  let seenFrom = false;
  for (const ins of doc.getInstructions()) {
    const line = ins.getRange().start.line + 1;
    const keyword = ins.getKeyword().toUpperCase();
    if (!KEYWORDS.includes(keyword)) throw new DockerfileError(`${where(line)}: unknown instruction: ${ins.getInstruction()}`);
    if (!seenFrom && keyword !== "FROM" && keyword !== "ARG")
      throw new DockerfileError(`${where(line)}: ${keyword} before the first FROM (only ARG may come first)`);
    if (keyword === "FROM") seenFrom = true;
    const any = ins as any;
    const flags: Instruction["flags"] = (any.getFlags?.() ?? []).map((f: any) => ({ name: f.getName(), value: f.getValue() ?? undefined }));
    let args = ins.getArgumentsContent() ?? "";
    const heredocs: Heredoc[] = [];
    if (keyword === "RUN" || keyword === "COPY" || keyword === "ADD") {
      for (const h of any.getHeredocs?.() ?? []) {
        const content = h.getContentRange();
        const delim = h.getDelimiterRange();
        if (!delim) throw new DockerfileError(`${where(line)}: heredoc <<${h.getName()} has no closing ${h.getName()} line`);
        const start = text.slice(offset(h.getStartRange().start), offset(h.getNameRange().end) + 1);
        let body = content ? text.slice(offset(content.start), offset(content.end)) : "";
        if (body && !body.endsWith("\n")) body += "\n";
        // <<-EOF: leading tabs are taken off every line of the body
        if (/^<<-/.test(start)) body = body.replace(/^\t+/gm, "");
        heredocs.push({ name: h.getName(), content: body, expand: !/^<<-?["']/.test(start) });
      }
      // the arguments proper are the instruction's first line; the bodies follow it
      if (heredocs.length) args = args.split("\n")[0]!;
    }
    const json = JSON_FORMS.has(keyword) && !heredocs.length ? execForm(args) : undefined;
    const rec: Instruction = { keyword, line, flags, args: args.trim(), heredocs, ...(json ? { json } : {}) };
    if (keyword === "ONBUILD") {
      const t = (any.getTrigger?.() ?? "").toUpperCase();
      if (!t) throw new DockerfileError(`${where(line)}: ONBUILD needs an instruction`);
      if (t === "ONBUILD" || t === "FROM" || t === "MAINTAINER") throw new DockerfileError(`${where(line)}: ONBUILD ${t} is not allowed`);
      if (!KEYWORDS.includes(t)) throw new DockerfileError(`${where(line)}: ONBUILD: unknown instruction: ${t}`);
      rec.trigger = args.trim();
    }
    out.push(rec);
  }
  if (!out.some((i) => i.keyword === "FROM")) throw new DockerfileError(`${file}: no FROM instruction`);
  return { escape, ...(syntax ? { syntax } : {}), instructions: out };
}
