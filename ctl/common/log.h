/* SPDX-License-Identifier: MIT */
/* Logging: one line per event to stderr (journald adds the timestamp). */
#ifndef CELLGATE_LOG_H
#define CELLGATE_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log_set_level(enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A line from a library's print callback (libbpf, libxdp): the trailing
 * newline dropped, empty lines skipped, prefixed with "<lib>: " when lib
 * is set. */
void log_vlibrary(enum log_level level, const char *lib, const char *fmt,
		  va_list ap);

#define log_err(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
