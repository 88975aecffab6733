// SPDX-License-Identifier: MIT
/* vasprintf */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

static enum log_level current_level = LOG_LVL_INFO;

static const char *const level_names[] = {
	[LOG_LVL_ERR] = "error",
	[LOG_LVL_WARN] = "warn",
	[LOG_LVL_INFO] = "info",
	[LOG_LVL_DEBUG] = "debug",
};

void log_set_level(enum log_level level)
{
	current_level = level;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	struct timespec ts;
	struct tm tm;
	char stamp[32];
	va_list ap;

	if (level > current_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ cellgate %s: ", stamp, ts.tv_nsec / 1000000,
		level_names[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* A library message of several lines (libbpf's verifier log, printed as
 * one message when a program does not load) is logged line by line, and
 * only its last lines: that is where the verifier says why. */
#define LIBRARY_TAIL_LINES 40

void log_vlibrary(enum log_level level, const char *lib, const char *fmt,
		  va_list ap)
{
	const char *prefix = lib ? lib : "", *sep = lib ? ": " : "";
	char *text, *line, *next;
	int n = 0, skip;

	if (level > current_level || vasprintf(&text, fmt, ap) < 0)
		return;
	for (line = text; *line; line = next) {
		next = line + strcspn(line, "\n");
		n += next > line;
		next += *next == '\n';
	}
	skip = n > LIBRARY_TAIL_LINES ? n - LIBRARY_TAIL_LINES : 0;
	if (skip)
		log_msg(level, "%s%s(%d lines skipped; the last %d follow)",
			prefix, sep, skip, LIBRARY_TAIL_LINES);
	for (line = text; *line; line = next) {
		next = line + strcspn(line, "\n");
		if (*next)
			*next++ = '\0';
		if (line[0] && skip-- <= 0)
			log_msg(level, "%s%s%s", prefix, sep, line);
	}
	free(text);
}
