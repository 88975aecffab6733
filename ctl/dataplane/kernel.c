// SPDX-License-Identifier: MIT
/*
 * The kernel check at start (kernel.h). The release number comes first
 * because it explains itself ("5.4 is older than 5.8"); the probes catch
 * kernels whose number is new enough but which lack a feature (built
 * without BTF, say), and kernels whose number means little (vendor
 * backports work either way: a new enough number, then probes).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "kernel.h"
#include "log.h"

/* What the newest requirements are, for the message. */
#define NEEDS                                                               \
	"BPF ring buffers (5.8), global functions (5.6), the kernel's BTF " \
	"for CO-RE (5.4)"

#define KERNEL_BTF "/sys/kernel/btf/vmlinux"

/* Kernel version numbers are small; anything longer is not one. */
#define MAX_COMPONENT 99999u

/* One decimal number at *p, advancing *p: false if none or too big. */
static bool parse_number(const char **p, unsigned int *out)
{
	const char *s = *p;
	unsigned int n = 0;

	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		n = n * 10 + (unsigned int)(*s - '0');
		if (n > MAX_COMPONENT)
			return false;
	}
	*p = s;
	*out = n;
	return true;
}

int kernel_parse_release(const char *release, struct kernel_version *v)
{
	const char *p = release;
	struct kernel_version r = { 0 };

	if (!p || !parse_number(&p, &r.major) || *p++ != '.' ||
	    !parse_number(&p, &r.minor))
		return -EINVAL;
	/* The patch level is optional ("6.1-rc1", "5.8"). */
	if (*p == '.') {
		p++;
		if (!parse_number(&p, &r.patch))
			return -EINVAL;
	}
	*v = r;
	return 0;
}

int kernel_check_release(const char *release, char *why, size_t len)
{
	struct kernel_version v;

	if (kernel_parse_release(release, &v)) {
		snprintf(why, len,
			 "cannot read a version in kernel release "
			 "'%s'",
			 release ? release : "(null)");
		return -EINVAL;
	}
	if (v.major > CG_KERNEL_MIN_MAJOR || (v.major == CG_KERNEL_MIN_MAJOR &&
					      v.minor >= CG_KERNEL_MIN_MINOR)) {
		snprintf(why, len, "kernel %u.%u is supported (minimum %u.%u)",
			 v.major, v.minor, CG_KERNEL_MIN_MAJOR,
			 CG_KERNEL_MIN_MINOR);
		return 0;
	}
	snprintf(why, len,
		 "kernel %u.%u is older than the minimum %u.%u (cellgate "
		 "needs " NEEDS ")",
		 v.major, v.minor, CG_KERNEL_MIN_MAJOR, CG_KERNEL_MIN_MINOR);
	return -ENOTSUP;
}

/* The map and program types bpf/ uses. */
static const struct {
	enum bpf_map_type type;
	const char *what;
} map_probes[] = {
	{ BPF_MAP_TYPE_HASH, "hash maps" },
	{ BPF_MAP_TYPE_ARRAY, "array maps" },
	{ BPF_MAP_TYPE_PERCPU_ARRAY, "per-CPU array maps (4.6)" },
	{ BPF_MAP_TYPE_LRU_HASH, "LRU hash maps (4.10)" },
	{ BPF_MAP_TYPE_LPM_TRIE, "LPM trie maps (4.11)" },
	{ BPF_MAP_TYPE_RINGBUF, "ring buffer maps (5.8)" },
};

static const struct {
	enum bpf_prog_type type;
	const char *what;
} prog_probes[] = {
	{ BPF_PROG_TYPE_SCHED_CLS, "tc (cls_bpf) programs" },
	{ BPF_PROG_TYPE_XDP, "XDP programs" },
};

/* A probe that answers "no" fails the check; one that cannot tell (an
 * error: no privileges, say) is only logged. */
static bool probe_ok(int ret, const char *what, const char *release)
{
	if (ret == 1)
		return true;
	if (ret == 0) {
		log_err("kernel %s has no %s; cellgate needs them (see "
			"\"Supported kernels\" in the README)",
			release, what);
		return false;
	}
	log_debug("kernel: cannot probe for %s: %s", what, strerror(-ret));
	return true;
}

int kernel_check(void)
{
	struct utsname u;
	char why[256];
	bool ok = true;
	size_t i;
	int ret;

	if (uname(&u)) {
		log_warn("kernel: uname: %s; not checking the version",
			 strerror(errno));
		snprintf(u.release, sizeof(u.release), "?");
	} else {
		ret = kernel_check_release(u.release, why, sizeof(why));
		if (ret == -ENOTSUP) {
			log_err("%s; upgrade the kernel (Debian 12's 6.1 "
				"works)",
				why);
			return ret;
		}
		if (ret)
			log_warn("kernel: %s; relying on the probes", why);
		else
			log_debug("%s", why);
	}
	if (access(KERNEL_BTF, F_OK)) {
		log_err("kernel %s has no BTF (%s, CONFIG_DEBUG_INFO_BTF): "
			"the programs' CO-RE relocations need it",
			u.release, KERNEL_BTF);
		ok = false;
	}
	for (i = 0; i < sizeof(map_probes) / sizeof(map_probes[0]); i++)
		ok &= probe_ok(
			libbpf_probe_bpf_map_type(map_probes[i].type, NULL),
			map_probes[i].what, u.release);
	for (i = 0; i < sizeof(prog_probes) / sizeof(prog_probes[0]); i++)
		ok &= probe_ok(
			libbpf_probe_bpf_prog_type(prog_probes[i].type, NULL),
			prog_probes[i].what, u.release);
	return ok ? 0 : -ENOTSUP;
}
