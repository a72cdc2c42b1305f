/*
 * init.h - the phases of runjs-init, one file per kernel concept, in the order
 * main.c runs them; each dies (report.h) on failure.
 */
#ifndef RUNJS_INIT_H
#define RUNJS_INIT_H

#include "proto.h"
#include "report.h"

extern mode_t saved_umask; /* the umask we were started with (set-up runs with 0) */

/* The phases, one file per kernel concept; each dies on failure. */
void reexec_sealed(char **argv);                          /* sealed.c: returns in the copy */
void join_and_unshare(const struct plan *p);              /* ns.c */
void fork_init(const struct plan *p);                     /* ns.c: returns in the init */
void setup_terminal(const struct plan *p);                /* console.c */
void copy_up(int covered, int fresh, const char *step);   /* copyup.c */
void prepare_detached(struct plan *p);                    /* idmap.c */
int late_tree(const struct plan *p, size_t i);            /* idmap.c: in the init, at its turn */
void late_trees_close(void);                              /* idmap.c */
int monitor_main(int argc, char **argv);                  /* monitor.c: not part of a plan */
void loopback_up(const struct plan *p);                   /* copyup.c */
void own_stdio(const struct plan *p);                     /* console.c */
void become_userns_root(const struct plan *p);            /* ns.c */
void set_names_and_sysctls(const struct plan *p);         /* ns.c */
int setup_rootfs(const struct plan *p);                   /* mount.c: returns rootfd */
void do_mounts(const struct plan *p, int root);           /* mount.c */
void do_remounts(const struct plan *p);                   /* mount.c, after pivot */
void do_masked_and_readonly(const struct plan *p);        /* mount.c, after pivot */
int open_parent(int root, const char *path, const char **base, const char *step); /* mount.c */
void make_devices(const struct plan *p, int root);        /* dev.c */
void make_symlinks(const struct plan *p, int root);       /* dev.c */
void do_pivot(const struct plan *p);                      /* pivot.c */
void run_hooks(const struct plan *p, uint32_t phase, const char *state); /* hooks.c */
int fifo_open_path(const struct plan *p);                 /* fifo.c: -1 if none */
int fifo_wait(const struct plan *p, int dirfd);            /* fifo.c: blocks until start */
void fifo_signal(const struct plan *p, int fd);            /* fifo.c */
void set_cpu_affinity(const uint8_t *mask, size_t len, const char *step); /* attrs.c */
void set_process_attrs(const struct plan *p);             /* attrs.c, after pivot */
int notify_connect(const struct plan *p);                 /* notify.c: -1 if none */
void notify_send(const struct plan *p, int sock, int listener, const char *state); /* notify.c */
void set_no_new_privs(const struct plan *p);              /* user.c */
void set_home(struct plan *p);                            /* user.c, after pivot */
void install_seccomp(const struct plan *p, int agent, const char *state); /* user.c */
void set_user(const struct plan *p, int cap_last);        /* user.c */

#endif
