/*
 * proto.h - the decoded plan and the frame codec (see protocol/protocol.json).
 *
 * Strings in struct plan point into the frame buffer, which the decoder has
 * checked: each is NUL-terminated with no NUL inside. String lists are always
 * NULL-terminated, so args and env can go straight to execve.
 */
#ifndef RUNJS_PROTO_H
#define RUNJS_PROTO_H

#include "util.h"
#include "proto.gen.h"

#define MAX_FRAME (16u << 20)

struct nsjoin  { uint32_t type; const char *path, *name; };
struct mnt     { const char *name, *source, *target, *fstype, *data;
		 uint32_t flags, propagation, mkdir, bindro, bind_clear, copyup; uint64_t attr_set, attr_clr;
		 const char *uidmap, *gidmap; uint32_t idmap_rec; /* id-mapped when uidmap */
		 uint32_t keep_mode; /* a tmpfs takes the covered directory's mode */
		 uint32_t early; /* a bind source taken before the namespaces (tree) */
		 uint32_t late; /* an id-mapped source in the rootfs, taken at its turn (idmap.c) */
		 int tree; /* not decoded: the detached copy taken early (idmap.c), or -1 */ };
struct dev     { const char *name, *path, *host; uint32_t mode, major, minor, uid, gid; };
struct symlink { const char *name, *target, *path; };
struct remount { const char *name, *path; uint32_t flags; };
struct sysctl  { const char *name, *path, *value; };
struct hook    { const char *name, *path; uint32_t phase, timeout, inherit_env;
		 char **args; size_t nargs; char **env; size_t nenv; };
struct sched   { uint32_t policy, priority; int32_t nice; uint64_t flags, runtime, deadline, period; };
struct attrw   { const char *name, *path, *value; };

enum cap_set { CAP_BOUNDING, CAP_EFFECTIVE, CAP_PERMITTED, CAP_INHERITABLE, CAP_AMBIENT };

struct plan {
	uint8_t seen[256]; /* seen[TAG_X]: record X was present (optional fields) */
	uint32_t version, helper_waits, unshare_flags, cgroupns, loopback, no_pivot, chroot, no_new_privs;
	uint32_t root_propagation, post_propagation, uid, gid, umask, seccomp_flags, seccomp_early;
	uint32_t new_keyring, personality, ioprio; /* the last two applied when seen */
	uint32_t console_fd, console_rows, console_cols, dev_console; /* console_fd when seen */
	uint32_t console_no_onlcr, fifo_by_proc, home_from_passwd;
	uint32_t no_setgroups;
	int32_t oom_score_adj;
	uint64_t caps[5]; /* by enum cap_set; applied when seen[TAG_CAP_BOUNDING] */
	const char *rootfs, *cwd;
	const char *time_offsets, *hostname, *domainname, *fifo; /* NULL when absent */
	const char *cgroup2_dir;                                 /* NULL when absent */
	const uint8_t *seccomp; size_t nseccomp;                 /* NULL when absent */
	const char *seccomp_listener;                            /* NULL when absent */
	const uint8_t *cpu_initial, *cpu_final; size_t ncpu_initial, ncpu_final; /* likewise */
	uint32_t mpol_mode; const uint8_t *mpol_nodes; size_t nmpol_nodes; /* when seen[TAG_MPOL_MODE] */
	struct sched *sched; size_t nsched;                      /* 0 or 1 */
	struct attrw *attrs; size_t nattrs;
	struct nsjoin *ns; size_t nns;
	struct mnt *mounts; size_t nmounts;
	struct dev *devs; size_t ndevs;
	struct symlink *links; size_t nlinks;
	struct remount *remounts; size_t nremounts;
	struct sysctl *sysctls; size_t nsysctls;
	struct hook *hooks; size_t nhooks;
	char **masked; size_t nmasked;
	char **readonly; size_t nreadonly;
	uint32_t *gids; size_t ngids;
	char **env; size_t nenv;
	char **args; size_t nargs;
	int agent; /* not decoded: the connection to the seccomp agent, or -1 */
};

struct frame { uint16_t type; uint32_t len; uint8_t *buf; };

/* 1: a frame; 0: EOF before its first byte; -1: error, message in err. */
int read_frame(int fd, struct frame *f, char *err, size_t errlen);
/* 0 or -1 with a message in err. */
int decode_plan(const uint8_t *buf, size_t len, struct plan *p, char *err, size_t errlen);
struct state { const char *creating, *created, *seccomp; };
int decode_continue(const uint8_t *buf, size_t len, struct state *s, char *err, size_t errlen);
void print_plan_json(const struct plan *p);

/* Outgoing frames are small: a fixed buffer (start it with WBUF_INIT), long strings cut. */
struct wbuf { uint8_t b[16384]; size_t n; };
#define WBUF_INIT {.n = 8}
void wb_u32(struct wbuf *w, uint16_t tag, uint32_t v);
void wb_str(struct wbuf *w, uint16_t tag, const char *s);
int send_frame(int fd, uint16_t type, struct wbuf *w); /* w NULL: no payload; 0 or -1 */

#endif
