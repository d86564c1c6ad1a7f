/* schema_core.c - schemas of the core/v1 kinds: Namespace, Node, Service, Endpoints, Pod,
 * Event, and every type they embed.
 *
 * Field order, JSON names, protobuf numbers and patch tags follow k8s.io/api core/v1
 * types.go and generated.proto (Kubernetes 1.33, plus the few fields newer releases
 * added, which an older client never sends). Tables are written leaves first, so every
 * schema is defined before it is referenced.
 *
 * Modelled in depth: everything of Namespace, Node, Service, Endpoints and Event; of Pod
 * everything but the contents of volume sources (each source is listed by name as
 * API_ANY), workloadRef, restartPolicyRules and a few alpha status fields.
 */
#include "api/schema_defs.h"

#define CORE "io.k8s.api.core.v1."

/* ---- shared references ---- */

API__SCHEMA(, api__schema_object_reference, CORE "ObjectReference",
	    "ObjectReference contains enough information to let you inspect or modify the referred "
	    "object.",
	    FSTR("kind", 1, 0, "Kind of the referent."),
	    FSTR("namespace", 2, 0, "Namespace of the referent."),
	    FSTR("name", 3, 0, "Name of the referent."), FSTR("uid", 4, 0, "UID of the referent."),
	    FSTR("apiVersion", 5, 0, "API version of the referent."),
	    FSTR("resourceVersion", 6, 0,
		 "Specific resourceVersion to which this reference is made, if any."),
	    FSTR("fieldPath", 7, 0,
		 "If referring to a piece of an object instead of an entire object, this string "
		 "should contain a valid JSON/Go field access statement, such as "
		 "desiredState.manifest.containers[2]."));

API__SCHEMA(, api__schema_typed_local_object_reference, CORE "TypedLocalObjectReference",
	    "TypedLocalObjectReference contains enough information to let you locate the typed "
	    "referenced object inside the same namespace.",
	    FSTR("apiGroup", 1, PTR,
		 "APIGroup is the group for the resource being referenced. If APIGroup is not "
		 "specified, the specified Kind must be in the core API group."),
	    FSTR("kind", 2, REQ, "Kind is the type of resource being referenced"),
	    FSTR("name", 3, REQ, "Name is the name of resource being referenced"));

API__SCHEMA(, api__schema_local_object_reference, CORE "LocalObjectReference",
	    "LocalObjectReference contains enough information to let you locate the referenced "
	    "object inside the same namespace.",
	    FSTR("name", 1, 0, "Name of the referent."));

/* ---- Namespace ---- */

API__SCHEMA(static, namespace_spec, CORE "NamespaceSpec",
	    "NamespaceSpec describes the attributes on a Namespace.",
	    FSTRS("finalizers", 1, 0,
		  "Finalizers is an opaque list of values that must be empty to permanently remove "
		  "object from storage."));

API__SCHEMA(static, namespace_condition, CORE "NamespaceCondition",
	    "NamespaceCondition contains details about state of namespace.",
	    FSTR("type", 1, REQ, "Type of namespace controller condition."),
	    FSTR("status", 2, REQ, "Status of the condition, one of True, False, Unknown."),
	    FTIME("lastTransitionTime", 4, 0,
		  "Last time the condition transitioned from one status to another."),
	    FSTR("reason", 5, 0,
		 "Unique, one-word, CamelCase reason for the condition's last "
		 "transition."),
	    FSTR("message", 6, 0, "Human-readable message indicating details about last transition."));

API__SCHEMA(static, namespace_status, CORE "NamespaceStatus",
	    "NamespaceStatus is information about the current status of a Namespace.",
	    FENUM("phase", API__ENUM("Active", "Terminating"), 1, 0,
		  "Phase is the current lifecycle phase of the namespace."),
	    FLIST("conditions", namespace_condition, "type", 2, 0,
		  "Represents the latest available observations of a namespace's current state."));

API__SCHEMA(, api__schema_namespace, CORE "Namespace",
	    "Namespace provides a scope for Names. Use of multiple namespaces is optional.", API__TYPE_META,
	    API__OBJECT_META(1, 0),
	    FOBJ("spec", namespace_spec, 2, 0, "Spec defines the behavior of the Namespace."),
	    FOBJ("status", namespace_status, 3, 0, "Status describes the current status of a Namespace."));

/* ---- Node ---- */

API__SCHEMA(static, taint, CORE "Taint",
	    "The node this Taint is attached to has the \"effect\" on any pod that does not "
	    "tolerate the Taint.",
	    FSTR("key", 1, REQ, "Required. The taint key to be applied to a node."),
	    FSTR("value", 2, 0, "The taint value corresponding to the taint key."),
	    FENUM("effect", API__ENUM("NoExecute", "NoSchedule", "PreferNoSchedule"), 3, REQ,
		  "Required. The effect of the taint on pods that do not tolerate the taint. Valid "
		  "effects are NoSchedule, PreferNoSchedule and NoExecute."),
	    FTIME("timeAdded", 4, PTR, "TimeAdded represents the time at which the taint was added."));

API__SCHEMA(static, config_map_node_config_source, CORE "ConfigMapNodeConfigSource",
	    "ConfigMapNodeConfigSource contains the information to reference a ConfigMap as a "
	    "config source for the Node.",
	    FSTR("namespace", 1, REQ, "Namespace is the metadata.namespace of the referenced ConfigMap."),
	    FSTR("name", 2, REQ, "Name is the metadata.name of the referenced ConfigMap."),
	    FSTR("uid", 3, 0, "UID is the metadata.UID of the referenced ConfigMap."),
	    FSTR("resourceVersion", 4, 0,
		 "ResourceVersion is the metadata.ResourceVersion of the referenced ConfigMap."),
	    FSTR("kubeletConfigKey", 5, REQ,
		 "KubeletConfigKey declares which key of the referenced ConfigMap corresponds to the "
		 "KubeletConfiguration structure"));

API__SCHEMA(static, node_config_source, CORE "NodeConfigSource",
	    "NodeConfigSource specifies a source of node configuration.",
	    FOBJ("configMap", config_map_node_config_source, 2, PTR,
		 "ConfigMap is a reference to a Node's ConfigMap"));

API__SCHEMA(static, node_spec, CORE "NodeSpec",
	    "NodeSpec describes the attributes that a node is created with.",
	    FSTR("podCIDR", 1, 0, "PodCIDR represents the pod IP range assigned to the node."),
	    FSTRS("podCIDRs", 7, SET,
		  "podCIDRs represents the IP ranges assigned to the node for usage by Pods on that "
		  "node. If this field is specified, the 0th entry must match the podCIDR field."),
	    FSTR("providerID", 3, 0,
		 "ID of the node assigned by the cloud provider in the format: "
		 "<ProviderName>://<ProviderSpecificNodeID>"),
	    FBOOL("unschedulable", 4, 0,
		  "Unschedulable controls node schedulability of new pods. By default, node is "
		  "schedulable."),
	    FLIST("taints", taint, NULL, 5, 0, "If specified, the node's taints."),
	    FOBJ("configSource", node_config_source, 6, PTR,
		 "Deprecated: Previously used to specify the source of the node's configuration for "
		 "the DynamicKubeletConfig feature. This feature is removed."),
	    FSTR("externalID", 2, 0,
		 "Deprecated. Not all kubelets will set this field. Remove field after 1.13."));

API__SCHEMA(static, node_condition, CORE "NodeCondition",
	    "NodeCondition contains condition information for a node.",
	    FSTR("type", 1, REQ, "Type of node condition."),
	    FSTR("status", 2, REQ, "Status of the condition, one of True, False, Unknown."),
	    FTIME("lastHeartbeatTime", 3, 0, "Last time we got an update on a given condition."),
	    FTIME("lastTransitionTime", 4, 0, "Last time the condition transit from one status to another."),
	    FSTR("reason", 5, 0, "(brief) reason for the condition's last transition."),
	    FSTR("message", 6, 0, "Human readable message indicating details about last transition."));

API__SCHEMA(static, node_address, CORE "NodeAddress",
	    "NodeAddress contains information for the node's address.",
	    FSTR("type", 1, REQ, "Node address type, one of Hostname, ExternalIP or InternalIP."),
	    FSTR("address", 2, REQ, "The node address."));

API__SCHEMA(static, daemon_endpoint, CORE "DaemonEndpoint",
	    "DaemonEndpoint contains information about a single Daemon endpoint.",
	    FINT("Port", 1, REQ, "Port number of the given endpoint."));

API__SCHEMA(static, node_daemon_endpoints, CORE "NodeDaemonEndpoints",
	    "NodeDaemonEndpoints lists ports opened by daemons running on the Node.",
	    FOBJ("kubeletEndpoint", daemon_endpoint, 1, 0, "Endpoint on which Kubelet is listening."));

API__SCHEMA(static, node_swap_status, CORE "NodeSwapStatus",
	    "NodeSwapStatus represents swap memory information.",
	    FINT("capacity", 1, PTR | I64, "Total amount of swap memory in bytes."));

API__SCHEMA(static, node_system_info, CORE "NodeSystemInfo",
	    "NodeSystemInfo is a set of ids/uuids to uniquely identify the node.",
	    FSTR("machineID", 1, REQ, "MachineID reported by the node."),
	    FSTR("systemUUID", 2, REQ, "SystemUUID reported by the node."),
	    FSTR("bootID", 3, REQ, "Boot ID reported by the node."),
	    FSTR("kernelVersion", 4, REQ,
		 "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64)."),
	    FSTR("osImage", 5, REQ,
		 "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 "
		 "(wheezy))."),
	    FSTR("containerRuntimeVersion", 6, REQ,
		 "ContainerRuntime Version reported by the node through runtime remote API (e.g. "
		 "containerd://1.4.2)."),
	    FSTR("kubeletVersion", 7, REQ, "Kubelet Version reported by the node."),
	    FSTR("kubeProxyVersion", 8, REQ, "Deprecated: KubeProxy Version reported by the node."),
	    FSTR("operatingSystem", 9, REQ, "The Operating System reported by the node"),
	    FSTR("architecture", 10, REQ, "The Architecture reported by the node"),
	    FOBJ("swap", node_swap_status, 11, PTR, "Swap Info reported by the node."));

API__SCHEMA(static, container_image, CORE "ContainerImage", "Describe a container image",
	    FSTRS("names", 1, API_F_KEEP_EMPTY, "Names by which this image is known."),
	    FINT("sizeBytes", 2, I64, "The size of the image in bytes."));

API__SCHEMA(static, attached_volume, CORE "AttachedVolume",
	    "AttachedVolume describes a volume attached to a node",
	    FSTR("name", 1, REQ, "Name of the attached volume"),
	    FSTR("devicePath", 2, REQ,
		 "DevicePath represents the device path where the volume should be available"));

