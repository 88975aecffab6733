// SPDX-License-Identifier: MIT
/*
 * Links and addresses over rtnetlink (libnl-route), and the userspace
 * fallback: when the kernel has no WireGuard, wireguard-go is started as
 * a detached daemon and we wait, bounded, for its UAPI socket.
 */
/* close_range, pipe2, strchrnul */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>

#include "log.h"
#include "wg_iface.h"
#include "wg_internal.h"

#define WG_GO_NAME "wireguard-go"
/* How long wireguard-go gets to create its UAPI socket. */
#define WG_GO_START_TIMEOUT_MS 5000
#define WG_GO_POLL_MS 20
#define DEFAULT_PATH \
	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

extern char **environ;

/* Netlink sockets that keep the kernel's errno. */

static int store_kernel_err(struct sockaddr_nl *nla, struct nlmsgerr *e,
			    void *arg)
{
	(void)nla;
	*(int *)arg = e->error;
	return NL_STOP;
}

struct nl_sock *nlsock_open(int protocol, int *kerr)
{
	struct nl_sock *sk = nl_socket_alloc();
	int rc;

	*kerr = 0;
	if (!sk) {
		errno = ENOMEM;
		return NULL;
	}
	rc = nl_connect(sk, protocol);
	if (!rc)
		rc = nl_socket_modify_err_cb(sk, NL_CB_CUSTOM, store_kernel_err,
					     kerr);
	if (rc) {
		nl_socket_free(sk);
		errno = -nlsock_errno(rc, kerr);
		return NULL;
	}
	/* Dump messages can exceed a page; let libnl size its buffer. */
	nl_socket_enable_msg_peek(sk);
	return sk;
}

/* libnl has no NLE_ to errno table; the common ones, then EIO. */
int nlsock_errno(int nlerr, const int *kerr)
{
	if (kerr && *kerr < 0)
		return *kerr;
	switch (nlerr < 0 ? -nlerr : nlerr) {
	case 0:
		return 0;
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_EXIST:
		return -EEXIST;
	case NLE_OBJ_NOTFOUND:
		return -ENOENT;
	case NLE_NODEV:
		return -ENODEV;
	case NLE_PERM:
		return -EPERM;
	case NLE_INVAL:
		return -EINVAL;
	case NLE_OPNOTSUPP:
		return -EOPNOTSUPP;
	case NLE_MSGSIZE:
		return -EMSGSIZE;
	case NLE_AGAIN:
		return -EAGAIN;
	case NLE_INTR:
	case NLE_DUMP_INTR:
		return -EINTR;
	case NLE_NOACCESS:
		return -EACCES;
	case NLE_BUSY:
		return -EBUSY;
	case NLE_RANGE:
		return -ERANGE;
	case NLE_AF_NOSUPPORT:
		return -EAFNOSUPPORT;
	case NLE_PROTO_MISMATCH:
		return -EPROTONOSUPPORT;
	default:
		return -EIO;
	}
}

/* Look up ifname; on success *linkp must be put by the caller. */
static int link_get(struct nl_sock *sk, const int *kerr, const char *ifname,
		    struct rtnl_link **linkp)
{
	int rc = rtnl_link_get_kernel(sk, 0, ifname, linkp);

	return rc ? nlsock_errno(rc, kerr) : 0;
}

int iface_is_kernel_wireguard(const char *ifname)
{
	struct rtnl_link *link;
	struct nl_sock *sk;
	const char *kind;
	int kerr, ret;

	sk = nlsock_open(NETLINK_ROUTE, &kerr);
	if (!sk)
		return -errno;
	ret = link_get(sk, &kerr, ifname, &link);
	if (!ret) {
		kind = rtnl_link_get_type(link);
		ret = kind && !strcmp(kind, "wireguard");
		rtnl_link_put(link);
	}
	nl_socket_free(sk);
	return ret;
}

/*
 * RTM_NEWLINK with kind "wireguard". A kernel without WireGuard (and no
 * module to load) answers -EOPNOTSUPP ("Unknown device type"); the caller
 * falls back to userspace on exactly that.
 */
int iface_create_kernel(const char *ifname)
{
	struct rtnl_link *link;
	struct nl_sock *sk;
	int kerr, rc, ret;

	sk = nlsock_open(NETLINK_ROUTE, &kerr);
	if (!sk)
		return -errno;
	link = rtnl_link_alloc();
	if (!link) {
		nl_socket_free(sk);
		return -ENOMEM;
	}
	rtnl_link_set_name(link, ifname);
	rc = rtnl_link_set_type(link, "wireguard");
	if (!rc)
		rc = rtnl_link_add(sk, link, NLM_F_CREATE | NLM_F_EXCL);
	ret = nlsock_errno(rc, &kerr);
	rtnl_link_put(link);
	nl_socket_free(sk);
	return ret;
}

