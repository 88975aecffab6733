// SPDX-License-Identifier: MIT
/*
 * bpf_insns OBJ...: load every program of every BPF object as compiled
 * (no load-time constants set) and print, per program, how many
 * instructions the verifier went through ("verified_insns", kernel 5.16+):
 *
 *   <object> <program> <section> <verified instructions>
 *
 * The verifier's cost grows with every branch, and each kernel version
 * verifies differently: `make test-kernels` runs this on Debian's 6.1
 * and on the host to compare. bpftool would load the objects too, but
 * prints no instruction count before version 7.3.
 *
 * Maps pinned by name go to a private bpffs mounted for the run (the
 * objects share them, as in the controller). A program the verifier
 * refuses makes the exit status 1; libbpf prints the verifier log on
 * stderr. Exit status 77: cannot run here (not root, no bpffs).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define EXIT_SKIP 77

#include "private_bpffs.h"

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* Load one object; print its programs. 0, or -1 when it does not load. */
static int load_object(const char *path)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = bpffs_dir);
	struct bpf_prog_info info;
	struct bpf_program *prog;
	struct bpf_object *obj;
	const char *base = strrchr(path, '/');
	__u32 len;
	int ret;

	base = base ? base + 1 : path;
	obj = bpf_object__open_file(path, &oo);
	if (!obj) {
		printf("FAIL %s: cannot open: %s\n", base, strerror(errno));
		return -1;
	}
	ret = bpf_object__load(obj);
	if (ret) {
		printf("FAIL %s: does not load: %s (verifier log on "
		       "stderr)\n",
		       base, strerror(-ret));
		bpf_object__close(obj);
		return -1;
	}
	bpf_object__for_each_program(prog, obj)
	{
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info,
					   &len)) {
			printf("FAIL %s: %s: no program info: %s\n", base,
			       bpf_program__name(prog), strerror(errno));
			ret = -1;
			continue;
		}
		/* 0 on kernels before 5.16, which do not report it. */
		printf("%s %s %s %u\n", base, bpf_program__name(prog),
		       bpf_program__section_name(prog), info.verified_insns);
	}
	bpf_object__close(obj);
	return ret ? -1 : 0;
}

int main(int argc, char **argv)
{
	char why[160];
	int i, failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		fprintf(stderr, "usage: %s OBJ...\n", argv[0]);
		return 2;
	}
	if (geteuid() != 0) {
		printf("SKIP: loading BPF programs needs root\n");
		return EXIT_SKIP;
	}
	if (bpffs_mount("cellgate-insns", why, sizeof(why))) {
		printf("SKIP: %s\n", why);
		return EXIT_SKIP;
	}
	libbpf_set_print(libbpf_print);
	for (i = 1; i < argc; i++)
		if (load_object(argv[i]))
			failed++;
	return failed ? 1 : 0;
}