API__SCHEMA(static, node_config_status, CORE "NodeConfigStatus",
	    "NodeConfigStatus describes the status of the config assigned by "
	    "Node.Spec.ConfigSource.",
	    FOBJ("assigned", node_config_source, 1, PTR,
		 "Assigned reports the checkpointed config the node will try to use."),
	    FOBJ("active", node_config_source, 2, PTR,
		 "Active reports the checkpointed config the node is actively using."),
	    FOBJ("lastKnownGood", node_config_source, 3, PTR,
		 "LastKnownGood reports the checkpointed config the node will fall back to when it "
		 "encounters an error attempting to use the Assigned config."),
	    FSTR("error", 4, 0,
		 "Error describes any problems reconciling the Spec.ConfigSource to the Active "
		 "config."));

API__SCHEMA(static, node_runtime_handler_features, CORE "NodeRuntimeHandlerFeatures",
	    "NodeRuntimeHandlerFeatures is a set of features implemented by the runtime handler.",
	    FBOOL("recursiveReadOnlyMounts", 1, PTR,
		  "RecursiveReadOnlyMounts is set to true if the runtime handler supports "
		  "RecursiveReadOnlyMounts."),
	    FBOOL("userNamespaces", 2, PTR,
		  "UserNamespaces is set to true if the runtime handler supports UserNamespaces, "
		  "including for volumes."));

API__SCHEMA(static, node_runtime_handler, CORE "NodeRuntimeHandler",
	    "NodeRuntimeHandler is a set of runtime handler information.",
	    FSTR("name", 1, 0, "Runtime handler name. Empty for the default runtime handler."),
	    FOBJ("features", node_runtime_handler_features, 2, PTR, "Supported features."));

API__SCHEMA(static, node_features, CORE "NodeFeatures",
	    "NodeFeatures describes the set of features implemented by the CRI implementation.",
	    FBOOL("supplementalGroupsPolicy", 1, PTR,
		  "SupplementalGroupsPolicy is set to true if the runtime supports "
		  "SupplementalGroupsPolicy and ContainerUser."),
	    FBOOL("containerUlimits", 2, PTR,
		  "ContainerUlimits is set to true if the runtime supports per-container ulimits."));

API__SCHEMA(static, node_status, CORE "NodeStatus",
	    "NodeStatus is information about the current status of a node.",
	    FQMAP("capacity", 1, 0, "Capacity represents the total resources of a node."),
	    FQMAP("allocatable", 2, 0,
		  "Allocatable represents the resources of a node that are available for "
		  "scheduling. Defaults to Capacity."),
	    FENUM("phase", API__ENUM("Pending", "Running", "Terminated"), 3, 0,
		  "NodePhase is the recently observed lifecycle phase of the node. The field is never "
		  "populated, and now is deprecated."),
	    FLIST("conditions", node_condition, "type", 4, 0,
		  "Conditions is an array of current observed node conditions."),
	    FLIST("addresses", node_address, "type", 5, 0,
		  "List of addresses reachable to the node. Queried from cloud provider, if "
		  "available."),
	    FOBJ("daemonEndpoints", node_daemon_endpoints, 6, 0, "Endpoints of daemons running on the Node."),
	    FOBJ("nodeInfo", node_system_info, 7, 0, "Set of ids/uuids to uniquely identify the node."),
	    FLIST("images", container_image, NULL, 8, 0, "List of container images on this node"),
	    FSTRS("volumesInUse", 9, 0, "List of attachable volumes in use (mounted) by the node."),
	    FLIST("volumesAttached", attached_volume, NULL, 10, 0,
		  "List of volumes that are attached to the node."),
	    FOBJ("config", node_config_status, 11, PTR,
		 "Status of the config assigned to the node via the dynamic Kubelet config feature."),
	    FLIST("runtimeHandlers", node_runtime_handler, NULL, 12, 0, "The available runtime handlers."),
	    FOBJ("features", node_features, 13, PTR,
		 "Features describes the set of features implemented by the CRI implementation."),
	    FSTRS("declaredFeatures", 14, 0,
		  "DeclaredFeatures represents the features related to feature gates that are "
		  "declared by the node."));

API__SCHEMA(, api__schema_node, CORE "Node",
	    "Node is a worker node in Kubernetes. Each node will have a unique identifier in the "
	    "cache (i.e. in etcd).",
	    API__TYPE_META, API__OBJECT_META(1, 0),
	    FOBJ("spec", node_spec, 2, 0, "Spec defines the behavior of a node."),
	    FOBJ("status", node_status, 3, 0,
		 "Most recently observed status of the node. Populated by the system. Read-only."));

/* ---- Service ---- */

API__SCHEMA(static, service_port, CORE "ServicePort", "ServicePort contains information on service's port.",
	    FSTR("name", 1, 0,
		 "The name of this port within the service. This must be a DNS_LABEL. All ports "
		 "within a ServiceSpec must have unique names. Optional if only one ServicePort is "
		 "defined on this service."),
	    FENUM("protocol", API__ENUM("SCTP", "TCP", "UDP"), 2, 0,
		  "The IP protocol for this port. Supports \"TCP\", \"UDP\", and \"SCTP\". Default "
		  "is TCP."),
	    FSTR("appProtocol", 6, PTR,
		 "The application protocol for this port. This is used as a hint for "
		 "implementations to offer richer behavior for protocols that they understand."),
	    FINT("port", 3, REQ, "The port that will be exposed by this service."),
	    FIOS("targetPort", 4, 0,
		 "Number or name of the port to access on the pods targeted by the service. Number "
		 "must be in the range 1 to 65535. Name must be an IANA_SVC_NAME. If this is not "
		 "specified, the value of the 'port' field is used (an identity map)."),
	    FINT("nodePort", 5, 0,
		 "The port on each node on which this service is exposed when type is NodePort or "
		 "LoadBalancer. Usually assigned by the system."));

API__SCHEMA(static, client_ip_config, CORE "ClientIPConfig",
	    "ClientIPConfig represents the configurations of Client IP based session affinity.",
	    FINT("timeoutSeconds", 1, PTR,
		 "timeoutSeconds specifies the seconds of ClientIP type session sticky time. The "
		 "value must be >0 && <=86400(for 1 day) if ServiceAffinity == \"ClientIP\". Default "
		 "value is 10800(for 3 hours)."));

API__SCHEMA(static, session_affinity_config, CORE "SessionAffinityConfig",
	    "SessionAffinityConfig represents the configurations of session affinity.",
	    FOBJ("clientIP", client_ip_config, 1, PTR,
		 "clientIP contains the configurations of Client IP based session affinity."));

API__SCHEMA(static, service_spec, CORE "ServiceSpec",
	    "ServiceSpec describes the attributes that a user creates on a service.",
	    FLIST("ports", service_port, "port", 1, 0, "The list of ports that are exposed by this service."),
	    FMAP("selector", 2, API_F_ATOMIC,
		 "Route service traffic to pods with label keys and values matching this selector. "
		 "If empty or not present, the service is assumed to have an external process "
		 "managing its endpoints, which Kubernetes will not modify."),
	    FSTR("clusterIP", 3, 0,
		 "clusterIP is the IP address of the service and is usually assigned randomly. "
		 "Valid values are \"None\", empty string (\"\"), or a valid IP address."),
	    FSTRS("clusterIPs", 18, 0,
		  "ClusterIPs is a list of IP addresses assigned to this service, and are usually "
		  "assigned randomly. If this field is specified, clients must ensure that "
		  "clusterIPs[0] and clusterIP have the same value."),
	    FENUM("type", API__ENUM("ClusterIP", "ExternalName", "LoadBalancer", "NodePort"), 4, 0,
		  "type determines how the Service is exposed. Defaults to ClusterIP. Valid options "
		  "are ExternalName, ClusterIP, NodePort, and LoadBalancer."),
	    FSTRS("externalIPs", 5, 0,
		  "externalIPs is a list of IP addresses for which nodes in the cluster will also "
		  "accept traffic for this service."),
	    FENUM("sessionAffinity", API__ENUM("ClientIP", "None"), 7, 0,
		  "Supports \"ClientIP\" and \"None\". Used to maintain session affinity. Defaults to "
		  "None."),
	    FSTR("loadBalancerIP", 8, 0,
		 "Only applies to Service Type: LoadBalancer. Deprecated: This field was "
		 "under-specified and its meaning varies across implementations."),
	    FSTRS("loadBalancerSourceRanges", 9, 0,
		  "If specified and supported by the platform, this will restrict traffic through "
		  "the cloud-provider load-balancer will be restricted to the specified client IPs."),
	    FSTR("externalName", 10, 0,
		 "externalName is the external reference that discovery mechanisms will return as "
		 "an alias for this service (e.g. a DNS CNAME record)."),
	    FENUM("externalTrafficPolicy", API__ENUM("Cluster", "Local"), 11, 0,
		  "externalTrafficPolicy describes how nodes distribute service traffic they receive "
		  "on one of the Service's \"externally-facing\" addresses (NodePorts, ExternalIPs, "
		  "and LoadBalancer IPs)."),
	    FINT("healthCheckNodePort", 12, 0,
		 "healthCheckNodePort specifies the healthcheck nodePort for the service."),
	    FBOOL("publishNotReadyAddresses", 13, 0,
		  "publishNotReadyAddresses indicates that any agent which deals with endpoints for "
		  "this Service should disregard any indications of ready/not-ready."),
	    FOBJ("sessionAffinityConfig", session_affinity_config, 14, PTR,
		 "sessionAffinityConfig contains the configurations of session affinity."),
	    FENUMS("ipFamilies", API__ENUM("IPv4", "IPv6"), 19, 0,
		   "IPFamilies is a list of IP families (e.g. IPv4, IPv6) assigned to this service."),
	    FENUM("ipFamilyPolicy", API__ENUM("PreferDualStack", "RequireDualStack", "SingleStack"), 17, PTR,
		  "IPFamilyPolicy represents the dual-stack-ness requested or required by this "
		  "Service: SingleStack, PreferDualStack or RequireDualStack."),
	    FBOOL("allocateLoadBalancerNodePorts", 20, PTR,
		  "allocateLoadBalancerNodePorts defines if NodePorts will be automatically "
		  "allocated for services with type LoadBalancer. Default is \"true\"."),
	    FSTR("loadBalancerClass", 21, PTR,
		 "loadBalancerClass is the class of the load balancer implementation this Service "
		 "belongs to."),
	    FENUM("internalTrafficPolicy", API__ENUM("Cluster", "Local"), 22, PTR,
		  "InternalTrafficPolicy describes how nodes distribute service traffic they receive "
		  "on the ClusterIP."),
	    FSTR("trafficDistribution", 23, PTR,
		 "TrafficDistribution offers a way to express preferences for how traffic is "
		 "distributed to Service endpoints."));

