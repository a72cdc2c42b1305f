// The few error classes the runtime raises. Each carries its context once; the CLI renders
// every one of them the same way (`runjs: <message>`), so nothing is logged twice.

/** A problem with what the user asked for: a bad argument, a container in the wrong state. */
export class UsageError extends Error {}

/**
 * What a StateError says about the container, for callers to decide by (runc's ErrNotExist,
 * ErrExist, ErrNotRunning …); the message is for people and may change.
 */
export type StateKind =
  | "not-exist" // no container by that id
  | "exists" // an id already in use
  | "invalid-id"
  | "not-running" // the operation needs a live container
  | "wrong-state" // the container is in a state the operation refuses (created, paused, stopped)
  | "failed"; // the container's init failed to start, or a signal could not be sent

export class StateError extends Error {
  constructor(
    public id: string,
    message: string,
    public kind: StateKind,
  ) {
    super(message);
  }
}

export class CgroupError extends Error {
  constructor(
    public file: string,
    public value: string,
    message: string,
    /** The errno name of a failed write (EINVAL, ENOSPC …), when there was one. */
    public code?: string,
  ) {
    super(`cgroup ${file}${value ? ` (${value})` : ""}: ${message}`);
  }
}

/** A failure reported by runjs-init: which step of the plan, which operation, which errno. */
export class HelperError extends Error {
  constructor(
    public errno: number,
    public step: string,
    public op: string,
    public path: string,
    detail: string,
  ) {
    super(`${step}: ${op}${path ? " " + path : ""}: ${detail}`);
  }
}

/** e is a StateError of one of these kinds. */
export function isStateError(e: unknown, ...kinds: StateKind[]): e is StateError {
  return e instanceof StateError && kinds.includes(e.kind);
}

export class HookError extends Error {}

export class NotSupportedError extends Error {}
