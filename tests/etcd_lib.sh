# etcd_lib.sh - start throwaway etcd members on 127.0.0.1 for tests and benches (sourced).
#   etcd_cluster_start DIR [N [TLS]]   starts an N-member cluster (default 1) with data under
#                        DIR, on free ports; sets ETCD_PIDS (array), ETCD_PORTS (client ports,
#                        array), ETCD_URL (etcd://127.0.0.1:P1,...). With TLS (a folder holding
#                        ca.crt, server.crt, server.key, client.crt, client.key) clients must
#                        speak https with a certificate of that CA. Returns 1 (after showing
#                        the logs) when the cluster is not healthy within 30 s.
#   etcd_cluster_stop    kills every member etcd_cluster_start started (by pid).
ETCD_PIDS=()
ETCD_PORTS=()
ETCD_URL=

etcd_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

etcd_cluster_start() {
	local dir=$1 n=${2:-1} tls=${3:-} i cluster="" peers=() healthy token="svcp-$$-$RANDOM" scheme=http
	local tlsflags=() curlflags=()
	if [ -n "$tls" ]; then
		scheme=https
		tlsflags=(--cert-file "$tls/server.crt" --key-file "$tls/server.key" --client-cert-auth --trusted-ca-file "$tls/ca.crt")
		curlflags=(--cacert "$tls/ca.crt" --cert "$tls/client.crt" --key "$tls/client.key")
	fi
	command -v etcd >/dev/null 2>&1 || { echo "etcd not installed (scripts/deps.sh test installs etcd-server)"; return 1; }
	ETCD_PIDS=() ETCD_PORTS=()
	for i in $(seq 1 "$n"); do
		ETCD_PORTS+=("$(etcd_free_port)")
		peers+=("$(etcd_free_port)")
		cluster="$cluster${cluster:+,}m$i=http://127.0.0.1:${peers[$((i - 1))]}"
	done
	for i in $(seq 1 "$n"); do
		local c=${ETCD_PORTS[$((i - 1))]} p=${peers[$((i - 1))]}
		mkdir -p "$dir"
		etcd --name "m$i" --data-dir "$dir/m$i" \
			--listen-client-urls "$scheme://127.0.0.1:$c" --advertise-client-urls "$scheme://127.0.0.1:$c" "${tlsflags[@]}" \
			--listen-peer-urls "http://127.0.0.1:$p" --initial-advertise-peer-urls "http://127.0.0.1:$p" \
			--initial-cluster "$cluster" --initial-cluster-state new \
			--initial-cluster-token "$token" >"$dir/m$i.log" 2>&1 &
		ETCD_PIDS+=($!)
	done
	ETCD_URL="etcd://$(printf '127.0.0.1:%s,' "${ETCD_PORTS[@]}" | sed 's/,$//')"
	for _ in $(seq 1 300); do
		healthy=0
		for c in "${ETCD_PORTS[@]}"; do
			curl -sf -m 1 "${curlflags[@]}" "$scheme://127.0.0.1:$c/health" 2>/dev/null | grep -q '"true"' && healthy=$((healthy + 1))
		done
		[ "$healthy" = "$n" ] && return 0
		sleep 0.1
	done
	echo "etcd did not become healthy; logs:"
	tail -n 5 "$dir"/m*.log
	etcd_cluster_stop
	return 1
}

# etcd_tls_files DIR: a CA, a server certificate for 127.0.0.1 and a client certificate in DIR.
etcd_tls_files() {
	local d=$1
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=test-etcd-ca \
		-keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null || return 1
	local who
	for who in server client; do
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$who" \
			-keyout "$d/$who.key" -out "$d/$who.csr" 2>/dev/null || return 1
		printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' >"$d/$who.ext"
		openssl x509 -req -in "$d/$who.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 1 \
			-extfile "$d/$who.ext" -out "$d/$who.crt" 2>/dev/null || return 1
	done
}

etcd_cluster_stop() {
	local p
	for p in "${ETCD_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${ETCD_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	ETCD_PIDS=()
	return 0
}
