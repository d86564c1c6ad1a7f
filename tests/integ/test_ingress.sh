#!/usr/bin/env bash
# Ingress end to end on a two-node cluster in namespaces (tests/integ/cluster.sh): the
# server with its embedded agent in n1, an agent in n2; every agent runs the Ingress
# controller on its node address, ports 80 and 443. A client namespace outside the
# cluster uses real curl with --resolve, as the issue's user does. Backends are pods
# (tests/integ/ingress_backend.py) that answer with their name, the path, Host and the
# X-Forwarded-* headers they got.
# Checked: the IngressClass; two Services behind one address by host and by path (both
# nodes), X-Forwarded-*, 404 and 503 answers; ADDRESS in `kubectl get ingress`; an event
# for a missing Service; TLS with SNI for two hosts (certificate subject), the default
# certificate otherwise, TLS 1.1 refused, a changed Secret served without restart; cookie
# affinity sticks and moves when its pod turns unready; a backend killed mid-run costs
# no client error for GETs; a WebSocket upgrade is tunnelled; the seed's
# extensions/v1beta1 manifest applies unchanged (with kube's Warning), reads back as v1
# and routes; a malformed Ingress gets Kubernetes' validation messages.
cd "$(dirname "$0")/../.." || exit 1
. tests/integ/lib.sh

cluster_nodes 2
cluster_client svcp-client svcp-vc 198.18.0.100
N1=198.18.0.11 N2=198.18.0.12

cluster_server --ingress-http-port 80 --ingress-https-port 443
cluster_agent 2 --cluster-cidr 198.18.128.0/17

check_nodes_ready 2 30

# Backends: a-1 (n1), a-2 (n2); b-1 (n2); s-1 (n1), s-2 (n2) ready while their file exists.
BACKEND=$ROOT/tests/integ/ingress_backend.py
pod() { BACKEND_PY=$BACKEND echo_pod "$@"; }
svc() { printf 'apiVersion: v1\nkind: Service\nmetadata: {name: %s}\nspec: {selector: {app: %s}, ports: [{name: http, port: 80, targetPort: 8080}]}\n---\n' "$1" "$2"; }
: >"$T_DIR/ready-s1"; : >"$T_DIR/ready-s2"
{ pod a-1 n1 a; pod a-2 n2 a; pod b-1 n2 b; pod s-1 n1 s "$T_DIR/ready-s1"; pod s-2 n2 s "$T_DIR/ready-s2"
  svc a a; svc b b; svc s s; svc kubia-nodeport a; } >"$T_DIR/apps.yaml"
check "backends and Services apply" kubectl apply -f "$T_DIR/apps.yaml"
endpoints() { [ "$(kubectl get endpointslices -l kubernetes.io/service-name="$1" -o jsonpath='{range .items[*].endpoints[?(@.conditions.ready==true)]}{.addresses[0]}{"\n"}{end}' | grep -c .)" = "$2" ]; }
if wait_for 90 endpoints a 2 && wait_for 30 endpoints b 1 && wait_for 30 endpoints s 2; then ok "every backend ready"
else fail "every backend ready" "$(kubectl get pods -o wide 2>&1; kubectl get endpointslices 2>&1)"; fi

check "IngressClass svcplane exists, default, controller svcplane.io/ingress" sh -c \
	"kubectl get ingressclass svcplane -o jsonpath='{.spec.controller} {.metadata.annotations.ingressclass\.kubernetes\.io/is-default-class}' | grep -qx 'svcplane.io/ingress true'"

# TLS material: a certificate per host, made here.
for h in a b; do
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/O=svcplane-test/CN=$h.example.com" \
		-keyout "$T_DIR/$h.key" -out "$T_DIR/$h.crt" >/dev/null 2>&1
	kubectl create secret tls "tls-$h" --save-config --cert "$T_DIR/$h.crt" --key "$T_DIR/$h.key" >/dev/null
done

