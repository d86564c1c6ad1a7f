#!/usr/bin/env bash
# ingress.sh [SECONDS] - the Ingress proxy against nginx and HAProxy in HTTP mode
# (Debian packages), same machine, same backend, same client (wrk).
#
# Everything runs in one network namespace made here (svcpb-<pid>, addresses from
# 198.18.60.0/24 on a veth pair). The backend is an nginx answering "ok" on
# 198.18.60.21:8080 (and .22, the same process: two endpoints). Proxies:
#   svcplane  198.18.60.11:80/443  svcplane server + embedded agent, a selector-less
#                                   Service, its EndpointSlice and one Ingress
#   nginx     198.18.60.12:80/443  proxy_pass with an upstream keepalive pool
#   haproxy   198.18.60.13:80/443  mode http, http-reuse safe
# Each proxy terminates TLS with the same self-signed P-256 certificate.
# Figures (median of 3 runs of SECONDS, default 5): requests/s keep-alive (wrk -t1 -c32),
# requests/s with a new connection per request (Connection: close), HTTPS handshakes/s
# (https + Connection: close), p50/p99 at one connection and the latency they add over the
# backend alone, and RSS of each proxy with 1,000 Ingress rules (svcplane: one Ingress of
# 1,000 hosts; nginx: 1,000 server blocks; haproxy: 1,000 host ACLs).
set -eu
cd "$(dirname "$0")/.."
SECS=${1:-5}
for b in wrk nginx haproxy; do
	command -v $b >/dev/null || apt-get -o DPkg::Lock::Timeout=300 install -y -q wrk nginx-light haproxy >/dev/null
done
make -s MODE=release build/release/svcplane
SP=$PWD/build/release/svcplane
NS=svcpb-$$
D=$(mktemp -d /tmp/svcplane-bench-ing.XXXXXX)
cleanup() {
	# shellcheck disable=SC2046
	kill -9 $(ip netns pids "$NS" 2>/dev/null) 2>/dev/null || true
	ip netns delete "$NS" 2>/dev/null || true
	rm -rf "$D"
}
trap cleanup EXIT
X() { ip netns exec "$NS" "$@"; }
ip netns add "$NS"
X ip link set lo up
X ip link add b0 type veth peer name b1
X ip link set b1 up
for a in 11 12 13 21 22; do X ip addr add 198.18.60.$a/24 dev b0; done
X ip link set b0 up

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=bench.example.com \
	-keyout "$D/tls.key" -out "$D/tls.crt" >/dev/null 2>&1
cat "$D/tls.crt" "$D/tls.key" >"$D/tls.pem"

# The backend.
mkdir -p "$D/nginx-be" "$D/nginx-px"
cat >"$D/be.conf" <<EOF
worker_processes 1; daemon off; pid $D/be.pid; error_log $D/be.err;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  server { listen 198.18.60.21:8080 reuseport; listen 198.18.60.22:8080; location / { return 200 "ok\n"; } } }
EOF
X nginx -c "$D/be.conf" -p "$D/nginx-be" >/dev/null 2>&1 &

# nginx as the proxy.
cat >"$D/px.conf" <<EOF
worker_processes 1; daemon off; pid $D/px.pid; error_log $D/px.err;
events { worker_connections 8192; }
http { access_log off; keepalive_requests 1000000;
  upstream be { server 198.18.60.21:8080; server 198.18.60.22:8080; keepalive 64; }
  server { listen 198.18.60.12:80; listen 198.18.60.12:443 ssl; server_name bench.example.com;
    ssl_certificate $D/tls.crt; ssl_certificate_key $D/tls.key; ssl_protocols TLSv1.2 TLSv1.3;
    location / { proxy_pass http://be; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_set_header Host \$host; proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for; } }
  include $D/nginx-hosts.conf; }
EOF
: >"$D/nginx-hosts.conf"
X nginx -c "$D/px.conf" -p "$D/nginx-px" >/dev/null 2>&1 &

# HAProxy.
cat >"$D/hap.cfg" <<EOF
global
  nbthread 1
  maxconn 8192
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option forwardfor
  http-reuse safe
frontend fe
  bind 198.18.60.13:80
  bind 198.18.60.13:443 ssl crt $D/tls.pem
  default_backend be
backend be
  balance roundrobin
  server s1 198.18.60.21:8080
  server s2 198.18.60.22:8080
EOF
X haproxy -f "$D/hap.cfg" -db >"$D/hap.log" 2>&1 &

# svcplane.
(nsenter --net=/run/netns/$NS "$SP" server --data-dir "$D/sp" --secure-port 0 --bind-address 198.18.60.11 \
	--service-cluster-ip-range 198.19.0.0/16 --cluster-cidr 198.18.128.0/17 --node-name bench --node-ip 198.18.60.11 \
	--disable-dns --ingress-http-port 80 --ingress-https-port 443 >"$D/sp.out" 2>"$D/sp.err" &)
for _ in $(seq 1 300); do grep -q kubeconfig: "$D/sp.out" 2>/dev/null && break; sleep 0.1; done
export KUBECONFIG=$D/sp/kubeconfig
K() { X kubectl "$@"; }
K create secret tls bench-tls --cert "$D/tls.crt" --key "$D/tls.key" >/dev/null
K apply -f - >/dev/null <<'Y'
apiVersion: v1
kind: Service
metadata: {name: be}
spec: {ports: [{name: http, port: 80, targetPort: 8080}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: be-1, labels: {kubernetes.io/service-name: be}}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints:
- {addresses: [198.18.60.21], conditions: {ready: true}}
- {addresses: [198.18.60.22], conditions: {ready: true}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: bench}
spec:
  tls: [{hosts: [bench.example.com], secretName: bench-tls}]
  rules:
  - host: bench.example.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: be, port: {number: 80}}}}]}
