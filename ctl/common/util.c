// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

void cg_error_set(struct cg_error *err, int status, const char *field,
		  const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	err->status = status;
	snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

int path_fmt(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void dir_of(const char *path, char *dir, size_t size)
{
	char *slash;

	snprintf(dir, size, "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, size, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
}

int fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	int fd, ret = 0;

	dir_of(path, dir, sizeof(dir));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd))
		ret = -errno;
	close(fd);
	return ret;
}

int write_file_atomic(const char *path, const void *buf, size_t len,
		      mode_t mode)
{
	char tmp[PATH_MAX];
	int fd, ret;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >=
	    (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	ret = write_all(fd, buf, len);
	if (!ret && fchmod(fd, mode))
		ret = -errno;
	if (!ret && fsync(fd))
		ret = -errno;
	if (close(fd) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret) {
		unlink(tmp);
		return ret;
	}
	return fsync_dir_of(path);
}

/* The PID of write_file_atomic's temp file name ("<base>.tmp.<pid>",
 * base at least one byte), or 0. */
static pid_t temp_writer(const char *name, size_t *base_len)
{
	const char *p, *tmp = NULL;
	long pid;
	char *end;

	for (p = strstr(name, ".tmp."); p; p = strstr(p + 1, ".tmp."))
		tmp = p;
	if (!tmp || tmp == name || !tmp[5] ||
	    strspn(tmp + 5, "0123456789") != strlen(tmp + 5))
		return 0;
	errno = 0;
	pid = strtol(tmp + 5, &end, 10);
	if (errno || pid <= 0 || pid > INT_MAX)
		return 0;
	*base_len = (size_t)(tmp - name);
	return (pid_t)pid;
}

/* Gone, or us: a previous life with our PID (a container's PID 1)
 * cannot be writing now. EPERM means someone else's live process. */
static bool writer_gone(pid_t pid)
{
	return pid == getpid() || (kill(pid, 0) && errno == ESRCH);
}

int remove_stale_temps(const char *dir, const char *base)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct stat sb;
	size_t base_len;
	int n = 0;
	pid_t pid;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d))) {
		pid = temp_writer(e->d_name, &base_len);
		if (!pid || (base && (strlen(base) != base_len ||
				      strncmp(e->d_name, base, base_len))))
			continue;
		if (fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) ||
		    !S_ISREG(sb.st_mode) || !writer_gone(pid))
			continue;
		if (!unlinkat(dirfd(d), e->d_name, 0))
			n++;
	}
	closedir(d);
	return n;
}

char *read_file(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "re");
	size_t n = 0, cap = 0, got;
	char *buf = NULL, *p;
	int err = 0;

	if (!f)
		return NULL;
	/* Grow as the file goes (max may be far above its size), reading
	 * at most max + 1 bytes to tell a file of max bytes from a bigger
	 * one. */
	for (;;) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 4096;

			if (cap > max)
				break;
			if (ncap > max + 1)
				ncap = max + 1;
			p = realloc(buf, ncap + 1);
			if (!p) {
				err = ENOMEM;
				break;
			}
			buf = p;
			cap = ncap;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (n < cap) {
			if (ferror(f))
				err = EIO;
			break;
		}
	}
	fclose(f);
	if (!err && n > max)
		err = EFBIG;
	if (err) {
		free(buf);
		errno = err;
		return NULL;
	}
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	char *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode)) {
		struct stat sb;

		if (errno != EEXIST)
			return -errno;
		/* Something is there: it must be a directory. */
		if (stat(buf, &sb))
			return -errno;
		if (!S_ISDIR(sb.st_mode))
			return -ENOTDIR;
	}
	return 0;
}

bool parse_ipv4(const char *s, struct in_addr *addr)
{
	return s && inet_pton(AF_INET, s, addr) == 1;
}

uint32_t prefix_mask(uint8_t prefix)
{
	return prefix ? htonl(~0u << (32 - prefix)) : 0;
}

bool parse_cidr(const char *s, struct in_addr *addr, uint8_t *prefix,
		bool host_bits_ok)
{
	char buf[INET_ADDRSTRLEN + 4];
	const char *slash;
	char *end;
	long n;

	if (!s || !(slash = strchr(s, '/')) ||
	    (size_t)(slash - s) >= INET_ADDRSTRLEN)
		return false;
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = '\0';
	if (!parse_ipv4(buf, addr))
		return false;
	if (slash[1] < '0' || slash[1] > '9' || strlen(slash + 1) > 2)
		return false;
	errno = 0;
	n = strtol(slash + 1, &end, 10);
	if (errno || *end || n < 0 || n > 32)
		return false;
	*prefix = (uint8_t)n;
	if (!host_bits_ok && (addr->s_addr & ~prefix_mask(*prefix)))
		return false;
	return true;
}

bool cidr_contains(struct in_addr net, uint8_t prefix, struct in_addr addr)
{
	uint32_t mask = prefix_mask(prefix);

	return (net.s_addr & mask) == (addr.s_addr & mask);
}

bool cidrs_overlap(struct in_addr a, uint8_t alen, struct in_addr b,
		   uint8_t blen)
{
	uint8_t shorter = alen < blen ? alen : blen;

	return cidr_contains(a, shorter, b);
}

bool parse_host_port(const char *s, char *host, size_t host_len, uint16_t *port)
{
	const char *colon = s ? strrchr(s, ':') : NULL;
	char *end;
	long n;

	/* Digits only: strtol would also take " 80" and "+80". */
	if (!colon || colon == s || (size_t)(colon - s) >= host_len ||
	    colon[1] < '0' || colon[1] > '9')
		return false;
	errno = 0;
	n = strtol(colon + 1, &end, 10);
	if (errno || *end || n < 1 || n > 65535)
		return false;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	*port = (uint16_t)n;
	return true;
}

