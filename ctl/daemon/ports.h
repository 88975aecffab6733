/* SPDX-License-Identifier: MIT */
/*
 * Bridge anti-spoofing on the controller's side: our program on the
 * ingress of every port of the service bridge (ports come and go with
 * containers), and the bindings of addresses to ports forgotten when
 * their port goes.
 */
#ifndef CELLGATE_PORTS_H
#define CELLGATE_PORTS_H

#include <stdbool.h>
#include <stdint.h>

#include "dataplane.h"

struct controller;
struct metrics;

struct ctl_ports {
	struct dp_ports seen; /* the bridge's ports at the last check */
	bool have_seen; /* false until the first check */
	uint32_t guarded; /* ports with our program, at the last check */
	uint64_t attached; /* attaches to ports (new ones, put back) */
	uint64_t unbound; /* bindings forgotten with their port */
	uint64_t failed; /* attaches that failed (retried) */
	bool foreign_warned;
};

/* Attach our program to every port of the bridge that lacks it and
 * forget the bindings of ports that went. Takes the lock for changes;
 * call it without. Nothing when bridge.anti_spoofing is off. */
void ctl_ports_check(struct controller *c);
/* cellgate_bridge_ports and friends. */
void ctl_ports_metrics(const struct controller *c, struct metrics *m);

#endif