API__SCHEMA(static, port_status, CORE "PortStatus",
	    "PortStatus represents the error condition of a service port",
	    FINT("port", 1, REQ,
		 "Port is the port number of the service port of which status is recorded here"),
	    FENUM("protocol", API__ENUM("SCTP", "TCP", "UDP"), 2, REQ,
		  "Protocol is the protocol of the service port of which status is recorded here"),
	    FSTR("error", 3, PTR, "Error is to record the problem with the service port"));

API__SCHEMA(static, load_balancer_ingress, CORE "LoadBalancerIngress",
	    "LoadBalancerIngress represents the status of a load-balancer ingress point: traffic "
	    "intended for the service should be sent to an ingress point.",
	    FSTR("ip", 1, 0, "IP is set for load-balancer ingress points that are IP based"),
	    FSTR("hostname", 2, 0, "Hostname is set for load-balancer ingress points that are DNS based"),
	    FSTR("ipMode", 3, PTR,
		 "IPMode specifies how the load-balancer IP behaves, and may only be specified when "
		 "the ip field is specified: \"VIP\" or \"Proxy\"."),
	    FLIST("ports", port_status, NULL, 4, 0, "Ports is a list of records of service ports"));

API__SCHEMA(static, load_balancer_status, CORE "LoadBalancerStatus",
	    "LoadBalancerStatus represents the status of a load-balancer.",
	    FLIST("ingress", load_balancer_ingress, NULL, 1, 0,
		  "Ingress is a list containing ingress points for the load-balancer."));

API__SCHEMA(static, service_status, CORE "ServiceStatus",
	    "ServiceStatus represents the current status of a service.",
	    FOBJ("loadBalancer", load_balancer_status, 1, 0,
		 "LoadBalancer contains the current status of the load-balancer, if one is "
		 "present."),
	    FLIST("conditions", api__schema_condition, "type", 2, 0, "Current service state"));

API__SCHEMA(, api__schema_service, CORE "Service",
	    "Service is a named abstraction of software service (for example, mysql) consisting of "
	    "local port (for example 3306) that the proxy listens on, and the selector that "
	    "determines which pods will answer requests sent through the proxy.",
	    API__TYPE_META, API__OBJECT_META(1, 0),
	    FOBJ("spec", service_spec, 2, 0, "Spec defines the behavior of a service."),
	    FOBJ("status", service_status, 3, 0,
		 "Most recently observed status of the service. Populated by the system. "
		 "Read-only."));

/* ---- Endpoints ---- */

API__SCHEMA(static, endpoint_address, CORE "EndpointAddress",
	    "EndpointAddress is a tuple that describes single IP address.",
	    FSTR("ip", 1, REQ, "The IP of this endpoint."),
	    FSTR("hostname", 3, 0, "The Hostname of this endpoint"),
	    FSTR("nodeName", 4, PTR,
		 "Optional: Node hosting this endpoint. This can be used to determine endpoints "
		 "local to a node."),
	    FOBJ("targetRef", api__schema_object_reference, 2, PTR,
		 "Reference to object providing the endpoint."));

API__SCHEMA(static, endpoint_port, CORE "EndpointPort",
	    "EndpointPort is a tuple that describes a single port.",
	    FSTR("name", 1, 0,
		 "The name of this port. This must match the 'name' field in the corresponding "
		 "ServicePort. Must be a DNS_LABEL. Optional only if one port is defined."),
	    FINT("port", 2, REQ, "The port number of the endpoint."),
	    FENUM("protocol", API__ENUM("SCTP", "TCP", "UDP"), 3, 0,
		  "The IP protocol for this port. Must be UDP, TCP, or SCTP. "
		  "Default is TCP."),
	    FSTR("appProtocol", 4, PTR, "The application protocol for this port."));

API__SCHEMA(static, endpoint_subset, CORE "EndpointSubset",
	    "EndpointSubset is a group of addresses with a common set of ports. The expanded set "
	    "of endpoints is the Cartesian product of Addresses x Ports.",
	    FLIST("addresses", endpoint_address, NULL, 1, 0,
		  "IP addresses which offer the related ports that are marked as ready."),
	    FLIST("notReadyAddresses", endpoint_address, NULL, 2, 0,
		  "IP addresses which offer the related ports but are not currently marked as "
		  "ready."),
	    FLIST("ports", endpoint_port, NULL, 3, 0, "Port numbers available on the related IP addresses."));

API__SCHEMA(, api__schema_endpoints, CORE "Endpoints",
	    "Endpoints is a collection of endpoints that implement the actual service. Deprecated: "
	    "This API is deprecated in v1.33+. Use discoveryv1.EndpointSlice.",
	    API__TYPE_META, API__OBJECT_META(1, 0),
	    FLIST("subsets", endpoint_subset, NULL, 2, 0,
		  "The set of all endpoints is the union of all subsets."));

/* ---- Pod: containers ---- */

API__SCHEMA(static, container_port, CORE "ContainerPort",
	    "ContainerPort represents a network port in a single container.",
	    FSTR("name", 1, 0,
		 "If specified, this must be an IANA_SVC_NAME and unique within the pod. Name for "
		 "the port that can be referred to by services."),
	    FINT("hostPort", 2, 0, "Number of port to expose on the host."),
	    FINT("containerPort", 3, REQ, "Number of port to expose on the pod's IP address."),
	    FENUM("protocol", API__ENUM("SCTP", "TCP", "UDP"), 4, 0,
		  "Protocol for port. Must be UDP, TCP, or SCTP. Defaults to "
		  "\"TCP\"."),
	    FSTR("hostIP", 5, 0, "What host IP to bind the external port to."));

API__SCHEMA(static, object_field_selector, CORE "ObjectFieldSelector",
	    "ObjectFieldSelector selects an APIVersioned field of an object.",
	    FSTR("apiVersion", 1, 0,
		 "Version of the schema the FieldPath is written in terms of, defaults to \"v1\"."),
	    FSTR("fieldPath", 2, REQ, "Path of the field to select in the specified API version."));

API__SCHEMA(static, resource_field_selector, CORE "ResourceFieldSelector",
	    "ResourceFieldSelector represents container resources (cpu, memory) and their output "
	    "format",
	    FSTR("containerName", 1, 0, "Container name: required for volumes, optional for env vars"),
	    FSTR("resource", 2, REQ, "Required: resource to select"),
	    FQTY("divisor", 3, 0, "Specifies the output format of the exposed resources, defaults to \"1\""));

API__SCHEMA(static, config_map_key_selector, CORE "ConfigMapKeySelector", "Selects a key from a ConfigMap.",
	    FINL("localObjectReference", api__schema_local_object_reference, 1),
	    FSTR("key", 2, REQ, "The key to select."),
	    FBOOL("optional", 3, PTR, "Specify whether the ConfigMap or its key must be defined"));

API__SCHEMA(static, secret_key_selector, CORE "SecretKeySelector",
	    "SecretKeySelector selects a key of a Secret.",
	    FINL("localObjectReference", api__schema_local_object_reference, 1),
	    FSTR("key", 2, REQ, "The key of the secret to select from. Must be a valid secret key."),
	    FBOOL("optional", 3, PTR, "Specify whether the Secret or its key must be defined"));

API__SCHEMA(static, file_key_selector, CORE "FileKeySelector",
	    "FileKeySelector selects a key of the env file.",
	    FSTR("volumeName", 1, REQ, "The name of the volume mount containing the env file."),
	    FSTR("path", 2, REQ, "The path within the volume from which to select the file."),
	    FSTR("key", 3, REQ, "The key within the env file."),
	    FBOOL("optional", 4, PTR, "Specify whether the file or its key must be defined."));

API__SCHEMA(static, env_var_source, CORE "EnvVarSource",
	    "EnvVarSource represents a source for the value of an EnvVar.",
	    FOBJ("fieldRef", object_field_selector, 1, PTR,
		 "Selects a field of the pod: supports metadata.name, metadata.namespace, "
		 "`metadata.labels['<KEY>']`, `metadata.annotations['<KEY>']`, spec.nodeName, "
		 "spec.serviceAccountName, status.hostIP, status.podIP, status.podIPs."),
	    FOBJ("resourceFieldRef", resource_field_selector, 2, PTR,
		 "Selects a resource of the container: only resources limits and requests are "
		 "currently supported."),
	    FOBJ("configMapKeyRef", config_map_key_selector, 3, PTR, "Selects a key of a ConfigMap."),
	    FOBJ("secretKeyRef", secret_key_selector, 4, PTR,
		 "Selects a key of a secret in the pod's namespace"),
	    FOBJ("fileKeyRef", file_key_selector, 5, PTR, "FileKeyRef selects a key of the env file."));

API__SCHEMA(static, env_var, CORE "EnvVar",
	    "EnvVar represents an environment variable present in a Container.",
	    FSTR("name", 1, REQ, "Name of the environment variable."),
	    FSTR("value", 2, 0,
		 "Variable references $(VAR_NAME) are expanded using the previously defined "
		 "environment variables in the container and any service environment variables. "
		 "Defaults to \"\"."),
	    FOBJ("valueFrom", env_var_source, 3, PTR,
		 "Source for the environment variable's value. Cannot be used if value is not "
		 "empty."));

API__SCHEMA(static, config_map_env_source, CORE "ConfigMapEnvSource",
	    "ConfigMapEnvSource selects a ConfigMap to populate the environment variables with.",
	    FINL("localObjectReference", api__schema_local_object_reference, 1),
	    FBOOL("optional", 2, PTR, "Specify whether the ConfigMap must be defined"));

API__SCHEMA(static, secret_env_source, CORE "SecretEnvSource",
	    "SecretEnvSource selects a Secret to populate the environment variables with.",
	    FINL("localObjectReference", api__schema_local_object_reference, 1),
	    FBOOL("optional", 2, PTR, "Specify whether the Secret must be defined"));

API__SCHEMA(static, env_from_source, CORE "EnvFromSource",
	    "EnvFromSource represents the source of a set of ConfigMaps or Secrets",
	    FSTR("prefix", 1, 0, "Optional text to prepend to the name of each environment variable."),
	    FOBJ("configMapRef", config_map_env_source, 2, PTR, "The ConfigMap to select from"),
	    FOBJ("secretRef", secret_env_source, 3, PTR, "The Secret to select from"));

API__SCHEMA(static, resource_claim, CORE "ResourceClaim",
	    "ResourceClaim references one entry in PodSpec.ResourceClaims.",
	    FSTR("name", 1, REQ,
		 "Name must match the name of one entry in pod.spec.resourceClaims of the Pod where "
		 "this field is used."),
	    FSTR("request", 2, 0, "Request is the name chosen for a request in the referenced claim."));

API__SCHEMA(static, resource_requirements, CORE "ResourceRequirements",
	    "ResourceRequirements describes the compute resource requirements.",
	    FQMAP("limits", 1, 0, "Limits describes the maximum amount of compute resources allowed."),
	    FQMAP("requests", 2, 0, "Requests describes the minimum amount of compute resources required."),
	    FLIST("claims", resource_claim, NULL, 3, 0,
		  "Claims lists the names of resources, defined in spec.resourceClaims, that are "
		  "used by this container."));