cat >"$T_DIR/ing.yaml" <<'Y'
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: hosts}
spec:
  tls:
  - {hosts: [a.example.com], secretName: tls-a}
  - {hosts: [b.example.com], secretName: tls-b}
  rules:
  - host: a.example.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: a, port: {number: 80}}}}]}
  - host: b.example.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: b, port: {name: http}}}}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: paths}
spec:
  ingressClassName: svcplane
  tls: [{hosts: [paths.example.com], secretName: nosuch-tls}]
  rules:
  - host: paths.example.com
    http:
      paths:
      - {path: /a, pathType: Prefix, backend: {service: {name: a, port: {number: 80}}}}
      - {path: /b, pathType: Prefix, backend: {service: {name: b, port: {number: 80}}}}
      - {path: /exact, pathType: Exact, backend: {service: {name: b, port: {number: 80}}}}
      - {path: /missing, pathType: Prefix, backend: {service: {name: nosuch, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: sticky
  annotations:
    nginx.ingress.kubernetes.io/affinity: cookie
    nginx.ingress.kubernetes.io/session-cookie-name: route
    nginx.ingress.kubernetes.io/session-cookie-max-age: "3600"
spec:
  rules:
  - host: sticky.example.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: s, port: {number: 80}}}}]}
Y
check "Ingresses apply" kubectl apply -f "$T_DIR/ing.yaml"

c1() { cx curl -gsS --max-time 5 "$@"; }
get() { # get HOST PATH [node IP] [curl args]: the body of http://HOST/PATH through the ingress
	local h=$1 p=$2 ip=${3:-$N1}; shift 3 2>/dev/null || shift $#
	c1 --resolve "$h:80:$ip" "$@" "http://$h$p"
}
first() { awk '{print $1}'; }
routes() { [ "$(get "$1" "$2" "${4:-$N1}" | first)" = "$3" ]; }
if wait_for 30 routes b.example.com / b-1; then ok "host b.example.com -> Service b"; else fail "host b.example.com -> Service b" "$(get b.example.com / $N1 2>&1)"; fi
names() { local i; for i in $(seq 1 "$1"); do get "$2" "$3" "${4:-$N1}" | first; done | sort -u | tr '\n' ' '; }
out=$(names 12 a.example.com /)
[ "$out" = "a-1 a-2 " ] && ok "host a.example.com -> both pods of Service a" || fail "host a.example.com -> both pods of Service a" "$out"
check "node n2 routes the same (every agent serves)" wait_for 20 routes b.example.com / b-1 $N2
out=$(get paths.example.com /b/x)
case "$out" in "b-1 path=/b/x host=paths.example.com xff=198.18.0.100 proto=http xfh=paths.example.com") ok "path /b/x -> Service b, X-Forwarded-For/-Proto/-Host" ;;
*) fail "path /b/x -> Service b, X-Forwarded-For/-Proto/-Host" "$out" ;; esac
out=$(get paths.example.com /a | first)
case "$out" in a-1|a-2) ok "path /a -> Service a" ;; *) fail "path /a -> Service a" "$out" ;; esac
code() { c1 -o /dev/null -w '%{http_code}' --resolve "$1:80:$N1" "http://$1$2"; }
expect_out "Prefix is element-wise: /bb matches no rule (404)" '^404$' code paths.example.com /bb
expect_out "Exact /exact routes" '^b-1' get paths.example.com /exact
expect_out "Exact /exact does not take /exact/x (404)" '^404$' code paths.example.com /exact/x
expect_out "a missing Service answers 503 with the reason" 'service "default/nosuch" not found' get paths.example.com /missing
expect_out "an unknown host answers 404" '^404$' code nobody.example.com /

