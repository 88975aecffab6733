// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <string.h>

#include "cli_table.h"

void table_init(struct table *t, size_t n_cols, const char *const *head,
		unsigned int right)
{
	size_t c;

	memset(t, 0, sizeof(*t));
	t->n_cols = n_cols < TABLE_MAX_COLS ? n_cols : TABLE_MAX_COLS;
	for (c = 0; c < t->n_cols; c++)
		t->head[c] = head[c];
	t->right = right;
}

static int grow(struct table *t)
{
	size_t cap = t->cap_rows ? 2 * t->cap_rows : 16;
	char **cells = realloc(t->cells, cap * t->n_cols * sizeof(*cells));

	if (!cells)
		return -1;
	t->cells = cells;
	t->cap_rows = cap;
	return 0;
}

void table_add(struct table *t, const char *const *row)
{
	char **cells;
	size_t c;

	if (t->n_rows == t->cap_rows && grow(t)) {
		t->failed = 1;
		return;
	}
	cells = t->cells + t->n_rows * t->n_cols;
	for (c = 0; c < t->n_cols; c++) {
		cells[c] = strdup(row[c] ? row[c] : "-");
		if (!cells[c]) {
			while (c--)
				free(cells[c]);
			t->failed = 1;
			return;
		}
	}
	t->n_rows++;
}

static void print_row(const struct table *t, FILE *f, const size_t *width,
		      const char *const *cells)
{
	size_t c;

	for (c = 0; c < t->n_cols; c++) {
		int w = (int)width[c];
		const char *sep = c + 1 < t->n_cols ? "  " : "\n";

		if (t->right & (1u << c))
			fprintf(f, "%*s%s", w, cells[c], sep);
		else if (c + 1 < t->n_cols)
			fprintf(f, "%-*s%s", w, cells[c], sep);
		else /* no trailing blanks after the last column */
			fprintf(f, "%s%s", cells[c], sep);
	}
}

int table_print(const struct table *t, FILE *f)
{
	size_t width[TABLE_MAX_COLS];
	size_t r, c;

	for (c = 0; c < t->n_cols; c++)
		width[c] = strlen(t->head[c]);
	for (r = 0; r < t->n_rows; r++)
		for (c = 0; c < t->n_cols; c++) {
			size_t n = strlen(t->cells[r * t->n_cols + c]);

			if (n > width[c])
				width[c] = n;
		}
	print_row(t, f, width, t->head);
	for (r = 0; r < t->n_rows; r++)
		print_row(t, f, width,
			  (const char *const *)t->cells + r * t->n_cols);
	return t->failed ? -1 : 0;
}

void table_free(struct table *t)
{
	size_t i;

	for (i = 0; i < t->n_rows * t->n_cols; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

void kv_print(FILE *f, const char *key, const char *fmt, ...)
{
	int pad = KV_WIDTH - 1 - (int)strlen(key);
	va_list ap;

	fprintf(f, "%s:%*s", key, pad > 0 ? pad : 1, "");
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
}

const char *fmt_bytes(char *buf, size_t len, uint64_t bytes)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)bytes;
	size_t u = 0;

	if (bytes < 1024) {
		snprintf(buf, len, "%lluB", (unsigned long long)bytes);
		return buf;
	}
	v /= 1024;
	while (v >= 1024 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f%s", v, unit[u]);
	return buf;
}

const char *yes_no(bool b)
{
	return b ? "yes" : "no";
}
