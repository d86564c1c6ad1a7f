/* test_openapi.c - Strict field checks on realistic manifests, and the OpenAPI v3 index
 * and documents kubectl reads (field-validation probe, explain, SMP metadata). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/openapi.h"
#include "api/schema.h"
#include "harness/t.h"

/* Parses JSON written with single quotes (manifests below never contain a quote). */
static json_t *J(const char *text)
{
	char *s = strdup(text);
	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	json_error_t err;
	json_t *v = json_loads(s, 0, &err);
	if (!v)
		t_fail(__FILE__, __LINE__, "bad test JSON at %d: %s", err.position, err.text);
	free(s);
	return v;
}

static const struct api_schema *S(const char *api_version, const char *kind)
{
	const struct api_kind *k = api_kind_by_gvk(api_version, kind);
	if (!k)
		t_fail(__FILE__, __LINE__, "no kind %s", kind);
	return k->schema;
}

/* Asserts that obj has no unknown field, printing the ones it has. */
static void assert_clean(json_t *obj, const char *api_version, const char *kind)
{
	json_t *u = json_array();
	size_t n = api_unknown_fields(obj, S(api_version, kind), u);
	if (n || json_array_size(u)) {
		char *s = json_dumps(u, 0);
		t_fail(__FILE__, __LINE__, "%s: %zu unknown fields: %s", kind, n, s);
	}
	json_decref(u);
}

static const char *const SERVICE =
    "{'apiVersion':'v1','kind':'Service',"
    "'metadata':{'name':'web','namespace':'default','uid':'6f1c2a9e-1b7e-4c55-9a55-0d2d1b6f1a10',"
    " 'resourceVersion':'1234','generation':2,'creationTimestamp':'2024-05-01T10:00:00Z',"
    " 'labels':{'app.kubernetes.io/name':'web','tier':'frontend'},"
    " 'annotations':{'kubectl.kubernetes.io/last-applied-configuration':'{}','owner':'team-a'},"
    " 'finalizers':['service.kubernetes.io/load-balancer-cleanup'],"
    " 'ownerReferences':[{'apiVersion':'apps/v1','kind':'Deployment','name':'web',"
    "  'uid':'0b9f5b6a-8d2e-4f0e-a1c4-3b2a1c0d9e8f','controller':true,'blockOwnerDeletion':true}],"
    " 'managedFields':[{'manager':'kubectl-client-side-apply','operation':'Update','apiVersion':'v1',"
    "  'time':'2024-05-01T10:00:00Z','fieldsType':'FieldsV1',"
    "  'fieldsV1':{'f:spec':{'f:ports':{'k:{}':{'.':{}}}}}}]},"
    "'spec':{'type':'LoadBalancer','selector':{'app.kubernetes.io/name':'web'},"
    " 'ports':[{'name':'http','protocol':'TCP','appProtocol':'http','port':80,'targetPort':'http',"
    "   'nodePort':30080},{'name':'metrics','protocol':'TCP','port':9100,'targetPort':9100}],"
    " 'clusterIP':'198.18.0.10','clusterIPs':['198.18.0.10','2001:db8::a'],"
    " 'ipFamilies':['IPv4','IPv6'],'ipFamilyPolicy':'PreferDualStack',"
    " 'externalIPs':['198.18.1.1'],'sessionAffinity':'ClientIP',"
    " 'sessionAffinityConfig':{'clientIP':{'timeoutSeconds':10800}},"
    " 'loadBalancerIP':'','loadBalancerSourceRanges':['198.18.0.0/15'],"
    " 'externalTrafficPolicy':'Local','healthCheckNodePort':32000,"
    " 'publishNotReadyAddresses':false,'allocateLoadBalancerNodePorts':true,"
    " 'loadBalancerClass':'example.com/lb','internalTrafficPolicy':'Cluster',"
    " 'trafficDistribution':'PreferClose'},"
    "'status':{'loadBalancer':{'ingress':[{'ip':'198.18.2.1','ipMode':'VIP',"
    "   'ports':[{'port':80,'protocol':'TCP','error':'example.com/Busy'}]},"
    "  {'hostname':'lb.example.com'}]},"
    " 'conditions':[{'type':'LoadBalancerReady','status':'True','observedGeneration':2,"
    "  'lastTransitionTime':'2024-05-01T10:00:05Z','reason':'Provisioned','message':'ok'}]}}";

