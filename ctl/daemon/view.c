// SPDX-License-Identifier: MIT
#include "abi_names.h"
#include "view.h"

json_object *ctl_counters_json(const struct cg_counters *s)
{
	json_object *o = json_object_new_object();
	json_object *drops = json_object_new_object();
	int r;

	json_object_object_add(o, "rx_packets",
			       json_object_new_uint64(s->rx_packets));
	json_object_object_add(o, "rx_bytes",
			       json_object_new_uint64(s->rx_bytes));
	json_object_object_add(o, "tx_packets",
			       json_object_new_uint64(s->tx_packets));
	json_object_object_add(o, "tx_bytes",
			       json_object_new_uint64(s->tx_bytes));
	for (r = 1; r < CG_DROP__MAX; r++)
		json_object_object_add(drops, drop_reason_name(r),
				       json_object_new_uint64(s->drops[r]));
	json_object_object_add(o, "drops", drops);
	return o;
}
