/* schema_net.c - schemas of discovery.k8s.io/v1 EndpointSlice and networking.k8s.io/v1
 * Ingress and IngressClass, modelled completely.
 *
 * Field order, JSON names, protobuf numbers and patch tags follow k8s.io/api discovery/v1
 * and networking/v1 types.go and generated.proto. IngressRule's IngressRuleValue is the one
 * inline struct: protobuf field 2 of IngressRule, its "http" field a key of the rule in JSON.
 */
#include "api/schema_defs.h"

#define DISC "io.k8s.api.discovery.v1."
#define NET "io.k8s.api.networking.v1."

/* ---- EndpointSlice ---- */

API__SCHEMA(static, endpoint_conditions, DISC "EndpointConditions",
	    "EndpointConditions represents the current condition of an endpoint.",
	    FBOOL("ready", 1, PTR,
		  "ready indicates that this endpoint is ready to receive traffic, according to "
		  "whatever system is managing the endpoint. A nil value should be interpreted as "
		  "\"true\"."),
	    FBOOL("serving", 2, PTR,
		  "serving indicates that this endpoint is able to receive traffic, according to "
		  "whatever system is managing the endpoint. For endpoints backed by pods, the "
		  "EndpointSlice controller will set serving to true if the pod's Ready condition is "
		  "true. A nil value should be interpreted as \"true\"."),
	    FBOOL("terminating", 3, PTR,
		  "terminating indicates that this endpoint is terminating. A nil value should be "
		  "interpreted as \"false\"."));

API__SCHEMA(static, for_zone, DISC "ForZone",
	    "ForZone provides information about which zones should consume this endpoint.",
	    FSTR("name", 1, REQ, "name represents the name of the zone."));

API__SCHEMA(static, for_node, DISC "ForNode",
	    "ForNode provides information about which nodes should consume this endpoint.",
	    FSTR("name", 1, REQ, "name represents the name of the node."));

API__SCHEMA(static, endpoint_hints, DISC "EndpointHints",
	    "EndpointHints provides hints describing how an endpoint should be consumed.",
	    FLIST("forZones", for_zone, NULL, 1, 0,
		  "forZones indicates the zone(s) this endpoint should be consumed by when using "
		  "topology aware routing. May contain a maximum of 8 entries."),
	    FLIST("forNodes", for_node, NULL, 2, 0,
		  "forNodes indicates the node(s) this endpoint should be consumed by when using "
		  "topology aware routing. May contain a maximum of 8 entries."));

API__SCHEMA(static, endpoint, DISC "Endpoint",
	    "Endpoint represents a single logical \"backend\" implementing a service.",
	    FSTRS("addresses", 1, REQ | API_F_KEEP_EMPTY,
		  "addresses of this endpoint. For EndpointSlices of addressType \"IPv4\" or "
		  "\"IPv6\", the values are IP addresses in canonical form. This must contain at "
		  "least one address but no more than 100."),
	    FOBJ("conditions", endpoint_conditions, 2, 0,
		 "conditions contains information about the current status of the endpoint."),
	    FSTR("hostname", 3, PTR,
		 "hostname of this endpoint. This field may be used by consumers of endpoints to "
		 "distinguish endpoints from each other (e.g. in DNS names)."),
	    FOBJ("targetRef", api__schema_object_reference, 4, PTR,
		 "targetRef is a reference to a Kubernetes object that represents this endpoint."),
	    FMAP("deprecatedTopology", 5, 0,
		 "deprecatedTopology contains topology information part of the v1beta1 API. This "
		 "field is deprecated, and will be removed when the v1beta1 API is removed."),
	    FSTR("nodeName", 6, PTR,
		 "nodeName represents the name of the Node hosting this endpoint. This can be used "
		 "to determine endpoints local to a Node."),
	    FSTR("zone", 7, PTR, "zone is the name of the Zone this endpoint exists in."),
	    FOBJ("hints", endpoint_hints, 8, PTR,
		 "hints contains information associated with how an endpoint should be consumed."));

API__SCHEMA(static, endpoint_port, DISC "EndpointPort",
	    "EndpointPort represents a Port used by an EndpointSlice",
	    FSTR("name", 1, PTR,
		 "name represents the name of this port. All ports in an EndpointSlice must have a "
		 "unique name. Default is empty string."),
	    FENUM("protocol", API__ENUM("SCTP", "TCP", "UDP"), 2, PTR,
		  "protocol represents the IP protocol for this port. Must be UDP, TCP, or SCTP. "
		  "Default is TCP."),
	    FINT("port", 3, PTR,
		 "port represents the port number of the endpoint. If the EndpointSlice is derived "
		 "from a Kubernetes service, this must be set to the service's target port."),
	    FSTR("appProtocol", 4, PTR, "The application protocol for this port."));