static const char *const POD =
    "{'apiVersion':'v1','kind':'Pod',"
    "'metadata':{'name':'web-0','namespace':'shop','labels':{'app':'web'},"
    " 'annotations':{'prometheus.io/scrape':'true'},'generateName':'web-'},"
    "'spec':{"
    " 'volumes':[{'name':'config','configMap':{'name':'web-config','defaultMode':420,"
    "   'items':[{'key':'a','path':'a.conf'}]}},"
    "  {'name':'cache','emptyDir':{'medium':'Memory','sizeLimit':'64Mi'}},"
    "  {'name':'token','projected':{'sources':[{'serviceAccountToken':{'path':'token',"
    "   'expirationSeconds':3600}}]}},{'name':'tls','secret':{'secretName':'web-tls'}}],"
    " 'initContainers':[{'name':'init','image':'busybox:1.36','command':['sh','-c','true'],"
    "   'restartPolicy':'Always','resources':{'requests':{'cpu':'10m'}}}],"
    " 'containers':[{'name':'web','image':'nginx:1.27','imagePullPolicy':'IfNotPresent',"
    "   'command':['nginx'],'args':['-g','daemon off;'],'workingDir':'/srv',"
    "   'ports':[{'name':'http','containerPort':8080,'protocol':'TCP'},"
    "    {'name':'dns','containerPort':53,'protocol':'UDP','hostPort':1053,'hostIP':'198.18.0.1'}],"
    "   'env':[{'name':'MODE','value':'prod'},"
    "    {'name':'POD_IP','valueFrom':{'fieldRef':{'apiVersion':'v1','fieldPath':'status.podIP'}}},"
    "    {'name':'PASSWORD','valueFrom':{'secretKeyRef':{'name':'db','key':'password','optional':false}}},"
    "    {'name':'LEVEL','valueFrom':{'configMapKeyRef':{'name':'web-config','key':'level'}}},"
    "    {'name':'MEM','valueFrom':{'resourceFieldRef':{'containerName':'web','resource':'limits.memory',"
    "     'divisor':'1Mi'}}}],"
    "   'envFrom':[{'prefix':'CFG_','configMapRef':{'name':'web-env'}},{'secretRef':{'name':'web-secret',"
    "     'optional':true}}],"
    "   'resources':{'limits':{'cpu':'500m','memory':'256Mi'},'requests':{'cpu':0.1,'memory':'128Mi'}},"
    "   'resizePolicy':[{'resourceName':'cpu','restartPolicy':'NotRequired'}],"
    "   'volumeMounts':[{'name':'config','mountPath':'/etc/web','readOnly':true},"
    "    {'name':'cache','mountPath':'/cache','subPath':'c','mountPropagation':'None'}],"
    "   'readinessProbe':{'httpGet':{'path':'/healthz','port':'http','scheme':'HTTP',"
    "     'httpHeaders':[{'name':'X-Probe','value':'1'}]},'initialDelaySeconds':2,"
    "     'periodSeconds':5,'timeoutSeconds':1,'successThreshold':1,'failureThreshold':3},"
    "   'livenessProbe':{'tcpSocket':{'port':8080},'terminationGracePeriodSeconds':10},"
    "   'startupProbe':{'exec':{'command':['cat','/tmp/ready']},'failureThreshold':30},"
    "   'lifecycle':{'preStop':{'sleep':{'seconds':5}},'postStart':{'exec':{'command':['true']}}},"
    "   'securityContext':{'runAsNonRoot':true,'runAsUser':1000,'allowPrivilegeEscalation':false,"
    "     'readOnlyRootFilesystem':true,'capabilities':{'drop':['ALL'],'add':['NET_BIND_SERVICE']},"
    "     'seccompProfile':{'type':'RuntimeDefault'}},"
    "   'terminationMessagePath':'/dev/termination-log','terminationMessagePolicy':'File',"
    "   'stdin':false,'tty':false},"
    "  {'name':'grpc','image':'grpc:1','readinessProbe':{'grpc':{'port':9090,'service':'h'}}}],"
    " 'restartPolicy':'Always','terminationGracePeriodSeconds':30,'activeDeadlineSeconds':3600,"
    " 'dnsPolicy':'None','dnsConfig':{'nameservers':['198.18.0.53'],'searches':['shop.svc.cluster.local'],"
    "   'options':[{'name':'ndots','value':'2'},{'name':'edns0'}]},"
    " 'nodeSelector':{'kubernetes.io/os':'linux'},'serviceAccountName':'web',"
    " 'automountServiceAccountToken':false,'nodeName':'node-1','hostNetwork':false,"
    " 'hostname':'web-0','subdomain':'web','enableServiceLinks':false,'setHostnameAsFQDN':false,"
    " 'securityContext':{'fsGroup':2000,'supplementalGroups':[3000],'sysctls':[{'name':'net.ipv4.ip_local_"
    "port_range','value':'1024 65535'}]},"
    " 'imagePullSecrets':[{'name':'regcred'}],"
    " 'affinity':{'nodeAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':{'nodeSelectorTerms':"
    "   [{'matchExpressions':[{'key':'zone','operator':'In','values':['a','b']}]}]}},"
    "  'podAntiAffinity':{'preferredDuringSchedulingIgnoredDuringExecution':[{'weight':100,"
    "   "
    "'podAffinityTerm':{'labelSelector':{'matchLabels':{'app':'web'}},'topologyKey':'kubernetes.io/"
    "hostname'}}]}},"
    " 'tolerations':[{'key':'node.kubernetes.io/not-ready','operator':'Exists','effect':'NoExecute',"
    "   'tolerationSeconds':300}],"
    " 'topologySpreadConstraints':[{'maxSkew':1,'topologyKey':'zone','whenUnsatisfiable':'ScheduleAnyway',"
    "   'labelSelector':{'matchExpressions':[{'key':'app','operator':'Exists'}]}}],"
    " 'hostAliases':[{'ip':'198.18.0.9','hostnames':['db.local']}],"
    " 'priorityClassName':'high','priority':1000,'schedulerName':'default-scheduler',"
    " 'readinessGates':[{'conditionType':'example.com/ready'}],'os':{'name':'linux'},"
    " 'schedulingGates':[{'name':'example.com/gate'}],'runtimeClassName':'runc','preemptionPolicy':'Never',"
    " 'overhead':{'cpu':'10m'},'shareProcessNamespace':false,'hostUsers':true},"
    "'status':{'phase':'Running','qosClass':'Burstable','hostIP':'198.18.0.1',"
    " 'hostIPs':[{'ip':'198.18.0.1'}],'podIP':'198.18.10.5','podIPs':[{'ip':'198.18.10.5'},{'ip':'2001:db8::"
    "5'}],"
    " 'startTime':'2024-05-01T10:00:00Z','message':'','reason':'','nominatedNodeName':'',"
    " 'conditions':[{'type':'Ready','status':'True','lastProbeTime':null,"
    "   'lastTransitionTime':'2024-05-01T10:00:09Z'}],"
    " 'containerStatuses':[{'name':'web','ready':true,'restartCount':0,'started':true,"
    "   'image':'nginx:1.27','imageID':'docker.io/library/nginx@sha256:00','containerID':'containerd://ab',"
    "   'state':{'running':{'startedAt':'2024-05-01T10:00:02Z'}},"
    "   'lastState':{'terminated':{'exitCode':137,'reason':'OOMKilled','startedAt':'2024-05-01T09:00:00Z',"
    "     'finishedAt':'2024-05-01T09:59:00Z','containerID':'containerd://aa'}},"
    "   'volumeMounts':[{'name':'config','mountPath':'/etc/web','readOnly':true}]}],"
    " 'initContainerStatuses':[{'name':'init','ready':true,'restartCount':0,'image':'busybox:1.36',"
    "   'imageID':'x','state':{'waiting':{'reason':'PodInitializing','message':''}}}]}}";

