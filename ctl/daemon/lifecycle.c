// SPDX-License-Identifier: MIT
/*
 * The daemon's life: start (state, secrets, WireGuard, programs, maps),
 * the periodic tick (conntrack GC, WireGuard drift repair, settings, map
 * resync), the pusher's registration, stop.
 */
#include <errno.h>
#include <malloc.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "apply.h"
#include "exporter.h"
#include "hooks.h"
#include "kernel.h"
#include "log.h"
#include "rate_qdisc.h"
#include "op.h"
#include "policy.h"
#include "secrets.h"
#include "state.h"
#include "wgprog.h"

#define GC_INTERVAL_NS (10ull * 1000000000ull)
#define WG_RECONCILE_INTERVAL_NS (5ull * 1000000000ull)
/* Over wireguard-go the drift check is a UAPI dump of every peer: about
 * 55 ms of CPU between wireguard-go and us at 10k peers, 1.1 % of a CPU
 * at one check per 5 s, taken from the packets' path on a small router
 * (docs/bench/wg-path-analysis.md). Its interval stretches with its cost
 * so that its wall time stays under 1/WG_RECONCILE_DUTY_INV of the time
 * (0.5 %), up to WG_RECONCILE_MAX_NS; a cell of a few hundred peers keeps
 * the 5 s. The cap is 2 minutes: at 100k peers on kernel WireGuard one
 * check took 6 s of CPU in the 6.1 VM (docs/bench/kernel-scale.md), and
 * a deleted device is repaired at once anyway (heal.c, link events). */
#define WG_RECONCILE_DUTY_INV 200ull
#define WG_RECONCILE_MAX_NS (120ull * 1000000000ull)
/* The maps are rewritten from the state now and then, so a map update an
 * API call could not make (out of memory) is made later. */
#define MAP_SYNC_INTERVAL_NS (30ull * 1000000000ull)

/* The bridge's subnet, from the interface when the config leaves it out. */
static void detect_bridge_subnet(struct cg_config *cfg)
{
	struct in_addr addr;
	uint8_t prefix;

	if (cfg->bridge.has_subnet)
		return;
	if (net_get_ipv4(cfg->bridge.interface, &addr, &prefix)) {
		log_warn("bridge %s has no IPv4 address and no \"subnet\" is "
			 "configured: its network is not protected as the "
			 "cell's own",
			 cfg->bridge.interface);
		return;
	}
	cfg->bridge.subnet.addr.s_addr = addr.s_addr & prefix_mask(prefix);
	cfg->bridge.subnet.prefix = prefix;
	cfg->bridge.has_subnet = true;
}

/* The bridge's IPv6 network, from its global address (IPv6 cells). */
static void detect_bridge_subnet6(struct cg_config *cfg)
{
	struct in6_addr addr;
	uint8_t prefix;

	if (!cfg->wireguard.has_address6 ||
	    net_get_ipv6(cfg->bridge.interface, &addr, &prefix))
		return;
	cfg->bridge.subnet6.addr = ipv6_masked(&addr, prefix);
	cfg->bridge.subnet6.prefix = prefix;
	cfg->bridge.has_subnet6 = true;
}

/* The state is loaded before the bridge's subnet is known, so forwards
 * are checked against the cell's networks only now. One whose target is
 * no longer in them stays (deleting it is the admin's call) but is
 * named, since its packets may not get there. */
static void warn_unreachable_forwards(struct controller *c)
{
	const struct cg_state *st = &c->state;
	char ip[16];
	size_t i;

	for (i = 0; i < st->n_forwards; i++) {
		const char *hides =
			state_forward_hides(&c->cfg, &st->forwards[i]);

		if (!state_forward_reachable(&c->cfg, &st->forwards[i]))
			log_warn("forward '%s': target %s is not in a network "
				 "of the cell (WireGuard subnet, bridge "
				 "subnet, local_networks)",
				 st->forwards[i].id,
				 ipv4_str(st->forwards[i].target_ip, ip));
		if (hides)
			log_warn("forward '%s': tcp port %u is %s, which the "
				 "forward hides on the uplink",
				 st->forwards[i].id,
				 st->forwards[i].public_port, hides);
	}
}

