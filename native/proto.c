/*
 * proto.c - frames and TLV records on the control socket, and check-plan.
 *
 * A frame is "u32 length | u16 type | u16 flags | payload", a payload a run of
 * records "u16 tag | u32 length | value", all little-endian. The plan comes
 * from runjs, which we trust, but the decoder still treats it as hostile
 * input: every length is checked against the bytes really there before
 * anything is read, integers must have exactly their size, strings must end
 * in their only NUL, unknown tags and repeated single tags are errors, and
 * every list has a cap. A bad plan is one clean message, never an
 * out-of-bounds read. Errors unwind with longjmp; the process exits soon
 * after, so nothing is freed.
 *
 * The tables below are the schema: tag, kind, JSON name (those of
 * src/plan/types.ts, in that order) and where the value goes. The decoder
 * and `check-plan`, which prints the decoded plan back as JSON for the
 * TypeScript tests, both walk them, so the two cannot disagree.
 */
#include "proto.h"

#include <stdnoreturn.h>

#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Kinds before STRV are single values: a second record with the tag is an error. */
enum kind { U32, BOOL, I32, U64, STR, BYTES, CAPS, STRV, U32V, LIST };

struct type;
struct field {
	uint16_t tag;
	uint8_t kind, opt;      /* opt: printed only when present */
	const char *json;       /* NULL: never printed */
	size_t off, cnt, cap;   /* the member; for BYTES, STRV, U32V, LIST its count and cap */
	const struct type *sub; /* LIST: the element */
};
struct type { const char *name; size_t size; const struct field *f; };