static const char *const INGRESS =
    "{'apiVersion':'networking.k8s.io/v1','kind':'Ingress',"
    "'metadata':{'name':'web','namespace':'shop','annotations':{'nginx.ingress.kubernetes.io/"
    "rewrite-target':'/'}},"
    "'spec':{'ingressClassName':'nginx',"
    " 'defaultBackend':{'service':{'name':'default-http','port':{'number':80}}},"
    " 'tls':[{'hosts':['shop.example.com'],'secretName':'shop-tls'}],"
    " 'rules':[{'host':'shop.example.com','http':{'paths':["
    "   {'path':'/','pathType':'Prefix','backend':{'service':{'name':'web','port':{'name':'http'}}}},"
    "   "
    "{'path':'/"
    "static','pathType':'ImplementationSpecific','backend':{'resource':{'apiGroup':'k8s.example.com',"
    "    'kind':'StorageBucket','name':'static'}}}]}},{'http':{'paths':[{'path':'/api','pathType':'Exact',"
    "   'backend':{'service':{'name':'api','port':{'number':8080}}}}]}}]},"
    "'status':{'loadBalancer':{'ingress':[{'ip':'198.18.3.1','ports':[{'port':443,'protocol':'TCP'}]},"
    " {'hostname':'ingress.example.com'}]}}}";

static const char *const ENDPOINT_SLICE =
    "{'apiVersion':'discovery.k8s.io/v1','kind':'EndpointSlice',"
    "'metadata':{'name':'web-abc12','namespace':'shop','generateName':'web-',"
    " 'labels':{'kubernetes.io/service-name':'web','endpointslice.kubernetes.io/"
    "managed-by':'endpointslice-controller.k8s.io'},"
    " 'ownerReferences':[{'apiVersion':'v1','kind':'Service','name':'web','uid':'u1','controller':true,"
    "  'blockOwnerDeletion':true}]},"
    "'addressType':'IPv4',"
    "'endpoints':[{'addresses':['198.18.10.5'],'conditions':{'ready':true,'serving':true,'terminating':false}"
    ","
    "  "
    "'hostname':'web-0','nodeName':'node-1','zone':'a','hints':{'forZones':[{'name':'a'}],'forNodes':[{'name'"
    ":'node-1'}]},"
    "  'targetRef':{'kind':'Pod','namespace':'shop','name':'web-0','uid':'u2','resourceVersion':'7'},"
    "  'deprecatedTopology':{'kubernetes.io/hostname':'node-1'}}],"
    "'ports':[{'name':'http','protocol':'TCP','port':8080,'appProtocol':'http'}]}";

static const char *const ENDPOINTS =
    "{'apiVersion':'v1','kind':'Endpoints','metadata':{'name':'web','namespace':'shop',"
    " 'annotations':{'endpoints.kubernetes.io/last-change-trigger-time':'2024-05-01T10:00:09Z'}},"
    "'subsets':[{'addresses':[{'ip':'198.18.10.5','hostname':'web-0','nodeName':'node-1',"
    "   'targetRef':{'kind':'Pod','namespace':'shop','name':'web-0','uid':'u2'}}],"
    "  'notReadyAddresses':[{'ip':'198.18.10.6'}],"
    "  'ports':[{'name':'http','port':8080,'protocol':'TCP','appProtocol':'http'}]}]}";

static const char *const NODE =
    "{'apiVersion':'v1','kind':'Node','metadata':{'name':'node-1','labels':{'kubernetes.io/"
    "hostname':'node-1'}},"
    "'spec':{'podCIDR':'198.18.10.0/24','podCIDRs':['198.18.10.0/24','2001:db8:10::/64'],"
    " 'providerID':'svcplane://node-1','unschedulable':true,"
    " 'taints':[{'key':'node.kubernetes.io/"
    "unschedulable','effect':'NoSchedule','timeAdded':'2024-05-01T10:00:00Z'}]},"
    "'status':{'capacity':{'cpu':'4','memory':'8Gi','pods':'110'},'allocatable':{'cpu':'3800m','memory':'7Gi'"
    ",'pods':'110'},"
    " 'conditions':[{'type':'Ready','status':'True','lastHeartbeatTime':'2024-05-01T10:00:00Z',"
    "   'lastTransitionTime':'2024-05-01T09:00:00Z','reason':'KubeletReady','message':'ready'}],"
    " 'addresses':[{'type':'InternalIP','address':'198.18.0.1'},{'type':'Hostname','address':'node-1'}],"
    " 'daemonEndpoints':{'kubeletEndpoint':{'Port':10250}},"
    " 'nodeInfo':{'machineID':'m','systemUUID':'s','bootID':'b','kernelVersion':'6.1.0','osImage':'Debian "
    "12',"
    "   'containerRuntimeVersion':'svcplane://0.1','kubeletVersion':'v1.33.0','kubeProxyVersion':'',"
    "   'operatingSystem':'linux','architecture':'amd64','swap':{'capacity':0}},"
    " 'images':[{'names':['nginx:1.27'],'sizeBytes':1000}],'volumesInUse':[],'volumesAttached':[],"
    " 'runtimeHandlers':[{'name':'','features':{'recursiveReadOnlyMounts':true,'userNamespaces':false}}],"
    " 'features':{'supplementalGroupsPolicy':true}}}";

