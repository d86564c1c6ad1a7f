/* schema_workloads.c - schemas of the workload kinds and the objects pods consume:
 * core/v1 ConfigMap, Secret, ServiceAccount, ReplicationController; apps/v1 ReplicaSet,
 * Deployment, StatefulSet, DaemonSet, ControllerRevision; autoscaling/v1 Scale (the
 * body of every scale subresource).
 *
 * Field order, JSON names and protobuf numbers follow k8s.io/api core/v1, apps/v1 and
 * autoscaling/v1 types.go and generated.proto (Kubernetes 1.33). The pod template reuses
 * the Pod's schema (api__schema_pod_template_spec in schema_core.c). Not modelled in
 * depth: a StatefulSet's volumeClaimTemplates (PersistentVolumeClaims, listed as API_ANY
 * items: the project has no volumes API) and ControllerRevision.data (a RawExtension,
 * free-form in Kubernetes too). Secret.data is map[string][]byte: base64 strings in JSON,
 * checked by api/kinds.c.
 */
#include "api/schema_defs.h"

#define CORE "io.k8s.api.core.v1."
#define APPS "io.k8s.api.apps.v1."

#define TEMPLATE_DESC                                                                                        \
	"Template is the object that describes the pod that will be created if insufficient replicas are "   \
	"detected."
#define SELECTOR_DESC                                                                                        \
	"A label query over pods that should match the replica count. It must match the pod template's "     \
	"labels."
#define MIN_READY_DESC                                                                                       \
	"Minimum number of seconds for which a newly created pod should be ready without any of its "        \
	"container crashing, for it to be considered available. Defaults to 0 (pod will be considered "      \
	"available as soon as it is ready)"
#define OBSERVED_GEN_DESC "The generation observed by the controller."
#define HISTORY_DESC                                                                                         \
	"The number of old history to retain to allow rollback. This is a pointer to distinguish between "   \
	"explicit zero and not specified. Defaults to 10."

/* ---- ConfigMap, Secret, ServiceAccount ---- */

API__SCHEMA(, api__schema_config_map, CORE "ConfigMap",
	    "ConfigMap holds configuration data for pods to consume.", API__TYPE_META, API__OBJECT_META(1, 0),
	    FBOOL("immutable", 4, PTR,
		  "Immutable, if set to true, ensures that data stored in the ConfigMap cannot be updated "
		  "(only object metadata can be modified). If not set to true, the field can be modified at "
		  "any time. Defaulted to nil."),
	    FMAP("data", 2, 0,
		 "Data contains the configuration data. Each key must consist of alphanumeric characters, "
		 "'-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The "
		 "keys stored in Data must not overlap with the keys in the BinaryData field, this is "
		 "enforced during validation process."),
	    FMAP("binaryData", 3, API_F_BYTES,
		 "BinaryData contains the binary data. Each key must consist of alphanumeric characters, "
		 "'-', '_' or '.'. BinaryData can contain byte sequences that are not in the UTF-8 range."));

API__SCHEMA(, api__schema_secret, CORE "Secret",
	    "Secret holds secret data of a certain type. The total bytes of the values in the Data field "
	    "must be less than MaxSecretSize bytes.",
	    API__TYPE_META, API__OBJECT_META(1, 0),
	    FBOOL("immutable", 5, PTR,
		  "Immutable, if set to true, ensures that data stored in the Secret cannot be updated (only "
		  "object metadata can be modified). If not set to true, the field can be modified at any "
		  "time. Defaulted to nil."),
	    FMAP("data", 2, API_F_BYTES,
		 "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' "
		 "or '.'. The serialized form of the secret data is a base64 encoded string, representing "
		 "the arbitrary (possibly non-string) data value here."),
	    FMAP("stringData", 4, 0,
		 "stringData allows specifying non-binary secret data in string form. It is provided as a "
		 "write-only input field for convenience. All keys and values are merged into the data "
		 "field on write, overwriting any existing values. The stringData field is never output "
		 "when reading from the API."),
	    FSTR("type", 3, 0,
		 "Used to facilitate programmatic handling of secret data. More info: "
		 "https://kubernetes.io/docs/concepts/configuration/secret/#secret-types"));

