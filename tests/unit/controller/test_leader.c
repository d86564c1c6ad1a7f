/* test_leader.c - leader election decisions on a Lease, with a fake clock. */
#include <jansson.h>
#include <string.h>

#include "api/object.h"
#include "controller/leader.h"
#include "harness/t.h"

#define NS "kube-system"
#define NAME "kube-controller-manager"

/* What the API server would store: the written object with a new resourceVersion. */
static json_t *stored(const json_t *w, int rv)
{
	json_t *o = json_deep_copy(w);
	char b[16];
	snprintf(b, sizeof(b), "%d", rv);
	json_object_set_new(json_object_get(o, "metadata"), "resourceVersion", json_string(b));
	return o;
}

/* Candidate l creates the absent Lease at t=0 and leads; returns the Lease as the API
 * server stored it (resourceVersion rv), the caller's reference. */
static json_t *lead(struct ctrl_leader *l, int rv)
{
	json_t *w = ctrl_leader_try(l, NULL, NS, NAME, 0, "T0");
	ASSERT(w);
	json_t *s = stored(w, rv);
	ctrl_leader_written(l, s, 0);
	json_decref(w);
	return s;
}

/* Two candidates, a ("a_1") and b ("b_2"), with kube's timings (15 s lease, 10 s renew
 * deadline, 2 s retry); a leads with the Lease it created at t=0. */
struct two {
	struct ctrl_leader a, b;
	json_t *lease; /* a's Lease as stored */
};

static void two_init(struct two *t, int rv)
{
	ctrl_leader_init(&t->a, "a_1", 15000, 10000, 2000);
	ctrl_leader_init(&t->b, "b_2", 15000, 10000, 2000);
	t->lease = lead(&t->a, rv);
}

static void two_fini(struct two *t)
{
	json_decref(t->lease);
	ctrl_leader_fini(&t->a);
	ctrl_leader_fini(&t->b);
}

TEST(leader_creates_absent_lease_and_leads)
{
	struct ctrl_leader l;
	ctrl_leader_init(&l, "a_1", 15000, 10000, 2000);
	ASSERT(!ctrl_leader_check(&l, 0));
	json_t *w = ctrl_leader_try(&l, NULL, NS, NAME, 0, "2026-12-07T02:00:00.000000Z");
	ASSERT(w);
	ASSERT_STR_EQ(api_str(w, "kind"), "Lease");
	ASSERT_STR_EQ(api_str(w, "metadata.namespace"), NS);
	ASSERT_STR_EQ(api_str(w, "spec.holderIdentity"), "a_1");
	ASSERT_INT_EQ(json_integer_value(api_get(w, "spec.leaseDurationSeconds")), 15);
	ASSERT_INT_EQ(json_integer_value(api_get(w, "spec.leaseTransitions")), 0);
	json_t *s = stored(w, 5);
	ctrl_leader_written(&l, s, 10);
	ASSERT(ctrl_leader_check(&l, 10));
	ASSERT_INT_EQ(ctrl_leader_next_ms(&l, 0.9), 2000);
	json_decref(w);
	json_decref(s);
	ctrl_leader_fini(&l);
}