static const char *const NAMESPACE = "{'apiVersion':'v1','kind':'Namespace','metadata':{'name':'shop','"
				     "labels':{'kubernetes.io/metadata.name':'shop'}},"
				     "'spec':{'finalizers':['kubernetes']},'status':{'phase':'Active','"
				     "conditions':[{'type':'NamespaceDeletionContentFailure',"
				     " 'status':'False','lastTransitionTime':'2024-05-01T10:00:00Z','reason':"
				     "'ContentDeleted','message':'m'}]}}";

static const char *const EVENT =
    "{'apiVersion':'v1','kind':'Event','metadata':{'name':'web.17c2','namespace':'shop'},"
    "'involvedObject':{'apiVersion':'v1','kind':'Service','name':'web','namespace':'shop','uid':'u1',"
    " 'resourceVersion':'5','fieldPath':'spec'},'reason':'EnsuredLoadBalancer','message':'Ensured load "
    "balancer',"
    "'source':{'component':'service-controller','host':'node-1'},'firstTimestamp':'2024-05-01T10:00:00Z',"
    "'lastTimestamp':'2024-05-01T10:00:05Z','count':2,'type':'Normal','eventTime':'2024-05-01T10:00:00."
    "123456Z',"
    "'series':{'count':2,'lastObservedTime':'2024-05-01T10:00:05.000000Z'},'action':'Ensure',"
    "'related':{'kind':'Node','name':'node-1'},'reportingComponent':'svcplane/"
    "lb','reportingInstance':'lb-1'}";

static const char *const INGRESS_CLASS =
    "{'apiVersion':'networking.k8s.io/v1','kind':'IngressClass',"
    "'metadata':{'name':'nginx','annotations':{'ingressclass.kubernetes.io/is-default-class':'true'}},"
    "'spec':{'controller':'k8s.io/ingress-nginx','parameters':{'apiGroup':'k8s.example.com',"
    " 'kind':'IngressParameters','name':'external-lb','scope':'Namespace','namespace':'shop'}}}";

static const struct {
	const char *const *text;
	const char *api_version, *kind;
} MANIFESTS[] = {
    {&SERVICE, "v1", "Service"},
    {&POD, "v1", "Pod"},
    {&INGRESS, "networking.k8s.io/v1", "Ingress"},
    {&ENDPOINT_SLICE, "discovery.k8s.io/v1", "EndpointSlice"},
    {&ENDPOINTS, "v1", "Endpoints"},
    {&NODE, "v1", "Node"},
    {&NAMESPACE, "v1", "Namespace"},
    {&EVENT, "v1", "Event"},
    {&INGRESS_CLASS, "networking.k8s.io/v1", "IngressClass"},
};
#define NMANIFESTS (sizeof(MANIFESTS) / sizeof(MANIFESTS[0]))

TEST(openapi_real_manifests_have_no_unknown_fields)
{
	for (size_t i = 0; i < NMANIFESTS; i++) {
		json_t *obj = J(*MANIFESTS[i].text);
		assert_clean(obj, MANIFESTS[i].api_version, MANIFESTS[i].kind);
		json_decref(obj);
	}
}

TEST(openapi_unknown_fields_paths_in_document_order)
{
	json_t *svc = J("{'apiVersion':'v1','kind':'Service','metdata':{},"
			"'metadata':{'name':'a','lables':{'x':'y'},'labels':{'bad key ok':'v'}},"
			"'spec':{'ports':[{'port':80},{'port':81,'targetPrt':8081,'bar':1}],"
			"'selectr':{'a':'b'},'sessionAffinityConfig':{'clientIP':{'timeout':1}}},"
			"'status':{'loadBalancer':{'ingress':[{'ip':'198.18.0.1','ipmode':'VIP'}]}}}");
	json_t *u = json_array();
	size_t n = api_unknown_fields(svc, S("v1", "Service"), u);
	static const char *const want[] = {
	    ".metdata",
	    ".metadata.lables",
	    ".spec.ports[1].targetPrt",
	    ".spec.ports[1].bar",
	    ".spec.selectr",
	    ".spec.sessionAffinityConfig.clientIP.timeout",
	    ".status.loadBalancer.ingress[0].ipmode",
	};
	ASSERT_INT_EQ(n, sizeof(want) / sizeof(want[0]));
	ASSERT_INT_EQ(json_array_size(u), n);
	for (size_t i = 0; i < n; i++)
		ASSERT_STR_EQ(json_string_value(json_array_get(u, i)), want[i]);
	/* NULL array: only counts */
	ASSERT_INT_EQ(api_unknown_fields(svc, S("v1", "Service"), NULL), n);
	json_decref(u);
	json_decref(svc);
}