#define F(S, tag, kind, json, m) {TAG_##tag, kind, 0, json, offsetof(struct S, m), 0, 0, NULL}
#define OPT(S, tag, kind, json, m) {TAG_##tag, kind, 1, json, offsetof(struct S, m), 0, 0, NULL}
#define VEC(S, tag, kind, json, m, cap) \
	{TAG_##tag, kind, kind == BYTES, json, offsetof(struct S, m), offsetof(struct S, n##m), cap, NULL}
#define LIST(S, tag, json, m, cap, sub) \
	{TAG_##tag, LIST, 0, json, offsetof(struct S, m), offsetof(struct S, n##m), cap, &sub}
/* An optional list of at most one element, printed as that object (or not at all). */
#define ONE(S, tag, json, m, sub) \
	{TAG_##tag, LIST, 1, json, offsetof(struct S, m), offsetof(struct S, n##m), 1, &sub}
#define TYPE(S, var, name, ...) \
	static const struct field var##_f[] = {__VA_ARGS__, {0}}; \
	static const struct type var = {name, sizeof(struct S), var##_f}

TYPE(nsjoin, ns_type, "NS_JOIN",
     F(nsjoin, NS_TYPE, U32, "type", type), F(nsjoin, NS_PATH, STR, "path", path),
     OPT(nsjoin, NAME, STR, "name", name));
TYPE(mnt, mnt_type, "MOUNT",
     F(mnt, NAME, STR, "name", name), F(mnt, M_SOURCE, STR, "source", source),
     F(mnt, M_TARGET, STR, "target", target), F(mnt, M_FSTYPE, STR, "fstype", fstype),
     F(mnt, M_FLAGS, U32, "flags", flags), F(mnt, M_DATA, STR, "data", data),
     F(mnt, M_PROPAGATION, U32, "propagation", propagation),
     F(mnt, M_ATTR_SET, U64, "attrSet", attr_set), F(mnt, M_ATTR_CLR, U64, "attrClr", attr_clr),
     F(mnt, M_MKDIR, U32, "mkdir", mkdir), F(mnt, M_BINDRO, U32, "bindRemount", bindro),
     F(mnt, M_BIND_CLEAR, U32, "bindClear", bind_clear),
     F(mnt, M_COPYUP, BOOL, "copyUp", copyup),
     OPT(mnt, M_UIDMAP, STR, "uidMap", uidmap), OPT(mnt, M_GIDMAP, STR, "gidMap", gidmap),
     F(mnt, M_IDMAP_REC, BOOL, "idmapRecursive", idmap_rec),
     F(mnt, M_KEEP_MODE, BOOL, "keepMode", keep_mode), F(mnt, M_EARLY, BOOL, "early", early),
     F(mnt, M_LATE, BOOL, "late", late));
TYPE(dev, dev_type, "DEVICE",
     F(dev, NAME, STR, "name", name), F(dev, D_PATH, STR, "path", path),
     F(dev, D_MODE, U32, "mode", mode), F(dev, D_MAJOR, U32, "major", major),
     F(dev, D_MINOR, U32, "minor", minor), F(dev, D_UID, U32, "uid", uid),
     F(dev, D_GID, U32, "gid", gid), F(dev, D_HOST, STR, "host", host));
TYPE(symlink, link_type, "SYMLINK",
     F(symlink, L_TARGET, STR, "target", target), F(symlink, L_PATH, STR, "path", path),
     F(symlink, NAME, STR, NULL, name));
TYPE(remount, remount_type, "REMOUNT",
     F(remount, R_PATH, STR, "path", path), F(remount, R_FLAGS, U32, "flags", flags),
     F(remount, NAME, STR, "name", name));
TYPE(sysctl, sysctl_type, "SYSCTL",
     F(sysctl, S_PATH, STR, "path", path), F(sysctl, S_VALUE, STR, "value", value),
     F(sysctl, NAME, STR, NULL, name));
TYPE(hook, hook_type, "HOOK",
     F(hook, NAME, STR, "name", name), F(hook, H_PHASE, U32, "phase", phase),
     F(hook, H_PATH, STR, "path", path), VEC(hook, H_ARG, STRV, "args", args, 4096),
     VEC(hook, H_ENV, STRV, "env", env, 4096), F(hook, H_TIMEOUT, U32, "timeout", timeout),
     F(hook, H_INHERIT_ENV, BOOL, "inheritEnv", inherit_env));
TYPE(sched, sched_type, "SCHED",
     F(sched, SC_POLICY, U32, "policy", policy), F(sched, SC_FLAGS, U64, "flags", flags),
     F(sched, SC_NICE, I32, "nice", nice), F(sched, SC_PRIORITY, U32, "priority", priority),
     F(sched, SC_RUNTIME, U64, "runtime", runtime), F(sched, SC_DEADLINE, U64, "deadline", deadline),
     F(sched, SC_PERIOD, U64, "period", period));
TYPE(attrw, attrw_type, "EXEC_ATTR",
     F(attrw, NAME, STR, "name", name), F(attrw, W_PATH, STR, "path", path),
     F(attrw, W_VALUE, STR, "value", value));
TYPE(state, state_type, "CONTINUE",
     F(state, STATE_CREATING, STR, NULL, creating), F(state, STATE_CREATED, STR, NULL, created),
     F(state, SECCOMP_STATE, STR, NULL, seccomp));
TYPE(plan, plan_type, "PLAN",
     F(plan, VERSION, U32, NULL, version),
     F(plan, HELPER_WAITS, BOOL, "helperWaits", helper_waits),
     F(plan, UNSHARE_FLAGS, U32, "unshareFlags", unshare_flags),
     F(plan, CGROUPNS, BOOL, "cgroupns", cgroupns),
     F(plan, LOOPBACK, BOOL, "loopback", loopback),
     LIST(plan, NS_JOIN, "nsJoin", ns, 32, ns_type),
     OPT(plan, TIME_OFFSETS, STR, "timeOffsets", time_offsets),
     OPT(plan, OOM_SCORE_ADJ, I32, "oomScoreAdj", oom_score_adj),
     VEC(plan, CPU_INITIAL, BYTES, "cpuInitial", cpu_initial, 1024),
     F(plan, ROOTFS, STR, "rootfs", rootfs),
     F(plan, ROOT_PROPAGATION, U32, "rootPropagation", root_propagation),
     F(plan, POST_PROPAGATION, U32, "postPropagation", post_propagation),
     LIST(plan, MOUNT, "mounts", mounts, 1024, mnt_type),
     LIST(plan, DEVICE, "devices", devs, 1024, dev_type),
     LIST(plan, SYMLINK, "symlinks", links, 1024, link_type),
     F(plan, NO_PIVOT, BOOL, "noPivot", no_pivot),
     F(plan, CHROOT, BOOL, "chroot", chroot),
     LIST(plan, REMOUNT, "remounts", remounts, 1024, remount_type),
     VEC(plan, MASK, STRV, "masked", masked, 1024),
     VEC(plan, READONLY, STRV, "readonly", readonly, 1024),
     OPT(plan, HOSTNAME, STR, "hostname", hostname),
     OPT(plan, DOMAINNAME, STR, "domainname", domainname),
     LIST(plan, SYSCTL, "sysctls", sysctls, 1024, sysctl_type),
     LIST(plan, HOOK, "hooks", hooks, 256, hook_type),
     F(plan, NEW_KEYRING, BOOL, "newKeyring", new_keyring),
     OPT(plan, PERSONALITY, U32, "personality", personality),
     OPT(plan, IOPRIO, U32, "ioPriority", ioprio),
     ONE(plan, SCHED, "scheduler", sched, sched_type),
     VEC(plan, CPU_FINAL, BYTES, "cpuFinal", cpu_final, 1024),
     F(plan, HOME_FROM_PASSWD, BOOL, "homeFromPasswd", home_from_passwd),
     OPT(plan, MPOL_MODE, U32, "mpolMode", mpol_mode), VEC(plan, MPOL_NODES, BYTES, "mpolNodes", mpol_nodes, 128),
     LIST(plan, EXEC_ATTR, "execAttrs", attrs, 16, attrw_type),
     F(plan, UID, U32, "uid", uid),
     F(plan, GID, U32, "gid", gid),
     VEC(plan, GIDS, U32V, "gids", gids, 65536),
     F(plan, NO_SETGROUPS, BOOL, "noSetgroups", no_setgroups),
     OPT(plan, UMASK, U32, "umask", umask),
     OPT(plan, CAP_BOUNDING, CAPS, "caps", caps[CAP_BOUNDING]), /* prints all five as "caps" */
     F(plan, CAP_EFFECTIVE, U64, NULL, caps[CAP_EFFECTIVE]),
     F(plan, CAP_PERMITTED, U64, NULL, caps[CAP_PERMITTED]),
     F(plan, CAP_INHERITABLE, U64, NULL, caps[CAP_INHERITABLE]),
     F(plan, CAP_AMBIENT, U64, NULL, caps[CAP_AMBIENT]),
     F(plan, NO_NEW_PRIVS, BOOL, "noNewPrivs", no_new_privs),
     VEC(plan, SECCOMP_BPF, BYTES, "seccompBpf", seccomp, 4096 * 8),
     F(plan, SECCOMP_FLAGS, U32, "seccompFlags", seccomp_flags),
     F(plan, SECCOMP_EARLY, BOOL, "seccompEarly", seccomp_early),
     OPT(plan, SECCOMP_LISTENER, STR, "seccompListener", seccomp_listener),
     F(plan, CWD, STR, "cwd", cwd),
     VEC(plan, ENV, STRV, "env", env, 65536),
     VEC(plan, ARG, STRV, "args", args, 65536),
     OPT(plan, FIFO, STR, "fifo", fifo), F(plan, FIFO_BY_PROC, BOOL, "fifoByProc", fifo_by_proc),
     OPT(plan, CGROUP2_DIR, STR, "cgroup2Dir", cgroup2_dir),
     OPT(plan, CONSOLE_FD, U32, "consoleFd", console_fd),
     F(plan, CONSOLE_ROWS, U32, "consoleRows", console_rows),
     F(plan, CONSOLE_COLS, U32, "consoleCols", console_cols),
     F(plan, CONSOLE_NO_ONLCR, BOOL, "consoleNoOnlcr", console_no_onlcr),
     F(plan, DEV_CONSOLE, BOOL, "devConsole", dev_console));

static jmp_buf bad_jmp;
static char *bad_err;
static size_t bad_errlen;

static noreturn void bad(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(bad_err, bad_errlen, fmt, ap);
	va_end(ap);
	longjmp(bad_jmp, 1);
}

static uint16_t le16(const uint8_t *b) { return b[0] | b[1] << 8; }
static uint32_t le32(const uint8_t *b) { return le16(b) | (uint32_t)le16(b + 2) << 16; }
static uint64_t le64(const uint8_t *b) { return le32(b) | (uint64_t)le32(b + 4) << 32; }
static void put16(uint8_t *b, uint16_t v) { b[0] = v; b[1] = v >> 8; }
static void put32(uint8_t *b, uint32_t v) { put16(b, v); put16(b + 2, v >> 16); }

static char *no_strings[1]; /* an empty NULL-terminated list */

/* Append a zeroed element to the array at *arr, keeping a zeroed slot after it. */
static void *grow(void *arr, size_t *n, size_t size, size_t cap, const char *what)
{
	char *a;
	memcpy(&a, arr, sizeof a);
	if (*n >= cap)
		bad("more than %zu %s", cap, what);
	if (!(a = realloc(*n ? a : NULL, (*n + 2) * size)))
		bad("out of memory");
	memset(a + *n * size, 0, 2 * size);
	memcpy(arr, &a, sizeof a);
	return a + (*n)++ * size;
}

static void decode(const struct type *t, void *obj, const uint8_t *b, size_t len, uint8_t *seen)
{
	char *o = obj;
	uint8_t local[256] = {0};
	if (!seen)
		seen = local;
	for (const struct field *f = t->f; f->tag; f++)
		if ((f->kind == STR && !f->opt) || f->kind == STRV)
			*(const void **)(o + f->off) = f->kind == STR ? (void *)"" : no_strings;
	for (size_t off = 0; off < len;) {
		if (len - off < 6)
			bad("%s: truncated record header", t->name);
		uint16_t tag = le16(b + off);
		uint32_t n = le32(b + off + 2);
		const uint8_t *v = b + off + 6;
		off += 6;
		if (n > len - off)
			bad("%s: tag %u: length %u overruns its frame", t->name, tag, n);
		off += n;
		const struct field *f = t->f;
		while (f->tag && f->tag != tag)
			f++;
		if (!f->tag)
			bad("%s: unknown tag %u", t->name, tag);
		if (f->kind < STRV && seen[tag])
			bad("%s: tag %u repeated", t->name, tag);
		seen[tag] = 1;
		void *m = o + f->off;
		size_t *cnt = (size_t *)(o + f->cnt);
		if (f->kind <= I32 || f->kind == U32V) {
			if (n != 4)
				bad("%s: tag %u: length %u, want 4", t->name, tag, n);
			if (f->kind == U32V)
				m = grow(m, cnt, 4, f->cap, f->json);
			*(uint32_t *)m = le32(v);
		} else if (f->kind == U64 || f->kind == CAPS) {
			if (n != 8)
				bad("%s: tag %u: length %u, want 8", t->name, tag, n);
			*(uint64_t *)m = le64(v);
		} else if (f->kind == STR || f->kind == STRV) {
			if (n == 0 || memchr(v, 0, n) != v + n - 1)
				bad("%s: tag %u: string not NUL-terminated or with a NUL inside", t->name, tag);
			if (f->kind == STRV)
				m = grow(m, cnt, sizeof(char *), f->cap, f->json);
			*(const void **)m = v;
		} else if (f->kind == BYTES) {
			if (n > f->cap)
				bad("%s: tag %u: %u bytes, at most %zu", t->name, tag, n, f->cap);
			*(const void **)m = v;
			*cnt = n;
		} else {
			decode(f->sub, grow(m, cnt, f->sub->size, f->cap, f->json), v, n, NULL);
		}
	}
}

int decode_plan(const uint8_t *buf, size_t len, struct plan *p, char *err, size_t errlen)
{
	bad_err = err;
	bad_errlen = errlen;
	memset(p, 0, sizeof *p);
	if (setjmp(bad_jmp))
		return -1;
	/* the version first, so a mismatch is not reported as some unknown tag */
	if (len < 10 || le16(buf) != TAG_VERSION || le32(buf + 2) != 4)
		bad("the plan does not start with a VERSION record");
	if (le32(buf + 6) != PROTO_VERSION)
		bad("protocol version %u, want %u", le32(buf + 6), PROTO_VERSION);
	decode(&plan_type, p, buf, len, p->seen);
	for (size_t i = 0; i < p->nmounts; i++)
		if (p->mounts[i].mkdir > 4)
			bad("MOUNT: M_MKDIR %u, want 0 to 4", p->mounts[i].mkdir);
	for (size_t i = 0; i < p->nhooks; i++)
		if (p->hooks[i].phase != 1 && p->hooks[i].phase != 2)
			bad("HOOK: H_PHASE %u, want 1 or 2", p->hooks[i].phase);
	/* struct sock_filter is 8 bytes; the kernel takes 1..4096 of them */
	if (p->seccomp && (p->nseccomp == 0 || p->nseccomp % 8))
		bad("SECCOMP_BPF: %zu bytes is not a whole number of filter instructions", p->nseccomp);
	/* sched_setaffinity takes whole unsigned longs, and an empty mask is no mask */
	if ((p->cpu_initial && (p->ncpu_initial == 0 || p->ncpu_initial % 8)) ||
	    (p->cpu_final && (p->ncpu_final == 0 || p->ncpu_final % 8)))
		bad("CPU_INITIAL/CPU_FINAL: a CPU mask is a non-zero multiple of 8 bytes");
	if (p->mpol_nodes && (p->nmpol_nodes == 0 || p->nmpol_nodes % 8))
		bad("MPOL_NODES: a nodemask is a non-zero multiple of 8 bytes");
	if (p->mpol_nodes && !p->seen[TAG_MPOL_MODE])
		bad("MPOL_NODES without MPOL_MODE");
	if (p->seccomp_listener && !p->seccomp)
		bad("SECCOMP_LISTENER without SECCOMP_BPF");
	return 0;
}

int decode_continue(const uint8_t *buf, size_t len, struct state *s, char *err, size_t errlen)
{
	bad_err = err;
	bad_errlen = errlen;
	if (setjmp(bad_jmp))
		return -1;
	decode(&state_type, s, buf, len, NULL);
	return 0;
}

static void json_str(const char *s)
{
	putchar('"');
	for (const unsigned char *c = (const unsigned char *)s; *c; c++)
		if (*c == '"' || *c == '\\')
			printf("\\%c", *c);
		else if (*c < 0x20)
			printf("\\u%04x", *c);
		else
			putchar(*c);
	putchar('"');
}

static void print_obj(const struct type *t, const char *o, const uint8_t *seen)
{
	static const char *caps[] = {"bounding", "effective", "permitted", "inheritable", "ambient"};
	const char *sep = "";
	putchar('{');
	for (const struct field *f = t->f; f->tag; f++) {
		const void *m = o + f->off, *ptr = NULL;
		size_t n = f->cnt ? *(const size_t *)(o + f->cnt) : 0;
		if (f->kind == STR || f->kind >= BYTES)
			memcpy(&ptr, m, sizeof ptr);
		if (!f->json || (f->opt && (f->kind == STR || f->kind == BYTES ? !ptr : !(seen && seen[f->tag]))))
			continue;
		printf("%s\"%s\":", sep, f->json);
		sep = ",";
		switch (f->kind) {
		case U32: printf("%" PRIu32, *(const uint32_t *)m); break;
		case BOOL: fputs(*(const uint32_t *)m ? "true" : "false", stdout); break;
		case I32: printf("%" PRId32, *(const int32_t *)m); break;
		case U64: printf("%" PRIu64, *(const uint64_t *)m); break;
		case STR: json_str(ptr); break;
		case CAPS:
			for (int i = 0; i < 5; i++)
				printf("%s\"%s\":%" PRIu64, i ? "," : "{", caps[i], ((const uint64_t *)m)[i]);
			putchar('}');
			break;
		case BYTES:
			putchar('"');
			for (size_t i = 0; i < n; i++)
				printf("%02x", ((const uint8_t *)ptr)[i]);
			putchar('"');
			break;
		default: /* the lists */
			if (f->kind == LIST && f->opt) { /* ONE: present, so exactly one */
				print_obj(f->sub, ptr, NULL);
				break;
			}
			putchar('[');
			for (size_t i = 0; i < n; i++) {
				if (i)
					putchar(',');
				if (f->kind == STRV)
					json_str(((char *const *)ptr)[i]);
				else if (f->kind == U32V)
					printf("%" PRIu32, ((const uint32_t *)ptr)[i]);
				else
					print_obj(f->sub, (const char *)ptr + i * f->sub->size, NULL);
			}
			putchar(']');
		}
	}
	putchar('}');
}

void print_plan_json(const struct plan *p)
{
	print_obj(&plan_type, (const char *)p, p->seen);
	putchar('\n');
}

int read_frame(int fd, struct frame *f, char *err, size_t errlen)
{
	uint8_t h[8];
	ssize_t n = read_full(fd, h, sizeof h);
	if (n == 0)
		return 0;
	if (n < (ssize_t)sizeof h)
		goto short_read;
	f->len = le32(h);
	f->type = le16(h + 4);
	if (f->len > MAX_FRAME) {
		snprintf(err, errlen, "frame of %u bytes is over the %u limit", f->len, MAX_FRAME);
		return -1;
	}
	if (!(f->buf = malloc(f->len + 1))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	n = read_full(fd, f->buf, f->len);
	if (n == (ssize_t)f->len)
		return 1;
short_read:
	if (n < 0)
		snprintf(err, errlen, "read: %s", strerror(errno));
	else
		snprintf(err, errlen, "truncated frame");
	return -1;
}

/* Append a record; a string gets its NUL and is cut to fit the buffer. */
static void wb_put(struct wbuf *w, uint16_t tag, const void *v, size_t len, size_t nul)
{
	if (w->n + 6 + nul > sizeof w->b)
		return;
	if (len > sizeof w->b - w->n - 6 - nul)
		len = sizeof w->b - w->n - 6 - nul;
	put16(w->b + w->n, tag);
	put32(w->b + w->n + 2, len + nul);
	memcpy(w->b + w->n + 6, v, len);
	memset(w->b + w->n + 6 + len, 0, nul);
	w->n += 6 + len + nul;
}

void wb_u32(struct wbuf *w, uint16_t tag, uint32_t v)
{
	uint8_t b[4];
	put32(b, v);
	wb_put(w, tag, b, 4, 0);
}

void wb_str(struct wbuf *w, uint16_t tag, const char *s) { wb_put(w, tag, s, strlen(s), 1); }

int send_frame(int fd, uint16_t type, struct wbuf *w)
{
	struct wbuf empty = WBUF_INIT;
	if (!w)
		w = &empty;
	put32(w->b, w->n - 8);
	put16(w->b + 4, type);
	put16(w->b + 6, 0);
	for (size_t off = 0; off < w->n;) {
		ssize_t n = send(fd, w->b + off, w->n - off, MSG_NOSIGNAL);
		if (n < 0 && errno != EINTR)
			return -1;
		off += n > 0 ? n : 0;
	}
	return 0;
}