/* The drift repair loop's step (at start, setting up: not drift). */
static int wg_reconcile(struct controller *c)
{
	return ctl_wg_sync(c, c->started_ns != 0);
}

/* Milliseconds between two monotonic_ns() stamps. */
static double ms_between(uint64_t a, uint64_t b)
{
	return (double)(b - a) / 1e6;
}

/* A kill -9 during write_file_atomic leaves "<file>.tmp.<pid>" beside
 * the file: remove those of ours (state_dir, peer keys, the token and
 * the key file, which may live elsewhere) before anything is written. */
static void remove_our_stale_temps(const struct controller *c)
{
	const char *files[] = { c->cfg.api.token_file,
				c->cfg.wireguard.private_key_file };
	char dir[PATH_MAX];
	int n = 0, ret;
	size_t i;

	ret = remove_stale_temps(c->cfg.state_dir, NULL);
	n += ret > 0 ? ret : 0;
	if (!path_fmt(dir, sizeof(dir), "%s/peer-keys", c->cfg.state_dir)) {
		ret = remove_stale_temps(dir, NULL);
		n += ret > 0 ? ret : 0;
	}
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		const char *slash = strrchr(files[i], '/');

		dir_of(files[i], dir, sizeof(dir));
		ret = remove_stale_temps(dir, slash ? slash + 1 : files[i]);
		n += ret > 0 ? ret : 0;
	}
	if (n)
		log_info("removed %d temporary file(s) of an interrupted write",
			 n);
}

/* Peers without an ip6 (a state from before IPv6, or address6 newly
 * configured) get one now, written at once as a snapshot: a restart
 * must not hand out other addresses than the ones clients configured. */
static int assign_ip6(struct controller *c)
{
	size_t n = state_assign_ip6(&c->state);
	int ret;

	if (!n)
		return 0;
	ret = ctl_save(c);
	if (ret)
		log_err("cannot save the %zu peers' new ip6: %s", n,
			strerror(-ret));
	else
		log_info("state: %zu peer(s) without an ip6 got one from "
			 "wireguard.address6",
			 n);
	return ret;
}

/* The state directory, cleaned of interrupted writes, and the state. */
/* Loudly: the cell runs on an older state than the newest. */
static void log_fallback(const struct state_recovery *r)
{
	char when[32] = "";
	unsigned int i;

	if (!r->fell_back)
		return;
	for (i = 0; i < r->n_refused; i++)
		log_err("state: REFUSED %s", r->refused[i]);
	if (r->lost_after) {
		time_t t = (time_t)r->lost_after;
		struct tm tm;

		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ",
			 gmtime_r(&t, &tm));
	}
	log_err("state: STARTED FROM AN OLDER GENERATION: %s (generation "
		"%llu); %s%s%s. The refused files are kept as *.refused.",
		r->started_from, (unsigned long long)r->generation, r->lost,
		when[0] ? "; changes after " : "", when);
}

