/* migrate.c - copies every record of one store into another (svcplane store migrate).
 *
 * Keys and values are copied as stored (encrypted values stay encrypted: the stores are
 * opened without the encryption layer), in transactions of MIGRATE_BATCH puts, from one
 * consistent list of the source. Revisions are the destination's own: like any
 * Kubernetes storage migration, clients see new resourceVersions and relist. The
 * destination must be empty unless force, which also deletes the destination's keys the
 * source does not have, so afterwards both hold the same keys and values. The copy is
 * read back and compared key by key before the call returns.
 */
#include "store/store.h"

#include "base/mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIGRATE_BATCH 100 /* etcd allows 128 operations per Txn */

static int flush(struct store *dst, struct store_op *ops, size_t *n, char *err, size_t errlen)
{
	size_t failed = 0;
	if (*n == 0)
		return 0;
	int rc = store_txn(dst, ops, *n, NULL, NULL, &failed);
	if (rc < 0)
		snprintf(err, errlen, "writing %s: %s", ops[failed].key, strerror(-rc));
	*n = 0;
	return rc;
}

/* 0 when dst holds exactly src's keys and values. */
static int verify(struct store *dst, const struct store_list *want, char *err, size_t errlen)
{
	struct store_list got;
	int rc = store_range(dst, "", NULL, 0, 0, &got);
	if (rc < 0) {
		snprintf(err, errlen, "reading the copy back: %s", strerror(-rc));
		return rc;
	}
	rc = 0;
	if (got.len != want->len) {
		snprintf(err, errlen, "the copy holds %zu keys, the source %zu", got.len, want->len);
		rc = -EIO;
	}
	for (size_t i = 0; rc == 0 && i < got.len; i++) {
		const struct store_kv *a = want->kvs[i], *b = got.kvs[i];
		if (strcmp(a->key, b->key) || a->value_len != b->value_len ||
		    memcmp(a->value, b->value, a->value_len)) {
			snprintf(err, errlen, "the copy of %s differs", a->key);
			rc = -EIO;
		}
	}
	store_list_fini(&got);
	return rc;
}

int store_migrate(struct store *src, struct store *dst, bool force, size_t *copied, char *err, size_t errlen)
{
	struct store_list all, have;
	struct store_op ops[MIGRATE_BATCH];
	size_t n = 0;
	int rc;

	*copied = 0;
	rc = store_sync(src, NULL);
	if (rc == 0)
		rc = store_range(src, "", NULL, 0, 0, &all);
	if (rc < 0) {
		snprintf(err, errlen, "reading the source: %s", strerror(-rc));
		return rc;
	}
	rc = store_range(dst, "", NULL, 0, 0, &have);
	if (rc < 0) {
		snprintf(err, errlen, "reading the destination: %s", strerror(-rc));
		store_list_fini(&all);
		return rc;
	}
	if (have.len && !force) {
		snprintf(err, errlen,
			 "the destination is not empty (%zu keys, first %s); --force overwrites it", have.len,
			 have.kvs[0]->key);
		rc = -EEXIST;
		goto out;
	}
	/* --force: first the destination's keys the source lacks (both lists are sorted). */
	for (size_t i = 0, j = 0; i < have.len; i++) {
		while (j < all.len && strcmp(all.kvs[j]->key, have.kvs[i]->key) < 0)
			j++;
		if (j < all.len && !strcmp(all.kvs[j]->key, have.kvs[i]->key))
			continue;
		ops[n++] =
		    (struct store_op){.kind = STORE_DELETE, .key = have.kvs[i]->key, .expect_mod_rev = -1};
		if (n == MIGRATE_BATCH && (rc = flush(dst, ops, &n, err, errlen)) < 0)
			goto out;
	}
	if ((rc = flush(dst, ops, &n, err, errlen)) < 0)
		goto out;
	for (size_t i = 0; i < all.len; i++) {
		const struct store_kv *kv = all.kvs[i];
		ops[n++] = (struct store_op){.kind = STORE_PUT,
					     .key = kv->key,
					     .value = kv->value,
					     .value_len = kv->value_len,
					     .expect_mod_rev = -1};
		if (n == MIGRATE_BATCH && (rc = flush(dst, ops, &n, err, errlen)) < 0)
			goto out;
	}
	if ((rc = flush(dst, ops, &n, err, errlen)) < 0)
		goto out;
	rc = verify(dst, &all, err, errlen);
	if (rc == 0)
		*copied = all.len;
out:
	store_list_fini(&all);
	store_list_fini(&have);
	return rc;
}
