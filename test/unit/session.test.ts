// runjs's side of the conversation with runjs-init, against a socketpair: the peer's frames
// are written ahead, its end shut for writing (so runjs reads EOF after them), and what runjs
// sent is read back from it afterwards.
import { describe, expect, test } from "bun:test";
import { decodeRecords, field, frame, RecordWriter } from "../../src/helper/encode.ts";
import { Frame, Tag } from "../../src/helper/protocol.gen.ts";
import { converse, type SessionCallbacks } from "../../src/helper/session.ts";
import { HelperError } from "../../src/errors.ts";
import { close, read, SHUT_WR, shutdown, socketpair, writeAll } from "../../src/sys/libc.ts";

const PLAN = new RecordWriter().str(Tag.CWD, "/").finish();
const rec = (fill: (w: RecordWriter) => void) => {
  const w = new RecordWriter();
  fill(w);
  return w.finish();
};
const pidsFrame = frame(Frame.PIDS, rec((w) => w.u32(Tag.PID_HELPER, 41).u32(Tag.PID_INIT, 42)));
const errorFrame = frame(
  Frame.ERROR,
  rec((w) => w.u32(Tag.ERR_ERRNO, 2).str(Tag.ERR_STEP, "mounts[3] (/data)").str(Tag.ERR_OP, "mount").str(Tag.ERR_PATH, "/data").str(Tag.ERR_MSG, "")),
);

/** Run the conversation with the peer's frames; returns what runjs sent (types and frames), and what it did. */
function talk(peer: Uint8Array[], states = { creating: "{}", created: "{}" }) {
  const [mine, theirs] = socketpair();
  const calls: string[] = [];
  const cb: SessionCallbacks = {
    pids(h, i) {
      calls.push(`pids ${h} ${i}`);
    },
    hooks() {
      calls.push("hooks");
      return states;
    },
  };
  for (const f of peer) writeAll(theirs, f);
  shutdown(theirs, SHUT_WR);
  let result: unknown;
  let error: unknown;
  try {
    result = converse(mine, PLAN, cb, 7);
  } catch (e) {
    error = e;
  }
  close(mine);
  const buf = new Uint8Array(1 << 16);
  let len = 0;
  for (let n; (n = read(theirs, buf, len)) > 0; ) len += n;
  close(theirs);
  const frames: { type: number; payload: Uint8Array }[] = [];
  const dv = new DataView(buf.buffer);
  for (let off = 0; off + 8 <= len; off += 8 + dv.getUint32(off, true))
    frames.push({ type: dv.getUint16(off + 4, true), payload: buf.subarray(off + 8, off + 8 + dv.getUint32(off, true)) });
  return { result, error, calls, sent: frames.map((f) => f.type), frames };
}

describe("the phases, runjs's side", () => {
  test("in order: PLAN, then PLACED after PIDS, CONTINUE after HOOKS, done at EOF after READY", () => {
    const t = talk([pidsFrame, frame(Frame.HOOKS), frame(Frame.READY)]);
    expect(t.error).toBeUndefined();
    expect(t.result).toEqual({ helperPid: 41, initPid: 42 });
    expect(t.calls).toEqual(["pids 41 42", "hooks"]);
    expect(t.sent).toEqual([Frame.PLAN, Frame.PLACED, Frame.CONTINUE]);
  });

  test("LOG frames are skipped in any phase", () => {
    const log = frame(Frame.LOG, rec((w) => w.str(Tag.ERR_MSG, "x")));
    const t = talk([log, pidsFrame, log, frame(Frame.HOOKS), log, frame(Frame.READY), log]);
    expect(t.error).toBeUndefined();
    expect(t.sent).toEqual([Frame.PLAN, Frame.PLACED, Frame.CONTINUE]);
  });

  test("an ERROR becomes a HelperError naming step, operation, path and errno; nothing more is sent", () => {
    const t = talk([pidsFrame, errorFrame]);
    expect(t.error).toBeInstanceOf(HelperError);
    const e = t.error as HelperError;
    expect([e.step, e.op, e.path, e.errno]).toEqual(["mounts[3] (/data)", "mount", "/data", 2]);
    expect(e.message).toBe("mounts[3] (/data): mount /data: no such file or directory (ENOENT)");
    expect(t.sent).toEqual([Frame.PLAN, Frame.PLACED]);
    expect(t.calls).toEqual(["pids 41 42"]);
  });

  test("an ERROR after READY still fails the conversation", () => {
    const t = talk([pidsFrame, frame(Frame.HOOKS), frame(Frame.READY), errorFrame]);
    expect(t.error).toBeInstanceOf(HelperError);
  });

  test("a frame out of turn, or EOF before a phase, is an error naming the frame expected", () => {
    expect(String(talk([frame(Frame.HOOKS)]).error)).toContain("runjs-init: got HOOKS, want PIDS");
    expect(String(talk([pidsFrame]).error)).toContain("runjs-init exited before HOOKS");
    expect(String(talk([]).error)).toContain("runjs-init exited before PIDS");
  });

  test("CONTINUE carries the states the hooks callback returned", () => {
    const t = talk([pidsFrame, frame(Frame.HOOKS), frame(Frame.READY)], { creating: '{"status":"creating"}', created: '{"status":"created"}' });
    const cont = t.frames.find((f) => f.type === Frame.CONTINUE)!;
    const recs = decodeRecords(cont.payload);
    expect(field<string>(recs, Tag.STATE_CREATING)).toBe('{"status":"creating"}');
    expect(field<string>(recs, Tag.STATE_CREATED)).toBe('{"status":"created"}');
  });
});