static int start_state(struct controller *c)
{
	struct cg_journal_pos pos;
	struct cg_error err = { 0 };
	int ret;

	ret = path_fmt(c->state_path, sizeof(c->state_path), "%s/state.json",
		       c->cfg.state_dir);
	if (!ret)
		ret = mkdir_p(c->cfg.state_dir, 0700);
	if (ret) {
		log_err("cannot create state_dir %s: %s", c->cfg.state_dir,
			strerror(-ret));
		return ret;
	}
	remove_our_stale_temps(c);
	str_copy(c->recovery.started_from, sizeof(c->recovery.started_from),
		 "state.json");
	if (c->cfg.state.refuse_corrupt)
		ret = state_load_journaled(&c->state, c->state_path, &pos,
					   &err);
	else
		ret = state_load_recover(&c->state, c->state_path, &pos,
					 &c->recovery, &err);
	if (ret) {
		log_err("state %s is not usable: %s%s%s (%s; fix or move the "
			"file, or `cellgate state check` it; nothing was "
			"changed)",
			c->state_path, err.msg, err.field[0] ? " at " : "",
			err.field,
			c->cfg.state.refuse_corrupt ?
				"state.on_corrupt is \"refuse\"" :
				"no kept generation validates either");
		return ret;
	}
	log_fallback(&c->recovery);
	log_info("state: %zu services, %zu peers, %zu forwards",
		 c->state.n_services, c->state.n_peers, c->state.n_forwards);
	ret = ctl_journal_start(c, &pos);
	/* A fresh snapshot at once: the next start must not meet the same
	 * corruption (the journal start wrote one if state.json is gone). */
	if (!ret && c->recovery.fell_back && !access(c->state_path, F_OK))
		ret = ctl_save(c);
	return ret ? ret : assign_ip6(c);
}

/* When each phase of the start ended: start-up time is logged by phase,
 * since it grows with the number of peers. */
struct start_times {
	uint64_t t0, state, wg, load, maps, attach;
	bool beside; /* WireGuard's peers programmed beside the programs */
};

static void log_start(const struct controller *c, const struct start_times *t)
{
	log_info("started in %.0f ms: state %.0f, wireguard device %.0f, "
		 "programs loaded %.0f, maps %.0f, attached %.0f, "
		 "wireguard peers and routes %.0f%s",
		 ms_between(t->t0, c->started_ns), ms_between(t->t0, t->state),
		 ms_between(t->state, t->wg), ms_between(t->wg, t->load),
		 ms_between(t->load, t->maps), ms_between(t->maps, t->attach),
		 ms_between(t->attach, c->started_ns),
		 t->beside ? " (peers programmed beside the programs' load, "
			     "link up after)" :
			     "");
}

/* Programs loaded, maps filled, then attached. */
static int start_programs(struct controller *c, struct start_times *t)
{
	struct dp_options opts;
	int ret;

	dp_options_from_config(&opts, &c->cfg);
	ret = dp_open(&c->dp, &opts);
	if (ret)
		return ret;
	t->load = monotonic_ns();
	/* Maps first, then programs: the new programs see complete maps. */
	ret = ctl_refresh_settings(c);
	if (!ret)
		ret = ctl_sync_maps(c);
	t->maps = monotonic_ns();
	if (!ret)
		ret = ctl_attach_programs(c);
	/* The new programs run: what the old ones added meanwhile follows. */
	dp_migrate_finish(&c->dp);
	t->attach = monotonic_ns();
	return ret;
}

/* The programs, WireGuard's peers, the routes to cells. A link we
 * created is still down (up_later): its peers are programmed on a
 * thread while the programs load (wireguard-go's set of 10k new peers
 * takes about as long as loading them), and it comes up once both are
 * done, so nothing passes it unfiltered. A link that was up (a restart
 * beside the same device) gets its peers after the programs, as the
 * difference with what it holds. */
static int start_dataplane(struct controller *c, struct start_times *t,
			   bool up_later)
{
	struct ctl_wg_job wg;
	int ret, wg_ret = 0;

	t->beside = up_later;
	if (up_later)
		ctl_wg_sync_begin(c, &wg);
	ret = start_programs(c, t);
	/* The state file's JSON tree, kept by the load (state_defer_frees):
	 * freed while wireguard-go is still taking the peers. */
	state_free_deferred();
	if (up_later)
		wg_ret = ctl_wg_job_end(&wg);
	else if (!ret)
		wg_ret = wg_reconcile(c);
	ret = ret ? ret : wg_ret;
	if (!ret && up_later)
		ret = net_link_up(c->cfg.wireguard.interface);
	if (!ret)
		ret = ctl_route_cells(c);
	return ret;
}