API__SCHEMA(static, container_resize_policy, CORE "ContainerResizePolicy",
	    "ContainerResizePolicy represents resource resize policy for the container.",
	    FSTR("resourceName", 1, REQ,
		 "Name of the resource to which this resource resize policy applies. Supported "
		 "values: cpu, memory."),
	    FSTR("restartPolicy", 2, REQ,
		 "Restart policy to apply when specified resource is resized. If not specified, it "
		 "defaults to NotRequired."));

API__SCHEMA(static, volume_mount, CORE "VolumeMount",
	    "VolumeMount describes a mounting of a Volume within a container.",
	    FSTR("name", 1, REQ, "This must match the Name of a Volume."),
	    FBOOL("readOnly", 2, 0,
		  "Mounted read-only if true, read-write otherwise (false or unspecified)."),
	    FSTR("recursiveReadOnly", 7, PTR,
		 "RecursiveReadOnly specifies whether read-only mounts should be handled "
		 "recursively."),
	    FSTR("mountPath", 3, REQ,
		 "Path within the container at which the volume should be mounted. Must not contain "
		 "':'."),
	    FSTR("subPath", 4, 0,
		 "Path within the volume from which the container's volume should be mounted."),
	    FENUM("mountPropagation", API__ENUM("Bidirectional", "HostToContainer", "None"), 5, PTR,
		  "mountPropagation determines how mounts are propagated from the host to container "
		  "and the other way around."),
	    FSTR("subPathExpr", 6, 0,
		 "Expanded path within the volume from which the container's volume should be "
		 "mounted."));

API__SCHEMA(static, volume_device, CORE "VolumeDevice",
	    "volumeDevice describes a mapping of a raw block device within a container.",
	    FSTR("name", 1, REQ, "name must match the name of a persistentVolumeClaim in the pod"),
	    FSTR("devicePath", 2, REQ,
		 "devicePath is the path inside of the container that the device will be mapped "
		 "to."));

API__SCHEMA(static, exec_action, CORE "ExecAction", "ExecAction describes a \"run in container\" action.",
	    FSTRS("command", 1, 0,
		  "Command is the command line to execute inside the container, the working "
		  "directory for the command is root ('/') in the container's filesystem."));

API__SCHEMA(static, http_header, CORE "HTTPHeader",
	    "HTTPHeader describes a custom header to be used in HTTP probes",
	    FSTR("name", 1, REQ, "The header field name."), FSTR("value", 2, REQ, "The header field value"));

API__SCHEMA(static, http_get_action, CORE "HTTPGetAction",
	    "HTTPGetAction describes an action based on HTTP Get requests.",
	    FSTR("path", 1, 0, "Path to access on the HTTP server."),
	    FIOS("port", 2, REQ,
		 "Name or number of the port to access on the container. Number must be in the "
		 "range 1 to 65535. Name must be an IANA_SVC_NAME."),
	    FSTR("host", 3, 0,
		 "Host name to connect to, defaults to the pod IP. You probably want to set "
		 "\"Host\" in httpHeaders instead."),
	    FENUM("scheme", API__ENUM("HTTP", "HTTPS"), 4, 0,
		  "Scheme to use for connecting to the host. Defaults to HTTP."),
	    FLIST("httpHeaders", http_header, NULL, 5, 0,
		  "Custom headers to set in the request. HTTP allows repeated headers."));

API__SCHEMA(static, tcp_socket_action, CORE "TCPSocketAction",
	    "TCPSocketAction describes an action based on opening a socket",
	    FIOS("port", 1, REQ,
		 "Number or name of the port to access on the container. Number must be in the "
		 "range 1 to 65535. Name must be an IANA_SVC_NAME."),
	    FSTR("host", 2, 0, "Optional: Host name to connect to, defaults to the pod IP."));

API__SCHEMA(static, grpc_action, CORE "GRPCAction",
	    "GRPCAction specifies an action involving a GRPC service.",
	    FINT("port", 1, REQ, "Port number of the gRPC service. Number must be in the range 1 to 65535."),
	    FSTR("service", 2, PTR,
		 "Service is the name of the service to place in the gRPC HealthCheckRequest."));

API__SCHEMA(static, sleep_action, CORE "SleepAction", "SleepAction describes a \"sleep\" action.",
	    FINT("seconds", 1, REQ | I64, "Seconds is the number of seconds to sleep."));

API__SCHEMA(static, probe_handler, CORE "ProbeHandler",
	    "ProbeHandler defines a specific action that should be taken in a probe.",
	    FOBJ("exec", exec_action, 1, PTR, "Exec specifies a command to execute in the container."),
	    FOBJ("httpGet", http_get_action, 2, PTR, "HTTPGet specifies an HTTP GET request to perform."),
	    FOBJ("tcpSocket", tcp_socket_action, 3, PTR, "TCPSocket specifies a connection to a TCP port."),
	    FOBJ("grpc", grpc_action, 4, PTR, "GRPC specifies a GRPC HealthCheckRequest."));

API__SCHEMA(static, probe, CORE "Probe",
	    "Probe describes a health check to be performed against a container to determine "
	    "whether it is alive or ready to receive traffic.",
	    FINL("handler", probe_handler, 1),
	    FINT("initialDelaySeconds", 2, 0,
		 "Number of seconds after the container has started before liveness probes are "
		 "initiated."),
	    FINT("timeoutSeconds", 3, 0,
		 "Number of seconds after which the probe times out. Defaults to 1 second. Minimum "
		 "value is 1."),
	    FINT("periodSeconds", 4, 0,
		 "How often (in seconds) to perform the probe. Default to 10 seconds. Minimum value "
		 "is 1."),
	    FINT("successThreshold", 5, 0,
		 "Minimum consecutive successes for the probe to be considered successful after "
		 "having failed. Defaults to 1."),
	    FINT("failureThreshold", 6, 0,
		 "Minimum consecutive failures for the probe to be considered failed after having "
		 "succeeded. Defaults to 3."),
	    FINT("terminationGracePeriodSeconds", 7, PTR | I64,
		 "Optional duration in seconds the pod needs to terminate gracefully upon probe "
		 "failure."));

API__SCHEMA(static, lifecycle_handler, CORE "LifecycleHandler",
	    "LifecycleHandler defines a specific action that should be taken in a lifecycle hook.",
	    FOBJ("exec", exec_action, 1, PTR, "Exec specifies a command to execute in the container."),
	    FOBJ("httpGet", http_get_action, 2, PTR, "HTTPGet specifies an HTTP GET request to perform."),
	    FOBJ("tcpSocket", tcp_socket_action, 3, PTR,
		 "Deprecated. TCPSocket is NOT supported as a LifecycleHandler and kept for backward "
		 "compatibility."),
	    FOBJ("sleep", sleep_action, 4, PTR,
		 "Sleep represents a duration that the container "
		 "should sleep."));

API__SCHEMA(static, lifecycle, CORE "Lifecycle",
	    "Lifecycle describes actions that the management system should take in response to "
	    "container lifecycle events.",
	    FOBJ("postStart", lifecycle_handler, 1, PTR,
		 "PostStart is called immediately after a container is created."),
	    FOBJ("preStop", lifecycle_handler, 2, PTR,
		 "PreStop is called immediately before a container is terminated due to an API "
		 "request or management event."),
	    FSTR("stopSignal", 3, PTR,
		 "StopSignal defines which signal will be sent to a container when it is being "
		 "stopped."));

API__SCHEMA(static, capabilities, CORE "Capabilities",
	    "Adds and removes POSIX capabilities from running containers.",
	    FSTRS("add", 1, 0, "Added capabilities"), FSTRS("drop", 2, 0, "Removed capabilities"));

API__SCHEMA(static, se_linux_options, CORE "SELinuxOptions",
	    "SELinuxOptions are the labels to be applied to the container",
	    FSTR("user", 1, 0, "User is a SELinux user label that applies to the container."),
	    FSTR("role", 2, 0, "Role is a SELinux role label that applies to the container."),
	    FSTR("type", 3, 0, "Type is a SELinux type label that applies to the container."),
	    FSTR("level", 4, 0, "Level is SELinux level label that applies to the container."));

API__SCHEMA(static, windows_security_context_options, CORE "WindowsSecurityContextOptions",
	    "WindowsSecurityContextOptions contain Windows-specific options and credentials.",
	    FSTR("gmsaCredentialSpecName", 1, PTR,
		 "GMSACredentialSpecName is the name of the GMSA credential spec to use."),
	    FSTR("gmsaCredentialSpec", 2, PTR,
		 "GMSACredentialSpec is where the GMSA admission webhook inlines the contents of the "
		 "GMSA credential spec named by the GMSACredentialSpecName field."),
	    FSTR("runAsUserName", 3, PTR,
		 "The UserName in Windows to run the entrypoint of the container process."),
	    FBOOL("hostProcess", 4, PTR,
		  "HostProcess determines if a container should be run as a 'Host Process' "
		  "container."));

API__SCHEMA(static, seccomp_profile, CORE "SeccompProfile",
	    "SeccompProfile defines a pod/container's seccomp profile settings. Only one profile "
	    "source may be set.",
	    FSTR("type", 1, REQ,
		 "type indicates which kind of seccomp profile will be applied: Localhost, "
		 "RuntimeDefault or Unconfined."),
	    FSTR("localhostProfile", 2, PTR,
		 "localhostProfile indicates a profile defined in a file on the node should be "
		 "used."));

API__SCHEMA(static, app_armor_profile, CORE "AppArmorProfile",
	    "AppArmorProfile defines a pod or container's AppArmor settings.",
	    FSTR("type", 1, REQ,
		 "type indicates which kind of AppArmor profile will be applied: Localhost, "
		 "RuntimeDefault or Unconfined."),
	    FSTR("localhostProfile", 2, PTR,
		 "localhostProfile indicates a profile loaded on the node that should be used."));

API__SCHEMA(static, ulimit, CORE "Ulimit", "Ulimit corresponds to a ulimit setting on a Linux system.",
	    FSTR("name", 1, REQ, "Name of the ulimit to be set."),
	    FINT("hard", 2, REQ | I64, "Hard is the hard limit for the ulimit type."),
	    FINT("soft", 3, REQ | I64, "Soft is the soft limit for the ulimit type."));