API__SCHEMA(, api__schema_endpoint_slice, DISC "EndpointSlice",
	    "EndpointSlice represents a set of service endpoints. Most EndpointSlices are created "
	    "by the EndpointSlice controller to represent the Pods selected by Service objects.",
	    API__TYPE_META, API__OBJECT_META(1, 0),
	    FENUM("addressType", API__ENUM("FQDN", "IPv4", "IPv6"), 4, REQ,
		  "addressType specifies the type of address carried by this EndpointSlice: IPv4, "
		  "IPv6 or FQDN. This field is immutable after creation."),
	    FLIST("endpoints", endpoint, NULL, 2, REQ | API_F_KEEP_EMPTY,
		  "endpoints is a list of unique endpoints in this slice. Each slice may include a "
		  "maximum of 1000 endpoints."),
	    FLIST("ports", endpoint_port, NULL, 3, API_F_KEEP_EMPTY,
		  "ports specifies the list of network ports exposed by each endpoint in this slice."));

/* ---- Ingress ---- */

API__SCHEMA(static, service_backend_port, NET "ServiceBackendPort",
	    "ServiceBackendPort is the service port being referenced.",
	    FSTR("name", 1, 0,
		 "name is the name of the port on the Service. This is a mutually exclusive setting "
		 "with \"Number\"."),
	    FINT("number", 2, 0,
		 "number is the numerical port number (e.g. 80) on the Service. This is a mutually "
		 "exclusive setting with \"Name\"."));

API__SCHEMA(static, ingress_service_backend, NET "IngressServiceBackend",
	    "IngressServiceBackend references a Kubernetes Service as a Backend.",
	    FSTR("name", 1, REQ,
		 "name is the referenced service. The service must exist in the same namespace as "
		 "the Ingress object."),
	    FOBJ("port", service_backend_port, 2, 0,
		 "port of the referenced service. A port name or port number is required for a "
		 "IngressServiceBackend."));

API__SCHEMA(static, ingress_backend, NET "IngressBackend",
	    "IngressBackend describes all endpoints for a given service and port.",
	    FOBJ("service", ingress_service_backend, 4, PTR,
		 "service references a service as a backend. This is a mutually exclusive setting "
		 "with \"Resource\"."),
	    FOBJ("resource", api__schema_typed_local_object_reference, 3, PTR,
		 "resource is an ObjectRef to another Kubernetes resource in the namespace of the "
		 "Ingress object. If resource is specified, a service.Name and service.Port must "
		 "not be specified."));

API__SCHEMA(static, ingress_tls, NET "IngressTLS",
	    "IngressTLS describes the transport layer security associated with an ingress.",
	    FSTRS("hosts", 1, 0,
		  "hosts is a list of hosts included in the TLS certificate. The values in this list "
		  "must match the name/s used in the tlsSecret."),
	    FSTR("secretName", 2, 0,
		 "secretName is the name of the secret used to terminate TLS traffic on port 443."));

API__SCHEMA(static, http_ingress_path, NET "HTTPIngressPath",
	    "HTTPIngressPath associates a path with a backend. Incoming urls matching the path are "
	    "forwarded to the backend.",
	    FSTR("path", 1, 0,
		 "path is matched against the path of an incoming request. Paths must begin with a "
		 "'/' and must be present when using PathType with value \"Exact\" or \"Prefix\"."),
	    FENUM("pathType", API__ENUM("Exact", "ImplementationSpecific", "Prefix"), 3, REQ | PTR,
		  "pathType determines the interpretation of the path matching: Exact, Prefix or "
		  "ImplementationSpecific."),
	    FOBJ("backend", ingress_backend, 2, REQ,
		 "backend defines the referenced service endpoint to which the traffic will be "
		 "forwarded to."));

API__SCHEMA(static, http_ingress_rule_value, NET "HTTPIngressRuleValue",
	    "HTTPIngressRuleValue is a list of http selectors pointing to backends.",
	    FLIST("paths", http_ingress_path, NULL, 1, REQ | API_F_KEEP_EMPTY,
		  "paths is a collection of paths that map requests to backends."));

API__SCHEMA(static, ingress_rule_value, NET "IngressRuleValue",
	    "IngressRuleValue represents a rule to apply against incoming requests.",
	    FOBJ("http", http_ingress_rule_value, 1, PTR,
		 "HTTPIngressRuleValue is a list of http selectors pointing to backends."));