TEST(openapi_unknown_fields_deep_and_inline)
{
	json_t *ing = J("{'apiVersion':'networking.k8s.io/v1','kind':'Ingress','metadata':{'name':'i'},"
			"'spec':{'rules':[{'host':'a','ingressRuleValue':{},'http':{'paths':[{'path':'/',"
			"'pathType':'Prefix','backend':{'service':{'name':'s','port':{'nmber':80}}}}]}}]}}");
	json_t *u = json_array();
	ASSERT_INT_EQ(api_unknown_fields(ing, S("networking.k8s.io/v1", "Ingress"), u), 2);
	ASSERT_STR_EQ(json_string_value(json_array_get(u, 0)), ".spec.rules[0].ingressRuleValue");
	ASSERT_STR_EQ(json_string_value(json_array_get(u, 1)),
		      ".spec.rules[0].http.paths[0].backend.service.port.nmber");
	json_decref(u);
	json_decref(ing);

	json_t *pod = J("{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p'},'spec':{"
			"'volumes':[{'name':'v','configMap':{'anything':{'goes':1}},'configMapp':{}}],"
			"'containers':[{'name':'c','image':'i','imagePullPolcy':'Always',"
			"'readinessProbe':{'handler':{},'httpGet':{'port':80,'pth':'/'}},"
			"'env':[{'name':'A','valueFrom':{'fieldRef':{'fieldPath':'x','field':'y'}}}]}],"
			"'nodeselector':{}}}");
	u = json_array();
	ASSERT_INT_EQ(api_unknown_fields(pod, S("v1", "Pod"), u), 6);
	static const char *const want[] = {
	    ".spec.volumes[0].configMapp",
	    ".spec.containers[0].imagePullPolcy",
	    ".spec.containers[0].readinessProbe.handler",
	    ".spec.containers[0].readinessProbe.httpGet.pth",
	    ".spec.containers[0].env[0].valueFrom.fieldRef.field",
	    ".spec.nodeselector",
	};
	for (size_t i = 0; i < 6; i++)
		ASSERT_STR_EQ(json_string_value(json_array_get(u, i)), want[i]);
	json_decref(u);
	json_decref(pod);
}

TEST(openapi_unknown_fields_ignores_wrong_types_and_non_objects)
{
	json_t *svc = J("{'kind':'Service','spec':{'ports':{'notalist':1},'sessionAffinityConfig':null,"
			"'selector':{'any':'thing'}},'metadata':'str'}");
	ASSERT_INT_EQ(api_unknown_fields(svc, S("v1", "Service"), NULL), 0);
	json_decref(svc);
	json_t *arr = J("[1,2]");
	ASSERT_INT_EQ(api_unknown_fields(arr, S("v1", "Service"), NULL), 0);
	api_drop_unknown_fields(arr, S("v1", "Service"));
	json_decref(arr);
	json_t *empty = J("{'x':1}");
	ASSERT_INT_EQ(api_unknown_fields(empty, NULL, NULL), 0);
	json_decref(empty);
}

TEST(openapi_drop_unknown_fields)
{
	json_t *svc = J("{'apiVersion':'v1','kind':'Service','metadata':{'name':'a','lables':{}},"
			"'spec':{'ports':[{'port':80,'bar':1},{'port':81,'targetPort':'x','baz':[]}],"
			"'selectr':{'a':'b'},'selector':{'a':'b'}},'extra':true}");
	api_drop_unknown_fields(svc, S("v1", "Service"));
	ASSERT_INT_EQ(api_unknown_fields(svc, S("v1", "Service"), NULL), 0);
	json_t *want = J("{'apiVersion':'v1','kind':'Service','metadata':{'name':'a'},"
			 "'spec':{'ports':[{'port':80},{'port':81,'targetPort':'x'}],'selector':{'a':'b'}}}");
	ASSERT(json_equal(svc, want));
	json_decref(want);
	json_decref(svc);
	/* dropping from a clean manifest changes nothing */
	for (size_t i = 0; i < NMANIFESTS; i++) {
		json_t *a = J(*MANIFESTS[i].text), *b = J(*MANIFESTS[i].text);
		api_drop_unknown_fields(a, S(MANIFESTS[i].api_version, MANIFESTS[i].kind));
		ASSERT(json_equal(a, b));
		json_decref(a);
		json_decref(b);
	}
}

/* ---- OpenAPI documents ---- */

static json_t *load_doc(const char *path)
{
	char *s = api_openapi_v3_doc(path);
	if (!s)
		t_fail(__FILE__, __LINE__, "no document for %s", path);
	json_error_t err;
	json_t *d = json_loads(s, 0, &err);
	if (!d)
		t_fail(__FILE__, __LINE__, "%s does not parse: %s", path, err.text);
	free(s);
	return d;
}

static const char *gv_path(const struct api_kind *k)
{
	return k->group[0] == 0					    ? "api/v1"
	       : strcmp(k->group, "apps") == 0			    ? "apis/apps/v1"
	       : strcmp(k->group, "discovery.k8s.io") == 0	    ? "apis/discovery.k8s.io/v1"
	       : strcmp(k->group, "coordination.k8s.io") == 0	    ? "apis/coordination.k8s.io/v1"
	       : strcmp(k->group, "extensions") == 0		    ? "apis/extensions/v1beta1"
	       : strcmp(k->version, "v1beta1") == 0		    ? "apis/networking.k8s.io/v1beta1"
	       : strcmp(k->group, "rbac.authorization.k8s.io") == 0 ? "apis/rbac.authorization.k8s.io/v1"
								    : "apis/networking.k8s.io/v1";
}