API__SCHEMA(, api__schema_service_account, CORE "ServiceAccount",
	    "ServiceAccount binds together: * a name, understood by users, and perhaps by peripheral "
	    "systems, for an identity * a principal that can be authenticated and authorized * a set of "
	    "secrets",
	    API__TYPE_META, API__OBJECT_META(1, 0),
	    FLIST("secrets", api__schema_object_reference, "name", 2, 0,
		  "Secrets is a list of the secrets in the same namespace that pods running using this "
		  "ServiceAccount are allowed to use."),
	    FLIST("imagePullSecrets", api__schema_local_object_reference, NULL, 3, 0,
		  "ImagePullSecrets is a list of references to secrets in the same namespace to use for "
		  "pulling any images in pods that reference this ServiceAccount."),
	    FBOOL("automountServiceAccountToken", 4, PTR,
		  "AutomountServiceAccountToken indicates whether pods running as this service account "
		  "should have an API token automatically mounted. Can be overridden at the pod level."));

/* ---- ReplicationController ---- */

API__SCHEMA(static, rc_spec, CORE "ReplicationControllerSpec",
	    "ReplicationControllerSpec is the specification of a replication controller.",
	    FINT("replicas", 1, PTR,
		 "Replicas is the number of desired replicas. This is a pointer to distinguish between "
		 "explicit zero and unspecified. Defaults to 1."),
	    FINT("minReadySeconds", 4, 0, MIN_READY_DESC),
	    FMAP("selector", 2, API_F_ATOMIC,
		 "Selector is a label query over pods that should match the Replicas count. If Selector is "
		 "empty, it is defaulted to the labels present on the Pod template."),
	    FOBJ("template", api__schema_pod_template_spec, 3, PTR, TEMPLATE_DESC));

API__SCHEMA(static, rc_condition, CORE "ReplicationControllerCondition",
	    "ReplicationControllerCondition describes the state of a replication controller at a certain "
	    "point.",
	    FSTR("type", 1, REQ, "Type of replication controller condition."),
	    FSTR("status", 2, REQ, "Status of the condition, one of True, False, Unknown."),
	    FTIME("lastTransitionTime", 3, 0,
		  "The last time the condition transitioned from one status to another."),
	    FSTR("reason", 4, 0, "The reason for the condition's last transition."),
	    FSTR("message", 5, 0, "A human readable message indicating details about the transition."));

API__SCHEMA(static, rc_status, CORE "ReplicationControllerStatus",
	    "ReplicationControllerStatus represents the current status of a replication controller.",
	    FINT("replicas", 1, REQ, "Replicas is the most recently observed number of replicas."),
	    FINT("fullyLabeledReplicas", 2, 0,
		 "The number of pods that have labels matching the labels of the pod template of the "
		 "replication controller."),
	    FINT("readyReplicas", 4, 0, "The number of ready replicas for this replication controller."),
	    FINT("availableReplicas", 5, 0,
		 "The number of available replicas (ready for at least minReadySeconds) for this "
		 "replication controller."),
	    FINT("observedGeneration", 3, I64,
		 "ObservedGeneration reflects the generation of the most recently observed replication "
		 "controller."),
	    FLIST("conditions", rc_condition, "type", 6, 0,
		  "Represents the latest available observations of a replication controller's current "
		  "state."));

API__SCHEMA(, api__schema_replication_controller, CORE "ReplicationController",
	    "ReplicationController represents the configuration of a replication controller.", API__TYPE_META,
	    API__OBJECT_META(1, 0),
	    FOBJ("spec", rc_spec, 2, 0,
		 "Spec defines the specification of the desired behavior of the replication controller."),
	    FOBJ("status", rc_status, 3, 0,
		 "Status is the most recently observed status of the replication controller."));

/* ---- ReplicaSet ---- */

API__SCHEMA(static, rs_spec, APPS "ReplicaSetSpec", "ReplicaSetSpec is the specification of a ReplicaSet.",
	    FINT("replicas", 1, PTR,
		 "Replicas is the number of desired pods. This is a pointer to distinguish between explicit "
		 "zero and unspecified. Defaults to 1."),
	    FINT("minReadySeconds", 4, 0, MIN_READY_DESC),
	    FOBJ("selector", api__schema_label_selector, 2, REQ | PTR, SELECTOR_DESC),
	    FOBJ("template", api__schema_pod_template_spec, 3, 0, TEMPLATE_DESC));

