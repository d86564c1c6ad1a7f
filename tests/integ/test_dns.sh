#!/usr/bin/env bash
# Cluster DNS end to end on a two-node cluster in namespaces (tests/integ/cluster.sh):
# the server with its embedded agent in node 1 and `svcplane agent` in node 2, neither
# given --cluster-dns, each serving DNS for its own pods; a dnsmasq on the bridge
# address plays the outside world's resolver (--dns-upstream). From inside pods, with
# dig over UDP and TCP and with glibc (getent hosts/ahosts through the pod's
# resolv.conf and search path): Services, headless endpoints, hostname+subdomain, pod
# records, SRV, PTR, ExternalName (CNAME + the target chased upstream), a forwarded name,
# ExternalName -> ClusterIP, an unready pod leaving the headless answer; the kube-dns
# Endpoints list the Ready nodes; a client outside the cluster's networks is refused.
cd "$(dirname "$0")/../.." || exit 1
. tests/integ/lib.sh

if [ "$(id -u)" != 0 ]; then
	echo "skip: needs root (network namespaces); CI runs as root"
	T_SKIP=$((T_SKIP + 1))
	finish
	exit 0
fi
for t in dig dnsmasq getent nsenter; do
	command -v $t >/dev/null || { fail "$t installed (scripts/deps.sh test)"; finish; exit 1; }
done
# Bad flags are clear errors before anything starts.
expect_fail "svcplane dns --dns-ttl out of range" '--dns-ttl: 4000 is not a number of seconds from 0 to 3600' "$SVCPLANE" dns --dns-ttl 4000
expect_fail "svcplane dns --listen not an IP" '--listen: 1\.2\.3 is not a list' "$SVCPLANE" dns --listen 1.2.3
expect_fail "svcplane dns --dns-allow not a CIDR" '--dns-allow: 198\.18\.0\.0/40 is not a list of at most 16 CIDRs' "$SVCPLANE" dns --dns-allow 198.18.0.0/40
expect_fail "svcplane agent --dns-upstream not an address" '--dns-upstream: dns\.example is not a list' "$SVCPLANE" agent --dns-upstream dns.example
expect_fail "svcplane server --dns-ttl not a number" '--dns-ttl: x is not a number of seconds' "$SVCPLANE" server --dns-ttl x
expect_fail "svcplane dns without a kubeconfig" 'svcplane dns: .*' "$SVCPLANE" dns --kubeconfig /nonexistent/kubeconfig --port 1053

cluster_nodes 2

# The outside world: a test zone on the bridge address, a port of our own.
UP_PORT=$((20000 + RANDOM % 20000))
(dnsmasq --no-daemon --no-resolv --no-hosts --bind-interfaces --listen-address=198.18.0.1 --port="$UP_PORT" \
	--host-record=foo.example.test,198.18.7.7 --host-record=bar.example.test,198.18.7.8 --local=/example.test/ \
	>"$T_DIR/dnsmasq.out" 2>&1 & echo $! >"$T_DIR/dnsmasq.pid")
EXTRA_PIDS=$(cat "$T_DIR/dnsmasq.pid")
UP=198.18.0.1:$UP_PORT

cluster_server --dns-upstream "$UP"
cluster_agent 2 --dns-upstream "$UP"

check_nodes_ready 2 30

# kube-dns: its Endpoints (and the mirrored slice) are the Ready nodes, ports dns and dns-tcp.
dns_eps() { kubectl get endpoints -n kube-system kube-dns -o jsonpath='{.subsets[*].addresses[*].ip} {.subsets[*].ports[*].name}' | grep -Eq '198\.18\.0\.11 198\.18\.0\.12 dns dns-tcp|198\.18\.0\.11 198\.18\.0\.12 dns-tcp dns'; }
if wait_for 20 dns_eps; then ok "kube-dns Endpoints list the Ready nodes with dns 53/UDP and dns-tcp 53/TCP"; else
	fail "kube-dns Endpoints list the Ready nodes" "$(kubectl get endpoints -n kube-system kube-dns -o yaml)"; fi
dns_slice() { kubectl get endpointslices -n kube-system -l kubernetes.io/service-name=kube-dns -o jsonpath='{.items[*].endpoints[*].addresses[*]} {.items[*].ports[*].port}' | grep -Eq '198\.18\.0\.11 198\.18\.0\.12 53 53'; }
if wait_for 20 dns_slice; then ok "kube-dns EndpointSlice lists them too"; else
	fail "kube-dns EndpointSlice lists them too" "$(kubectl get endpointslices -n kube-system -o yaml)"; fi

