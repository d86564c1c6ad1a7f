#!/usr/bin/env bash
# One cluster identity and one controller manager (issue 16, on SQLite): the first server
# seals its CA, CA key and ServiceAccount key into the datastore with the admin token; a
# start with another token is refused with a clear message and changes nothing; the same
# token serves the same CA, also from a fresh data dir holding only the store (a joining
# server). The controllers run under the kube-system/kube-controller-manager Lease: a
# clean stop releases it (the next start takes it at once), a SIGKILLed holder's Lease is
# taken over once its lease duration has passed, and every transition is counted.
cd "$(dirname "$0")/../.." || exit 1
. tests/integ/lib.sh

lease() { kubectl get lease -n kube-system kube-controller-manager -o jsonpath="$1"; }
holder_is_mine() { # the Lease's holder is the identity this run's server logged
	local id
	id=$(sed -nE 's/.*leader election: acquired .* as (.*)$/\1/p' "$T_DIR/server.err" | tail -n1)
	[ -n "$id" ] && [ "$(lease '{.spec.holderIdentity}')" = "$id" ]
}
ca_sum() { md5sum <"$1/pki/ca.crt"; }

# Bad leader election flags are refused before anything is written.
expect_fail "a bad --leader-elect value is refused" 'is not true or false' "$SVCPLANE" server --data-dir "$T_DIR/never" --leader-elect=maybe
expect_fail "a bad duration is refused" 'leader-elect-retry-period: 2x is not a positive duration' \
	"$SVCPLANE" server --data-dir "$T_DIR/never" --leader-elect-retry-period 2x
expect_fail "a lease not longer than the renew deadline is refused" 'greater than the renew deadline' \
	"$SVCPLANE" server --data-dir "$T_DIR/never" --leader-elect-lease-duration 5s --leader-elect-renew-deadline 10s
check "the refused starts wrote nothing" test ! -e "$T_DIR/never"

start_server --leader-elect-retry-period 1s --leader-elect-renew-deadline 3s --leader-elect-lease-duration 5s ||
	{ fail "server starts"; finish; exit 1; }
CA1=$(ca_sum "$T_DIR/data")
check "the server holds the controller manager's Lease" wait_for 20 holder_is_mine
expect_out "a first holder counts no transition" '^0$' lease '{.spec.leaseTransitions}'
expect_out "the Lease duration is the flag's" '^5$' lease '{.spec.leaseDurationSeconds}'
check "the controllers run while leading" grep -q 'controllers started (leading)' "$T_DIR/server.err"
bootrec() { # the bootstrap record as stored, newest revision
	sqlite3 "$T_DIR/data/state.db" "select cast(value as text) from log where key='/registry/svcplane/bootstrap' order by rev desc limit 1"
}
expect_out "the bootstrap record is in the store, sealed" '"kdf":"pbkdf2-sha256".*"ciphertext"' bootrec
check "the CA key is not in the store in the clear" sh -c "! cat '$T_DIR'/data/state.db* | grep -aq 'BEGIN EC PRIVATE KEY\|BEGIN PRIVATE KEY'"
expect_out "the bootstrap record is not served through the API" 'NotFound|not found|404' sh -c "kubectl get --raw /registry/svcplane/bootstrap 2>&1; true"

# A clean stop gives the Lease up: the next server takes it at its first try.
stop_server
: >"$T_DIR/server.err"
start_server --leader-elect-retry-period 1s --leader-elect-renew-deadline 3s --leader-elect-lease-duration 5s ||
	{ fail "server restarts"; finish; exit 1; }
check "after a clean stop the next server leads at once" wait_for 5 holder_is_mine
expect_out "the transition is counted" '^1$' lease '{.spec.leaseTransitions}'

# A SIGKILLed server restarted on its data dir is still the Lease's holder (its identity
# is kept in DATA_DIR/server-id): it renews its own Lease at once, no transition.
stop_server KILL
: >"$T_DIR/server.err"
start_server --leader-elect-retry-period 1s --leader-elect-renew-deadline 3s --leader-elect-lease-duration 5s ||
	{ fail "server restarts after SIGKILL"; finish; exit 1; }