API__SCHEMA(static, rs_condition, APPS "ReplicaSetCondition",
	    "ReplicaSetCondition describes the state of a replica set at a certain point.",
	    FSTR("type", 1, REQ, "Type of replica set condition."),
	    FSTR("status", 2, REQ, "Status of the condition, one of True, False, Unknown."),
	    FTIME("lastTransitionTime", 3, 0,
		  "The last time the condition transitioned from one status to another."),
	    FSTR("reason", 4, 0, "The reason for the condition's last transition."),
	    FSTR("message", 5, 0, "A human readable message indicating details about the transition."));

API__SCHEMA(
    static, rs_status, APPS "ReplicaSetStatus",
    "ReplicaSetStatus represents the current status of a ReplicaSet.",
    FINT("replicas", 1, REQ, "Replicas is the most recently observed number of non-terminating pods."),
    FINT("fullyLabeledReplicas", 2, 0,
	 "The number of non-terminating pods that have labels matching the labels of the pod "
	 "template of the replicaset."),
    FINT("readyReplicas", 4, 0,
	 "The number of non-terminating pods targeted by this ReplicaSet with a Ready Condition."),
    FINT("availableReplicas", 5, 0,
	 "The number of available non-terminating pods (ready for at least minReadySeconds) for this "
	 "replica set."),
    FINT("terminatingReplicas", 7, PTR,
	 "The number of terminating pods for this replica set. Terminating pods have a non-null "
	 ".metadata.deletionTimestamp and have not yet reached the Failed or Succeeded .status.phase."),
    FINT("observedGeneration", 3, I64,
	 "ObservedGeneration reflects the generation of the most recently observed ReplicaSet."),
    FLIST("conditions", rs_condition, "type", 6, 0,
	  "Represents the latest available observations of a replica set's current state."));

API__SCHEMA(, api__schema_replica_set, APPS "ReplicaSet",
	    "ReplicaSet ensures that a specified number of pod replicas are running at any given time.",
	    API__TYPE_META, API__OBJECT_META(1, 0),
	    FOBJ("spec", rs_spec, 2, 0,
		 "Spec defines the specification of the desired behavior of the ReplicaSet."),
	    FOBJ("status", rs_status, 3, 0,
		 "Status is the most recently observed status of the ReplicaSet."));

/* ---- Deployment ---- */

API__SCHEMA(static, rolling_update_deployment, APPS "RollingUpdateDeployment",
	    "Spec to control the desired behavior of rolling update.",
	    FIOS("maxUnavailable", 1, PTR,
		 "The maximum number of pods that can be unavailable during the update. Value can be an "
		 "absolute number (ex: 5) or a percentage of desired pods (ex: 10%). Absolute number is "
		 "calculated from percentage by rounding down. This can not be 0 if MaxSurge is 0. Defaults "
		 "to 25%."),
	    FIOS("maxSurge", 2, PTR,
		 "The maximum number of pods that can be scheduled above the desired number of pods. Value "
		 "can be an absolute number (ex: 5) or a percentage of desired pods (ex: 10%). This can not "
		 "be 0 if MaxUnavailable is 0. Absolute number is calculated from percentage by rounding "
		 "up. Defaults to 25%."));

API__SCHEMA(static, deployment_strategy, APPS "DeploymentStrategy",
	    "DeploymentStrategy describes how to replace existing pods with new ones.",
	    FENUM("type", API__ENUM("Recreate", "RollingUpdate"), 1, 0,
		  "Type of deployment. Can be \"Recreate\" or \"RollingUpdate\". Default is RollingUpdate."),
	    FOBJ("rollingUpdate", rolling_update_deployment, 2, PTR,
		 "Rolling update config params. Present only if DeploymentStrategyType = RollingUpdate."));