ingaddr() { kubectl get ingress paths -o jsonpath='{.status.loadBalancer.ingress[*].ip}'; }
nodeaddrs=$(kubectl get nodes -o jsonpath='{range .items[*]}{range .status.addresses[?(@.type=="InternalIP")]}{.address}{"\n"}{end}{end}' | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')
if wait_for 30 sh -c "[ \"\$(kubectl get ingress paths -o jsonpath='{.status.loadBalancer.ingress[*].ip}')\" = '$nodeaddrs' ]"; then
	ok "status.loadBalancer lists every node's InternalIPs ($nodeaddrs)"; else fail "status.loadBalancer lists every node's InternalIPs" "want $nodeaddrs, got $(ingaddr)"; fi
expect_out "kubectl get ingress shows ADDRESS" "paths +svcplane +paths.example.com +$(echo "$nodeaddrs" | tr ' ' ',') +80, 443 " kubectl get ingress paths
if printf '%s' "$nodeaddrs" | grep -q 2001:db8::12; then
	ip -n "$CLIENT_NS" addr add 2001:db8::100/64 dev eth0 nodad
	expect_out "a node's IPv6 address serves too" '^b-1 ' c1 --resolve 'b.example.com:80:[2001:db8::12]' http://b.example.com/
fi
check "a missing Service gets a Warning event on the Ingress" wait_for 20 sh -c \
	"kubectl get events --field-selector involvedObject.name=paths -o jsonpath='{.items[*].reason}' | grep -q ServiceNotFound"
check "a missing TLS Secret gets a Warning event on the Ingress" wait_for 20 sh -c \
	"kubectl get events --field-selector involvedObject.name=paths -o jsonpath='{.items[*].reason}' | grep -q SecretNotFound"

# TLS with SNI.
subject() { echo | cx timeout 5 openssl s_client -connect "$1:443" -servername "$2" 2>/dev/null | openssl x509 -noout -subject 2>/dev/null; }
expect_out "SNI a.example.com gets its Secret's certificate" 'CN *= *a.example.com' subject $N1 a.example.com
expect_out "SNI b.example.com gets its Secret's certificate" 'CN *= *b.example.com' subject $N1 b.example.com
expect_out "another name gets the default certificate" 'Kubernetes Ingress Controller Fake Certificate' subject $N1 other.example.com
expect_out "HTTPS routes by host" '^a-[12] path=/ .* proto=https' c1 -k --resolve a.example.com:443:$N1 https://a.example.com/
expect_out "HTTPS with the certificate verified (--cacert)" '^b-1 ' c1 --cacert "$T_DIR/b.crt" --resolve b.example.com:443:$N1 https://b.example.com/
if echo | cx timeout 5 openssl s_client -connect $N1:443 -servername a.example.com -tls1_1 >/dev/null 2>&1; then
	fail "TLS 1.1 refused"; else ok "TLS 1.1 refused"; fi
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/O=renewed/CN=a.example.com" \
	-keyout "$T_DIR/a2.key" -out "$T_DIR/a2.crt" >/dev/null 2>&1
kubectl create secret tls tls-a --cert "$T_DIR/a2.crt" --key "$T_DIR/a2.key" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
check "a changed Secret is served without restart" wait_for 20 sh -c "echo | ip netns exec $CLIENT_NS timeout 5 openssl s_client -connect $N1:443 -servername a.example.com 2>/dev/null | openssl x509 -noout -subject | grep -q renewed"

# Cookie affinity.
jar=$T_DIR/jar
get sticky.example.com / $N1 -c "$jar" >/dev/null
if grep -q 'route' "$jar" 2>/dev/null; then ok "affinity: the first answer sets the cookie"; else fail "affinity: the first answer sets the cookie" "$(cat "$jar" 2>&1)"; fi
out=$(for i in $(seq 1 10); do get sticky.example.com / $N1 -b "$jar" | first; done | sort -u)
if [ "$(echo "$out" | wc -l)" = 1 ] && [ -n "$out" ]; then ok "affinity: 10 requests with the cookie stick to $out"; else fail "affinity: requests with the cookie stick" "$out"; fi
stuck=$out
other=s-1; [ "$stuck" = s-1 ] && other=s-2
rm -f "$T_DIR/ready-${stuck#s-}" "$T_DIR/ready-s${stuck#s-}"
if wait_for 30 endpoints s 1; then ok "affinity: $stuck turned unready"; else fail "affinity: $stuck turned unready" "$(kubectl get pods -o wide)"; fi
out=$(get sticky.example.com / $N1 -b "$jar" -c "$jar" | first)
[ "$out" = "$other" ] && ok "affinity: the cookie moves to $other" || fail "affinity: the cookie moves to $other" "$out"
out=$(for i in $(seq 1 5); do get sticky.example.com / $N1 -b "$jar" | first; done | sort -u)
[ "$out" = "$other" ] && ok "affinity: and sticks there" || fail "affinity: and sticks there" "$out"

# WebSocket upgrade through the proxy.
cat >"$T_DIR/ws.py" <<'PY'
import socket, sys
s = socket.create_connection((sys.argv[1], 80), timeout=5)
s.sendall(b"GET /ws HTTP/1.1\r\nHost: a.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
head = b""
while b"\r\n\r\n" not in head:
    d = s.recv(4096)
    if not d: break
    head += d
if not head.startswith(b"HTTP/1.1 101") or b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" not in head: print("bad head", head); sys.exit(1)
s.sendall(b"ping-through-the-tunnel")
got = b""
while len(got) < 23:
    d = s.recv(4096)
    if not d: break
    got += d
print(got.decode())
PY
expect_out "WebSocket upgrade is tunnelled both ways" '^ping-through-the-tunnel$' cx python3 "$T_DIR/ws.py" $N1

# A backend killed mid-run: GETs keep succeeding (refused connects and dead connections
# are retried on the other endpoint).
cat >"$T_DIR/load.sh" <<SH
fails=0
for i in \$(seq 1 300); do
	curl -gsS --max-time 5 -o /dev/null -w '%{http_code}\n' --resolve a.example.com:80:$N1 http://a.example.com/ | grep -qx 200 || fails=\$((fails + 1))
done
echo \$fails
SH
cx bash "$T_DIR/load.sh" >"$T_DIR/load.out" 2>&1 &
LOAD=$!
sleep 1
pid=$(pgrep -f "$BACKEND a-2" | head -n1)
[ -n "$pid" ] && kill -9 "$pid"
kubectl delete pod a-2 --grace-period=0 --force >/dev/null 2>&1
wait $LOAD
out=$(cat "$T_DIR/load.out")
[ "$out" = 0 ] && ok "a backend killed mid-run: 300 GETs, no client error" || fail "a backend killed mid-run: 300 GETs, no client error" "$out"

# The seed's manifest, unchanged.
out=$(kubectl apply -f "$ROOT/tests/integ/manifests/ctl-ingress-v1beta1.yaml" 2>&1)
case "$out" in *'Warning: extensions/v1beta1 Ingress is deprecated in v1.14+, unavailable in v1.22+; use networking.k8s.io/v1 Ingress'*'ingress.extensions/kubia created'*)
	ok "seed's extensions/v1beta1 Ingress applies unchanged, with kube's Warning" ;;
*) fail "seed's extensions/v1beta1 Ingress applies unchanged, with kube's Warning" "$out" ;; esac
expect_out "it reads back as networking.k8s.io/v1 with service.name/port.number" \
	'^networking.k8s.io/v1 kubia-nodeport 80 ImplementationSpecific$' \
	kubectl get ingress.networking.k8s.io kubia -o jsonpath='{.apiVersion} {.spec.rules[0].http.paths[0].backend.service.name} {.spec.rules[0].http.paths[0].backend.service.port.number} {.spec.rules[0].http.paths[0].pathType}'