: >"$T_DIR/ready-web-0"
: >"$T_DIR/ready-web-1"
cat >"$T_DIR/objs.yaml" <<Y
apiVersion: v1
kind: Service
metadata: {name: my-svc}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 9376}]
---
apiVersion: v1
kind: Service
metadata: {name: hl}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 9376}]
---
apiVersion: v1
kind: Service
metadata: {name: ext}
spec: {type: ExternalName, externalName: foo.example.test}
---
Y
for i in 0 1; do cat >>"$T_DIR/objs.yaml" <<Y
apiVersion: v1
kind: Pod
metadata: {name: web-$i, labels: {app: web}}
spec:
  hostname: web-$i
  subdomain: hl
  nodeName: n$((i + 1))
  containers:
  - name: c
    image: none
    command: [sleep, "3600"]
    readinessProbe: {exec: {command: [cat, $T_DIR/ready-web-$i]}, periodSeconds: 1, failureThreshold: 1}
---
Y
done
for n in 1 2; do cat >>"$T_DIR/objs.yaml" <<Y
apiVersion: v1
kind: Pod
metadata: {name: client-n$n}
spec:
  nodeName: n$n
  containers: [{name: c, image: none, command: [sleep, "3600"]}]
---
Y
done
check "services and pods applied" kubectl apply -f "$T_DIR/objs.yaml"
if check "pods Ready" kubectl wait --for=condition=Ready pod web-0 web-1 client-n1 client-n2 --timeout=60s; then :; else
	kubectl get pods -o wide; tail -20 "$T_DIR/agent2.err" "$T_DIR/server.err"; fi

uid() { kubectl get pod "$1" -o jsonpath='{.metadata.uid}'; }
podip() { kubectl get pod "$1" -o jsonpath='{.status.podIP}'; }
podpid() { ip netns pids "svcp-pod-$(uid "$1")" 2>/dev/null | head -n1; }
P1=$(podpid client-n1) P2=$(podpid client-n2)
# in POD CMD...: runs CMD in the pod's network and mount namespaces (its resolv.conf).
inpod() { local p=$1; shift; nsenter -t "$p" -n -m "$@"; }
SVC_IP=$(kubectl get svc my-svc -o jsonpath='{.spec.clusterIP}')
W0=$(podip web-0) W1=$(podip web-1)

expect_out "no --cluster-dns anywhere: the pod's nameserver is kube-dns" '^nameserver 198\.19\.0\.10$' nsenter -t "$P2" -m cat /etc/resolv.conf
expect_out "and kubelet's search path and ndots:5" 'search default\.svc\.cluster\.local svc\.cluster\.local cluster\.local.*options ndots:5' \
	sh -c "nsenter -t $P2 -m cat /etc/resolv.conf | tr '\\n' ' '"

for P in $P1 $P2; do
	N=$([ "$P" = "$P1" ] && echo n1 || echo n2)
	expect_out "$N: dig A of a ClusterIP Service (UDP)" "^$SVC_IP\$" inpod "$P" dig +short +time=2 +tries=2 my-svc.default.svc.cluster.local
	expect_out "$N: dig A of a ClusterIP Service (TCP)" "^$SVC_IP\$" inpod "$P" dig +short +tcp +time=2 +tries=2 my-svc.default.svc.cluster.local
	expect_out "$N: getent hosts of a short name (search path)" "^$SVC_IP +my-svc" inpod "$P" getent hosts my-svc
done
# The kube-dns endpoints are the nodes' addresses of both families: the agent serves on
# the node's IPv6 address too (asked by another node, an allowed client).
if ip netns exec svcp-n1 ip -6 addr show dev eth0 2>/dev/null | grep -q '2001:db8::11/'; then
	expect_out "the node's IPv6 address serves cluster DNS" "^$SVC_IP\$" \
		ip netns exec svcp-n2 dig +short +time=2 +tries=3 @2001:db8::11 my-svc.default.svc.cluster.local
fi
want_hl=$(printf '%s\n' "$W0" "$W1" | sort | tr '\n' ' ')
expect_out "dig headless: the ready endpoints" "^$want_hl\$" sh -c "nsenter -t $P2 -n -m dig +short hl.default.svc.cluster.local | sort | tr '\\n' ' '"
expect_out "dig +tcp headless" "^$want_hl\$" sh -c "nsenter -t $P2 -n -m dig +tcp +short hl.default.svc.cluster.local | sort | tr '\\n' ' '"
expect_out "getent ahosts headless" "^$want_hl\$" sh -c "nsenter -t $P1 -n -m getent ahosts hl.default | awk '{print \$1}' | sort -u | tr '\\n' ' '"
expect_out "hostname + subdomain: web-0.hl" "^$W0\$" inpod "$P2" dig +short web-0.hl.default.svc.cluster.local
expect_out "getent hosts web-1.hl (search path)" "^$W1 +web-1\.hl" inpod "$P1" getent hosts web-1.hl
expect_out "SRV of a named port" '^0 100 80 my-svc\.default\.svc\.cluster\.local\.$' inpod "$P2" dig +short SRV _http._tcp.my-svc.default.svc.cluster.local
expect_out "SRV of a headless Service: one per endpoint" 'web-0\.hl\.default\.svc\.cluster\.local\..*web-1\.hl|web-1\.hl\.default\.svc\.cluster\.local\..*web-0\.hl' \
	sh -c "nsenter -t $P2 -n -m dig +short SRV _http._tcp.hl.default.svc.cluster.local | tr '\\n' ' '"