/* Fixed malloc thresholds. glibc raises both on its own the first time
 * a large block is freed (to 32 and 64 MB), after which what a bulk
 * request freed (an import of 10k peers: 25 MB of JSON) stays resident
 * at the top of the API thread's heap, where malloc_trim does not reach.
 * Fixed: blocks over 256 KiB are mapped and unmapped, and a heap's free
 * top over 1 MiB goes back at once. */
static void malloc_thresholds(void)
{
	if (!mallopt(M_MMAP_THRESHOLD, 256 * 1024) ||
	    !mallopt(M_TRIM_THRESHOLD, 1024 * 1024))
		log_warn("cannot set malloc's thresholds: memory freed by "
			 "large requests may stay resident");
}

int controller_start(struct controller *c, const struct cg_config *cfg)
{
	struct start_times t = { .t0 = monotonic_ns() };
	bool up_later = false;
	int ret;

	malloc_thresholds();
	memset(c, 0, sizeof(*c));
	c->heal.nl_fd = -1;
	c->cfg = *cfg;
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->gc_lock, NULL);
	state_init(&c->state, &c->cfg);
	/* Before anything is created: on a kernel too old for the programs,
	 * one sentence saying why rather than a verifier log. */
	ret = kernel_check();
	state_defer_frees(true);
	if (!ret)
		ret = start_state(c);
	state_defer_frees(false);
	if (ret) {
		state_free_deferred();
		return ret;
	}
	t.state = monotonic_ns();

	ret = ctl_join_load(c);
	if (!ret)
		ret = secrets_load_token(c);
	if (!ret)
		ret = ctl_wg_setup(c, &up_later);
	if (ret) {
		state_free_deferred();
		return ret;
	}
	detect_bridge_subnet(&c->cfg);
	detect_bridge_subnet6(&c->cfg);
	warn_unreachable_forwards(c);
	t.wg = monotonic_ns();

	ret = start_dataplane(c, &t, up_later);
	if (ret)
		return ret;
	ctl_metrics_start(c);
	/* Exits' slots written again (their interfaces may be new). */
	ctl_exits_start(c);
	ctl_heal_start(c);
	/* The bridge's ports, once the maps hold the allowed sources. */
	ctl_ports_check(c);
	c->started_ns = monotonic_ns();
	c->started_at = (int64_t)time(NULL);
	log_start(c, &t);
	return 0;
}

/* Expired conntrack and NAT entries: swept without the main lock (a
 * full table is 64k entries of syscalls), accounted under it. */
static void tick_gc(struct controller *c, uint64_t now)
{
	uint64_t removed[CG_TABLE__MAX];
	int t, n;

	pthread_mutex_lock(&c->gc_lock);
	n = dp_gc_sweep(&c->dp, now, removed);
	pthread_mutex_lock(&c->lock);
	for (t = 0; t < CG_TABLE__MAX; t++)
		dp_table_removed(&c->dp, t, removed[t]);
	if (n > 0)
		c->stats.ct_gc_deleted += (uint64_t)n;
	pthread_mutex_unlock(&c->lock);
	pthread_mutex_unlock(&c->gc_lock);
}

/* The maps against the state: compiled from a copy and compared
 * without the lock; rewritten under it only when they differ (a map
 * update an API call could not make) and no call wrote them since. */
static void tick_maps(struct controller *c)
{
	struct cg_state copy;
	struct policy pol;
	uint64_t gen;
	int ret;

	pthread_mutex_lock(&c->lock);
	ret = state_copy(&copy, &c->state);
	gen = c->dp.writes;
	pthread_mutex_unlock(&c->lock);
	if (ret)
		return;
	ret = policy_compile(&copy, &c->cfg, &pol);
	state_free(&copy);
	if (ret)
		return;
	if (!dp_in_sync(&c->dp, &pol)) {
		pthread_mutex_lock(&c->lock);
		if (gen == c->dp.writes) {
			log_warn("maps differ from the state: rewriting them");
			dp_sync(&c->dp, &pol);
		}
		pthread_mutex_unlock(&c->lock);
	}
	policy_free(&pol);
}

