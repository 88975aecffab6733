/* SPDX-License-Identifier: MIT */
/*
 * Human output of the command-line client: aligned tables with a header
 * row, "key: value" blocks, and byte counts in binary units.
 */
#ifndef CELLGATE_CLI_TABLE_H
#define CELLGATE_CLI_TABLE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TABLE_MAX_COLS 12
#define TABLE_RIGHT(c) (1u << (c)) /* right-align column c (numbers) */

struct table {
	size_t n_cols;
	const char *head[TABLE_MAX_COLS];
	unsigned int right; /* bit c: column c is right-aligned (numbers) */
	char **cells; /* n_rows * n_cols strings, row by row */
	size_t n_rows, cap_rows;
	int failed; /* out of memory while adding; print says so */
};

/* head: n_cols column titles. right: TABLE_RIGHT() bits, or 0. */
void table_init(struct table *t, size_t n_cols, const char *const *head,
		unsigned int right);
/* Add a row of n_cols strings (copied; NULL prints as "-"). */
void table_add(struct table *t, const char *const *row);
/* Print the header and rows, columns two spaces apart. -1 if a row was
 * lost to memory exhaustion. */
int table_print(const struct table *t, FILE *f);
void table_free(struct table *t);

#define KV_WIDTH 20 /* where the values of kv_print() start */

/* "key:" padded to KV_WIDTH, then the value. */
void kv_print(FILE *f, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* 343B, 1.5KiB, 12.0MiB ... into buf: one word, for table columns. */
const char *fmt_bytes(char *buf, size_t len, uint64_t bytes);

const char *yes_no(bool b);

#endif