API__SCHEMA(static, deployment_spec, APPS "DeploymentSpec",
	    "DeploymentSpec is the specification of the desired behavior of the Deployment.",
	    FINT("replicas", 1, PTR,
		 "Number of desired pods. This is a pointer to distinguish between explicit zero and not "
		 "specified. Defaults to 1."),
	    FOBJ("selector", api__schema_label_selector, 2, REQ | PTR,
		 "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the "
		 "ones affected by this deployment. It must match the pod template's labels."),
	    FOBJ("template", api__schema_pod_template_spec, 3, REQ,
		 "Template describes the pods that will be created. The only allowed "
		 "template.spec.restartPolicy value is \"Always\"."),
	    {.name = "strategy",
	     .type = API_OBJECT,
	     .schema = &deployment_strategy,
	     .proto = 4,
	     .flags = API_F_RETAIN_KEYS,
	     .desc = "The deployment strategy to use to replace existing pods with new ones."},
	    FINT("minReadySeconds", 5, 0, MIN_READY_DESC), FINT("revisionHistoryLimit", 6, PTR, HISTORY_DESC),
	    FBOOL("paused", 7, 0, "Indicates that the deployment is paused."),
	    FINT("progressDeadlineSeconds", 9, PTR,
		 "The maximum time in seconds for a deployment to make progress before it is considered to "
		 "be failed. The deployment controller will continue to process failed deployments and a "
		 "condition with a ProgressDeadlineExceeded reason will be surfaced in the deployment "
		 "status. Note that progress will not be estimated during the time a deployment is paused. "
		 "Defaults to 600s."));

API__SCHEMA(static, deployment_condition, APPS "DeploymentCondition",
	    "DeploymentCondition describes the state of a deployment at a certain point.",
	    FSTR("type", 1, REQ, "Type of deployment condition."),
	    FSTR("status", 2, REQ, "Status of the condition, one of True, False, Unknown."),
	    FTIME("lastUpdateTime", 6, 0, "The last time this condition was updated."),
	    FTIME("lastTransitionTime", 7, 0,
		  "Last time the condition transitioned from one status to another."),
	    FSTR("reason", 4, 0, "The reason for the condition's last transition."),
	    FSTR("message", 5, 0, "A human readable message indicating details about the transition."));

API__SCHEMA(static, deployment_status, APPS "DeploymentStatus",
	    "DeploymentStatus is the most recently observed status of the Deployment.",
	    FINT("observedGeneration", 1, I64, "The generation observed by the deployment controller."),
	    FINT("replicas", 2, 0,
		 "Total number of non-terminating pods targeted by this deployment (their labels match the "
		 "selector)."),
	    FINT("updatedReplicas", 3, 0,
		 "Total number of non-terminating pods targeted by this deployment that have the desired "
		 "template spec."),
	    FINT("readyReplicas", 7, 0,
		 "Total number of non-terminating pods targeted by this Deployment with a Ready Condition."),
	    FINT("availableReplicas", 4, 0,
		 "Total number of available non-terminating pods (ready for at least minReadySeconds) "
		 "targeted by this deployment."),
	    FINT("unavailableReplicas", 5, 0,
		 "Total number of unavailable pods targeted by this deployment. This is the total number of "
		 "pods that are still required for the deployment to have 100% available capacity."),
	    FINT("terminatingReplicas", 9, PTR,
		 "Total number of terminating pods targeted by this deployment."),
	    FLIST("conditions", deployment_condition, "type", 6, 0,
		  "Represents the latest available observations of a deployment's current state."),
	    FINT("collisionCount", 8, PTR,
		 "Count of hash collisions for the Deployment. The Deployment controller uses this field as "
		 "a collision avoidance mechanism when it needs to create the name for the newest "
		 "ReplicaSet."));

API__SCHEMA(, api__schema_deployment, APPS "Deployment",
	    "Deployment enables declarative updates for Pods and ReplicaSets.", API__TYPE_META,
	    API__OBJECT_META(1, 0),
	    FOBJ("spec", deployment_spec, 2, 0, "Specification of the desired behavior of the Deployment."),
	    FOBJ("status", deployment_status, 3, 0, "Most recently observed status of the Deployment."));

/* ---- StatefulSet ---- */

