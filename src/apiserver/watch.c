/* watch.c - watch streams: ?watch=true on a collection.
 *
 * State machine of one stream:
 *
 *   start --rv ""/"0"--> initial (ADDED for every matching object at the list revision)
 *     |                       |
 *     '--rv N----------------> streaming (events with revision > N, in order)
 *                               |  timeout / client gone / store closing --> end
 *                               '  history compacted past N --> ERROR 410 Expired --> end
 *
 * Selectors turn changes into what a client of the filtered view must see, as
 * kube-apiserver's watch cache does: an object entering the selection is ADDED, one
 * leaving it is DELETED, one changing inside it is MODIFIED. With the Table Accept header
 * every event carries a one-row Table. Bookmarks (allowWatchBookmarks) go out every
 * minute and tell the client how far the stream has got.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/object.h"
#include "apiserver/internal.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/mem.h"

static int send_event(struct rq *q, const char *type, json_t *obj)
{
	json_t *payload;
	if (q->table && strcmp(type, "ERROR") != 0 && strcmp(type, "BOOKMARK") != 0) {
		json_t *items = json_pack("[O]", obj);
		payload = apiserver__to_table(q, items, api_str(obj, "metadata.resourceVersion"), NULL);
		json_decref(items);
	} else {
		payload = json_incref(obj);
	}
	json_t *ev = json_pack("{s:s, s:o}", "type", type, "object", payload);
	size_t n;
	char *s = apiserver__json_line(ev, &n);
	json_decref(ev);
	int rc = http_stream_write(q->c, s, n);
	free(s);
	return rc;
}

static void send_expired(struct rq *q, int64_t want, int64_t oldest)
{
	char *m = xasprintf("too old resource version: %lld (%lld)", (long long)want, (long long)oldest);
	json_t *st =
	    json_pack("{s:s, s:s, s:{}, s:s, s:s, s:s, s:i}", "kind", "Status", "apiVersion", "v1",
		      "metadata", "status", "Failure", "message", m, "reason", "Expired", "code", 410);
	send_event(q, "ERROR", st);
	json_decref(st);
	free(m);
}

static int send_bookmark(struct rq *q, int64_t rev)
{
	char rv[32];
	snprintf(rv, sizeof(rv), "%lld", (long long)rev);
	json_t *o = json_pack("{s:s, s:s, s:{s:s}}", "kind", q->k->kind, "apiVersion",
			      api_kind_api_version(apiserver__wire(q)), "metadata", "resourceVersion", rv);
	int rc = send_event(q, "BOOKMARK", o);
	json_decref(o);
	return rc;
}

void apiserver__watch(struct rq *q)
{
	struct filter f;
	if (apiserver__filter_parse(q, &f) < 0)
		return;
	char *rvs = http_query_get(q->r->query, "resourceVersion");
	char *ts = http_query_get(q->r->query, "timeoutSeconds");
	char *bm = http_query_get(q->r->query, "allowWatchBookmarks");
	bool bookmarks = bm && !strcmp(bm, "true");
	int64_t deadline = ts && atoll(ts) > 0 ? clock_mono_ms() + atoll(ts) * 1000 : 0;
	int64_t start_rev = 0;
	bool initial = !rvs || !*rvs || !strcmp(rvs, "0");
	if (!initial) {
		char *end;
		start_rev = strtoll(rvs, &end, 10);
		if (*end || start_rev < 0) {
			char *m = xasprintf("invalid resource version: %s", rvs);
			apiserver__send_status(q->c, -EBADMSG, m, NULL);
			free(m);
			goto out;
		}
	}
	char *prefix = apiserver__prefix(q->k, q->ns);
	if (http_stream_begin(q->c, 200, "application/json", apiserver__warnings(q)) < 0) {
		free(prefix);
		goto out;
	}
	if (initial) {
		struct store_list l;
		if (store_range(q->as->store, prefix, NULL, 0, 0, &l) < 0) {
			free(prefix);
			http_stream_end(q->c);
			goto out;
		}
		start_rev = l.rev;
		for (size_t i = 0; i < l.len; i++) {
			json_t *o = apiserver__decode_listed(q->as, l.kvs[i], 0);
			if (!o)
				continue;
			apiserver__out(q, o);
			if (apiserver__filter_match(&f, o) && send_event(q, "ADDED", o) < 0) {
				json_decref(o);
				store_list_fini(&l);
				free(prefix);
				goto out;
			}
			json_decref(o);
		}
		store_list_fini(&l);
	}
	struct store_watch *w = NULL;
	int rc = store_watch_open(q->as->store, prefix, start_rev, &w);
	free(prefix);
	if (rc == ERR_EXPIRED) {
		send_expired(q, start_rev, store_compact_rev(q->as->store));
		http_stream_end(q->c);
		goto out;
	}
	if (rc < 0) {
		http_stream_end(q->c);
		goto out;
	}
	int64_t last_rev = start_rev, next_bookmark = clock_mono_ms() + 60000;
	bool selective = !api_selector_empty(f.labels) || !api_selector_empty(f.fields);
	for (;;) {
		int64_t now = clock_mono_ms();
		if (deadline && now >= deadline)
			break;
		int wait = 1000;
		if (deadline && deadline - now < wait)
			wait = (int)(deadline - now);
		struct store_event ev;
		rc = store_watch_next(w, &ev, wait);
		if (rc == -ETIMEDOUT) {
			if (http_conn_closed(q->c))
				break;
			if (bookmarks && clock_mono_ms() >= next_bookmark) {
				if (send_bookmark(q, last_rev) < 0)
					break;
				next_bookmark = clock_mono_ms() + 60000;
			}
			continue;
		}
		if (rc == ERR_EXPIRED) {
			send_expired(q, last_rev, store_compact_rev(q->as->store));
			break;
		}
		if (rc < 0)
			break;
		last_rev = ev.rev;
		json_t *o = apiserver__decode_listed(q->as, ev.kv, ev.rev);
		/* The previous version only matters to a selector (did the object enter or
		 * leave it?); without one, decoding it cost every watcher a parse per event. */
		json_t *prev = ev.prev && selective ? apiserver__decode_kv(ev.prev, 0) : NULL;
		const char *type = NULL;
		if (o) {
			apiserver__out(q, o);
			bool now_in = apiserver__filter_match(&f, o);
			if (ev.type == STORE_EV_DELETE) {
				type = now_in ? "DELETED" : NULL;
			} else {
				bool was_in =
				    selective ? prev && apiserver__filter_match(&f, prev) : ev.prev != NULL;
				if (now_in)
					type = was_in ? "MODIFIED" : "ADDED";
				else if (was_in)
					type = "DELETED";
			}
		}
		int wrc = type ? send_event(q, type, o) : 0;
		json_decref(o);
		json_decref(prev);
		store_event_fini(&ev);
		if (wrc < 0)
			break;
	}
	store_watch_close(w);
	http_stream_end(q->c);
out:
	free(rvs);
	free(ts);
	free(bm);
	apiserver__filter_fini(&f);
}
