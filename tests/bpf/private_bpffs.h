/* SPDX-License-Identifier: MIT */
/*
 * A bpffs of the test's own, under /run, for programs that load
 * cellgate's objects outside a controller (bpf_test, prog_bench,
 * bpf_insns): their pins never meet a running controller's, and die with
 * the mount; the maps with the last fd. Unmounted at exit and on
 * SIGINT, SIGTERM and SIGHUP.
 */
#ifndef CELLGATE_TEST_PRIVATE_BPFFS_H
#define CELLGATE_TEST_PRIVATE_BPFFS_H

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static char bpffs_dir[64];
static volatile sig_atomic_t bpffs_mounted;

static void bpffs_cleanup(void)
{
	if (!bpffs_mounted)
		return;
	bpffs_mounted = 0;
	umount2(bpffs_dir, MNT_DETACH);
	rmdir(bpffs_dir);
}

static void bpffs_on_signal(int sig)
{
	bpffs_cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Mount a bpffs on /run/<name>.<pid> (bpffs_dir): 0, or -1 with why the
 * program cannot run here in why. */
static int bpffs_mount(const char *name, char *why, size_t len)
{
	snprintf(bpffs_dir, sizeof(bpffs_dir), "/run/%s.%d", name,
		 (int)getpid());
	if (mkdir(bpffs_dir, 0700)) {
		snprintf(why, len, "mkdir %s: %s", bpffs_dir, strerror(errno));
		return -1;
	}
	if (mount("bpf", bpffs_dir, "bpf", 0, "mode=0700")) {
		snprintf(why, len, "cannot mount a bpffs on %s: %s", bpffs_dir,
			 strerror(errno));
		rmdir(bpffs_dir);
		return -1;
	}
	bpffs_mounted = 1;
	atexit(bpffs_cleanup);
	signal(SIGINT, bpffs_on_signal);
	signal(SIGTERM, bpffs_on_signal);
	signal(SIGHUP, bpffs_on_signal);
	return 0;
}

#endif