API__SCHEMA(static, security_context, CORE "SecurityContext",
	    "SecurityContext holds security configuration that will be applied to a container.",
	    FOBJ("capabilities", capabilities, 1, PTR,
		 "The capabilities to add/drop when running containers."),
	    FBOOL("privileged", 2, PTR, "Run container in privileged mode. Defaults to false."),
	    FOBJ("seLinuxOptions", se_linux_options, 3, PTR,
		 "The SELinux context to be applied to the container."),
	    FOBJ("windowsOptions", windows_security_context_options, 10, PTR,
		 "The Windows specific settings applied to all containers."),
	    FINT("runAsUser", 4, PTR | I64, "The UID to run the entrypoint of the container process."),
	    FINT("runAsGroup", 8, PTR | I64, "The GID to run the entrypoint of the container process."),
	    FBOOL("runAsNonRoot", 5, PTR, "Indicates that the container must run as a non-root user."),
	    FBOOL("readOnlyRootFilesystem", 6, PTR,
		  "Whether this container has a read-only root filesystem. Default is false."),
	    FBOOL("allowPrivilegeEscalation", 7, PTR,
		  "AllowPrivilegeEscalation controls whether a process can gain more privileges "
		  "than its parent process."),
	    FSTR("procMount", 9, PTR, "procMount denotes the type of proc mount to use for the containers."),
	    FOBJ("seccompProfile", seccomp_profile, 11, PTR, "The seccomp options to use by this container."),
	    FOBJ("appArmorProfile", app_armor_profile, 12, PTR,
		 "appArmorProfile is the AppArmor options to use by this container."),
	    FLIST("ulimits", ulimit, NULL, 13, 0, "The ulimits to be applied to the container."));

/* The fields of Container, shared with EphemeralContainer (EphemeralContainerCommon has
 * the same JSON names and protobuf numbers). */
API__SCHEMA(
    static, container, CORE "Container", "A single application container that you want to run within a pod.",
    FSTR("name", 1, REQ,
	 "Name of the container specified as a DNS_LABEL. Each container in a pod must have "
	 "a unique name (DNS_LABEL). Cannot be updated."),
    FSTR("image", 2, 0, "Container image name."),
    FSTRS("command", 3, 0,
	  "Entrypoint array. Not executed within a shell. The container image's ENTRYPOINT "
	  "is used if this is not provided."),
    FSTRS("args", 4, 0,
	  "Arguments to the entrypoint. The container image's CMD is used if this is not "
	  "provided."),
    FSTR("workingDir", 5, 0, "Container's working directory."),
    FLIST("ports", container_port, "containerPort", 6, 0, "List of ports to expose from the container."),
    FLIST("envFrom", env_from_source, NULL, 19, 0,
	  "List of sources to populate environment variables in the container."),
    FLIST("env", env_var, "name", 7, 0,
	  "List of environment variables to set in the container. Cannot be updated."),
    FOBJ("resources", resource_requirements, 8, 0, "Compute Resources required by this container."),
    FLIST("resizePolicy", container_resize_policy, NULL, 23, 0, "Resources resize policy for the container."),
    FSTR("restartPolicy", 24, PTR,
	 "RestartPolicy defines the restart behavior of individual containers in a pod."),
    FANYS("restartPolicyRules", 25, 0,
	  "Represents a list of rules to be checked to determine if the container should be "
	  "restarted on exit."),
    FLIST("volumeMounts", volume_mount, "mountPath", 9, 0,
	  "Pod volumes to mount into the container's filesystem. Cannot be updated."),
    FLIST("volumeDevices", volume_device, "devicePath", 21, 0,
	  "volumeDevices is the list of block devices to be used by the container."),
    FOBJ("livenessProbe", probe, 10, PTR,
	 "Periodic probe of container liveness. Container will be restarted if the probe "
	 "fails."),
    FOBJ("readinessProbe", probe, 11, PTR,
	 "Periodic probe of container service readiness. Container will be removed from "
	 "service endpoints if the probe fails."),
    FOBJ("startupProbe", probe, 22, PTR, "StartupProbe indicates that the Pod has successfully initialized."),
    FOBJ("lifecycle", lifecycle, 12, PTR,
	 "Actions that the management system should take in response to container lifecycle "
	 "events."),
    FSTR("terminationMessagePath", 13, 0,
	 "Optional: Path at which the file to which the container's termination message "
	 "will be written is mounted into the container's filesystem."),
    FENUM("terminationMessagePolicy", API__ENUM("FallbackToLogsOnError", "File"), 20, 0,
	  "Indicate how the termination message should be populated: File or "
	  "FallbackToLogsOnError."),
    FENUM("imagePullPolicy", API__ENUM("Always", "IfNotPresent", "Never"), 14, 0,
	  "Image pull policy. One of Always, Never, IfNotPresent."),
    FOBJ("securityContext", security_context, 15, PTR,
	 "SecurityContext defines the security options the container should be run with."),
    FBOOL("stdin", 16, 0,
	  "Whether this container should allocate a buffer for stdin in the container "
	  "runtime."),
    FBOOL("stdinOnce", 17, 0,
	  "Whether the container runtime should close the stdin channel after it has been "
	  "opened by a single attach."),
    FBOOL("tty", 18, 0, "Whether this container should allocate a TTY for itself."));

API__SCHEMA(static, ephemeral_container, CORE "EphemeralContainer",
	    "An EphemeralContainer is a temporary container that you may add to an existing Pod "
	    "for user-initiated activities such as debugging.",
	    FINL("ephemeralContainerCommon", container, 1),
	    FSTR("targetContainerName", 2, 0,
		 "If set, the name of the container from PodSpec that this ephemeral container "
		 "targets."));

/* ---- Pod: spec ---- */

API__SCHEMA(static, volume_source, CORE "VolumeSource",
	    "Represents the source of a volume to mount. Only one of its members may be specified.",
	    FANY("hostPath", 1, PTR,
		 "hostPath represents a pre-existing file or directory on the "
		 "host machine that is directly exposed to the container."),
	    FANY("emptyDir", 2, PTR,
		 "emptyDir represents a temporary directory that shares a pod's "
		 "lifetime."),
	    FANY("gcePersistentDisk", 3, PTR,
		 "Deprecated: gcePersistentDisk represents a GCE Disk "
		 "resource."),
	    FANY("awsElasticBlockStore", 4, PTR,
		 "Deprecated: awsElasticBlockStore represents an AWS "
		 "Disk resource."),
	    FANY("gitRepo", 5, PTR,
		 "Deprecated: gitRepo represents a git repository at a particular "
		 "revision."),
	    FANY("secret", 6, PTR, "secret represents a secret that should populate this volume."),
	    FANY("nfs", 7, PTR,
		 "nfs represents an NFS mount on the host that shares a pod's "
		 "lifetime"),
	    FANY("iscsi", 8, PTR, "iscsi represents an ISCSI Disk resource."),
	    FANY("glusterfs", 9, PTR, "Deprecated: glusterfs represents a Glusterfs mount."),
	    FANY("persistentVolumeClaim", 10, PTR,
		 "persistentVolumeClaimVolumeSource represents a reference to a "
		 "PersistentVolumeClaim in the same namespace."),
	    FANY("rbd", 11, PTR, "Deprecated: rbd represents a Rados Block Device mount."),
	    FANY("flexVolume", 12, PTR,
		 "Deprecated: flexVolume represents a generic volume resource "
		 "provisioned/attached using an exec based plugin."),
	    FANY("cinder", 13, PTR, "Deprecated: cinder represents a cinder volume."),
	    FANY("cephfs", 14, PTR, "Deprecated: cephFS represents a Ceph FS mount."),
	    FANY("flocker", 15, PTR, "Deprecated: flocker represents a Flocker volume."),
	    FANY("downwardAPI", 16, PTR,
		 "downwardAPI represents downward API about the pod that "
		 "should populate this volume"),
	    FANY("fc", 17, PTR, "fc represents a Fibre Channel resource."),
	    FANY("azureFile", 18, PTR, "Deprecated: azureFile represents an Azure File Service mount."),
	    FANY("configMap", 19, PTR,
		 "configMap represents a configMap that should populate this "
		 "volume"),
	    FANY("vsphereVolume", 20, PTR, "Deprecated: vsphereVolume represents a vSphere volume."),
	    FANY("quobyte", 21, PTR, "Deprecated: quobyte represents a Quobyte mount."),
	    FANY("azureDisk", 22, PTR, "Deprecated: azureDisk represents an Azure Data Disk mount."),
	    FANY("photonPersistentDisk", 23, PTR,
		 "Deprecated: photonPersistentDisk represents a "
		 "PhotonController persistent disk."),
	    FANY("projected", 26, PTR,
		 "projected items for all in one resources secrets, "
		 "configmaps, and downward API"),
	    FANY("portworxVolume", 24, PTR, "Deprecated: portworxVolume represents a portworx volume."),
	    FANY("scaleIO", 25, PTR, "Deprecated: scaleIO represents a ScaleIO persistent volume."),
	    FANY("storageos", 27, PTR, "Deprecated: storageOS represents a StorageOS volume."),
	    FANY("csi", 28, PTR,
		 "csi (Container Storage Interface) represents ephemeral storage that "
		 "is handled by certain external CSI drivers."),
	    FANY("ephemeral", 29, PTR,
		 "ephemeral represents a volume that is handled by a cluster "
		 "storage driver."),
	    FANY("image", 30, PTR,
		 "image represents an OCI object (a container image or artifact) "
		 "pulled and mounted on the kubelet's host machine."));

API__SCHEMA(static, volume, CORE "Volume",
	    "Volume represents a named volume in a pod that may be accessed by any container in "
	    "the pod.",
	    FSTR("name", 1, REQ, "name of the volume. Must be a DNS_LABEL and unique within the pod."),
	    FINL("volumeSource", volume_source, 2));

API__SCHEMA(static, node_selector_requirement, CORE "NodeSelectorRequirement",
	    "A node selector requirement is a selector that contains values, a key, and an "
	    "operator that relates the key and values.",
	    FSTR("key", 1, REQ, "The label key that the selector applies to."),
	    FENUM("operator", API__ENUM("DoesNotExist", "Exists", "Gt", "In", "Lt", "NotIn"), 2, REQ,
		  "Represents a key's relationship to a set of values. Valid operators are In, "
		  "NotIn, Exists, DoesNotExist. Gt, and Lt."),
	    FSTRS("values", 3, 0, "An array of string values."));

API__SCHEMA(static, node_selector_term, CORE "NodeSelectorTerm",
	    "A null or empty node selector term matches no objects. The requirements of them are "
	    "ANDed.",
	    FLIST("matchExpressions", node_selector_requirement, NULL, 1, 0,
		  "A list of node selector requirements by node's labels."),
	    FLIST("matchFields", node_selector_requirement, NULL, 2, 0,
		  "A list of node selector requirements by node's fields."));

API__SCHEMA(static, node_selector, CORE "NodeSelector",
	    "A node selector represents the union of the results of one or more label queries "
	    "over a set of nodes.",
	    FLIST("nodeSelectorTerms", node_selector_term, NULL, 1, REQ,
		  "Required. A list of node selector terms. The terms are ORed."));

API__SCHEMA(static, preferred_scheduling_term, CORE "PreferredSchedulingTerm",
	    "An empty preferred scheduling term matches all objects with implicit weight 0.",
	    FINT("weight", 1, REQ,
		 "Weight associated with matching the corresponding nodeSelectorTerm, in the range "
		 "1-100."),
	    FOBJ("preference", node_selector_term, 2, REQ,
		 "A node selector term, associated with the corresponding weight."));