TEST(openapi_index)
{
	char *s = api_openapi_v3_index();
	json_t *idx = json_loads(s, 0, NULL);
	ASSERT(idx != NULL);
	json_t *paths = json_object_get(idx, "paths");
	ASSERT_INT_EQ(json_object_size(paths), 8);
	static const char *const gvs[] = {"api/v1",
					  "apis/apps/v1",
					  "apis/discovery.k8s.io/v1",
					  "apis/networking.k8s.io/v1",
					  "apis/coordination.k8s.io/v1",
					  "apis/networking.k8s.io/v1beta1",
					  "apis/extensions/v1beta1",
					  "apis/rbac.authorization.k8s.io/v1"};
	for (size_t i = 0; i < 8; i++) {
		const char *url =
		    json_string_value(json_object_get(json_object_get(paths, gvs[i]), "serverRelativeURL"));
		ASSERT(url != NULL);
		char prefix[128];
		snprintf(prefix, sizeof(prefix), "/openapi/v3/%s?hash=", gvs[i]);
		ASSERT(strncmp(url, prefix, strlen(prefix)) == 0);
		const char *h = url + strlen(prefix);
		ASSERT(strlen(h) >= 16);
		ASSERT(strspn(h, "0123456789ABCDEF") == strlen(h));
	}
	/* stable text, and distinct documents have distinct hashes */
	char *s2 = api_openapi_v3_index();
	ASSERT_STR_EQ(s, s2);
	const char *h1 = strstr(
	    json_string_value(json_object_get(json_object_get(paths, gvs[0]), "serverRelativeURL")), "hash=");
	const char *h2 = strstr(
	    json_string_value(json_object_get(json_object_get(paths, gvs[1]), "serverRelativeURL")), "hash=");
	ASSERT(strcmp(h1, h2) != 0);
	free(s2);
	free(s);
	json_decref(idx);
}

TEST(openapi_docs_are_stable_and_unknown_is_null)
{
	static const char *const gvs[] = {"api/v1", "apis/apps/v1", "apis/discovery.k8s.io/v1",
					  "apis/networking.k8s.io/v1"};
	for (size_t i = 0; i < 4; i++) {
		char *a = api_openapi_v3_doc(gvs[i]), *b = api_openapi_v3_doc(gvs[i]);
		ASSERT(a && b);
		ASSERT(strcmp(a, b) == 0);
		free(a);
		free(b);
	}
	ASSERT(api_openapi_v3_doc("apis/apps/v1beta1") == NULL);
	ASSERT(api_openapi_v3_doc("api/v2") == NULL);
	ASSERT(api_openapi_v3_doc("") == NULL);
	ASSERT(api_openapi_v3_doc(NULL) == NULL);
}

static int gvk_matches(const json_t *gvk, const struct api_kind *k, const char *kind)
{
	return json_is_object(gvk) &&
	       strcmp(json_string_value(json_object_get(gvk, "group")), k->group) == 0 &&
	       strcmp(json_string_value(json_object_get(gvk, "version")), k->version) == 0 &&
	       strcmp(json_string_value(json_object_get(gvk, "kind")), kind) == 0;
}

static int has_param(const json_t *op, const char *name)
{
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(op, "parameters"), i,
			   p) if (strcmp(json_string_value(json_object_get(p, "name")), name) == 0 &&
				  strcmp(json_string_value(json_object_get(p, "in")), "query") == 0) return 1;
	return 0;
}

/* kubectl's probe: a PATCH with the kind's GVK and a fieldValidation query parameter. */
TEST(openapi_each_kind_has_gvk_component_and_patch_with_field_validation)
{
	for (size_t i = 0; i < api_nkinds; i++) {
		const struct api_kind *k = &api_kinds[i];
		json_t *doc = load_doc(gv_path(k));
		ASSERT_STR_EQ(json_string_value(json_object_get(doc, "openapi")), "3.0.0");
		json_t *schemas = json_object_get(json_object_get(doc, "components"), "schemas");
		json_t *comp = json_object_get(schemas, k->schema->name);
		if (!comp)
			t_fail(__FILE__, __LINE__, "no component %s", k->schema->name);
		ASSERT(gvk_matches(
		    json_array_get(json_object_get(comp, "x-kubernetes-group-version-kind"), 0), k, k->kind));
		ASSERT(json_object_get(json_object_get(comp, "properties"), "metadata") != NULL);

		char item[256];
		snprintf(item, sizeof(item), "/%s%s/%s/{name}", gv_path(k),
			 k->namespaced ? "/namespaces/{namespace}" : "", k->plural);
		json_t *pi = json_object_get(json_object_get(doc, "paths"), item);
		if (!pi)
			t_fail(__FILE__, __LINE__, "no path %s", item);
		json_t *get = json_object_get(pi, "get"), *patch = json_object_get(pi, "patch");
		ASSERT(get && patch);
		ASSERT_STR_EQ(json_string_value(json_object_get(get, "x-kubernetes-action")), "get");
		ASSERT_STR_EQ(json_string_value(json_object_get(patch, "x-kubernetes-action")), "patch");
		ASSERT(gvk_matches(json_object_get(patch, "x-kubernetes-group-version-kind"), k, k->kind));
		ASSERT(gvk_matches(json_object_get(get, "x-kubernetes-group-version-kind"), k, k->kind));
		ASSERT(has_param(patch, "fieldValidation"));
		ASSERT(has_param(patch, "fieldManager"));
		ASSERT(has_param(patch, "dryRun"));
		ASSERT(has_param(patch, "force"));
		json_t *content = json_object_get(json_object_get(patch, "requestBody"), "content");
		ASSERT(json_object_get(content, "application/json-patch+json"));
		ASSERT(json_object_get(content, "application/merge-patch+json"));
		ASSERT(json_object_get(content, "application/apply-patch+yaml"));
		/* every kind but Pod and those with a pod template (volume sources are API_ANY)
		 * is complete enough for SMP */
		int smp = json_object_get(content, "application/strategic-merge-patch+json") != NULL;
		const struct api_field *spec = api_schema_field(k->schema, "spec");
		bool pod_like = !strcmp(k->kind, "Pod") ||
				(spec && spec->schema && api_schema_field(spec->schema, "template"));
		ASSERT_INT_EQ(smp, !pod_like);
		/* the status PATCH, when there is one, agrees (kubectl checks only one per GVK) */
		char st[300];
		snprintf(st, sizeof(st), "%s/status", item);
		json_t *sp = json_object_get(json_object_get(json_object_get(doc, "paths"), st), "patch");
		ASSERT_INT_EQ(sp != NULL, k->has_status);
		if (sp) {
			json_t *sc = json_object_get(json_object_get(sp, "requestBody"), "content");
			ASSERT_INT_EQ(json_object_get(sc, "application/strategic-merge-patch+json") != NULL,
				      smp);
			ASSERT(has_param(sp, "fieldValidation"));
		}
		/* path parameters */
		json_t *pp = json_object_get(pi, "parameters");
		ASSERT_INT_EQ(json_array_size(pp), k->namespaced ? 2 : 1);
		json_decref(doc);
	}
}