API__SCHEMA(static, rolling_update_sts, APPS "RollingUpdateStatefulSetStrategy",
	    "RollingUpdateStatefulSetStrategy is used to communicate parameter for "
	    "RollingUpdateStatefulSetStrategyType.",
	    FINT("partition", 1, PTR,
		 "Partition indicates the ordinal at which the StatefulSet should be partitioned for "
		 "updates. During a rolling update, all pods from ordinal Replicas-1 to Partition are "
		 "updated. All pods from ordinal Partition-1 to 0 remain untouched. Default value is 0."),
	    FIOS("maxUnavailable", 2, PTR,
		 "The maximum number of pods that can be unavailable during the update. Defaults to 1."));

API__SCHEMA(static, sts_update_strategy, APPS "StatefulSetUpdateStrategy",
	    "StatefulSetUpdateStrategy indicates the strategy that the StatefulSet controller will use to "
	    "perform updates.",
	    FENUM("type", API__ENUM("OnDelete", "RollingUpdate"), 1, 0,
		  "Type indicates the type of the StatefulSetUpdateStrategy. Default is RollingUpdate."),
	    FOBJ("rollingUpdate", rolling_update_sts, 2, PTR,
		 "RollingUpdate is used to communicate parameters when Type is "
		 "RollingUpdateStatefulSetStrategyType."));

API__SCHEMA(static, sts_pvc_retention, APPS "StatefulSetPersistentVolumeClaimRetentionPolicy",
	    "StatefulSetPersistentVolumeClaimRetentionPolicy describes the policy used for PVCs created "
	    "from the StatefulSet VolumeClaimTemplates.",
	    FSTR("whenDeleted", 1, 0,
		 "WhenDeleted specifies what happens to PVCs created from StatefulSet VolumeClaimTemplates "
		 "when the StatefulSet is deleted. The default policy of `Retain` causes PVCs to not be "
		 "affected by StatefulSet deletion."),
	    FSTR("whenScaled", 2, 0,
		 "WhenScaled specifies what happens to PVCs created from StatefulSet VolumeClaimTemplates "
		 "when the StatefulSet is scaled down. The default policy of `Retain` causes PVCs to not be "
		 "affected by a scaledown."));

API__SCHEMA(static, sts_ordinals, APPS "StatefulSetOrdinals",
	    "StatefulSetOrdinals describes the policy used for replica ordinal assignment in this "
	    "StatefulSet.",
	    FINT("start", 1, 0,
		 "start is the number representing the first replica's index. It may be used to number "
		 "replicas from an alternate index (eg: 1-indexed) over the default 0-indexed names."));

API__SCHEMA(static, sts_spec, APPS "StatefulSetSpec",
	    "A StatefulSetSpec is the specification of a StatefulSet.",
	    FINT("replicas", 1, PTR,
		 "replicas is the desired number of replicas of the given Template. These are replicas in "
		 "the sense that they are instantiations of the same Template, but individual replicas also "
		 "have a consistent identity. If unspecified, defaults to 1."),
	    FOBJ("selector", api__schema_label_selector, 2, REQ | PTR,
		 "selector is a label query over pods that should match the replica count. It must match "
		 "the pod template's labels."),
	    FOBJ("template", api__schema_pod_template_spec, 3, REQ,
		 "template is the object that describes the pod that will be created if insufficient "
		 "replicas are detected. Each pod stamped out by the StatefulSet will fulfill this "
		 "Template, but have a unique identity from the rest of the StatefulSet."),
	    FANYS("volumeClaimTemplates", 4, 0,
		  "volumeClaimTemplates is a list of claims that pods are allowed to reference. The "
		  "StatefulSet controller is responsible for mapping network identities to claims in a way "
		  "that maintains the identity of a pod."),
	    FSTR("serviceName", 5, 0,
		 "serviceName is the name of the service that governs this StatefulSet. This service must "
		 "exist before the StatefulSet, and is responsible for the network identity of the set. "
		 "Pods get DNS/hostnames that follow the pattern: "
		 "pod-specific-string.serviceName.default.svc.cluster.local where \"pod-specific-string\" "
		 "is managed by the StatefulSet controller."),
	    FENUM("podManagementPolicy", API__ENUM("OrderedReady", "Parallel"), 6, 0,
		  "podManagementPolicy controls how pods are created during initial scale up, when replacing "
		  "pods on nodes, or when scaling down. The default policy is `OrderedReady`, where pods are "
		  "created in increasing order (pod-0, then pod-1, etc) and the controller will wait until "
		  "each pod is ready before continuing. When scaling down, the pods are removed in the "
		  "opposite order. The alternative policy is `Parallel` which will create pods in parallel "
		  "to match the desired scale without waiting, and on scale down will delete all pods at "
		  "once."),
	    FOBJ("updateStrategy", sts_update_strategy, 7, 0,
		 "updateStrategy indicates the StatefulSetUpdateStrategy that will be employed to update "
		 "Pods in the StatefulSet when a revision is made to Template."),
	    FINT("revisionHistoryLimit", 8, PTR,
		 "revisionHistoryLimit is the maximum number of revisions that will be maintained in the "
		 "StatefulSet's revision history. The revision history consists of all revisions not "
		 "represented by a currently applied StatefulSetSpec version. The default value is 10."),
	    FINT("minReadySeconds", 9, 0, MIN_READY_DESC),
	    FOBJ("persistentVolumeClaimRetentionPolicy", sts_pvc_retention, 10, PTR,
		 "persistentVolumeClaimRetentionPolicy describes the lifecycle of persistent volume claims "
		 "created from volumeClaimTemplates."),
	    FOBJ("ordinals", sts_ordinals, 11, PTR,
		 "ordinals controls the numbering of replica indices in a StatefulSet. The default ordinals "
		 "behavior assigns a \"0\" index to the first replica and increments the index by one for "
		 "each additional replica requested."));