API__SCHEMA(static, node_affinity, CORE "NodeAffinity",
	    "Node affinity is a group of node affinity scheduling rules.",
	    FOBJ("requiredDuringSchedulingIgnoredDuringExecution", node_selector, 1, PTR,
		 "If the affinity requirements specified by this field are not met at scheduling "
		 "time, the pod will not be scheduled onto the node."),
	    FLIST("preferredDuringSchedulingIgnoredDuringExecution", preferred_scheduling_term, NULL, 2, 0,
		  "The scheduler will prefer to schedule pods to nodes that satisfy the affinity "
		  "expressions specified by this field."));

API__SCHEMA(static, pod_affinity_term, CORE "PodAffinityTerm",
	    "Defines a set of pods (namely those matching the labelSelector relative to the given "
	    "namespace(s)) that this pod should be co-located (affinity) or not co-located "
	    "(anti-affinity) with.",
	    FOBJ("labelSelector", api__schema_label_selector, 1, PTR,
		 "A label query over a set of resources, in this case pods."),
	    FSTRS("namespaces", 2, 0,
		  "namespaces specifies a static list of namespace names that the term applies to."),
	    FSTR("topologyKey", 3, REQ,
		 "This pod should be co-located (affinity) or not co-located (anti-affinity) with "
		 "the pods matching the labelSelector in the specified namespaces. Empty topologyKey "
		 "is not allowed."),
	    FOBJ("namespaceSelector", api__schema_label_selector, 4, PTR,
		 "A label query over the set of namespaces that the term applies to."),
	    FSTRS("matchLabelKeys", 5, 0,
		  "MatchLabelKeys is a set of pod label keys to select which pods will be taken "
		  "into consideration."),
	    FSTRS("mismatchLabelKeys", 6, 0,
		  "MismatchLabelKeys is a set of pod label keys to select which pods will be taken "
		  "into consideration."));

API__SCHEMA(static, weighted_pod_affinity_term, CORE "WeightedPodAffinityTerm",
	    "The weights of all of the matched WeightedPodAffinityTerm fields are added per-node "
	    "to find the most preferred node(s)",
	    FINT("weight", 1, REQ,
		 "weight associated with matching the corresponding podAffinityTerm, in the range "
		 "1-100."),
	    FOBJ("podAffinityTerm", pod_affinity_term, 2, REQ,
		 "Required. A pod affinity term, associated with the corresponding weight."));

API__SCHEMA(static, pod_affinity, CORE "PodAffinity",
	    "Pod affinity is a group of inter pod affinity scheduling rules.",
	    FLIST("requiredDuringSchedulingIgnoredDuringExecution", pod_affinity_term, NULL, 1, 0,
		  "If the affinity requirements specified by this field are not met at scheduling "
		  "time, the pod will not be scheduled onto the node."),
	    FLIST("preferredDuringSchedulingIgnoredDuringExecution", weighted_pod_affinity_term, NULL, 2, 0,
		  "The scheduler will prefer to schedule pods to nodes that satisfy the affinity "
		  "expressions specified by this field."));

API__SCHEMA(static, pod_anti_affinity, CORE "PodAntiAffinity",
	    "Pod anti affinity is a group of inter pod anti affinity scheduling rules.",
	    FLIST("requiredDuringSchedulingIgnoredDuringExecution", pod_affinity_term, NULL, 1, 0,
		  "If the anti-affinity requirements specified by this field are not met at "
		  "scheduling time, the pod will not be scheduled onto the node."),
	    FLIST("preferredDuringSchedulingIgnoredDuringExecution", weighted_pod_affinity_term, NULL, 2, 0,
		  "The scheduler will prefer to schedule pods to nodes that satisfy the "
		  "anti-affinity expressions specified by this field."));

API__SCHEMA(static, affinity, CORE "Affinity", "Affinity is a group of affinity scheduling rules.",
	    FOBJ("nodeAffinity", node_affinity, 1, PTR,
		 "Describes node affinity scheduling rules for the pod."),
	    FOBJ("podAffinity", pod_affinity, 2, PTR,
		 "Describes pod affinity scheduling rules (e.g. co-locate this pod in the same node, "
		 "zone, etc. as some other pod(s))."),
	    FOBJ("podAntiAffinity", pod_anti_affinity, 3, PTR,
		 "Describes pod anti-affinity scheduling rules (e.g. avoid putting this pod in the "
		 "same node, zone, etc. as some other pod(s))."));

API__SCHEMA(static, sysctl, CORE "Sysctl", "Sysctl defines a kernel parameter to be set",
	    FSTR("name", 1, REQ, "Name of a property to set"),
	    FSTR("value", 2, REQ, "Value of a property to set"));

API__SCHEMA(
    static, pod_security_context, CORE "PodSecurityContext",
    "PodSecurityContext holds pod-level security attributes and common container "
    "settings.",
    FOBJ("seLinuxOptions", se_linux_options, 1, PTR, "The SELinux context to be applied to all containers."),
    FOBJ("windowsOptions", windows_security_context_options, 8, PTR,
	 "The Windows specific settings applied to all containers."),
    FINT("runAsUser", 2, PTR | I64, "The UID to run the entrypoint of the container process."),
    FINT("runAsGroup", 6, PTR | I64, "The GID to run the entrypoint of the container process."),
    FBOOL("runAsNonRoot", 3, PTR, "Indicates that the container must run as a non-root user."),
    FINTS("supplementalGroups", 4, I64,
	  "A list of groups applied to the first process run in each container, in addition "
	  "to the container's primary GID and fsGroup (if specified)."),
    FSTR("supplementalGroupsPolicy", 12, PTR,
	 "Defines how supplemental groups of the first container processes are calculated: "
	 "Merge or Strict."),
    FINT("fsGroup", 5, PTR | I64, "A special supplemental group that applies to all containers in a pod."),
    FLIST("sysctls", sysctl, NULL, 7, 0, "Sysctls hold a list of namespaced sysctls used for the pod."),
    FSTR("fsGroupChangePolicy", 9, PTR,
	 "fsGroupChangePolicy defines behavior of changing ownership and permission of the "
	 "volume before being exposed inside Pod."),
    FOBJ("seccompProfile", seccomp_profile, 10, PTR,
	 "The seccomp options to use by the containers in this pod."),
    FOBJ("appArmorProfile", app_armor_profile, 11, PTR,
	 "appArmorProfile is the AppArmor options to use by the containers in this pod."),
    FSTR("seLinuxChangePolicy", 13, PTR,
	 "seLinuxChangePolicy defines how the container's SELinux label is applied to all "
	 "volumes used by the Pod."));

API__SCHEMA(static, toleration, CORE "Toleration",
	    "The pod this Toleration is attached to tolerates any taint that matches the triple "
	    "<key,value,effect> using the matching operator <operator>.",
	    FSTR("key", 1, 0,
		 "Key is the taint key that the toleration applies to. Empty means match all taint "
		 "keys."),
	    FENUM("operator", API__ENUM("Equal", "Exists"), 2, 0,
		  "Operator represents a key's relationship to the value. Valid operators are Exists "
		  "and Equal. Defaults to Equal."),
	    FSTR("value", 3, 0, "Value is the taint value the toleration matches to."),
	    FENUM("effect", API__ENUM("NoExecute", "NoSchedule", "PreferNoSchedule"), 4, 0,
		  "Effect indicates the taint effect to match. Empty means match all taint effects."),
	    FINT("tolerationSeconds", 5, PTR | I64,
		 "TolerationSeconds represents the period of time the toleration (which must be of "
		 "effect NoExecute, otherwise this field is ignored) tolerates the taint."));

API__SCHEMA(static, host_alias, CORE "HostAlias",
	    "HostAlias holds the mapping between IP and hostnames that will be injected as an "
	    "entry in the pod's hosts file.",
	    FSTR("ip", 1, REQ, "IP address of the host file entry."),
	    FSTRS("hostnames", 2, 0, "Hostnames for the above IP address."));

API__SCHEMA(static, pod_dns_config_option, CORE "PodDNSConfigOption",
	    "PodDNSConfigOption defines DNS resolver options of a pod.",
	    FSTR("name", 1, 0, "Name is this DNS resolver option's name. Required."),
	    FSTR("value", 2, PTR, "Value is this DNS resolver option's value."));

API__SCHEMA(static, pod_dns_config, CORE "PodDNSConfig",
	    "PodDNSConfig defines the DNS parameters of a pod in addition to those generated from "
	    "DNSPolicy.",
	    FSTRS("nameservers", 1, 0,
		  "A list of DNS name server IP addresses. This will be appended to the base "
		  "nameservers generated from DNSPolicy."),
	    FSTRS("searches", 2, 0,
		  "A list of DNS search domains for host-name lookup. This will be appended to the "
		  "base search paths generated from DNSPolicy."),
	    FLIST("options", pod_dns_config_option, NULL, 3, 0,
		  "A list of DNS resolver options. This will be merged with the base options "
		  "generated from DNSPolicy."));

API__SCHEMA(static, pod_readiness_gate, CORE "PodReadinessGate",
	    "PodReadinessGate contains the reference to a pod condition",
	    FSTR("conditionType", 1, REQ,
		 "ConditionType refers to a condition in the pod's condition list with matching "
		 "type."));

API__SCHEMA(static, topology_spread_constraint, CORE "TopologySpreadConstraint",
	    "TopologySpreadConstraint specifies how to spread matching pods among the given "
	    "topology.",
	    FINT("maxSkew", 1, REQ,
		 "MaxSkew describes the degree to which pods may be unevenly distributed."),
	    FSTR("topologyKey", 2, REQ,
		 "TopologyKey is the key of node labels. Nodes that have a label with this key and "
		 "identical values are considered to be in the same topology."),
	    FENUM("whenUnsatisfiable", API__ENUM("DoNotSchedule", "ScheduleAnyway"), 3, REQ,
		  "WhenUnsatisfiable indicates how to deal with a pod if it doesn't satisfy the "
		  "spread constraint: DoNotSchedule or ScheduleAnyway."),
	    FOBJ("labelSelector", api__schema_label_selector, 4, PTR,
		 "LabelSelector is used to find matching pods."),
	    FINT("minDomains", 5, PTR, "MinDomains indicates a minimum number of eligible domains."),
	    FSTR("nodeAffinityPolicy", 6, PTR,
		 "NodeAffinityPolicy indicates how we will treat Pod's nodeAffinity/nodeSelector "
		 "when calculating pod topology spread skew."),
	    FSTR("nodeTaintsPolicy", 7, PTR,
		 "NodeTaintsPolicy indicates how we will treat node taints when calculating pod "
		 "topology spread skew."),
	    FSTRS("matchLabelKeys", 8, 0,
		  "MatchLabelKeys is a set of pod label keys to select the pods over which spreading "
		  "will be calculated."));

