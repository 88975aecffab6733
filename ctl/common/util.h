/* SPDX-License-Identifier: MIT */
/* Small helpers: files, addresses, names, errors. */
#ifndef CELLGATE_UTIL_H
#define CELLGATE_UTIL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define CG_NAME_MAX 64 /* names: [A-Za-z0-9_.-]{1,64} */

/* A validation or request error: what is wrong, which field, and the HTTP
 * status the API answers with. */
struct cg_error {
	int status; /* 400, 404, 409, 413, 500 ... */
	char field[64];
	char msg[256];
};

void cg_error_set(struct cg_error *err, int status, const char *field,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* snprintf for paths: -ENAMETOOLONG instead of a truncated path. */
int path_fmt(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Write a whole file so that a crash leaves either the old or the new
 * content: temp file in the same directory, fsync, rename, fsync dir. */
int write_file_atomic(const char *path, const void *buf, size_t len,
		      mode_t mode);
/* Read a whole file (at most max bytes) into a NUL-terminated buffer. */
char *read_file(const char *path, size_t max, size_t *len);
/* The directory part of path ("." for a bare name, "/" for "/x"). */
void dir_of(const char *path, char *dir, size_t size);
/* All of buf to fd (retrying short writes and EINTR): 0 or -errno. */
int write_all(int fd, const void *buf, size_t len);
/* fsync the directory path is in (a new or renamed entry made durable). */
int fsync_dir_of(const char *path);
/* Delete the temp files write_file_atomic left in dir when its writer
 * was killed ("<base>.tmp.<pid>" of a process that is gone; only base's
 * when base is set): how many, or -errno if dir cannot be read. */
int remove_stale_temps(const char *dir, const char *base);
/* mkdir -p with mode for created directories. */
int mkdir_p(const char *path, mode_t mode);

/* Strict dotted-quad IPv4 (inet_pton). */
bool parse_ipv4(const char *s, struct in_addr *addr);
/* "a.b.c.d/n"; with host_bits_ok false, bits past the prefix must be 0. */
bool parse_cidr(const char *s, struct in_addr *addr, uint8_t *prefix,
		bool host_bits_ok);
/* Network-order mask of a prefix length. */
uint32_t prefix_mask(uint8_t prefix);
bool cidr_contains(struct in_addr net, uint8_t prefix, struct in_addr addr);
bool cidrs_overlap(struct in_addr a, uint8_t alen, struct in_addr b,
		   uint8_t blen);
/* "host:port" with an IPv4 or name host; port 1..65535. */
bool parse_host_port(const char *s, char *host, size_t host_len,
		     uint16_t *port);
/* "[IPv6]:port" (a listener's address) into addr and port. */
bool parse_listen6(const char *s, struct in6_addr *addr, uint16_t *port);
const char *ipv4_str(struct in_addr addr, char buf[16]);

/* IPv6 (issue 17). Strict inet_pton text; a prefix 0..128. */
struct cg_cidr6 {
	struct in6_addr addr;
	uint8_t prefix;
};

#define CG_IP6_STRLEN 46 /* INET6_ADDRSTRLEN */
bool parse_ipv6(const char *s, struct in6_addr *addr);
/* "a::b/n"; with host_bits_ok false, bits past the prefix must be 0. */
bool parse_cidr6(const char *s, struct in6_addr *addr, uint8_t *prefix,
		 bool host_bits_ok);
/* addr with the bits past prefix cleared. */
struct in6_addr ipv6_masked(const struct in6_addr *addr, uint8_t prefix);
bool cidr6_contains(const struct in6_addr *net, uint8_t prefix,
		    const struct in6_addr *addr);
bool cidr6s_overlap(const struct cg_cidr6 *a, const struct cg_cidr6 *b);
bool ipv6_is_zero(const struct in6_addr *addr);
bool ipv6_equal(const struct in6_addr *a, const struct in6_addr *b);
/* Link-local (fe80::/10), multicast (ff00::/8), loopback, unspecified,
 * IPv4-mapped: never a host of a cell's network. */
bool ipv6_special(const struct in6_addr *addr);
/* The low 64 bits of addr - net; UINT64_MAX when their high 64 bits
 * differ. */
uint64_t ipv6_offset(const struct in6_addr *net, const struct in6_addr *addr);
/* net + off (off in the low 64 bits). */
struct in6_addr ipv6_add(const struct in6_addr *net, uint64_t off);
const char *ipv6_str(const struct in6_addr *addr, char buf[CG_IP6_STRLEN]);

bool valid_name(const char *s);
/* Copy src into dst[size], truncating; always NUL-terminates. */
void str_copy(char *dst, size_t size, const char *src);
/* Parse "tcp"/"udp"/"icmp"/"any" to an IP protocol number (any = 0). */
bool parse_proto(const char *s, uint8_t *proto);
const char *proto_name(uint8_t proto);

/* Fill buf with len random bytes (getrandom). 0 or -errno. */
int random_bytes(void *buf, size_t len);
/* Constant-time comparison of two strings of possibly different length. */
bool const_time_streq(const char *a, const char *b);

uint64_t monotonic_ns(void);

#endif
