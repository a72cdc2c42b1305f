/*
 * user.c - who the container's process is: no_new_privs, seccomp, groups,
 * uid/gid and capabilities.
 *
 * The order matters, because each step takes away power a later one needs:
 * - seccomp(SECCOMP_SET_MODE_FILTER) needs no_new_privs or CAP_SYS_ADMIN.
 *   runjs decides when (SECCOMP_EARLY): with no_new_privs the filter goes in
 *   as late as possible (after READY), so it never has to allow our own
 *   set-up; without, it must go in before the capability drop, while we still
 *   hold CAP_SYS_ADMIN; and with a seccomp agent it goes in before READY, so
 *   that a failure to hand over the listener fails `create`.
 * - PR_CAPBSET_DROP needs CAP_SETPCAP, so the bounding set is cut first.
 * - setgroups and setresgid need CAP_SETGID, so they come before setresuid.
 * - setresuid to a non-zero uid clears the permitted and effective sets unless
 *   PR_SET_KEEPCAPS is on; we keep them across the switch, then set the exact
 *   sets with capset(2). Ambient capabilities are the ones that survive execve
 *   for a non-root uid; raising one needs it permitted and inheritable, which
 *   capset has just arranged.
 */
#include "init.h"

#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/*
 * HOME, when the process has none: the home directory of its uid in the
 * container's own /etc/passwd (read after pivot_root, with a parser of our own:
 * getpwuid(3) would load the container's NSS modules into us), or "/" when the
 * uid has no entry, as runc does. An empty HOME= is replaced.
 */
void set_home(struct plan *p)
{
	char line[4096], home[PATH_MAX] = "/";
	FILE *f = p->home_from_passwd ? fopen("/etc/passwd", "re") : NULL;
	if (!p->home_from_passwd)
		return;
	while (f && fgets(line, sizeof line, f)) {
		/* name:password:uid:gid:gecos:home:shell */
		char *fld[7] = {line}, *s = line;
		int n = 1;
		for (; *s && n < 7; s++)
			if (*s == ':') {
				*s = 0;
				fld[n++] = s + 1;
			}
		if (n < 7 || !*fld[2] || strtoul(fld[2], &s, 10) != p->uid || *s)
			continue;
		fld[6][strcspn(fld[6], "\n")] = 0;
		snprintf(home, sizeof home, "%s", *fld[5] ? fld[5] : "/");
		break;
	}
	if (f)
		fclose(f);
	size_t n = 0;
	for (char **e = p->env; *e; e++)
		n++;
	char **env = calloc(n + 2, sizeof *env), *h = malloc(strlen(home) + 6);
	if (!env || !h)
		die("process.env", "HOME", "", ENOMEM, NULL);
	sprintf(h, "HOME=%s", home);
	size_t k = 0;
	for (char **e = p->env; *e; e++)
		if (strncmp(*e, "HOME=", 5))
			env[k++] = *e;
	env[k++] = h;
	p->env = env;
}

void set_no_new_privs(const struct plan *p)
{
	if (p->no_new_privs)
		must(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "process.noNewPrivileges", "prctl", "");
}

/* With SECCOMP_FILTER_FLAG_NEW_LISTENER in the flags seccomp(2) returns the
 * listener fd, which goes to the agent connected on `agent` (see notify.c). */
void install_seccomp(const struct plan *p, int agent, const char *state)
{
	struct sock_fprog prog = {
		.len = p->nseccomp / sizeof(struct sock_filter),
		.filter = (struct sock_filter *)p->seccomp, /* the kernel copies it */
	};
	long fd = must(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, p->seccomp_flags, &prog),
		       "linux.seccomp", "seccomp", "");
	if (agent >= 0)
		notify_send(p, agent, fd, state);
}

void set_user(const struct plan *p, int cap_last)
{
	const char *cs = "process.capabilities", *us = "process.user";
	const uint64_t *caps = p->caps;
	int has_caps = p->seen[TAG_CAP_BOUNDING];
	for (int c = 0; has_caps && c <= cap_last; c++)
		if (!(caps[CAP_BOUNDING] >> c & 1))
			must(prctl(PR_CAPBSET_DROP, c, 0, 0, 0), cs, "prctl", "PR_CAPBSET_DROP");
	if (has_caps)
		must(prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0), cs, "prctl", "PR_SET_KEEPCAPS");
	if (!p->no_setgroups)
		must(setgroups(p->ngids, (const gid_t *)p->gids), us, "setgroups", "");
	must(setresgid(p->gid, p->gid, p->gid), us, "setresgid", "");
	must(setresuid(p->uid, p->uid, p->uid), us, "setresuid", "");
	if (!has_caps)
		return;
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2];
	for (int i = 0; i < 2; i++) {
		d[i].effective = caps[CAP_EFFECTIVE] >> 32 * i;
		d[i].permitted = caps[CAP_PERMITTED] >> 32 * i;
		d[i].inheritable = caps[CAP_INHERITABLE] >> 32 * i;
	}
	must(syscall(SYS_capset, &hdr, d), cs, "capset", "");
	must(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), cs, "prctl", "PR_CAP_AMBIENT");
	for (int c = 0; c <= cap_last; c++)
		if (caps[CAP_AMBIENT] >> c & 1)
			must(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0), cs, "prctl", "PR_CAP_AMBIENT");
	must(prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0), cs, "prctl", "PR_SET_KEEPCAPS");
}
