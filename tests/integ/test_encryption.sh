#!/usr/bin/env bash
# Secrets encrypted at rest (issue 20) with kube's EncryptionConfiguration: a Secret
# written and read back through the API is not readable in the store file (aesgcm, then
# aescbc), a store from before encryption is rewritten at the next start, key rotation by
# rewrite (new key first, restart, old key dropped, still readable), a store whose key is
# gone keeps the data out of reach, and a bad configuration is refused at start.
cd "$(dirname "$0")/../.." || exit 1
. tests/integ/lib.sh
K1=$(head -c 32 /dev/urandom | base64 -w0) K2=$(head -c 32 /dev/urandom | base64 -w0) K3=$(head -c 16 /dev/urandom | base64 -w0)
conf() { # conf FILE PROVIDER...: an EncryptionConfiguration for secrets and configmaps
	local f=$1 p; shift
	{ printf 'apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources: [secrets, configmaps]\n  providers:\n'
	  for p in "$@"; do
		case $p in
		identity) printf '  - identity: {}\n' ;;
		*) printf '  - %s:\n      keys:\n      - name: %s\n        secret: %s\n' "${p%%:*}" "$(echo "$p" | cut -d: -f2)" "${p##*:}" ;;
		esac
	  done; } >"$f"
}
db_has() { # db_has PATTERN: the store's files hold PATTERN
	cat "$T_DIR"/data/state.db* 2>/dev/null | grep -aqE "$1"
}
checkpoint() { sqlite3 "$T_DIR/data/state.db" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null 2>&1; }

# Before encryption: a Secret in the clear (the baseline the next checks differ from).
start_server || { fail "server starts"; finish; exit 1; }
kubectl create secret generic old -n default --from-literal=pw=plain-OLD-value >/dev/null
check "without encryption the store holds the Secret's data (baseline)" db_has 'cGxhaW4tT0xELXZhbHVl'
stop_server

conf "$T_DIR/enc1.yaml" "aesgcm:k1:$K1" identity
start_server --encryption-provider-config "$T_DIR/enc1.yaml" || { fail "server starts with aesgcm"; finish; exit 1; }
kubectl create secret generic s1 -n default --from-literal=password=hunter2-SECRET >/dev/null
kubectl create configmap c1 -n default --from-literal=k=cm-VISIBLE-value >/dev/null
expect_out "a Secret reads back through the API" '^hunter2-SECRET$' sh -c "kubectl get secret s1 -o jsonpath='{.data.password}' | base64 -d"
expect_out "a ConfigMap reads back through the API" '^cm-VISIBLE-value$' kubectl get configmap c1 -o jsonpath='{.data.k}'
expect_out "lists and watches decrypt too" 's1' kubectl get secrets -o name
checkpoint
check "the store file does not hold the Secret's data" sh -c "! cat '$T_DIR'/data/state.db* | grep -aqE 'hunter2|aHVudGVyMi1TRUNSRVQ'"
check "the store file does not hold the ConfigMap's data" sh -c "! cat '$T_DIR'/data/state.db* | grep -aq cm-VISIBLE-value"
check "the store holds kube's aesgcm envelope" db_has 'k8s:enc:aesgcm:v1:k1:'
expect_out "the Secret from before encryption was rewritten at start and still reads" '^plain-OLD-value$' sh -c "kubectl get secret old -o jsonpath='{.data.pw}' | base64 -d"
kubectl create secret generic s2 -n default --from-literal=x=second-SECRET >/dev/null
stop_server

# Rotation by rewrite: k2 first, k1 still listed; restart rewrites everything with k2.
conf "$T_DIR/enc2.yaml" "aesgcm:k2:$K2" "aesgcm:k1:$K1"
start_server --encryption-provider-config "$T_DIR/enc2.yaml" || { fail "server starts with k2 first"; finish; exit 1; }
expect_out "rotation: Secrets written with k1 read with k2 first" '^hunter2-SECRET$' sh -c "kubectl get secret s1 -o jsonpath='{.data.password}' | base64 -d"
kubectl create secret generic s3 --from-literal=y=z >/dev/null
checkpoint
check "rotation: the restart rewrote everything with k2" db_has 'k8s:enc:aesgcm:v1:k2:'
stop_server
conf "$T_DIR/enc3.yaml" "aesgcm:k2:$K2"
start_server --encryption-provider-config "$T_DIR/enc3.yaml" || { fail "server starts with k2 only"; finish; exit 1; }
expect_out "rotation: after the rewrite k1 can be dropped" '^second-SECRET$' sh -c "kubectl get secret s2 -o jsonpath='{.data.x}' | base64 -d"
stop_server

# aescbc (16-byte key) reads what aesgcm wrote (listed second) and writes its own form.
conf "$T_DIR/enc4.yaml" "aescbc:c1:$K3" "aesgcm:k2:$K2"
start_server --encryption-provider-config "$T_DIR/enc4.yaml" || { fail "server starts with aescbc"; finish; exit 1; }
expect_out "aescbc: older aesgcm Secrets read" '^hunter2-SECRET$' sh -c "kubectl get secret s1 -o jsonpath='{.data.password}' | base64 -d"
checkpoint
check "aescbc: the store holds kube's aescbc envelope" db_has 'k8s:enc:aescbc:v1:c1:'
stop_server

# The key gone: the data stays out of reach (left out, never shown as something else).
conf "$T_DIR/enc5.yaml" "aesgcm:k9:$K1"
start_server --encryption-provider-config "$T_DIR/enc5.yaml" || { fail "server starts with an unrelated key"; finish; exit 1; }
check "without its key a Secret is not readable" sh -c "! kubectl get secret s1 -o jsonpath='{.data.password}' 2>/dev/null | base64 -d 2>/dev/null | grep -q hunter2"
check "without its key a Secret is left out of lists" sh -c "! kubectl get secrets -o name 2>&1 | grep -qE '/(s1|s2)$'"
stop_server

printf 'apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources: [secrets]\n  providers:\n  - aesgcm:\n      keys:\n      - name: k\n        secret: c2hvcnQ=\n' >"$T_DIR/bad.yaml"
expect_fail "a short key is refused at start" 'keys\[0\]\.secret: Invalid value: must be base64 of 16, 24 or 32 bytes' \
	"$SVCPLANE" server --data-dir "$T_DIR/bad" --secure-port 0 --disable-agent --encryption-provider-config "$T_DIR/bad.yaml"
printf 'apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources: [secrets]\n  providers:\n  - kms:\n      name: x\n' >"$T_DIR/kms.yaml"
expect_fail "kms is refused at start" 'only aesgcm, aescbc and identity are supported' \
	"$SVCPLANE" server --data-dir "$T_DIR/bad" --secure-port 0 --disable-agent --encryption-provider-config "$T_DIR/kms.yaml"
finish