Y
for _ in $(seq 1 100); do X curl -s -o /dev/null -w '%{http_code}' -H 'Host: bench.example.com' http://198.18.60.11/ | grep -q 200 && break; sleep 0.1; done

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# rps URL [wrk args]: median requests/s of 3 runs
rps() {
	local url=$1; shift
	for _ in 1 2 3; do
		X wrk -t1 -c32 -d"${SECS}s" -H 'Host: bench.example.com' "$@" "$url" 2>/dev/null | awk '/Requests\/sec/ {print $2}'
	done | median
}
# lat URL: "p50 p99" in ms at one connection (median of 3 runs each)
lat() {
	local i out p50s="" p99s=""
	for i in 1 2 3; do
		out=$(X wrk -t1 -c1 -d"${SECS}s" --latency -H 'Host: bench.example.com' "$1" 2>/dev/null)
		p50s="$p50s $(echo "$out" | awk '$1=="50%" {print $2}')"
		p99s="$p99s $(echo "$out" | awk '$1=="99%" {print $2}')"
	done
	tomss() { for v in "$@"; do case $v in *us) echo "${v%us} / 1000" | bc -l ;; *ms) echo "${v%ms}" ;; *s) echo "${v%s} * 1000" | bc -l ;; esac; done; }
	# shellcheck disable=SC2086
	printf '%.3f %.3f\n' "$(tomss $p50s | median)" "$(tomss $p99s | median)"
}
command -v bc >/dev/null || apt-get -o DPkg::Lock::Timeout=300 install -y -q bc >/dev/null

declare -A IP=([svcplane]=198.18.60.11 [nginx]=198.18.60.12 [haproxy]=198.18.60.13)
base=$(lat http://198.18.60.21:8080/)
echo "backend alone p50/p99 ms: $base"
echo "| proxy | req/s keep-alive | req/s new connection | HTTPS handshakes/s | p50 / p99 ms (1 conn) | added p50 / p99 ms |"
echo "|---|---|---|---|---|---|"
for p in svcplane nginx haproxy; do
	ip=${IP[$p]}
	ka=$(rps "http://$ip/")
	nc=$(rps "http://$ip/" -H 'Connection: close')
	hs=$(rps "https://$ip/" -H 'Connection: close')
	read -r l50 l99 < <(lat "http://$ip/")
	read -r b50 b99 <<<"$base"
	printf '| %s | %.0f | %.0f | %.0f | %.3f / %.3f | %.3f / %.3f |\n' "$p" "$ka" "$nc" "$hs" "$l50" "$l99" \
		"$(echo "$l50 - $b50" | bc -l)" "$(echo "$l99 - $b99" | bc -l)"
done

# Memory with 1,000 rules.
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
agent_pid=$(pgrep -f "^$SP server --data-dir $D/sp" | head -n1)
sp_before=$(rss_kb "$agent_pid")
{
	echo "apiVersion: networking.k8s.io/v1"; echo "kind: Ingress"; echo "metadata: {name: many}"; echo "spec:"; echo "  rules:"
	for i in $(seq 1 1000); do
		echo "  - host: h$i.example.com"
		echo "    http: {paths: [{path: /p$i, pathType: Prefix, backend: {service: {name: be, port: {number: 80}}}}]}"
	done
} >"$D/many.yaml"
K apply -f "$D/many.yaml" >/dev/null
for _ in $(seq 1 100); do X curl -s -o /dev/null -w '%{http_code}' -H 'Host: h1000.example.com' http://198.18.60.11/p1000 | grep -q 200 && break; sleep 0.1; done
sp_after=$(rss_kb "$agent_pid")
ng_before=$(rss_kb "$(cat "$D/px.pid")")
for i in $(seq 1 1000); do
	echo "server { listen 198.18.60.12:80; server_name h$i.example.com; location /p$i { proxy_pass http://be; proxy_http_version 1.1; proxy_set_header Connection \"\"; } }"
done >"$D/nginx-hosts.conf"
X nginx -c "$D/px.conf" -p "$D/nginx-px" -s reload >/dev/null 2>&1
sleep 2
ng_worker=$(pgrep -P "$(cat "$D/px.pid")" | head -n1)
ng_after=$(( $(rss_kb "$(cat "$D/px.pid")") + $(rss_kb "$ng_worker") ))
echo
echo "RSS with 1,000 Ingress rules: svcplane (server + agent + proxy, one process) ${sp_before} -> ${sp_after} KiB;" \
	"nginx master+worker with 1,000 server blocks ${ng_after} KiB (master alone before: ${ng_before} KiB)"