API__SCHEMA(static, sts_condition, APPS "StatefulSetCondition",
	    "StatefulSetCondition describes the state of a statefulset at a certain point.",
	    FSTR("type", 1, REQ, "Type of statefulset condition."),
	    FSTR("status", 2, REQ, "Status of the condition, one of True, False, Unknown."),
	    FTIME("lastTransitionTime", 3, 0,
		  "Last time the condition transitioned from one status to another."),
	    FSTR("reason", 4, 0, "The reason for the condition's last transition."),
	    FSTR("message", 5, 0, "A human readable message indicating details about the transition."));

API__SCHEMA(static, sts_status, APPS "StatefulSetStatus",
	    "StatefulSetStatus represents the current state of a StatefulSet.",
	    FINT("observedGeneration", 1, I64,
		 "observedGeneration is the most recent generation observed for this StatefulSet. It "
		 "corresponds to the StatefulSet's generation, which is updated on mutation by the API "
		 "Server."),
	    FINT("replicas", 2, REQ, "replicas is the number of Pods created by the StatefulSet controller."),
	    FINT("readyReplicas", 3, 0,
		 "readyReplicas is the number of pods created for this StatefulSet with a Ready Condition."),
	    FINT("currentReplicas", 4, 0,
		 "currentReplicas is the number of Pods created by the StatefulSet controller from the "
		 "StatefulSet version indicated by currentRevision."),
	    FINT("updatedReplicas", 5, 0,
		 "updatedReplicas is the number of Pods created by the StatefulSet controller from the "
		 "StatefulSet version indicated by updateRevision."),
	    FSTR("currentRevision", 6, 0,
		 "currentRevision, if not empty, indicates the version of the StatefulSet used to generate "
		 "Pods in the sequence [0,currentReplicas)."),
	    FSTR("updateRevision", 7, 0,
		 "updateRevision, if not empty, indicates the version of the StatefulSet used to generate "
		 "Pods in the sequence [replicas-updatedReplicas,replicas)"),
	    FINT("collisionCount", 9, PTR,
		 "collisionCount is the count of hash collisions for the StatefulSet. The StatefulSet "
		 "controller uses this field as a collision avoidance mechanism when it needs to create the "
		 "name for the newest ControllerRevision."),
	    FLIST("conditions", sts_condition, "type", 10, 0,
		  "Represents the latest available observations of a statefulset's current state."),
	    FINT("availableReplicas", 11, 0,
		 "Total number of available pods (ready for at least minReadySeconds) targeted by this "
		 "statefulset."));