API__SCHEMA(static, pod_os, CORE "PodOS", "PodOS defines the OS parameters of a pod.",
	    FSTR("name", 1, REQ,
		 "Name is the name of the operating system. The currently supported values are "
		 "linux and windows."));

API__SCHEMA(static, pod_scheduling_gate, CORE "PodSchedulingGate",
	    "PodSchedulingGate is associated to a Pod to guard its scheduling.",
	    FSTR("name", 1, REQ, "Name of the scheduling gate."));

API__SCHEMA(static, pod_resource_claim, CORE "PodResourceClaim",
	    "PodResourceClaim references exactly one ResourceClaim, either directly or by naming a "
	    "ResourceClaimTemplate which is then turned into a ResourceClaim for the pod.",
	    FSTR("name", 1, REQ, "Name uniquely identifies this resource claim inside the pod."),
	    FSTR("resourceClaimName", 3, PTR,
		 "ResourceClaimName is the name of a ResourceClaim object in the same namespace as "
		 "this pod."),
	    FSTR("resourceClaimTemplateName", 4, PTR,
		 "ResourceClaimTemplateName is the name of a ResourceClaimTemplate object in the "
		 "same namespace as this pod."));

API__SCHEMA(static, pod_spec, CORE "PodSpec", "PodSpec is a description of a pod.",
	    {.name = "volumes",
	     .type = API_ARRAY,
	     .elem = API_OBJECT,
	     .schema = &volume,
	     .merge_key = "name",
	     .proto = 1,
	     .flags = API_F_RETAIN_KEYS,
	     .desc = "List of volumes that can be mounted by containers belonging to the pod."},
	    FLIST("initContainers", container, "name", 20, 0,
		  "List of initialization containers belonging to the pod."),
	    FLIST("containers", container, "name", 2, REQ | API_F_KEEP_EMPTY,
		  "List of containers belonging to the pod. There must be at least one container in "
		  "a Pod."),
	    FLIST("ephemeralContainers", ephemeral_container, "name", 34, 0,
		  "List of ephemeral containers run in this pod."),
	    FENUM("restartPolicy", API__ENUM("Always", "Never", "OnFailure"), 3, 0,
		  "Restart policy for all containers within the pod. One of Always, OnFailure, Never. "
		  "Default to Always."),
	    FINT("terminationGracePeriodSeconds", 4, PTR | I64,
		 "Optional duration in seconds the pod needs to terminate gracefully. Defaults to 30 "
		 "seconds."),
	    FINT("activeDeadlineSeconds", 5, PTR | I64,
		 "Optional duration in seconds the pod may be active on the node relative to "
		 "StartTime before the system will actively try to mark it failed and kill "
		 "associated containers."),
	    FENUM("dnsPolicy", API__ENUM("ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"), 6, 0,
		  "Set DNS policy for the pod. Defaults to \"ClusterFirst\". Valid values are "
		  "'ClusterFirstWithHostNet', 'ClusterFirst', 'Default' or 'None'."),
	    FMAP("nodeSelector", 7, API_F_ATOMIC,
		 "NodeSelector is a selector which must be true for the pod to fit on a node."),
	    FSTR("serviceAccountName", 8, 0,
		 "ServiceAccountName is the name of the ServiceAccount to use to run this pod."),
	    FSTR("serviceAccount", 9, 0,
		 "DeprecatedServiceAccount is a deprecated alias for ServiceAccountName."),
	    FBOOL("automountServiceAccountToken", 21, PTR,
		  "AutomountServiceAccountToken indicates whether a service account token should be "
		  "automatically mounted."),
	    FSTR("nodeName", 10, 0, "NodeName indicates in which node this pod is scheduled."),
	    FBOOL("hostNetwork", 11, 0,
		  "Host networking requested for this pod. Use the host's network namespace. Default "
		  "to false."),
	    FBOOL("hostPID", 12, 0, "Use the host's pid namespace. Optional: Default to false."),
	    FBOOL("hostIPC", 13, 0, "Use the host's ipc namespace. Optional: Default to false."),
	    FBOOL("shareProcessNamespace", 27, PTR,
		  "Share a single process namespace between all of the containers in a pod."),
	    FOBJ("securityContext", pod_security_context, 14, PTR,
		 "SecurityContext holds pod-level security attributes and common container "
		 "settings."),
	    FLIST("imagePullSecrets", api__schema_local_object_reference, "name", 15, 0,
		  "ImagePullSecrets is an optional list of references to secrets in the same "
		  "namespace to use for pulling any of the images used by this PodSpec."),
	    FSTR("hostname", 16, 0,
		 "Specifies the hostname of the Pod. If not specified, the pod's hostname will be "
		 "set to a system-defined value."),
	    FSTR("subdomain", 17, 0,
		 "If specified, the fully qualified Pod hostname will be "
		 "\"<hostname>.<subdomain>.<pod namespace>.svc.<cluster domain>\"."),
	    FOBJ("affinity", affinity, 18, PTR, "If specified, the pod's scheduling constraints"),
	    FSTR("schedulerName", 19, 0, "If specified, the pod will be dispatched by specified scheduler."),
	    FLIST("tolerations", toleration, NULL, 22, 0, "If specified, the pod's tolerations."),
	    FLIST("hostAliases", host_alias, "ip", 23, 0,
		  "HostAliases is an optional list of hosts and IPs that will be injected into the "
		  "pod's hosts file if specified."),
	    FSTR("priorityClassName", 24, 0, "If specified, indicates the pod's priority."),
	    FINT("priority", 25, PTR, "The priority value."),
	    FOBJ("dnsConfig", pod_dns_config, 26, PTR, "Specifies the DNS parameters of a pod."),
	    FLIST("readinessGates", pod_readiness_gate, NULL, 28, 0,
		  "If specified, all readiness gates will be evaluated for pod readiness."),
	    FSTR("runtimeClassName", 29, PTR,
		 "RuntimeClassName refers to a RuntimeClass object in the node.k8s.io group, which "
		 "should be used to run this pod."),
	    FBOOL("enableServiceLinks", 30, PTR,
		  "EnableServiceLinks indicates whether information about services should be "
		  "injected into pod's environment variables, matching the syntax of Docker links. "
		  "Optional: Defaults to true."),
	    FENUM("preemptionPolicy", API__ENUM("Never", "PreemptLowerPriority"), 31, PTR,
		  "PreemptionPolicy is the Policy for preempting pods with lower priority."),
	    FQMAP("overhead", 32, 0,
		  "Overhead represents the resource overhead associated with running a pod for a "
		  "given RuntimeClass."),
	    FLIST("topologySpreadConstraints", topology_spread_constraint, "topologyKey", 33, 0,
		  "TopologySpreadConstraints describes how a group of pods ought to spread across "
		  "topology domains."),
	    FBOOL("setHostnameAsFQDN", 35, PTR,
		  "If true the pod's hostname will be configured as the pod's FQDN, rather than the "
		  "leaf name (the default)."),
	    FOBJ("os", pod_os, 36, PTR, "Specifies the OS of the containers in the pod."),
	    FBOOL("hostUsers", 37, PTR, "Use the host's user namespace. Optional: Default to true."),
	    FLIST("schedulingGates", pod_scheduling_gate, "name", 38, 0,
		  "SchedulingGates is an opaque list of values that if specified will block "
		  "scheduling the pod."),
	    {.name = "resourceClaims",
	     .type = API_ARRAY,
	     .elem = API_OBJECT,
	     .schema = &pod_resource_claim,
	     .merge_key = "name",
	     .proto = 39,
	     .flags = API_F_RETAIN_KEYS,
	     .desc = "ResourceClaims defines which ResourceClaims must be allocated and reserved "
		     "before the Pod is allowed to start."},
	    FOBJ("resources", resource_requirements, 40, PTR,
		 "Resources is the total amount of CPU and Memory resources required by all "
		 "containers in the pod."),
	    FSTR("hostnameOverride", 41, PTR,
		 "HostnameOverride specifies an explicit override for the pod's hostname as "
		 "perceived by the pod."),
	    FANY("workloadRef", 42, PTR,
		 "WorkloadRef provides a reference to the Workload object that this Pod belongs "
		 "to."));

/* ---- Pod: status ---- */

API__SCHEMA(static, pod_condition, CORE "PodCondition",
	    "PodCondition contains details for the current condition of this pod.",
	    FSTR("type", 1, REQ, "Type is the type of the condition."),
	    FINT("observedGeneration", 7, I64,
		 "If set, this represents the .metadata.generation that the pod condition was set "
		 "based upon."),
	    FSTR("status", 2, REQ, "Status is the status of the condition. Can be True, False, Unknown."),
	    FTIME("lastProbeTime", 3, 0, "Last time we probed the condition."),
	    FTIME("lastTransitionTime", 4, 0,
		  "Last time the condition transitioned from one status to another."),
	    FSTR("reason", 5, 0,
		 "Unique, one-word, CamelCase reason for the condition's last "
		 "transition."),
	    FSTR("message", 6, 0, "Human-readable message indicating details about last transition."));

API__SCHEMA(static, host_ip, CORE "HostIP", "HostIP represents a single IP address allocated to the host.",
	    FSTR("ip", 1, REQ, "IP is the IP address assigned to the host"));

API__SCHEMA(static, pod_ip, CORE "PodIP", "PodIP represents a single IP address allocated to the pod.",
	    FSTR("ip", 1, REQ, "IP is the IP address assigned to the pod"));

API__SCHEMA(static, container_state_waiting, CORE "ContainerStateWaiting",
	    "ContainerStateWaiting is a waiting state of a container.",
	    FSTR("reason", 1, 0, "(brief) reason the container is not yet running."),
	    FSTR("message", 2, 0, "Message regarding why the container is not yet running."));

API__SCHEMA(static, container_state_running, CORE "ContainerStateRunning",
	    "ContainerStateRunning is a running state of a container.",
	    FTIME("startedAt", 1, 0, "Time at which the container was last (re-)started"));

API__SCHEMA(static, container_state_terminated, CORE "ContainerStateTerminated",
	    "ContainerStateTerminated is a terminated state of a container.",
	    FINT("exitCode", 1, REQ, "Exit status from the last termination of the container"),
	    FINT("signal", 2, 0, "Signal from the last termination of the container"),
	    FSTR("reason", 3, 0, "(brief) reason from the last termination of the container"),
	    FSTR("message", 4, 0, "Message regarding the last termination of the container"),
	    FTIME("startedAt", 5, 0, "Time at which previous execution of the container started"),
	    FTIME("finishedAt", 6, 0, "Time at which the container last terminated"),
	    FSTR("containerID", 7, 0, "Container's ID in the format '<type>://<container_id>'"));