/* Remove a link we created (a wireguard exit's, issue 20): -ENODEV when
 * it is gone already. */
int iface_delete(const char *ifname)
{
	struct rtnl_link *link = NULL;
	struct nl_sock *sk;
	int kerr, rc, ret;

	if (!wg_ifname_valid(ifname))
		return -EINVAL;
	sk = nlsock_open(NETLINK_ROUTE, &kerr);
	if (!sk)
		return -errno;
	ret = link_get(sk, &kerr, ifname, &link);
	if (!ret) {
		rc = rtnl_link_delete(sk, link);
		ret = nlsock_errno(rc, &kerr);
	}
	if (link)
		rtnl_link_put(link);
	nl_socket_free(sk);
	return ret;
}

/* Userspace fallback. */

static int find_in_path(const char *name, char *out, size_t cap)
{
	const char *path = getenv("PATH"), *p, *end;
	struct stat st;
	size_t len;
	int n;

	if (!path || !*path)
		path = DEFAULT_PATH;
	for (p = path; *p; p = *end ? end + 1 : end) {
		end = strchrnul(p, ':');
		len = (size_t)(end - p);
		/* An empty element means the cwd; a daemon should not. */
		if (!len)
			continue;
		n = snprintf(out, cap, "%.*s/%s", (int)len, p, name);
		if (n < 0 || (size_t)n >= cap)
			continue;
		if (!stat(out, &st) && S_ISREG(st.st_mode) &&
		    !access(out, X_OK))
			return 0;
	}
	return -ENOENT;
}

/* environ with WG_PROCESS_FOREGROUND=1 instead of any inherited value;
 * only the pointer array is new. */
static char **foreground_env(void)
{
	static const char fg[] = "WG_PROCESS_FOREGROUND=";
	size_t n = 0, i, j = 0;
	char **env;

	while (environ && environ[n])
		n++;
	env = calloc(n + 2, sizeof(*env));
	if (!env)
		return NULL;
	for (i = 0; i < n; i++)
		if (strncmp(environ[i], fg, sizeof(fg) - 1))
			env[j++] = environ[i];
	env[j++] = (char *)"WG_PROCESS_FOREGROUND=1";
	env[j] = NULL;
	return env;
}

/*
 * In the grandchild, before exec: only async-signal-safe calls. The
 * daemon must not inherit our signal mask or ignored signals (it would
 * not die on SIGTERM), our descriptors, our stdio (a pipe kept open by it
 * would hang whoever reads our output), or our cwd.
 */
static void __attribute__((noreturn))
exec_daemon(const char *path, char *const argv[], char *const envp[],
	    int report_fd)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };
	sigset_t none;
	int fd, err;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL);
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
	}
	/* Mark, not close: report_fd must live until exec closes it. */
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC))
		for (fd = 3; fd < 4096; fd++)
			if (fd != report_fd)
				close(fd);
	if (chdir("/")) {
		/* Not fatal: only the cwd is kept. */
	}
	execve(path, argv, envp);
	err = errno;
	if (write(report_fd, &err, sizeof(err)) < 0) {
		/* Nothing left to tell. */
	}
	_exit(127);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read exactly 4 bytes before deadline: 1, 0 at EOF, or -errno. */