/* Every "$ref" points at a component of the same document. */
static void check_refs(const json_t *v, const json_t *schemas, int *count)
{
	if (json_is_object(v)) {
		const char *key;
		json_t *val;
		json_object_foreach((json_t *)v, key, val)
		{
			if (strcmp(key, "$ref") == 0) {
				const char *r = json_string_value(val);
				ASSERT(r && strncmp(r, "#/components/schemas/", 21) == 0);
				if (!json_object_get(schemas, r + 21))
					t_fail(__FILE__, __LINE__, "dangling $ref %s", r);
				(*count)++;
			} else {
				check_refs(val, schemas, count);
			}
		}
	} else if (json_is_array(v)) {
		size_t i;
		json_t *e;
		json_array_foreach((json_t *)v, i, e) check_refs(e, schemas, count);
	}
}

TEST(openapi_refs_resolve_and_names_match_kubernetes)
{
	static const char *const gvs[] = {"api/v1", "apis/discovery.k8s.io/v1", "apis/networking.k8s.io/v1"};
	for (size_t i = 0; i < 3; i++) {
		json_t *doc = load_doc(gvs[i]);
		json_t *schemas = json_object_get(json_object_get(doc, "components"), "schemas");
		int n = 0;
		check_refs(doc, schemas, &n);
		ASSERT(n > 10);
		ASSERT(json_object_get(schemas, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"));
		ASSERT(json_object_get(schemas, "io.k8s.apimachinery.pkg.apis.meta.v1.Time"));
		ASSERT(json_object_get(schemas, "io.k8s.apimachinery.pkg.apis.meta.v1.Patch"));
		json_decref(doc);
	}
	json_t *core = load_doc("api/v1");
	json_t *schemas = json_object_get(json_object_get(core, "components"), "schemas");
	ASSERT(json_object_get(schemas, "io.k8s.api.core.v1.ServiceSpec"));
	ASSERT(json_object_get(schemas, "io.k8s.api.core.v1.ServiceList"));
	ASSERT(json_object_get(schemas, "io.k8s.apimachinery.pkg.util.intstr.IntOrString"));
	ASSERT(json_object_get(schemas, "io.k8s.apimachinery.pkg.api.resource.Quantity"));
	ASSERT(json_object_get(schemas, "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime"));
	/* inline types are flattened, not components */
	ASSERT(json_object_get(schemas, "io.k8s.api.core.v1.ProbeHandler") == NULL);
	json_t *probe = json_object_get(json_object_get(schemas, "io.k8s.api.core.v1.Probe"), "properties");
	ASSERT(json_object_get(probe, "httpGet") && !json_object_get(probe, "handler"));
	json_decref(core);
	json_t *net = load_doc("apis/networking.k8s.io/v1");
	schemas = json_object_get(json_object_get(net, "components"), "schemas");
	ASSERT(json_object_get(schemas, "io.k8s.api.core.v1.TypedLocalObjectReference"));
	json_t *rule =
	    json_object_get(json_object_get(schemas, "io.k8s.api.networking.v1.IngressRule"), "properties");
	ASSERT(json_object_get(rule, "http") && json_object_get(rule, "host"));
	ASSERT(json_object_get(schemas, "io.k8s.api.networking.v1.IngressRuleValue") == NULL);
	json_decref(net);
}

TEST(openapi_patch_metadata_and_property_types)
{
	json_t *doc = load_doc("api/v1");
	json_t *schemas = json_object_get(json_object_get(doc, "components"), "schemas");
	json_t *spec =
	    json_object_get(json_object_get(schemas, "io.k8s.api.core.v1.ServiceSpec"), "properties");
	json_t *ports = json_object_get(spec, "ports");
	ASSERT_STR_EQ(json_string_value(json_object_get(ports, "type")), "array");
	ASSERT_STR_EQ(json_string_value(json_object_get(ports, "x-kubernetes-patch-merge-key")), "port");
	ASSERT_STR_EQ(json_string_value(json_object_get(ports, "x-kubernetes-patch-strategy")), "merge");
	ASSERT_STR_EQ(
	    json_string_value(json_object_get(
		json_array_get(json_object_get(json_object_get(ports, "items"), "allOf"), 0), "$ref")),
	    "#/components/schemas/io.k8s.api.core.v1.ServicePort");
	json_t *tp = json_object_get(
	    json_object_get(json_object_get(schemas, "io.k8s.api.core.v1.ServicePort"), "properties"),
	    "targetPort");
	ASSERT(json_is_true(json_object_get(tp, "x-kubernetes-int-or-string")));
	json_t *port = json_object_get(
	    json_object_get(json_object_get(schemas, "io.k8s.api.core.v1.ServicePort"), "properties"),
	    "port");
	ASSERT_STR_EQ(json_string_value(json_object_get(port, "format")), "int32");
	json_t *req = json_object_get(json_object_get(schemas, "io.k8s.api.core.v1.ServicePort"), "required");
	ASSERT_STR_EQ(json_string_value(json_array_get(req, 0)), "port");
	json_t *meta = json_object_get(
	    json_object_get(schemas, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"), "properties");
	ASSERT(json_object_get(meta, "annotations") && json_object_get(meta, "labels"));
	ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(meta, "finalizers"),
							"x-kubernetes-patch-strategy")),
		      "merge");
	ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(meta, "ownerReferences"),
							"x-kubernetes-patch-merge-key")),
		      "uid");
	ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(meta, "generation"), "format")),
		      "int64");
	json_t *podspec =
	    json_object_get(json_object_get(schemas, "io.k8s.api.core.v1.PodSpec"), "properties");
	ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(podspec, "volumes"),
							"x-kubernetes-patch-strategy")),
		      "merge,retainKeys");
	json_t *ns = json_object_get(json_object_get(schemas, "io.k8s.api.core.v1.NodeSpec"), "properties");
	ASSERT_STR_EQ(json_string_value(
			  json_object_get(json_object_get(ns, "podCIDRs"), "x-kubernetes-patch-strategy")),
		      "merge");
	json_decref(doc);
}