API__SCHEMA(, api__schema_stateful_set, APPS "StatefulSet",
	    "StatefulSet represents a set of pods with consistent identities. Identities are defined as: - "
	    "Network: A single stable DNS and hostname. - Storage: As many VolumeClaims as requested.",
	    API__TYPE_META, API__OBJECT_META(1, 0),
	    FOBJ("spec", sts_spec, 2, 0, "Spec defines the desired identities of pods in this set."),
	    FOBJ("status", sts_status, 3, 0,
		 "Status is the current status of Pods in this StatefulSet. This data may be out of date by "
		 "some window of time."));

/* ---- DaemonSet ---- */

API__SCHEMA(static, rolling_update_ds, APPS "RollingUpdateDaemonSet",
	    "Spec to control the desired behavior of daemon set rolling update.",
	    FIOS("maxUnavailable", 1, PTR,
		 "The maximum number of DaemonSet pods that can be unavailable during the update. Value can "
		 "be an absolute number (ex: 5) or a percentage of total number of DaemonSet pods at the "
		 "start of the update (ex: 10%). Absolute number is calculated from percentage by rounding "
		 "up. This cannot be 0 if MaxSurge is 0 Default value is 1."),
	    FIOS("maxSurge", 2, PTR,
		 "The maximum number of nodes with an existing available DaemonSet pod that can have an "
		 "updated DaemonSet pod during during an update. Value can be an absolute number (ex: 5) or "
		 "a percentage of desired pods (ex: 10%). This can not be 0 if MaxUnavailable is 0. Default "
		 "value is 0."));

API__SCHEMA(static, ds_update_strategy, APPS "DaemonSetUpdateStrategy",
	    "DaemonSetUpdateStrategy is a struct used to control the update strategy for a DaemonSet.",
	    FENUM("type", API__ENUM("OnDelete", "RollingUpdate"), 1, 0,
		  "Type of daemon set update. Can be \"RollingUpdate\" or \"OnDelete\". Default is "
		  "RollingUpdate."),
	    FOBJ("rollingUpdate", rolling_update_ds, 2, PTR,
		 "Rolling update config params. Present only if type = \"RollingUpdate\"."));

API__SCHEMA(static, ds_spec, APPS "DaemonSetSpec", "DaemonSetSpec is the specification of a daemon set.",
	    FOBJ("selector", api__schema_label_selector, 1, REQ | PTR,
		 "A label query over pods that are managed by the daemon set. Must match in order to be "
		 "controlled. It must match the pod template's labels."),
	    FOBJ("template", api__schema_pod_template_spec, 2, REQ,
		 "An object that describes the pod that will be created. The DaemonSet will create exactly "
		 "one copy of this pod on every node that matches the template's node selector (or on "
		 "every node if no node selector is specified). The only allowed "
		 "template.spec.restartPolicy value is \"Always\"."),
	    FOBJ("updateStrategy", ds_update_strategy, 3, 0,
		 "An update strategy to replace existing DaemonSet pods with new pods."),
	    FINT("minReadySeconds", 4, 0,
		 "The minimum number of seconds for which a newly created DaemonSet pod should be ready "
		 "without any of its container crashing, for it to be considered available. Defaults to 0 "
		 "(pod will be considered available as soon as it is ready)."),
	    FINT("revisionHistoryLimit", 6, PTR,
		 "The number of old history to retain to allow rollback. This is a pointer to distinguish "
		 "between explicit zero and not specified. Defaults to 10."));

API__SCHEMA(static, ds_condition, APPS "DaemonSetCondition",
	    "DaemonSetCondition describes the state of a DaemonSet at a certain point.",
	    FSTR("type", 1, REQ, "Type of DaemonSet condition."),
	    FSTR("status", 2, REQ, "Status of the condition, one of True, False, Unknown."),
	    FTIME("lastTransitionTime", 3, 0,
		  "Last time the condition transitioned from one status to another."),
	    FSTR("reason", 4, 0, "The reason for the condition's last transition."),
	    FSTR("message", 5, 0, "A human readable message indicating details about the transition."));