TEST(leader_standby_waits_a_lease_duration_from_last_change)
{
	struct two t;
	two_init(&t, 5);
	struct ctrl_leader *a = &t.a, *b = &t.b;
	json_t *s = t.lease;
	/* b sees a's Lease at its t=1000 and must wait 15 s from then, whatever renewTime says. */
	ASSERT(!ctrl_leader_try(b, s, NS, NAME, 1000, "T1"));
	ASSERT(!ctrl_leader_check(b, 1000));
	ASSERT(!ctrl_leader_try(b, s, NS, NAME, 15999, "T2"));
	/* a renews at 8000 (b sees the change at 9000): b's clock restarts. */
	json_t *w = ctrl_leader_try(a, s, NS, NAME, 8000, "T8");
	ASSERT(w);
	ASSERT_STR_EQ(api_str(w, "spec.renewTime"), "T8");
	ASSERT_STR_EQ(api_str(w, "spec.acquireTime"), "T0");
	ASSERT_STR_EQ(api_str(w, "metadata.resourceVersion"), "5"); /* optimistic concurrency */
	json_t *s2 = stored(w, 6);
	ctrl_leader_written(a, s2, 8000);
	json_decref(w);
	ASSERT(!ctrl_leader_try(b, s2, NS, NAME, 9000, "T9"));
	ASSERT(!ctrl_leader_try(b, s2, NS, NAME, 23999, "T23"));
	/* a dies; 15 s after b saw the last change, b takes over, counting a transition. */
	w = ctrl_leader_try(b, s2, NS, NAME, 24000, "T24");
	ASSERT(w);
	ASSERT_STR_EQ(api_str(w, "spec.holderIdentity"), "b_2");
	ASSERT_STR_EQ(api_str(w, "spec.acquireTime"), "T24");
	ASSERT_INT_EQ(json_integer_value(api_get(w, "spec.leaseTransitions")), 1);
	ASSERT_STR_EQ(api_str(w, "metadata.resourceVersion"), "6");
	json_t *s3 = stored(w, 7);
	ctrl_leader_written(b, s3, 24000);
	ASSERT(ctrl_leader_check(b, 24001));
	/* a comes back, reads b's Lease: a stops leading at once and stands by. */
	ASSERT(!ctrl_leader_try(a, s3, NS, NAME, 24100, "T24"));
	ASSERT(!ctrl_leader_check(a, 24100));
	json_decref(w);
	json_decref(s2);
	json_decref(s3);
	two_fini(&t);
}

TEST(leader_lost_after_renew_deadline_without_write)
{
	struct ctrl_leader l;
	ctrl_leader_init(&l, "a_1", 15000, 10000, 2000);
	json_t *s = lead(&l, 2);
	/* renewals fail (a 409, or the API unreachable) */
	json_t *w2 = ctrl_leader_try(&l, s, NS, NAME, 2000, "T2");
	ASSERT(w2);
	ctrl_leader_written(&l, NULL, 2000);
	ASSERT(ctrl_leader_check(&l, 9999));
	ASSERT(!ctrl_leader_check(&l, 10000));
	ASSERT(!ctrl_leader_check(&l, 10001));
	json_decref(w2);
	json_decref(s);
	ctrl_leader_fini(&l);
}

TEST(leader_release_lets_standby_take_at_once)
{
	struct two t;
	two_init(&t, 2);
	ASSERT(!ctrl_leader_try(&t.b, t.lease, NS, NAME, 100, "T0"));
	ASSERT(!ctrl_leader_release(&t.b, t.lease, "T1")); /* not b's to release */
	json_t *r = ctrl_leader_release(&t.a, t.lease, "T1");
	ASSERT(r);
	ASSERT_STR_EQ(api_str(r, "spec.holderIdentity"), "");
	json_t *rs = stored(r, 3);
	json_t *w2 = ctrl_leader_try(&t.b, rs, NS, NAME, 200, "T2");
	ASSERT(w2);
	ASSERT_STR_EQ(api_str(w2, "spec.holderIdentity"), "b_2");
	ASSERT_INT_EQ(json_integer_value(api_get(w2, "spec.leaseTransitions")), 1);
	ASSERT_INT_EQ(json_integer_value(api_get(w2, "spec.leaseDurationSeconds")), 15);
	json_decref(r);
	json_decref(rs);
	json_decref(w2);
	two_fini(&t);
}

TEST(leader_standby_jitter_and_short_record_duration)
{
	struct ctrl_leader b;
	ctrl_leader_init(&b, "b", 15000, 10000, 2000);
	ASSERT_INT_EQ(ctrl_leader_next_ms(&b, 0.0), 2000);
	ASSERT_INT_EQ(ctrl_leader_next_ms(&b, 0.5), 2200);
	/* The record's own duration counts (a holder with 3 s expires after 3 s). */
	json_t *l = json_pack("{s:{s:s, s:s, s:s}, s:{s:s, s:i, s:i}}", "metadata", "name", NAME, "namespace",
			      NS, "resourceVersion", "9", "spec", "holderIdentity", "x",
			      "leaseDurationSeconds", 3, "leaseTransitions", 4);
	ASSERT(!ctrl_leader_try(&b, l, NS, NAME, 0, "T"));
	json_t *w = ctrl_leader_try(&b, l, NS, NAME, 3000, "T3");
	ASSERT(w);
	ASSERT_INT_EQ(json_integer_value(api_get(w, "spec.leaseTransitions")), 5);
	json_decref(w);
	json_decref(l);
	ctrl_leader_fini(&b);
}