expect_out "and as extensions/v1beta1 with serviceName/servicePort" '^kubia-nodeport 80$' \
	kubectl get ingress.v1beta1.extensions kubia -o jsonpath='{.spec.rules[0].http.paths[0].backend.serviceName} {.spec.rules[0].http.paths[0].backend.servicePort}'
out=$(timeout 5 kubectl get ingress.v1beta1.extensions --watch-only 2>&1)
case "$out" in *'Warning: extensions/v1beta1 Ingress is deprecated'*) ok "a watch of extensions/v1beta1 carries the Warning too" ;;
*) fail "a watch of extensions/v1beta1 carries the Warning too" "$out" ;; esac
check "discovery lists extensions/v1beta1 and networking.k8s.io/v1beta1" sh -c \
	"kubectl api-versions | grep -qx extensions/v1beta1 && kubectl api-versions | grep -qx networking.k8s.io/v1beta1"
if wait_for 20 routes kubia.example.com / a-1; then ok "the seed's Ingress routes kubia.example.com"; else fail "the seed's Ingress routes kubia.example.com" "$(get kubia.example.com / $N1 2>&1)"; fi
out=$(kubectl apply -f "$ROOT/tests/integ/manifests/ctl-ingress-v1beta1.yaml" 2>&1)
case "$out" in *'ingress.extensions/kubia '*) ok "re-apply of the seed works" ;; *) fail "re-apply of the seed works" "$out" ;; esac

