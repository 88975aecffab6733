// SPDX-License-Identifier: MIT
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

void metrics_init(struct metrics *m)
{
	memset(m, 0, sizeof(*m));
}

void metrics_free(struct metrics *m)
{
	free(m->text);
	memset(m, 0, sizeof(*m));
}

static void put(struct metrics *m, const char *s, size_t n)
{
	char *p;

	if (m->failed)
		return;
	if (m->len + n + 1 > m->cap) {
		size_t cap = m->cap ? m->cap : 4096;

		while (cap < m->len + n + 1)
			cap *= 2;
		p = realloc(m->text, cap);
		if (!p) {
			m->failed = true;
			return;
		}
		m->text = p;
		m->cap = cap;
	}
	memcpy(m->text + m->len, s, n);
	m->len += n;
	m->text[m->len] = '\0';
}

static void puts_(struct metrics *m, const char *s)
{
	put(m, s, strlen(s));
}

/* Escape backslash and newline (HELP), and with quotes, double quotes
 * too (label values). */
static void put_escaped(struct metrics *m, const char *s, bool quotes)
{
	for (; *s; s++) {
		if (*s == '\\')
			puts_(m, "\\\\");
		else if (*s == '\n')
			puts_(m, "\\n");
		else if (*s == '"' && quotes)
			puts_(m, "\\\"");
		else
			put(m, s, 1);
	}
}

/* Metric and label names: [a-zA-Z_:][a-zA-Z0-9_:]* (labels without ':'). */
static bool valid_name(const char *s, bool label)
{
	const char *p;

	if (!*s || (*s >= '0' && *s <= '9'))
		return false;
	for (p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' ||
		      (*p == ':' && !label)))
			return false;
	return true;
}

void metrics_family(struct metrics *m, const char *name, const char *type,
		    const char *help)
{
	if (!valid_name(name, false) || strlen(name) >= sizeof(m->family)) {
		m->failed = true;
		return;
	}
	snprintf(m->family, sizeof(m->family), "%s", name);
	puts_(m, "# HELP ");
	puts_(m, name);
	puts_(m, " ");
	put_escaped(m, help, false);
	puts_(m, "\n# TYPE ");
	puts_(m, name);
	puts_(m, " ");
	puts_(m, type);
	puts_(m, "\n");
}

/* name{l1="v1",...} then the value text. */
static void sample(struct metrics *m, const char *value, va_list ap)
{
	const char *label, *v;
	bool first = true;

	if (!m->family[0]) {
		m->failed = true; /* a sample outside any family */
		return;
	}
	puts_(m, m->family);
	while ((label = va_arg(ap, const char *))) {
		v = va_arg(ap, const char *);
		if (!valid_name(label, true) || !v) {
			m->failed = true;
			return;
		}
		puts_(m, first ? "{" : ",");
		puts_(m, label);
		puts_(m, "=\"");
		put_escaped(m, v, true);
		puts_(m, "\"");
		first = false;
	}
	if (!first)
		puts_(m, "}");
	puts_(m, " ");
	puts_(m, value);
	puts_(m, "\n");
}

void metrics_u64(struct metrics *m, uint64_t value, ...)
{
	char text[24];
	va_list ap;

	snprintf(text, sizeof(text), "%" PRIu64, value);
	va_start(ap, value);
	sample(m, text, ap);
	va_end(ap);
}

/* The shortest of %.15g and %.17g that reads back as the same double:
 * 0.636475, not 0.63647500000000001. */
static void format_shortest(char *text, size_t size, double value)
{
	snprintf(text, size, "%.15g", value);
	if (strtod(text, NULL) != value)
		snprintf(text, size, "%.17g", value);
}

void metrics_f64(struct metrics *m, double value, ...)
{
	char text[32];
	va_list ap;

	if (isnan(value))
		snprintf(text, sizeof(text), "NaN");
	else if (isinf(value))
		snprintf(text, sizeof(text), value > 0 ? "+Inf" : "-Inf");
	else
		format_shortest(text, sizeof(text), value);
	va_start(ap, value);
	sample(m, text, ap);
	va_end(ap);
}