API__SCHEMA(static, ingress_rule, NET "IngressRule",
	    "IngressRule represents the rules mapping the paths under a specified host to the "
	    "related backend services.",
	    FSTR("host", 1, 0,
		 "host is the fully qualified domain name of a network host, as defined by RFC "
		 "3986, or a wildcard (\"*.foo.com\")."),
	    FINL("ingressRuleValue", ingress_rule_value, 2));

API__SCHEMA(static, ingress_spec, NET "IngressSpec",
	    "IngressSpec describes the Ingress the user wishes to exist.",
	    FSTR("ingressClassName", 4, PTR,
		 "ingressClassName is the name of an IngressClass cluster resource."),
	    FOBJ("defaultBackend", ingress_backend, 1, PTR,
		 "defaultBackend is the backend that should handle requests that don't match any "
		 "rule."),
	    FLIST("tls", ingress_tls, NULL, 2, 0,
		  "tls represents the TLS configuration. Currently the Ingress only supports a "
		  "single TLS port, 443."),
	    FLIST("rules", ingress_rule, NULL, 3, 0,
		  "rules is a list of host rules used to configure the Ingress. If unspecified, or "
		  "no rule matches, all traffic is sent to the default backend."));

API__SCHEMA(static, ingress_port_status, NET "IngressPortStatus",
	    "IngressPortStatus represents the error condition of a service port",
	    FINT("port", 1, REQ, "port is the port number of the ingress port."),
	    FENUM("protocol", API__ENUM("SCTP", "TCP", "UDP"), 2, REQ,
		  "protocol is the protocol of the ingress port."),
	    FSTR("error", 3, PTR, "error is to record the problem with the service port"));

API__SCHEMA(static, ingress_load_balancer_ingress, NET "IngressLoadBalancerIngress",
	    "IngressLoadBalancerIngress represents the status of a load-balancer ingress point.",
	    FSTR("ip", 1, 0, "ip is set for load-balancer ingress points that are IP based."),
	    FSTR("hostname", 2, 0, "hostname is set for load-balancer ingress points that are DNS based."),
	    FLIST("ports", ingress_port_status, NULL, 4, 0,
		  "ports provides information about the ports exposed by this LoadBalancer."));

API__SCHEMA(static, ingress_load_balancer_status, NET "IngressLoadBalancerStatus",
	    "IngressLoadBalancerStatus represents the status of a load-balancer.",
	    FLIST("ingress", ingress_load_balancer_ingress, NULL, 1, 0,
		  "ingress is a list containing ingress points for the load-balancer."));

API__SCHEMA(static, ingress_status, NET "IngressStatus",
	    "IngressStatus describe the current state of the Ingress.",
	    FOBJ("loadBalancer", ingress_load_balancer_status, 1, 0,
		 "loadBalancer contains the current status of the load-balancer."));

API__SCHEMA(, api__schema_ingress, NET "Ingress",
	    "Ingress is a collection of rules that allow inbound connections to reach the endpoints "
	    "defined by a backend. An Ingress can be configured to give services "
	    "externally-reachable urls, load balance traffic, terminate SSL, offer name based "
	    "virtual hosting etc.",
	    API__TYPE_META, API__OBJECT_META(1, 0),
	    FOBJ("spec", ingress_spec, 2, 0, "spec is the desired state of the Ingress."),
	    FOBJ("status", ingress_status, 3, 0, "status is the current state of the Ingress."));

/* ---- Ingress in the deprecated versions (extensions/v1beta1, networking.k8s.io/v1beta1) ----
 *
 * Served only as views of the stored v1 object (api/ingress_conv.c converts both ways).
 * They differ from v1 in the backend (serviceName/servicePort instead of service.name/
 * port.number|name), spec.backend for spec.defaultBackend and an optional pathType; TLS,
 * rules' host and status are v1's tables. One macro writes both versions' tables so the
 * OpenAPI document of each names its own group. */