API__SCHEMA(static, ds_status, APPS "DaemonSetStatus",
	    "DaemonSetStatus represents the current status of a daemon set.",
	    FINT("currentNumberScheduled", 1, REQ,
		 "The number of nodes that are running at least 1 daemon pod and are supposed to run the "
		 "daemon pod."),
	    FINT("numberMisscheduled", 2, REQ,
		 "The number of nodes that are running the daemon pod, but are not supposed to run the "
		 "daemon pod."),
	    FINT("desiredNumberScheduled", 3, REQ,
		 "The total number of nodes that should be running the daemon pod (including nodes "
		 "correctly running the daemon pod)."),
	    FINT("numberReady", 4, REQ,
		 "numberReady is the number of nodes that should be running the daemon pod and have one or "
		 "more of the daemon pod running with a Ready Condition."),
	    FINT("observedGeneration", 5, I64,
		 "The most recent generation observed by the daemon set controller."),
	    FINT("updatedNumberScheduled", 6, 0,
		 "The total number of nodes that are running updated daemon pod"),
	    FINT("numberAvailable", 7, 0,
		 "The number of nodes that should be running the daemon pod and have one or more of the "
		 "daemon pod running and available (ready for at least spec.minReadySeconds)"),
	    FINT("numberUnavailable", 8, 0,
		 "The number of nodes that should be running the daemon pod and have none of the daemon pod "
		 "running and available (ready for at least spec.minReadySeconds)"),
	    FINT("collisionCount", 9, PTR,
		 "Count of hash collisions for the DaemonSet. The DaemonSet controller uses this field as a "
		 "collision avoidance mechanism when it needs to create the name for the newest "
		 "ControllerRevision."),
	    FLIST("conditions", ds_condition, "type", 10, 0,
		  "Represents the latest available observations of a DaemonSet's current state."));

API__SCHEMA(, api__schema_daemon_set, APPS "DaemonSet",
	    "DaemonSet represents the configuration of a daemon set.", API__TYPE_META, API__OBJECT_META(1, 0),
	    FOBJ("spec", ds_spec, 2, 0, "The desired behavior of this daemon set."),
	    FOBJ("status", ds_status, 3, 0, "The current status of this daemon set."));

/* ---- ControllerRevision ---- */

API__SCHEMA(, api__schema_controller_revision, APPS "ControllerRevision",
	    "ControllerRevision implements an immutable snapshot of state data. Clients are responsible "
	    "for serializing and deserializing the objects that contain their internal state.",
	    API__TYPE_META, API__OBJECT_META(1, 0),
	    {.name = "data",
	     .type = API_ANY,
	     .proto = 2,
	     .flags = API_F_FREEFORM,
	     .desc = "Data is the serialized representation of the state."},
	    FINT("revision", 3, REQ | I64,
		 "Revision indicates the revision of the state represented by Data."));

/* ---- autoscaling/v1 Scale ---- */

API__SCHEMA(static, scale_spec, "io.k8s.api.autoscaling.v1.ScaleSpec",
	    "ScaleSpec describes the attributes of a scale subresource.",
	    FINT("replicas", 1, 0, "replicas is the desired number of instances for the scaled object."));

API__SCHEMA(static, scale_status, "io.k8s.api.autoscaling.v1.ScaleStatus",
	    "ScaleStatus represents the current status of a scale subresource.",
	    FINT("replicas", 1, REQ,
		 "replicas is the actual number of observed instances of the scaled object."),
	    FSTR("selector", 2, 0,
		 "selector is the label query over pods that should match the replicas count. This is same "
		 "as the label selector but in the string format to avoid introspection by clients. The "
		 "string will be in the same format as the query-param syntax."));

API__SCHEMA(, api__schema_scale, "io.k8s.api.autoscaling.v1.Scale",
	    "Scale represents a scaling request for a resource.", API__TYPE_META, API__OBJECT_META(1, 0),
	    FOBJ("spec", scale_spec, 2, 0,
		 "spec defines the behavior of the scale. More info: "
		 "https://git.k8s.io/community/contributors/devel/sig-architecture/"
		 "api-conventions.md#spec-and-status."),
	    FOBJ("status", scale_status, 3, 0,
		 "status is the current status of the scale. More info: "
		 "https://git.k8s.io/community/contributors/devel/sig-architecture/"
		 "api-conventions.md#spec-and-status. Read-only."));
