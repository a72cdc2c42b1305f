// The Dockerfile reader and Docker's word expansion: pure, no build.
import { describe, expect, test } from "bun:test";
import { parseDockerfile } from "../../src/engine/build/dockerfile.ts";
import { expandWord, expandWords, parseDuration, splitAssignments } from "../../src/engine/build/words.ts";

const vars = (m: Record<string, string>) => (n: string) => m[n];

describe("expandWord", () => {
  const v = vars({ X: "ex", EMPTY: "", SP: "a  b" });
  test.each([
    ["$X", "ex"],
    ["${X}y", "exy"],
    ["${EMPTY:-def}", "def"],
    ["${EMPTY-def}", ""],
    ["${UNSET-def}", "def"],
    ["${X:+alt}", "alt"],
    ["${UNSET:+alt}", ""],
    ["'$X'", "$X"],
    ['"$X and $SP"', "ex and a  b"],
    ["\\$X", "$X"],
    ['"a\\"b"', 'a"b'],
    ["$UNSET", ""],
    ["cost: $5", "cost: $5"],
  ])("%s → %s", (w, want) => expect(expandWord(w, v)).toBe(want));
  test("${NAME:?message} refuses an unset name", () => expect(() => expandWord("${UNSET:?needs it}", v)).toThrow("UNSET: needs it"));
  test("an unclosed quote is an error", () => expect(() => expandWord("'open", v)).toThrow("no closing '"));
  test("the backtick escape", () => expect(expandWord("`$X", v, "`")).toBe("$X"));
});

describe("expandWords", () => {
  test("splits on unquoted white space, unquoted expansions included", () =>
    expect(expandWords("a $SP \"$SP\" 'c d' e\\ f", vars({ SP: "x  y" }))).toEqual(["a", "x", "y", "x  y", "c d", "e f"]));
});

describe("splitAssignments", () => {
  test("NAME=VALUE pairs keep their quotes for expansion", () =>
    expect(splitAssignments('A=1 B="two words" C=\'$x\'')).toEqual([
      { name: "A", value: "1" },
      { name: "B", value: '"two words"' },
      { name: "C", value: "'$x'" },
    ]));
  test("the old form: NAME and the rest of the line", () => expect(splitAssignments("C 3  4")).toEqual([{ name: "C", value: "3  4" }]));
  test("ARG without a default", () => expect(splitAssignments("A B=1", "\\", false)).toEqual([{ name: "A", value: undefined }, { name: "B", value: "1" }]));
});

describe("parseDockerfile", () => {
  test("instructions, lines, flags, exec form, heredocs, directives", () => {
    const d = parseDockerfile(
      '# syntax=docker/dockerfile:1\nARG B=x\nfrom $B as one\nRUN echo a \\\n# a comment inside\n  b\nCOPY --from=one --chmod=755 ["a b", "/c"]\nRUN <<-"EOF" sh\n\techo $Y\nEOF\nCMD ["sh"]\n',
      "Dockerfile",
    );
    expect(d.syntax).toBe("docker/dockerfile:1");
    expect(d.instructions.map((i) => [i.keyword, i.line])).toEqual([
      ["ARG", 2],
      ["FROM", 3],
      ["RUN", 4],
      ["COPY", 7],
      ["RUN", 8],
      ["CMD", 11],
    ]);
    expect(d.instructions[2]!.args).toBe("echo a   b");
    expect(d.instructions[3]!.flags).toEqual([
      { name: "from", value: "one" },
      { name: "chmod", value: "755" },
    ]);
    expect(d.instructions[3]!.json).toEqual(["a b", "/c"]);
    expect(d.instructions[4]!.args).toBe('<<-"EOF" sh');
    expect(d.instructions[4]!.heredocs).toEqual([{ name: "EOF", content: "echo $Y\n", expand: false }]);
    expect(d.instructions[5]!.json).toEqual(["sh"]);
  });
  test("the escape directive changes the continuation character", () => {
    const d = parseDockerfile("# escape=`\nFROM x\nRUN echo a `\n  b\n", "Dockerfile");
    expect(d.escape).toBe("`");
    expect(d.instructions[1]!.args).toBe("echo a   b");
  });
  test.each([
    ["FROM x\nFETCH y\n", "Df:2: unknown instruction: FETCH"],
    ["# escape=x\nFROM x\n", 'Df:1: invalid escape directive "x": must be ` or \\'],
    ["RUN true\n", "Df:1: RUN before the first FROM (only ARG may come first)"],
    ["ARG A\n", "Df: no FROM instruction"],
    ["FROM x\nRUN <<EOF\necho\n", "Df:2: heredoc <<EOF has no closing EOF line"],
    ["FROM x\nONBUILD FROM y\n", "Df:2: ONBUILD FROM is not allowed"],
  ])("%j refused", (text, msg) => expect(() => parseDockerfile(text, "Df")).toThrow(msg));
});

describe("parseDuration", () => {
  test.each([
    ["30s", 30e9],
    ["1m30s", 90e9],
    ["500ms", 5e8],
    ["1.5h", 5400e9],
    ["0", 0],
  ])("%s", (s, ns) => expect(parseDuration(s, "--interval")).toBe(ns));
  test("not a duration", () => expect(() => parseDuration("5", "--interval")).toThrow('--interval: "5" is not a duration'));
});