check "restarted on its data dir after a SIGKILL, it leads with its own Lease" wait_for 30 holder_is_mine
expect_out "no transition: the same holder" '^1$' lease '{.spec.leaseTransitions}'

# Another server (another identity) keeps off a SIGKILLed leader's Lease until the lease
# duration has passed since it saw the last renewal; then it takes it.
stop_server KILL
rm -f "$T_DIR/data/server-id"
: >"$T_DIR/server.err"
t0=$SECONDS
start_server --leader-elect-retry-period 1s --leader-elect-renew-deadline 3s --leader-elect-lease-duration 5s ||
	{ fail "server starts after SIGKILL"; finish; exit 1; }
check "a standby takes over a dead leader's Lease" wait_for 30 holder_is_mine
echo "     (taken over $((SECONDS - t0)) s after the restart; lease duration 5 s)"
check "the dead leader's Lease was not taken before its duration" sh -c "[ $((SECONDS - t0)) -ge 4 ]"
expect_out "that transition is counted too" '^2$' lease '{.spec.leaseTransitions}'
stop_server

# A wrong token: refused at start, with a clear message, nothing changed.
printf 'another-token-0123456789abcdef\n' >"$T_DIR/wrong.token"
cp -a "$T_DIR/data/pki" "$T_DIR/pki.before"
sqlite3 "$T_DIR/data/state.db" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null 2>&1
REC1=$(bootrec)
out=$(timeout 60 "$SVCPLANE" server --data-dir "$T_DIR/data" --secure-port 0 --disable-agent \
	--service-cluster-ip-range 198.19.0.0/16 --cluster-cidr 198.18.128.0/17 --token-file "$T_DIR/wrong.token" 2>&1)
rc=$?
check "a server with another token is refused" sh -c "[ $rc -ne 0 ] && [ $rc -ne 124 ]"
expect_out "the refusal says why" 'token does not open this cluster' echo "$out"
check "the refused start changed no certificate or key" diff -r "$T_DIR/pki.before" "$T_DIR/data/pki"
REC2=$(bootrec)
check "the refused start changed no bootstrap record" sh -c "[ -n '$REC1' ] && [ '$REC1' = '$REC2' ]"

# The same token from another file: the same CA.
cp "$T_DIR/data/token" "$T_DIR/same.token"
start_server --token-file "$T_DIR/same.token" || fail "server starts with the same token"
expect_out "the same token serves the same CA" "^$CA1\$" ca_sum "$T_DIR/data"
check "kubectl works with the same kubeconfig" kubectl get ns kube-system
stop_server

# A joining server: a fresh data dir with only the store (as a second server on a shared
# datastore) and the token: it takes the cluster's CA and ServiceAccount key.
mkdir -p "$T_DIR/join"
sqlite3 "$T_DIR/data/state.db" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null 2>&1
cp "$T_DIR"/data/state.db* "$T_DIR/join/"
( "$SVCPLANE" server --data-dir "$T_DIR/join" --secure-port 0 --disable-agent --disable-controllers --disable-scheduler \
	--service-cluster-ip-range 198.19.0.0/16 --cluster-cidr 198.18.128.0/17 --token-file "$T_DIR/same.token" \
	>"$T_DIR/join.out" 2>>"$T_DIR/server.err" & echo $! >"$T_DIR/join.pid" )
check "the joining server starts" wait_for 60 grep -q '^kubeconfig:' "$T_DIR/join.out"
expect_out "the joining server serves the cluster's CA" "^$CA1\$" ca_sum "$T_DIR/join"
check "the joining server has the cluster's ServiceAccount key" cmp "$T_DIR/data/pki/sa.key" "$T_DIR/join/pki/sa.key"
JPORT=$(sed -nE 's/.*:([0-9]+) \(store.*/\1/p' "$T_DIR/join.out" | head -n1)
check "the first kubeconfig's CA verifies the joining server" \
	curl -sS --max-time 10 --cacert "$T_DIR/data/pki/ca.crt" -H "Authorization: Bearer $(cat "$T_DIR/same.token")" "https://127.0.0.1:$JPORT/api/v1/namespaces/kube-system"
kill "$(cat "$T_DIR/join.pid")" 2>/dev/null
wait_for 30 sh -c "! kill -0 $(cat "$T_DIR/join.pid") 2>/dev/null"
finish
