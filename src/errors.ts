// The few error classes the runtime raises. Each carries its context once; the CLI renders
// every one of them the same way (`runjs: <message>`), so nothing is logged twice.

/** A problem with what the user asked for: a bad argument, a container in the wrong state. */
export class UsageError extends Error {}

export class StateError extends Error {
  constructor(
    public id: string,
    message: string,
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

export class HookError extends Error {}

export class NotSupportedError extends Error {}
