/* tstore.h - helpers the store's unit tests share (test_store.c defines them). */
#ifndef UNIT_STORE_TSTORE_H
#define UNIT_STORE_TSTORE_H

#include "store/store.h"

#include <stddef.h>
#include <stdint.h>

extern int64_t B; /* revision of the store opened last, at open */
/* SVCPLANE_TEST_ETCD (the etcd parity run) or NULL. */
const char *tstore_etcd_url(void);
/* A fresh empty store of the backend under test (sets B). */
struct store *tstore_open(void);
/* The etcd store under prefix (sets B); compaction_ms as store_opts. */
struct store *tstore_open_etcd(const char *prefix, int64_t compaction_ms);
/* A prefix no other test of this run uses. */
void tstore_prefix(char *buf, size_t len);

#endif