expect_out "PTR of the cluster IP" '^my-svc\.default\.svc\.cluster\.local\.$' inpod "$P1" dig +short -x "$SVC_IP"
expect_out "pod A record" "^$W1\$" inpod "$P1" dig +short "$(echo "$W1" | tr . -).default.pod.cluster.local"
expect_out "dns-version TXT" '^"1\.1\.0"$' inpod "$P1" dig +short TXT dns-version.cluster.local
expect_out "a missing Service is NXDOMAIN with the SOA" 'status: NXDOMAIN.*AUTHORITY: 1' \
	sh -c "nsenter -t $P1 -n -m dig nope.default.svc.cluster.local | tr '\\n' ' '"
expect_out "AAAA of an IPv4 Service is NODATA" 'status: NOERROR.*ANSWER: 0, AUTHORITY: 1' \
	sh -c "nsenter -t $P1 -n -m dig AAAA my-svc.default.svc.cluster.local | tr '\\n' ' '"
expect_out "ExternalName: CNAME and the target's A from upstream" 'ext\.default\.svc\.cluster\.local\..*CNAME.*foo\.example\.test\..*foo\.example\.test\..*A.*198\.18\.7\.7' \
	sh -c "nsenter -t $P2 -n -m dig ext.default.svc.cluster.local | tr '\\n' ' '"
expect_out "getent hosts of an ExternalName" '^198\.18\.7\.7 ' inpod "$P1" getent hosts ext
expect_out "a name outside the zone is forwarded" '^198\.18\.7\.8$' inpod "$P2" dig +short bar.example.test
expect_out "forwarded over TCP too" '^198\.18\.7\.8$' inpod "$P2" dig +tcp +short bar.example.test

# ExternalName -> ClusterIP: the new cluster IP is answered.
check "ExternalName Service changed to ClusterIP" kubectl patch svc ext --type=merge \
	-p '{"spec":{"type":"ClusterIP","externalName":null,"ports":[{"name":"http","port":80}]}}'
EXT_IP=$(kubectl get svc ext -o jsonpath='{.spec.clusterIP}')
ext_is_ip() { [ "$(inpod "$P2" dig +short ext.default.svc.cluster.local)" = "$EXT_IP" ]; }
if [ -n "$EXT_IP" ] && wait_for 15 ext_is_ip; then ok "ExternalName -> ClusterIP answers the new cluster IP"; else
	fail "ExternalName -> ClusterIP answers the new cluster IP" "want $EXT_IP, got $(inpod "$P2" dig +short ext.default.svc.cluster.local)"; fi

# A pod turning unready leaves the headless answer.
rm -f "$T_DIR/ready-web-1"
only_w0() { [ "$(inpod "$P1" dig +short hl.default.svc.cluster.local)" = "$W0" ]; }
if wait_for 20 only_w0; then ok "unready pod leaves the headless answer"; else
	fail "unready pod leaves the headless answer" "$(inpod "$P1" dig +short hl.default.svc.cluster.local)"; fi
expect_out "its hostname record is gone too (NXDOMAIN)" 'status: NXDOMAIN' inpod "$P1" dig web-1.hl.default.svc.cluster.local

# The node's own address serves too; clients outside the cluster's networks are refused.
expect_out "a node queries its own node IP" "^$SVC_IP\$" nsenter --net=/run/netns/svcp-n2 dig +short @198.18.0.12 my-svc.default.svc.cluster.local
expect_out "a client outside the pod and node networks is REFUSED" 'status: REFUSED' dig +time=2 +tries=1 @198.18.0.12 my-svc.default.svc.cluster.local

# The DNS server's metrics on the agent's kubelet port, beside the proxy's (CoreDNS's names).
TOKEN=$(cat "$T_DIR/data/token")
expect_out "agent /metrics: DNS requests by type and rcode" \
	'coredns_dns_requests_total\{proto="udp",type="A"\} [1-9].*coredns_dns_responses_total\{rcode="NOERROR"\} [1-9]' \
	sh -c "curl -sSk --max-time 5 -H 'Authorization: Bearer $TOKEN' https://198.18.0.12:10250/metrics | tr '\\n' ' '"
expect_out "agent /metrics needs a credential" '401' \
	curl -sk --max-time 5 -o /dev/null -w '%{http_code}' https://198.18.0.12:10250/metrics

for f in "$T_DIR"/agent*.err; do cat "$f" >>"$T_DIR/server.err"; done
finish
