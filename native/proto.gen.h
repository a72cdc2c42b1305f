/* generated from protocol/protocol.json by scripts/gen-protocol.ts; do not edit */
#ifndef RUNJS_PROTO_GEN_H
#define RUNJS_PROTO_GEN_H

#define PROTO_VERSION 3

#define FRAME_PLAN 1
#define FRAME_PIDS 2
#define FRAME_PLACED 3
#define FRAME_HOOKS 4
#define FRAME_CONTINUE 5
#define FRAME_READY 6
#define FRAME_LOG 7
#define FRAME_ERROR 8

#define TAG_VERSION 1 /* u32 */
#define TAG_HELPER_WAITS 2 /* u32 */
#define TAG_UNSHARE_FLAGS 3 /* u32 */
#define TAG_CGROUPNS 4 /* u32 */
#define TAG_LOOPBACK 77 /* u32 */
#define TAG_NS_JOIN 5 /* list */
#define TAG_NS_TYPE 6 /* u32 */
#define TAG_NS_PATH 7 /* str */
#define TAG_TIME_OFFSETS 8 /* str */
#define TAG_OOM_SCORE_ADJ 13 /* i32 */
#define TAG_ROOTFS 14 /* str */
#define TAG_ROOT_PROPAGATION 15 /* u32 */
#define TAG_POST_PROPAGATION 16 /* u32 */
#define TAG_MOUNT 17 /* list */
#define TAG_M_SOURCE 18 /* str */
#define TAG_M_TARGET 19 /* str */
#define TAG_M_FSTYPE 20 /* str */
#define TAG_M_FLAGS 21 /* u32 */
#define TAG_M_DATA 22 /* str */
#define TAG_M_PROPAGATION 23 /* u32 */
#define TAG_M_ATTR_SET 24 /* u64 */
#define TAG_M_ATTR_CLR 25 /* u64 */
#define TAG_M_MKDIR 26 /* u32 */
#define TAG_M_BINDRO 27 /* u32 */
#define TAG_M_BIND_CLEAR 122 /* u32 */
#define TAG_M_COPYUP 76 /* u32 */
#define TAG_M_UIDMAP 79 /* str */
#define TAG_M_GIDMAP 112 /* str */
#define TAG_M_IDMAP_REC 113 /* u32 */
#define TAG_M_KEEP_MODE 114 /* u32 */
#define TAG_M_EARLY 115 /* u32 */
#define TAG_M_LATE 123 /* u32 */
#define TAG_DEVICE 28 /* list */
#define TAG_D_PATH 29 /* str */
#define TAG_D_MODE 30 /* u32 */
#define TAG_D_MAJOR 31 /* u32 */
#define TAG_D_MINOR 32 /* u32 */
#define TAG_D_UID 33 /* u32 */
#define TAG_D_GID 34 /* u32 */
#define TAG_D_HOST 35 /* str */
#define TAG_SYMLINK 36 /* list */
#define TAG_L_TARGET 37 /* str */
#define TAG_L_PATH 38 /* str */
#define TAG_NO_PIVOT 39 /* u32 */
#define TAG_CHROOT 92 /* u32 */
#define TAG_REMOUNT 40 /* list */
#define TAG_R_PATH 41 /* str */
#define TAG_R_FLAGS 42 /* u32 */
#define TAG_MASK 43 /* str */
#define TAG_READONLY 44 /* str */
#define TAG_HOSTNAME 45 /* str */
#define TAG_DOMAINNAME 46 /* str */
#define TAG_SYSCTL 47 /* list */
#define TAG_S_PATH 48 /* str */
#define TAG_S_VALUE 49 /* str */
#define TAG_HOOK 50 /* list */
#define TAG_H_PHASE 51 /* u32 */
#define TAG_H_PATH 52 /* str */
#define TAG_H_ARG 53 /* str */
#define TAG_H_ENV 54 /* str */
#define TAG_H_INHERIT_ENV 120 /* u32 */
#define TAG_H_TIMEOUT 55 /* u32 */
#define TAG_UID 56 /* u32 */
#define TAG_GID 57 /* u32 */
#define TAG_GIDS 58 /* u32 */
#define TAG_NO_SETGROUPS 78 /* u32 */
#define TAG_UMASK 59 /* u32 */
#define TAG_CAP_BOUNDING 60 /* u64 */
#define TAG_CAP_EFFECTIVE 61 /* u64 */
#define TAG_CAP_PERMITTED 62 /* u64 */
#define TAG_CAP_INHERITABLE 63 /* u64 */
#define TAG_CAP_AMBIENT 64 /* u64 */
#define TAG_NO_NEW_PRIVS 65 /* u32 */
#define TAG_SECCOMP_BPF 66 /* bytes */
#define TAG_SECCOMP_FLAGS 67 /* u32 */
#define TAG_CWD 68 /* str */
#define TAG_ENV 69 /* str */
#define TAG_ARG 70 /* str */
#define TAG_FIFO 71 /* str */
#define TAG_CGROUP2_DIR 124 /* str */
#define TAG_PID_INIT_PLACED 125 /* u32 */
#define TAG_FIFO_BY_PROC 117 /* u32 */
#define TAG_CONSOLE_FD 72 /* u32 */
#define TAG_CONSOLE_ROWS 73 /* u32 */
#define TAG_CONSOLE_COLS 74 /* u32 */
#define TAG_CONSOLE_NO_ONLCR 116 /* u32 */
#define TAG_DEV_CONSOLE 75 /* u32 */
#define TAG_CPU_INITIAL 93 /* bytes */
#define TAG_CPU_FINAL 94 /* bytes */
#define TAG_HOME_FROM_PASSWD 121 /* u32 */
#define TAG_MPOL_MODE 118 /* u32 */
#define TAG_MPOL_NODES 119 /* bytes */
#define TAG_NEW_KEYRING 95 /* u32 */
#define TAG_PERSONALITY 96 /* u32 */
#define TAG_IOPRIO 97 /* u32 */
#define TAG_SCHED 98 /* list */
#define TAG_SC_POLICY 99 /* u32 */
#define TAG_SC_FLAGS 100 /* u64 */
#define TAG_SC_NICE 101 /* i32 */
#define TAG_SC_PRIORITY 102 /* u32 */
#define TAG_SC_RUNTIME 103 /* u64 */
#define TAG_SC_DEADLINE 104 /* u64 */
#define TAG_SC_PERIOD 105 /* u64 */
#define TAG_EXEC_ATTR 106 /* list */
#define TAG_W_PATH 107 /* str */
#define TAG_W_VALUE 108 /* str */
#define TAG_SECCOMP_EARLY 109 /* u32 */
#define TAG_SECCOMP_LISTENER 110 /* str */
#define TAG_SECCOMP_STATE 111 /* str */
#define TAG_PID_HELPER 80 /* u32 */
#define TAG_PID_INIT 81 /* u32 */
#define TAG_STATE_CREATING 82 /* str */
#define TAG_STATE_CREATED 83 /* str */
#define TAG_LOG_LEVEL 84 /* u32 */
#define TAG_LOG_MSG 85 /* str */
#define TAG_ERR_ERRNO 86 /* i32 */
#define TAG_ERR_STEP 87 /* str */
#define TAG_ERR_OP 88 /* str */
#define TAG_ERR_PATH 89 /* str */
#define TAG_ERR_MSG 90 /* str */
#define TAG_NAME 91 /* str */

#endif
