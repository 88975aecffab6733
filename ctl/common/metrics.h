/* SPDX-License-Identifier: MIT */
/*
 * Prometheus text exposition format 0.0.4: a family's HELP and TYPE lines
 * once, then its samples, label values escaped. The controller's exporter
 * (exporter.c) writes the families; this only gets the format right.
 */
#ifndef CELLGATE_METRICS_H
#define CELLGATE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct metrics {
	char *text; /* NUL-terminated, malloc'd */
	size_t len, cap;
	bool failed; /* out of memory, or misuse: the text is incomplete */
	char family[128]; /* the family samples belong to */
};

void metrics_init(struct metrics *m);
void metrics_free(struct metrics *m);

/* Begin a family: "# HELP name help" and "# TYPE name type". type is
 * "counter" or "gauge"; counters' names end in _total. */
void metrics_family(struct metrics *m, const char *name, const char *type,
		    const char *help);

/* A sample of the current family. The variadic part is label name and
 * value pairs, ended by NULL: metrics_u64(m, 42, "peer", "alice", NULL). */
void metrics_u64(struct metrics *m, uint64_t value, ...)
	__attribute__((sentinel));
void metrics_f64(struct metrics *m, double value, ...)
	__attribute__((sentinel));

#endif
