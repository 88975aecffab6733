/* SPDX-License-Identifier: MIT */
/*
 * Is this kernel new enough for cellgate's BPF programs? Checked before
 * they are loaded, so an old kernel gets one sentence saying what is
 * missing instead of a verifier dump.
 *
 * The minimum is set by what bpf/ uses (README, "Supported kernels"):
 * ring buffers (5.8) for drop events, global functions (5.6), CO-RE
 * relocations against the kernel's own BTF (5.4), read-only global data
 * (5.2), LPM tries, LRU hashes, per-CPU arrays, tc cls_bpf in
 * direct-action mode on clsact.
 */
#ifndef CELLGATE_KERNEL_H
#define CELLGATE_KERNEL_H

#include <stddef.h>

#define CG_KERNEL_MIN_MAJOR 5
#define CG_KERNEL_MIN_MINOR 8

struct kernel_version {
	unsigned int major, minor, patch;
};

/* The leading "X.Y[.Z]" of a uname(2) release such as "6.1.0-56-amd64":
 * 0, or -EINVAL when it does not start like that. */
int kernel_parse_release(const char *release, struct kernel_version *v);

/* 0 when release is at least CG_KERNEL_MIN_MAJOR.CG_KERNEL_MIN_MINOR;
 * -ENOTSUP when older, -EINVAL when unparsable, with a sentence in why
 * (a string, possibly truncated to len) either way. */
int kernel_check_release(const char *release, char *why, size_t len);

/* At start, before loading the programs: the running kernel's release,
 * then probes of the map and program types and of the kernel's BTF, for
 * kernels that are new enough but were built without them. Logs what is
 * missing and returns -ENOTSUP; 0 otherwise (also when a probe cannot
 * tell, e.g. without privileges: loading will say). */
int kernel_check(void);

#endif