# A malformed Ingress.
cat >"$T_DIR/bad.yaml" <<'Y'
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: bad}
spec:
  rules:
  - host: 198.18.0.1
    http:
      paths:
      - {path: foo, pathType: Prefix, backend: {service: {name: a}}}
      - {path: /x, backend: {service: {name: a, port: {number: 80}}}}
      - {path: /y, pathType: Regex, backend: {service: {name: a, port: {number: 80}}}}
Y
out=$(kubectl apply -f "$T_DIR/bad.yaml" 2>&1)
want=('The Ingress "bad" is invalid: '
	'* spec.rules[0].host: Invalid value: "198.18.0.1": must be a DNS name, not an IP address'
	'* spec.rules[0].http.paths[0].path: Invalid value: "foo": must be an absolute path'
	'* spec.rules[0].http.paths[0].backend: Required value: port name or number is required'
	'* spec.rules[0].http.paths[1].pathType: Required value: pathType must be specified'
	'* spec.rules[0].http.paths[2].pathType: Unsupported value: "Regex": supported values: "Exact", "ImplementationSpecific", "Prefix"')
miss=
for w in "${want[@]}"; do printf '%s\n' "$out" | grep -qxF -- "$w" || miss="$miss|$w"; done
[ -z "$miss" ] && ok "a malformed Ingress gets Kubernetes' validation messages" || fail "a malformed Ingress gets Kubernetes' validation messages" "missing: $miss
got: $out"

# --ingress-service-type LoadBalancer: the server restarted with a pool; Ingresses then
# show the pool's address, which the kernel Service proxy carries to the agents' proxies.
kill "$SERVER_PID"
for _ in $(seq 1 300); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
cluster_server --loadbalancer-ip-pool 198.18.240.0/24 --ingress-service-type LoadBalancer
lbaddr() { kubectl get ingress paths -o jsonpath='{.status.loadBalancer.ingress[*].ip}'; }
if wait_for 30 sh -c "kubectl get ingress paths -o jsonpath='{.status.loadBalancer.ingress[*].ip}' | grep -Eqx '198\.18\.240\.[0-9]+'"; then
	ok "LoadBalancer mode: Ingress status shows the pool's address ($(lbaddr))"
else fail "LoadBalancer mode: Ingress status shows the pool's address" "$(lbaddr; kubectl get svc -n kube-system svcplane-ingress 2>&1)"; fi
LB=$(lbaddr)
cx ip route add 198.18.240.0/24 via $N1 2>/dev/null
if wait_for 30 routes b.example.com / b-1 "$LB"; then ok "LoadBalancer mode: the address routes by host"
else fail "LoadBalancer mode: the address routes by host" "$(get b.example.com / "$LB" 2>&1)"; fi
expect_out "LoadBalancer mode: HTTPS on the address, SNI certificate" 'CN *= *b.example.com' subject "$LB" b.example.com

finish