bool parse_listen6(const char *s, struct in6_addr *addr, uint16_t *port)
{
	char host[64];
	size_t n;

	if (!parse_host_port(s, host, sizeof(host), port) || host[0] != '[')
		return false;
	n = strlen(host);
	if (n < 3 || host[n - 1] != ']')
		return false;
	host[n - 1] = '\0';
	return parse_ipv6(host + 1, addr);
}

const char *ipv4_str(struct in_addr addr, char buf[16])
{
	return inet_ntop(AF_INET, &addr, buf, 16);
}

bool parse_ipv6(const char *s, struct in6_addr *addr)
{
	return s && inet_pton(AF_INET6, s, addr) == 1;
}

bool parse_cidr6(const char *s, struct in6_addr *addr, uint8_t *prefix,
		 bool host_bits_ok)
{
	char buf[INET6_ADDRSTRLEN];
	const char *slash;
	struct in6_addr net;
	char *end;
	long n;

	if (!s || !(slash = strchr(s, '/')) ||
	    (size_t)(slash - s) >= sizeof(buf))
		return false;
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = '\0';
	if (!parse_ipv6(buf, addr))
		return false;
	if (slash[1] < '0' || slash[1] > '9' || strlen(slash + 1) > 3)
		return false;
	errno = 0;
	n = strtol(slash + 1, &end, 10);
	if (errno || *end || n < 0 || n > 128)
		return false;
	*prefix = (uint8_t)n;
	net = ipv6_masked(addr, *prefix);
	return host_bits_ok || ipv6_equal(&net, addr);
}

struct in6_addr ipv6_masked(const struct in6_addr *addr, uint8_t prefix)
{
	struct in6_addr out = *addr;
	unsigned int i;

	for (i = 0; i < 16; i++) {
		unsigned int keep = prefix >= 8 * (i + 1) ? 8 :
				    prefix > 8 * i	  ? prefix - 8 * i :
							    0;

		out.s6_addr[i] &= (uint8_t)(0xff00u >> keep);
	}
	return out;
}

bool cidr6_contains(const struct in6_addr *net, uint8_t prefix,
		    const struct in6_addr *addr)
{
	struct in6_addr a = ipv6_masked(net, prefix),
			b = ipv6_masked(addr, prefix);

	return ipv6_equal(&a, &b);
}

bool cidr6s_overlap(const struct cg_cidr6 *a, const struct cg_cidr6 *b)
{
	uint8_t shorter = a->prefix < b->prefix ? a->prefix : b->prefix;

	return cidr6_contains(&a->addr, shorter, &b->addr);
}

bool ipv6_is_zero(const struct in6_addr *addr)
{
	static const struct in6_addr zero;

	return ipv6_equal(addr, &zero);
}

bool ipv6_equal(const struct in6_addr *a, const struct in6_addr *b)
{
	return !memcmp(a, b, sizeof(*a));
}

bool ipv6_special(const struct in6_addr *a)
{
	return IN6_IS_ADDR_LINKLOCAL(a) || IN6_IS_ADDR_MULTICAST(a) ||
	       IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_UNSPECIFIED(a) ||
	       IN6_IS_ADDR_V4MAPPED(a);
}

static uint64_t low64(const struct in6_addr *a)
{
	uint64_t v = 0;
	unsigned int i;

	for (i = 8; i < 16; i++)
		v = v << 8 | a->s6_addr[i];
	return v;
}

uint64_t ipv6_offset(const struct in6_addr *net, const struct in6_addr *addr)
{
	if (memcmp(net->s6_addr, addr->s6_addr, 8))
		return UINT64_MAX;
	return low64(addr) - low64(net);
}

struct in6_addr ipv6_add(const struct in6_addr *net, uint64_t off)
{
	struct in6_addr out = *net;
	uint64_t v = low64(net) + off;
	int i;

	for (i = 15; i >= 8; i--, v >>= 8)
		out.s6_addr[i] = (uint8_t)v;
	return out;
}

const char *ipv6_str(const struct in6_addr *addr, char buf[CG_IP6_STRLEN])
{
	return inet_ntop(AF_INET6, addr, buf, CG_IP6_STRLEN);
}

bool valid_name(const char *s)
{
	size_t n = 0;

	if (!s)
		return false;
	for (; s[n]; n++) {
		char c = s[n];

		if (n >= CG_NAME_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == '-'))
			return false;
	}
	return n > 0;
}

void str_copy(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

bool parse_proto(const char *s, uint8_t *proto)
{
	if (!s)
		return false;
	if (!strcmp(s, "tcp"))
		*proto = IPPROTO_TCP;
	else if (!strcmp(s, "udp"))
		*proto = IPPROTO_UDP;
	else if (!strcmp(s, "icmp"))
		*proto = IPPROTO_ICMP;
	else if (!strcmp(s, "any"))
		*proto = 0;
	else
		return false;
	return true;
}

const char *proto_name(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMP:
		return "icmp";
	case 0:
		return "any";
	default:
		return "?";
	}
}

int random_bytes(void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = getrandom(p, len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

bool const_time_streq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i;
	unsigned char diff = (unsigned char)(la != lb);

	/* Walk the expected string's length whatever the input is. */
	for (i = 0; i < lb; i++)
		diff |= (unsigned char)(b[i] ^ (i < la ? a[i] : 0));
	return diff == 0;
}

uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