API__SCHEMA(static, container_state, CORE "ContainerState",
	    "ContainerState holds a possible state of container. Only one of its members may be "
	    "specified. If none of them is specified, the default one is ContainerStateWaiting.",
	    FOBJ("waiting", container_state_waiting, 1, PTR, "Details about a waiting container"),
	    FOBJ("running", container_state_running, 2, PTR, "Details about a running container"),
	    FOBJ("terminated", container_state_terminated, 3, PTR, "Details about a terminated container"));

API__SCHEMA(static, volume_mount_status, CORE "VolumeMountStatus",
	    "VolumeMountStatus shows status of volume mounts.",
	    FSTR("name", 1, REQ, "Name corresponds to the name of the original VolumeMount."),
	    FSTR("mountPath", 2, REQ, "MountPath corresponds to the original VolumeMount."),
	    FBOOL("readOnly", 3, 0, "ReadOnly corresponds to the original VolumeMount."),
	    FSTR("recursiveReadOnly", 4, PTR,
		 "RecursiveReadOnly must be set to Disabled, Enabled, or unspecified (for "
		 "non-readonly mounts)."),
	    FANY("volumeStatus", 5, PTR,
		 "volumeStatus represents volume-type-specific status about the mounted volume."));

API__SCHEMA(static, resource_health, CORE "ResourceHealth",
	    "ResourceHealth represents the health of a resource.",
	    FSTR("resourceID", 1, REQ, "ResourceID is the unique identifier of the resource."),
	    FSTR("health", 2, 0, "Health of the resource: Healthy, Unhealthy or Unknown."),
	    FSTR("message", 6, PTR, "Message provides human-readable context for Health."));

API__SCHEMA(static, resource_status, CORE "ResourceStatus",
	    "ResourceStatus represents the status of a single resource allocated to a Pod.",
	    FSTR("name", 1, REQ, "Name of the resource."),
	    FLIST("resources", resource_health, NULL, 2, 0, "List of unique resources health."));

API__SCHEMA(
    static, container_status, CORE "ContainerStatus",
    "ContainerStatus contains details for the current status of this container.",
    FSTR("name", 1, REQ, "Name is a DNS_LABEL representing the unique name of the container."),
    FOBJ("state", container_state, 2, 0, "State holds details about the container's current condition."),
    FOBJ("lastState", container_state, 3, 0,
	 "LastTerminationState holds the last termination state of the container to help "
	 "debug container crashes and restarts."),
    FBOOL("ready", 4, REQ, "Ready specifies whether the container is currently passing its readiness check."),
    FINT("restartCount", 5, REQ, "RestartCount holds the number of times the container has been restarted."),
    FSTR("image", 6, REQ, "Image is the name of container image that the container is running."),
    FSTR("imageID", 7, REQ, "ImageID is the image ID of the container's image."),
    FSTR("containerID", 8, 0,
	 "ContainerID is the ID of the container in the format '<type>://<container_id>'."),
    FBOOL("started", 9, PTR,
	  "Started indicates whether the container has finished its postStart lifecycle "
	  "hook and passed its startup probe."),
    FQMAP("allocatedResources", 10, 0,
	  "AllocatedResources represents the compute resources allocated for this container "
	  "by the node."),
    FOBJ("resources", resource_requirements, 11, PTR,
	 "Resources represents the compute resource requests and limits that have been "
	 "successfully enacted on the running container."),
    FLIST("volumeMounts", volume_mount_status, "mountPath", 12, 0, "Status of volume mounts."),
    FANY("user", 13, PTR,
	 "User represents user identity information initially attached to the first process "
	 "of the container"),
    FLIST("allocatedResourcesStatus", resource_status, "name", 14, 0,
	  "AllocatedResourcesStatus represents the status of various resources allocated for "
	  "this Pod."),
    FSTR("stopSignal", 15, PTR, "StopSignal reports the effective stop signal for this container"));

API__SCHEMA(static, pod_resource_claim_status, CORE "PodResourceClaimStatus",
	    "PodResourceClaimStatus is stored in the PodStatus for each PodResourceClaim which "
	    "references a ResourceClaimTemplate.",
	    FSTR("name", 1, REQ, "Name uniquely identifies this resource claim inside the pod."),
	    FSTR("resourceClaimName", 2, PTR,
		 "ResourceClaimName is the name of the ResourceClaim that was generated for the Pod "
		 "in the namespace of the Pod."));

API__SCHEMA(
    static, pod_status, CORE "PodStatus", "PodStatus represents information about the status of a pod.",
    FINT("observedGeneration", 17, I64,
	 "If set, this represents the .metadata.generation that the pod status was set "
	 "based upon."),
    FENUM("phase", API__ENUM("Failed", "Pending", "Running", "Succeeded", "Unknown"), 1, 0,
	  "The phase of a Pod is a simple, high-level summary of where the Pod is in its "
	  "lifecycle: Pending, Running, Succeeded, Failed or Unknown."),
    FLIST("conditions", pod_condition, "type", 2, 0, "Current service state of pod."),
    FSTR("message", 3, 0,
	 "A human readable message indicating details about why the pod is in this "
	 "condition."),
    FSTR("reason", 4, 0,
	 "A brief CamelCase message indicating details about why the pod is in this state. "
	 "e.g. 'Evicted'"),
    FSTR("nominatedNodeName", 11, 0,
	 "nominatedNodeName is set only when this pod preempts other pods on the node, but "
	 "it cannot be scheduled right away as preemption victims receive their graceful "
	 "termination periods."),
    FSTR("hostIP", 5, 0,
	 "hostIP holds the IP address of the host to which the pod is assigned. Empty if "
	 "the pod has not started yet."),
    FLIST("hostIPs", host_ip, "ip", 16, API_F_ATOMIC,
	  "hostIPs holds the IP addresses allocated to the host."),
    FSTR("podIP", 6, 0,
	 "podIP address allocated to the pod. Routable at least within the cluster. Empty "
	 "if not yet allocated."),
    FLIST("podIPs", pod_ip, "ip", 12, 0,
	  "podIPs holds the IP addresses allocated to the pod. If this field is specified, "
	  "the 0th entry must match the podIP field."),
    FTIME("startTime", 7, PTR, "RFC 3339 date and time at which the object was acknowledged by the Kubelet."),
    FLIST("initContainerStatuses", container_status, NULL, 10, 0, "Statuses of init containers in this pod."),
    FLIST("containerStatuses", container_status, NULL, 8, 0, "Statuses of containers in this pod."),
    FENUM("qosClass", API__ENUM("BestEffort", "Burstable", "Guaranteed"), 9, 0,
	  "The Quality of Service (QOS) classification assigned to the pod based on resource "
	  "requirements"),
    FLIST("ephemeralContainerStatuses", container_status, NULL, 13, 0,
	  "Statuses for any ephemeral containers that have run in this pod."),
    FSTR("resize", 14, 0, "Deprecated: Status of resources resize desired for pod's containers."),
    {.name = "resourceClaimStatuses",
     .type = API_ARRAY,
     .elem = API_OBJECT,
     .schema = &pod_resource_claim_status,
     .merge_key = "name",
     .proto = 15,
     .flags = API_F_RETAIN_KEYS,
     .desc = "Status of resource claims."},
    FANY("extendedResourceClaimStatus", 18, PTR, "Status of extended resource claim backed by DRA."),
    FQMAP("allocatedResources", 19, 0,
	  "AllocatedResources is the total requests allocated for this pod by the node."),
    FOBJ("resources", resource_requirements, 20, PTR,
	 "Resources represents the compute resource requests and limits that have been "
	 "applied at the pod level."));

API__SCHEMA(, api__schema_pod, CORE "Pod",
	    "Pod is a collection of containers that can run on a host. This resource is created by "
	    "clients and scheduled onto hosts.",
	    API__TYPE_META, API__OBJECT_META(1, 0),
	    FOBJ("spec", pod_spec, 2, 0, "Specification of the desired behavior of the pod."),
	    FOBJ("status", pod_status, 3, 0,
		 "Most recently observed status of the pod. This data may not be up to date. "
		 "Populated by the system. Read-only."));

/* PodTemplateSpec: the pod template of every workload kind (api/schema_workloads.c). */
API__SCHEMA(, api__schema_pod_template_spec, CORE "PodTemplateSpec",
	    "PodTemplateSpec describes the data a pod should have when created from a template",
	    API__OBJECT_META(1, 0),
	    FOBJ("spec", pod_spec, 2, 0,
		 "Specification of the desired behavior of the pod. More info: "
		 "https://git.k8s.io/community/contributors/devel/sig-architecture/"
		 "api-conventions.md#spec-and-status"));

/* ---- Event ---- */

API__SCHEMA(static, event_source, CORE "EventSource", "EventSource contains information for an event.",
	    FSTR("component", 1, 0, "Component from which the event is generated."),
	    FSTR("host", 2, 0, "Node name on which the event is generated."));

API__SCHEMA(static, event_series, CORE "EventSeries",
	    "EventSeries contain information on series of events, i.e. thing that was/is "
	    "happening continuously for some time.",
	    FINT("count", 1, 0, "Number of occurrences in this series up to the last heartbeat time"),
	    FTIME("lastObservedTime", 2, API_F_MICROTIME, "Time of the last occurrence observed"));

API__SCHEMA(
    , api__schema_event, CORE "Event",
    "Event is a report of an event somewhere in the cluster. Events have a limited "
    "retention time and triggers and messages may evolve with time.",
    API__TYPE_META, API__OBJECT_META(1, REQ),
    FOBJ("involvedObject", api__schema_object_reference, 2, REQ, "The object that this event is about."),
    FSTR("reason", 3, 0,
	 "This should be a short, machine understandable string that gives the reason for "
	 "the transition into the object's current status."),
    FSTR("message", 4, 0, "A human-readable description of the status of this operation."),
    FOBJ("source", event_source, 5, 0,
	 "The component reporting this event. Should be a short machine understandable "
	 "string."),
    FTIME("firstTimestamp", 6, 0,
	  "The time at which the event was first recorded. (Time of server receipt is in "
	  "TypeMeta.)"),
    FTIME("lastTimestamp", 7, 0, "The time at which the most recent occurrence of this event was recorded."),
    FINT("count", 8, 0, "The number of times this event has occurred."),
    FSTR("type", 9, 0, "Type of this event (Normal, Warning), new types could be added in the future"),
    FTIME("eventTime", 10, API_F_MICROTIME, "Time when this Event was first observed."),
    FOBJ("series", event_series, 11, PTR,
	 "Data about the Event series this event represents or nil if it's a singleton "
	 "Event."),
    FSTR("action", 12, 0, "What action was taken/failed regarding to the Regarding object."),
    FOBJ("related", api__schema_object_reference, 13, PTR,
	 "Optional secondary object for more complex actions."),
    FSTR("reportingComponent", 14, 0,
	 "Name of the controller that emitted this Event, e.g. `kubernetes.io/kubelet`."),
    FSTR("reportingInstance", 15, 0, "ID of the controller instance, e.g. `kubelet-xyzf`."));