#define OLD_INGRESS(var, P)                                                                                  \
	API__SCHEMA(static, var##_backend, P "IngressBackend",                                               \
		    "IngressBackend describes all endpoints for a given service and port.",                  \
		    FSTR("serviceName", 1, 0, "Specifies the name of the referenced service."),              \
		    FIOS("servicePort", 2, 0, "Specifies the port of the referenced service."),              \
		    FOBJ("resource", api__schema_typed_local_object_reference, 3, PTR,                       \
			 "Resource is an ObjectRef to another Kubernetes resource in the namespace of the "  \
			 "Ingress object."));                                                                \
	API__SCHEMA(static, var##_path, P "HTTPIngressPath",                                                 \
		    "HTTPIngressPath associates a path with a backend.",                                     \
		    FSTR("path", 1, 0, "Path is matched against the path of an incoming request."),          \
		    FSTR("pathType", 3, PTR,                                                                 \
			 "PathType determines the interpretation of the Path matching. Defaults to "         \
			 "ImplementationSpecific."),                                                         \
		    FOBJ("backend", var##_backend, 2, REQ,                                                   \
			 "Backend defines the referenced service endpoint to which the traffic will be "     \
			 "forwarded to."));                                                                  \
	API__SCHEMA(static, var##_http, P "HTTPIngressRuleValue",                                            \
		    "HTTPIngressRuleValue is a list of http selectors pointing to backends.",                \
		    FLIST("paths", var##_path, NULL, 1, REQ,                                                 \
			  "A collection of paths that map requests to backends."));                          \
	API__SCHEMA(static, var##_rule_value, P "IngressRuleValue",                                          \
		    "IngressRuleValue represents a rule to apply against incoming requests.",                \
		    FOBJ("http", var##_http, 1, PTR, "HTTPIngressRuleValue"));                               \
	API__SCHEMA(static, var##_rule, P "IngressRule",                                                     \
		    "IngressRule represents the rules mapping the paths under a specified host to the "      \
		    "related backend services.",                                                             \
		    FSTR("host", 1, 0, "Host is the fully qualified domain name of a network host."),        \
		    FINL("ingressRuleValue", var##_rule_value, 2));                                          \
	API__SCHEMA(                                                                                         \
	    static, var##_spec, P "IngressSpec",                                                             \
	    "IngressSpec describes the Ingress the user wishes to exist.",                                   \
	    FSTR("ingressClassName", 4, PTR, "IngressClassName is the name of the IngressClass."),           \
	    FOBJ("backend", var##_backend, 1, PTR,                                                           \
		 "A default backend capable of servicing requests that don't match any rule."),              \
	    FLIST("tls", ingress_tls, NULL, 2, 0, "TLS configuration."),                                     \
	    FLIST("rules", var##_rule, NULL, 3, 0, "A list of host rules used to configure the Ingress."));  \
	API__SCHEMA(, var, P "Ingress",                                                                      \
		    "Ingress is a collection of rules that allow inbound connections to reach the "          \
		    "endpoints defined by a backend (deprecated version).",                                  \
		    API__TYPE_META, API__OBJECT_META(1, 0),                                                  \
		    FOBJ("spec", var##_spec, 2, 0, "Spec is the desired state of the Ingress."),             \
		    FOBJ("status", ingress_status, 3, 0, "Status is the current state of the Ingress."))

OLD_INGRESS(api__schema_ingress_ext_v1beta1, "io.k8s.api.extensions.v1beta1.");
OLD_INGRESS(api__schema_ingress_net_v1beta1, "io.k8s.api.networking.v1beta1.");

/* ---- IngressClass ---- */

API__SCHEMA(static, ingress_class_parameters_reference, NET "IngressClassParametersReference",
	    "IngressClassParametersReference identifies an API object. This can be used to specify "
	    "a cluster or namespace-scoped resource.",
	    FSTR("apiGroup", 1, PTR,
		 "apiGroup is the group for the resource being referenced. If APIGroup is not "
		 "specified, the specified Kind must be in the core API group."),
	    FSTR("kind", 2, REQ, "kind is the type of resource being referenced."),
	    FSTR("name", 3, REQ, "name is the name of resource being referenced."),
	    FSTR("scope", 4, PTR,
		 "scope represents if this refers to a cluster or namespace scoped resource. This "
		 "may be set to \"Cluster\" (default) or \"Namespace\"."),
	    FSTR("namespace", 5, PTR,
		 "namespace is the namespace of the resource being referenced. This field is "
		 "required when scope is set to \"Namespace\" and must be unset when scope is set "
		 "to \"Cluster\"."));

API__SCHEMA(static, ingress_class_spec, NET "IngressClassSpec",
	    "IngressClassSpec provides information about the class of an Ingress.",
	    FSTR("controller", 1, 0,
		 "controller refers to the name of the controller that should handle this class. "
		 "This should be specified as a domain-prefixed path, e.g. "
		 "\"acme.io/ingress-controller\". This field is immutable."),
	    FOBJ("parameters", ingress_class_parameters_reference, 2, PTR,
		 "parameters is a link to a custom resource containing additional configuration for "
		 "the controller."));

API__SCHEMA(, api__schema_ingress_class, NET "IngressClass",
	    "IngressClass represents the class of the Ingress, referenced by the Ingress Spec.",
	    API__TYPE_META, API__OBJECT_META(1, 0),
	    FOBJ("spec", ingress_class_spec, 2, 0, "spec is the desired state of the IngressClass."));
