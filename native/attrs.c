/*
 * attrs.c - what the container's process inherits from us besides its
 * namespaces and identity: CPU affinity, scheduling policy, I/O priority,
 * personality, session keyring, and the LSM label of the next execve.
 *
 * All of these are attributes of the calling task that fork(2) copies and
 * execve(2) keeps, so the init sets them on itself and the user's program
 * starts with them. They are set after pivot_root and before the capability
 * drop: a real-time policy, a negative nice value and the real-time I/O class
 * need CAP_SYS_NICE or CAP_SYS_ADMIN, and the LSM files are the container's
 * /proc/self/attr/... . They are set before READY, so that a refusal fails
 * `create` with the field named, and before a late seccomp filter could
 * refuse the syscalls.
 *
 * - sched_setaffinity(2): the CPUs the task may run on. Moving a task into a
 *   cpuset cgroup changes its CPUs, which is why there are two masks: the
 *   initial one is set in the helper, before runjs moves the init into its
 *   cgroups (the CPUs the set-up runs on), the final one here, after.
 * - sched_setattr(2): policy (SCHED_OTHER, FIFO, RR, BATCH, IDLE, DEADLINE),
 *   nice, real-time priority, deadline parameters and SCHED_FLAG_*. A
 *   SCHED_DEADLINE task may not fork, so startContainer hooks cannot run
 *   with it.
 * - ioprio_set(2): the I/O scheduling class and level, for the task itself.
 * - set_mempolicy(2): which NUMA nodes the task's memory comes from (bind,
 *   interleave, prefer), kept across fork and execve.
 * - personality(2): the execution domain (PER_LINUX32 makes uname(2) report
 *   a 32-bit machine) and its flags; it is kept across execve.
 * - keyctl(KEYCTL_JOIN_SESSION_KEYRING, NULL): a new anonymous session
 *   keyring. Keyrings are not namespaced; without this the container would
 *   share runjs's session keyring, and whatever keys the caller keeps there.
 * - an LSM applies a label or profile at the next execve when it is written
 *   to /proc/self/attr/exec (or /proc/self/attr/apparmor/exec): which file and
 *   which text is runjs's decision; we only write it.
 */
#include "init.h"

#include <linux/keyctl.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The kernel's struct sched_attr, SCHED_ATTR_SIZE_VER1 (Linux 5.3) */
struct sched_attr_v1 {
	uint32_t size, policy;
	uint64_t flags;
	int32_t nice;
	uint32_t priority;
	uint64_t runtime, deadline, period;
	uint32_t util_min, util_max;
};

#define IOPRIO_WHO_PROCESS 1

void set_cpu_affinity(const uint8_t *mask, size_t len, const char *step)
{
	must(syscall(SYS_sched_setaffinity, 0, len, mask), step, "sched_setaffinity", "");
}

void set_process_attrs(const struct plan *p)
{
	if (p->new_keyring)
		must(syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL), "session keyring", "keyctl",
		     "KEYCTL_JOIN_SESSION_KEYRING");
	if (p->seen[TAG_PERSONALITY])
		must(personality(p->personality), "linux.personality", "personality", "");
	if (p->seen[TAG_IOPRIO])
		must(syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, p->ioprio), "process.ioPriority",
		     "ioprio_set", "");
	if (p->nsched) {
		const struct sched *s = p->sched;
		struct sched_attr_v1 a = {
			.size = sizeof a, .policy = s->policy, .flags = s->flags, .nice = s->nice,
			.priority = s->priority, .runtime = s->runtime, .deadline = s->deadline,
			.period = s->period,
		};
		must(syscall(SYS_sched_setattr, 0, &a, 0), "process.scheduler", "sched_setattr", "");
	}
	if (p->cpu_final)
		set_cpu_affinity(p->cpu_final, p->ncpu_final, "process.execCPUAffinity.final");
	if (p->seen[TAG_MPOL_MODE]) /* maxnode counts one more than the mask's bits */
		must(syscall(SYS_set_mempolicy, p->mpol_mode, p->nmpol_nodes ? p->mpol_nodes : NULL,
			     p->nmpol_nodes ? p->nmpol_nodes * 8 + 1 : 0),
		     "linux.memoryPolicy", "set_mempolicy", "");
	for (size_t i = 0; i < p->nattrs; i++) {
		const struct attrw *w = &p->attrs[i];
		must(write_file(w->path, w->value), w->name, "write", w->path);
	}
}