/* ---- kubectl's SMP computation, emulated: strategicpatch.PatchMetaFromOpenAPIV3 ---- */

static json_t *resolve(json_t *schema, json_t *schemas)
{
	json_t *all = json_object_get(schema, "allOf");
	if (json_array_size(all))
		schema = json_array_get(all, 0);
	const char *r = json_string_value(json_object_get(schema, "$ref"));
	if (r) {
		schema = json_object_get(schemas, r + strlen("#/components/schemas/"));
		if (!schema)
			t_fail(__FILE__, __LINE__, "unable to resolve %s in OpenAPI V3", r);
	}
	return schema;
}

/* Descends like CreateThreeWayMergePatch does for a value present on both sides: every map
 * key that holds a map or a list must be a property of the schema. Returns the first key
 * kubectl would report as "unable to find api field", or NULL. */
static const char *smp_walk(const json_t *v, json_t *schema, json_t *schemas)
{
	if (!json_is_object(v))
		return NULL;
	const char *key, *bad;
	json_t *val;
	json_object_foreach((json_t *)v, key, val)
	{
		if (!json_is_object(val) && !json_is_array(val))
			continue;
		json_t *props = json_object_get(schema, "properties");
		json_t *addl = json_object_get(schema, "additionalProperties");
		json_t *sub = props ? json_object_get(props, key) : NULL;
		if (!sub && addl)
			sub = addl;
		if (!sub)
			return key;
		if (json_is_object(val)) {
			if ((bad = smp_walk(val, resolve(sub, schemas), schemas)))
				return bad;
		} else {
			const char *mk =
			    json_string_value(json_object_get(sub, "x-kubernetes-patch-merge-key"));
			json_t *items = json_object_get(sub, "items");
			size_t i;
			json_t *e;
			if (!mk || !items)
				continue; /* replaced whole: compared, not descended */
			json_array_foreach(val, i, e)
			{
				if ((bad = smp_walk(e, resolve(items, schemas), schemas)))
					return bad;
			}
		}
	}
	return NULL;
}

TEST(openapi_smp_metadata_covers_real_manifests)
{
	for (size_t i = 0; i < NMANIFESTS; i++) {
		const struct api_kind *k = api_kind_by_gvk(MANIFESTS[i].api_version, MANIFESTS[i].kind);
		if (strcmp(k->kind, "Pod") == 0)
			continue; /* no SMP media type: kubectl uses its compiled-in metadata */
		json_t *doc = load_doc(gv_path(k));
		json_t *schemas = json_object_get(json_object_get(doc, "components"), "schemas");
		json_t *obj = J(*MANIFESTS[i].text);
		const char *bad = smp_walk(obj, json_object_get(schemas, k->schema->name), schemas);
		if (bad)
			t_fail(__FILE__, __LINE__, "%s: unable to find api field \"%s\"", k->kind, bad);
		json_decref(obj);
		json_decref(doc);
	}
}

/* The reason Pod leaves the SMP media type out: its volume sources have no properties. */
TEST(openapi_smp_walk_detects_incomplete_pod_schema)
{
	json_t *doc = load_doc("api/v1");
	json_t *schemas = json_object_get(json_object_get(doc, "components"), "schemas");
	json_t *obj = J(POD);
	const char *bad = smp_walk(obj, json_object_get(schemas, "io.k8s.api.core.v1.Pod"), schemas);
	ASSERT_STR_EQ(bad, "items");
	json_decref(obj);
	json_decref(doc);
}
