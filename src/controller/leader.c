/* leader.c - leader election decisions on a Lease (pure). See leader.h for the protocol. */
#include "controller/leader.h"

#include <stdlib.h>
#include <string.h>

#include "api/object.h"
#include "base/mem.h"

void ctrl_leader_init(struct ctrl_leader *l, const char *identity, int64_t lease_ms,
		      int64_t renew_deadline_ms, int64_t retry_ms)
{
	memset(l, 0, sizeof(*l));
	l->identity = xstrdup(identity);
	l->lease_ms = lease_ms;
	l->renew_deadline_ms = renew_deadline_ms;
	l->retry_ms = retry_ms;
}

void ctrl_leader_fini(struct ctrl_leader *l)
{
	free(l->identity);
	json_decref(l->observed_spec);
	memset(l, 0, sizeof(*l));
}

static json_int_t spec_int(const json_t *spec, const char *key, json_int_t dflt)
{
	json_t *v = json_object_get(spec, key);
	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

/* Records spec as observed, restarting the clock only when it changed. */
static void observe(struct ctrl_leader *l, const json_t *spec, int64_t now)
{
	if (l->observed_spec && spec && json_equal(l->observed_spec, spec))
		return;
	json_decref(l->observed_spec);
	l->observed_spec = spec ? json_deep_copy(spec) : NULL;
	l->observed_mono_ms = now;
}

json_t *ctrl_leader_try(struct ctrl_leader *l, const json_t *lease, const char *ns, const char *name,
			int64_t now_mono_ms, const char *now_micro)
{
	int dur_s = (int)((l->lease_ms + 999) / 1000);
	if (!lease) {
		observe(l, NULL, now_mono_ms);
		return json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:i, s:s, s:s, s:i}}", "apiVersion",
				 "coordination.k8s.io/v1", "kind", "Lease", "metadata", "name", name,
				 "namespace", ns, "spec", "holderIdentity", l->identity,
				 "leaseDurationSeconds", dur_s, "acquireTime", now_micro, "renewTime",
				 now_micro, "leaseTransitions", 0);
	}
	const json_t *spec = json_object_get(lease, "spec");
	observe(l, spec, now_mono_ms);
	const char *holder = api_str(lease, "spec.holderIdentity");
	bool mine = holder && !strcmp(holder, l->identity);
	if (holder && *holder && !mine) {
		json_int_t d = spec_int(spec, "leaseDurationSeconds", 0);
		int64_t d_ms = d > 0 ? (int64_t)d * 1000 : l->lease_ms;
		if (l->observed_mono_ms + d_ms > now_mono_ms) {
			l->leading = false; /* someone else holds it: never two leaders */
			return NULL;
		}
	}
	json_t *out = json_deep_copy(lease);
	json_t *ospec = json_object_get(out, "spec");
	if (!json_is_object(ospec)) {
		ospec = json_object();
		json_object_set_new(out, "spec", ospec);
	}
	json_int_t trans = spec_int(spec, "leaseTransitions", 0);
	if (!mine) {
		json_object_set_new(ospec, "acquireTime", json_string(now_micro));
		/* A released Lease (holder "") counts as a transition too, as client-go. */
		json_object_set_new(ospec, "leaseTransitions", json_integer(trans + 1));
	} else if (!json_object_get(ospec, "acquireTime")) {
		json_object_set_new(ospec, "acquireTime", json_string(now_micro));
	}
	json_object_set_new(ospec, "holderIdentity", json_string(l->identity));
	json_object_set_new(ospec, "leaseDurationSeconds", json_integer(dur_s));
	json_object_set_new(ospec, "renewTime", json_string(now_micro));
	return out;
}

void ctrl_leader_written(struct ctrl_leader *l, const json_t *written, int64_t now_mono_ms)
{
	if (!written)
		return;
	observe(l, json_object_get(written, "spec"), now_mono_ms);
	l->leading = true;
	l->renewed_mono_ms = now_mono_ms;
}

bool ctrl_leader_check(struct ctrl_leader *l, int64_t now_mono_ms)
{
	if (l->leading && now_mono_ms - l->renewed_mono_ms >= l->renew_deadline_ms)
		l->leading = false;
	return l->leading;
}

json_t *ctrl_leader_release(const struct ctrl_leader *l, const json_t *lease, const char *now_micro)
{
	const char *holder = lease ? api_str(lease, "spec.holderIdentity") : NULL;
	if (!holder || strcmp(holder, l->identity))
		return NULL;
	json_t *out = json_deep_copy(lease);
	json_t *spec = json_object_get(out, "spec");
	json_object_set_new(spec, "holderIdentity", json_string(""));
	json_object_set_new(spec, "leaseDurationSeconds", json_integer(1));
	json_object_set_new(spec, "acquireTime", json_string(now_micro));
	json_object_set_new(spec, "renewTime", json_string(now_micro));
	return out;
}

int64_t ctrl_leader_next_ms(const struct ctrl_leader *l, double rand01)
{
	if (l->leading)
		return l->retry_ms;
	return l->retry_ms + (int64_t)((double)l->retry_ms * 0.2 * rand01);
}