static int read_int(int fd, int *val, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t got = 0;
	ssize_t n;
	int rc;

	while (got < sizeof(*val)) {
		if (deadline <= now_ms())
			return -ETIMEDOUT;
		rc = poll(&pfd, 1, (int)(deadline - now_ms()));
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return -errno;
		if (rc == 0)
			return -ETIMEDOUT;
		n = read(fd, (char *)val + got, sizeof(*val) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return got ? -EPROTO : 0;
		got += (size_t)n;
	}
	return 1;
}

/*
 * fork, setpgid, fork again: the daemon is not our child (we never reap
 * it, it outlives us) and is in a process group of its own, so a ^C or a
 * hang-up meant for our terminal's foreground group does not reach it.
 * Not setsid: a new session is a new scheduler autogroup
 * (kernel.sched_autogroup_enabled), which would weigh all of
 * wireguard-go's threads as one task against the rest of the machine and
 * cost it half its UDP rate under load (docs/bench/wg-path-analysis.md);
 * it stays in the session, and CPU share, of whoever started us, as a
 * wireguard-go started by hand would. The middle process reports
 * the grandchild's PID through a CLOEXEC pipe; the grandchild reports an
 * exec failure through the same pipe, whose EOF means exec succeeded.
 */
static int spawn_detached(const char *path, char *const argv[],
			  char *const envp[], pid_t *pid, int64_t deadline)
{
	int fds[2], val, ret, status;
	pid_t mid, gc;

	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	mid = fork();
	if (mid < 0) {
		ret = -errno;
		close(fds[0]);
		close(fds[1]);
		return ret;
	}
	if (mid == 0) {
		setpgid(0, 0);
		gc = fork();
		if (gc == 0)
			exec_daemon(path, argv, envp, fds[1]);
		val = gc < 0 ? -errno : (int)gc;
		_exit(write(fds[1], &val, sizeof(val)) == sizeof(val) ? 0 : 1);
	}
	close(fds[1]);
	while (waitpid(mid, &status, 0) < 0 && errno == EINTR)
		;
	ret = read_int(fds[0], &val, deadline);
	if (ret == 1 && val <= 0)
		ret = val ? val : -EIO; /* second fork failed */
	else if (ret == 1) {
		*pid = val;
		ret = read_int(fds[0], &val, deadline);
		if (ret == 1)
			ret = -val; /* exec failed with errno val */
	} else if (ret == 0) {
		ret = -EIO; /* middle process died before reporting */
	}
	close(fds[0]);
	return ret;
}

/* Whether pid is still a running (not zombie) process. */
static bool process_alive(pid_t pid)
{
	char path[32], buf[256], *paren;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	/* "pid (comm) S ...": comm may hold spaces and parens. */
	paren = strrchr(buf, ')');
	return paren && paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X';
}

static int wait_for_socket(const char *ifname, pid_t pid, pid_t *owner,
			   int64_t deadline)
{
	struct timespec pause = { .tv_nsec = WG_GO_POLL_MS * 1000000L };

	for (;;) {
		if (!uapi_owner_pid(ifname, owner))
			return 0;
		if (!process_alive(pid))
			return -ESRCH;
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		nanosleep(&pause, NULL);
	}
}

int iface_start_userspace(const char *ifname, pid_t *started_pid)
{
	char path[4096], name[IF_NAMESIZE];
	char *argv[] = { (char *)WG_GO_NAME, name, NULL };
	int64_t deadline = now_ms() + WG_GO_START_TIMEOUT_MS;
	pid_t pid = 0, owner = 0;
	char **envp;
	int ret;

	if (find_in_path(WG_GO_NAME, path, sizeof(path))) {
		log_err("wg %s: no kernel WireGuard and no %s in PATH", ifname,
			WG_GO_NAME);
		return -ENOENT;
	}
	snprintf(name, sizeof(name), "%s", ifname);
	envp = foreground_env();
	if (!envp)
		return -ENOMEM;
	ret = spawn_detached(path, argv, envp, &pid, deadline);
	free(envp);
	if (ret) {
		log_err("wg %s: cannot start %s: %s", ifname, path,
			strerror(-ret));
		return ret;
	}
	ret = wait_for_socket(ifname, pid, &owner, deadline);
	if (ret == -ESRCH) {
		log_err("wg %s: %s (pid %d) exited before creating %s/%s.sock",
			ifname, path, (int)pid, WG_UAPI_DIR, ifname);
		return ret;
	}
	if (ret) {
		log_err("wg %s: %s (pid %d): no UAPI socket in %d ms; killed",
			ifname, path, (int)pid, WG_GO_START_TIMEOUT_MS);
		kill(pid, SIGTERM);
		return ret;
	}
	if (owner != pid)
		log_warn("wg %s: UAPI socket owner is pid %d, not our pid %d",
			 ifname, (int)owner, (int)pid);
	log_info("wg %s: started %s, pid %d", ifname, path, (int)owner);
	*started_pid = owner;
	return 0;
}

/* Addresses and link state. */

static int link_ifindex(struct nl_sock *sk, const int *kerr, const char *ifname,
			int *ifindex, unsigned int *flags)
{
	struct rtnl_link *link;
	int ret = link_get(sk, kerr, ifname, &link);

	if (ret)
		return ret;
	*ifindex = rtnl_link_get_ifindex(link);
	if (flags)
		*flags = rtnl_link_get_flags(link);
	rtnl_link_put(link);
	return 0;
}

/* An address of either family: its bytes and their length. */
struct nladdr {
	int family;
	uint8_t bytes[16];
	unsigned int len; /* 4 or 16 */
};

/* The local address of an rtnl_addr of family on ifindex, if it has
 * one; IPv6: global scope only (not link-local, not temporary ones being
 * deprecated). */
static bool addr_of(struct rtnl_addr *a, int ifindex, int family,
		    struct nladdr *out)
{
	struct nl_addr *local;
	unsigned int len = family == AF_INET ? 4 : 16;

	if (rtnl_addr_get_ifindex(a) != ifindex ||
	    rtnl_addr_get_family(a) != family ||
	    (family == AF_INET6 && rtnl_addr_get_scope(a) != RT_SCOPE_UNIVERSE))
		return false;
	local = rtnl_addr_get_local(a);
	if (!local || nl_addr_get_len(local) != len)
		return false;
	out->family = family;
	out->len = len;
	memcpy(out->bytes, nl_addr_get_binary_addr(local), len);
	return true;
}

static int addr_add(struct nl_sock *sk, const int *kerr, int ifindex,
		    const struct nladdr *addr, uint8_t prefix)
{
	struct rtnl_addr *ra = rtnl_addr_alloc();
	struct nl_addr *local =
		nl_addr_build(addr->family, addr->bytes, addr->len);
	int rc = -NLE_NOMEM;

	if (ra && local) {
		nl_addr_set_prefixlen(local, prefix);
		rtnl_addr_set_ifindex(ra, ifindex);
		rc = rtnl_addr_set_local(ra, local);
		/* IPv6: no duplicate address detection on a tunnel whose
		 * peers cannot answer it (the address would sit tentative). */
		if (!rc && addr->family == AF_INET6)
			rtnl_addr_set_flags(ra, IFA_F_NODAD);
		if (!rc)
			rc = rtnl_addr_add(sk, ra, NLM_F_EXCL);
	}
	nl_addr_put(local);
	rtnl_addr_put(ra);
	return nlsock_errno(rc, kerr);
}

/*
 * Scan the addresses of ifindex for addr. 1: present with prefix; 0: not
 * present (a copy with another prefix is deleted first, so the add that
 * follows leaves exactly one); -errno.
 */
static int addr_reconcile(struct nl_sock *sk, const int *kerr,
			  const char *ifname, int ifindex,
			  const struct nladdr *addr, uint8_t prefix)
{
	struct nl_cache *cache;
	char text[INET6_ADDRSTRLEN];
	struct nl_object *obj;
	struct nladdr have;
	int rc, ret = 0;

	rc = rtnl_addr_alloc_cache(sk, &cache);
	if (rc)
		return nlsock_errno(rc, kerr);
	for (obj = nl_cache_get_first(cache); obj && ret == 0;
	     obj = nl_cache_get_next(obj)) {
		struct rtnl_addr *a = (struct rtnl_addr *)obj;

		if (!addr_of(a, ifindex, addr->family, &have) ||
		    memcmp(have.bytes, addr->bytes, addr->len))
			continue;
		if (rtnl_addr_get_prefixlen(a) == prefix) {
			ret = 1;
			break;
		}
		log_info("net %s: address %s: replacing prefix /%d with /%u",
			 ifname,
			 inet_ntop(have.family, have.bytes, text, sizeof(text)),
			 rtnl_addr_get_prefixlen(a), prefix);
		rc = rtnl_addr_delete(sk, a, 0);
		if (rc)
			ret = nlsock_errno(rc, kerr);
	}
	nl_cache_free(cache);
	return ret;
}

static int ensure_address(const char *ifname, const struct nladdr *addr,
			  uint8_t prefix)
{
	char text[INET6_ADDRSTRLEN + 5];
	struct nl_sock *sk;
	int kerr, ifindex, ret;

	inet_ntop(addr->family, addr->bytes, text, INET6_ADDRSTRLEN);
	snprintf(text + strlen(text), 5, "/%u", prefix);
	if (prefix > addr->len * 8 || !wg_ifname_valid(ifname)) {
		log_err("net %s: add address %s: invalid argument",
			ifname ? ifname : "(null)", text);
		return -EINVAL;
	}
	sk = nlsock_open(NETLINK_ROUTE, &kerr);
	if (!sk)
		return -errno;
	ret = link_ifindex(sk, &kerr, ifname, &ifindex, NULL);
	if (!ret)
		ret = addr_reconcile(sk, &kerr, ifname, ifindex, addr, prefix);
	if (ret == 0) {
		ret = addr_add(sk, &kerr, ifindex, addr, prefix);
		/* Someone added it since our scan: the result we wanted. */
		if (ret == -EEXIST)
			ret = 0;
	} else if (ret == 1) {
		ret = 0;
	}
	if (ret)
		log_err("net %s: add address %s: %s", ifname, text,
			strerror(-ret));
	nl_socket_free(sk);
	return ret;
}

int net_ensure_address(const char *ifname, struct in_addr addr, uint8_t prefix)
{
	struct nladdr a = { .family = AF_INET, .len = 4 };

	memcpy(a.bytes, &addr, 4);
	return ensure_address(ifname, &a, prefix);
}

int net_ensure_address6(const char *ifname, const struct in6_addr *addr,
			uint8_t prefix)
{
	struct nladdr a = { .family = AF_INET6, .len = 16 };

	memcpy(a.bytes, addr, 16);
	return ensure_address(ifname, &a, prefix);
}

int net_link_is_up(const char *ifname)
{
	struct rtnl_link *link = NULL;
	struct nl_sock *sk;
	int kerr, ret;

	if (!wg_ifname_valid(ifname))
		return -EINVAL;
	sk = nlsock_open(NETLINK_ROUTE, &kerr);
	if (!sk)
		return -errno;
	ret = link_get(sk, &kerr, ifname, &link);
	if (!ret)
		ret = (rtnl_link_get_flags(link) & IFF_UP) ? 1 : 0;
	if (link)
		rtnl_link_put(link);
	nl_socket_free(sk);
	return ret;
}

int net_link_up(const char *ifname)
{
	struct rtnl_link *link = NULL, *change = NULL;
	struct nl_sock *sk;
	int kerr, rc, ret;

	if (!wg_ifname_valid(ifname))
		return -EINVAL;
	sk = nlsock_open(NETLINK_ROUTE, &kerr);
	if (!sk)
		return -errno;
	ret = link_get(sk, &kerr, ifname, &link);
	if (ret || (rtnl_link_get_flags(link) & IFF_UP))
		goto out;
	change = rtnl_link_alloc();
	if (!change) {
		ret = -ENOMEM;
		goto out;
	}
	rtnl_link_set_flags(change, IFF_UP);
	rc = rtnl_link_change(sk, link, change, 0);
	ret = nlsock_errno(rc, &kerr);
out:
	if (ret)
		log_err("net %s: set link up: %s", ifname, strerror(-ret));
	if (change)
		rtnl_link_put(change);
	if (link)
		rtnl_link_put(link);
	nl_socket_free(sk);
	return ret;
}

/* The first address of family on ifname (the kernel lists primary
 * addresses first). */
static int get_address(const char *ifname, int family, struct nladdr *addr,
		       uint8_t *prefix)
{
	struct nl_cache *cache = NULL;
	struct nl_object *obj;
	struct nl_sock *sk;
	int kerr, ifindex, rc, ret;

	if (!wg_ifname_valid(ifname))
		return -EINVAL;
	sk = nlsock_open(NETLINK_ROUTE, &kerr);
	if (!sk)
		return -errno;
	ret = link_ifindex(sk, &kerr, ifname, &ifindex, NULL);
	if (!ret) {
		rc = rtnl_addr_alloc_cache(sk, &cache);
		ret = nlsock_errno(rc, &kerr);
	}
	if (!ret) {
		ret = -ENOENT;
		for (obj = nl_cache_get_first(cache); obj;
		     obj = nl_cache_get_next(obj)) {
			struct rtnl_addr *a = (struct rtnl_addr *)obj;

			if (addr_of(a, ifindex, family, addr)) {
				*prefix = (uint8_t)rtnl_addr_get_prefixlen(a);
				ret = 0;
				break;
			}
		}
	}
	if (ret && ret != -ENOENT)
		log_err("net %s: read IPv%d address: %s", ifname,
			family == AF_INET ? 4 : 6, strerror(-ret));
	if (cache)
		nl_cache_free(cache);
	nl_socket_free(sk);
	return ret;
}

int net_get_ipv4(const char *ifname, struct in_addr *addr, uint8_t *prefix)
{
	struct nladdr a;
	int ret = get_address(ifname, AF_INET, &a, prefix);

	if (!ret)
		memcpy(addr, a.bytes, 4);
	return ret;
}

int net_get_ipv6(const char *ifname, struct in6_addr *addr, uint8_t *prefix)
{
	struct nladdr a;
	int ret = get_address(ifname, AF_INET6, &a, prefix);

	if (!ret)
		memcpy(addr, a.bytes, 16);
	return ret;
}
