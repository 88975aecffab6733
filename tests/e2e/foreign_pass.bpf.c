// SPDX-License-Identifier: GPL-2.0-only
/* A tc program that is not cellgate's: the e2e test attaches it beside
 * cellgate's and checks that `cellgate detach` leaves it alone. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("tc")
int foreign_pass(struct __sk_buff *skb)
{
	(void)skb;
	return 0; /* TC_ACT_OK */
}

char LICENSE[] SEC("license") = "GPL";