/* CPU time of this thread, in ns. */
static uint64_t thread_cpu_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static uint64_t wg_reconcile_interval(uint64_t wall_ns)
{
	uint64_t every = wall_ns * WG_RECONCILE_DUTY_INV;

	if (every < WG_RECONCILE_INTERVAL_NS)
		return WG_RECONCILE_INTERVAL_NS;
	return every > WG_RECONCILE_MAX_NS ? WG_RECONCILE_MAX_NS : every;
}

/* Periodic work, each piece taking the lock only briefly. Its CPU time
 * is counted (/metrics) and, at debug level, logged by piece. */
void controller_tick(struct controller *c)
{
	static uint64_t last_gc, last_wg, last_sync;
	uint64_t now = monotonic_ns();
	uint64_t t0 = thread_cpu_ns(), cpu[3] = { 0 }, t;

	/* Each of these takes the lock itself, briefly. */
	ctl_heal_tick(c, now);
	ctl_join_tick(c, now);
	ctl_exits_tick(c, now);
	if (now - last_gc >= GC_INTERVAL_NS) {
		tick_gc(c, now);
		last_gc = now;
	}
	t = thread_cpu_ns();
	cpu[0] = t - t0;
	if (!c->stats.wg_check_interval_ns)
		c->stats.wg_check_interval_ns = WG_RECONCILE_INTERVAL_NS;
	if (now - last_wg >= c->stats.wg_check_interval_ns) {
		struct cg_settings set;
		struct cg_settings6 set6;

		ctl_wg_reconcile(c);
		c->stats.wg_check_interval_ns =
			wg_reconcile_interval(monotonic_ns() - now);
		ctl_settings_now(c, &set);
		ctl_settings6_now(c, &set6);
		pthread_mutex_lock(&c->lock);
		ctl_apply_settings(c, &set);
		ctl_apply_settings6(c, &set6);
		pthread_mutex_unlock(&c->lock);
		last_wg = now;
	}
	cpu[1] = thread_cpu_ns() - t;
	t += cpu[1];
	if (now - last_sync >= MAP_SYNC_INTERVAL_NS) {
		if (last_sync)
			tick_maps(c);
		last_sync = now;
	}
	cpu[2] = thread_cpu_ns() - t;
	c->stats.tick_cpu_ns += cpu[0] + cpu[1] + cpu[2];
	if (cpu[0] + cpu[1] + cpu[2] > 1000000) /* 1 ms */
		log_debug(
			"tick CPU: heal, join and gc %.1f ms, wireguard %.1f ms, maps "
			"%.1f ms",
			(double)cpu[0] / 1e6, (double)cpu[1] / 1e6,
			(double)cpu[2] / 1e6);
}

void controller_stop(struct controller *c)
{
	ctl_heal_stop(c);
	ctl_rate_qdisc_stop(c);
	ctl_join_free(c);
	/* A clean stop leaves one snapshot, the journal folded in. */
	if (c->journal.open && ctl_save(c))
		log_warn("cannot write the snapshot at stop; the journal "
			 "keeps every change");
	ctl_journal_stop(c);
	dp_close(&c->dp);
	state_free(&c->state);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->gc_lock);
}

/* A push's outcome, saved outside any operation. */
static void save_push_status(void *ctx)
{
	if (ctl_save(ctx))
		log_warn("cannot save the push status");
}

int ctl_pusher_start(struct controller *c)
{
	struct cells_pusher *p = &c->pusher;

	p->lock = &c->lock;
	p->state = &c->state;
	p->cell_name = c->cfg.cell_name;
	p->public_key = c->public_key;
	p->from = c->cfg.wireguard.address;
	p->save = save_push_status;
	p->ctx = c;
	return cells_pusher_start(p);
}

void ctl_pusher_stop(struct controller *c)
{
	cells_pusher_stop(&c->pusher);
}
