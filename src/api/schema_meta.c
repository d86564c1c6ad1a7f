/* schema_meta.c - schemas of k8s.io/apimachinery meta/v1 types: ObjectMeta and the types
 * it and the kinds embed (OwnerReference, ManagedFieldsEntry, LabelSelector, Condition).
 *
 * Field order, JSON names, protobuf numbers and patch tags follow
 * apimachinery/pkg/apis/meta/v1/types.go and generated.proto.
 */
#include "api/schema_defs.h"

#define META "io.k8s.apimachinery.pkg.apis.meta.v1."

API__SCHEMA(, api__schema_owner_reference, META "OwnerReference",
	    "OwnerReference contains enough information to let you identify an owning object. An "
	    "owning object must be in the same namespace as the dependent, or be cluster-scoped, "
	    "so there is no namespace field.",
	    FSTR("apiVersion", 5, REQ, "API version of the referent."),
	    FSTR("kind", 1, REQ, "Kind of the referent."), FSTR("name", 3, REQ, "Name of the referent."),
	    FSTR("uid", 4, REQ, "UID of the referent."),
	    FBOOL("controller", 6, PTR, "If true, this reference points to the managing controller."),
	    FBOOL("blockOwnerDeletion", 7, PTR,
		  "If true, AND if the owner has the \"foregroundDeletion\" finalizer, then the owner "
		  "cannot be deleted from the key-value store until this reference is removed."));

API__SCHEMA(, api__schema_managed_fields_entry, META "ManagedFieldsEntry",
	    "ManagedFieldsEntry is a workflow-id, a FieldSet and the group version of the resource "
	    "that the fieldset applies to.",
	    FSTR("manager", 1, 0, "Manager is an identifier of the workflow managing these fields."),
	    FSTR("operation", 2, 0,
		 "Operation is the type of operation which lead to this ManagedFieldsEntry being "
		 "created. The only valid values for this field are 'Apply' and 'Update'."),
	    FSTR("apiVersion", 3, 0,
		 "APIVersion defines the version of this resource that this field set applies to."),
	    FTIME("time", 4, PTR, "Time is the timestamp of when the ManagedFields entry was added."),
	    FSTR("fieldsType", 6, 0,
		 "FieldsType is the discriminator for the different fields format and version. There "
		 "is currently only one possible value: \"FieldsV1\""),
	    FANY("fieldsV1", 7, PTR | API_F_FREEFORM,
		 "FieldsV1 holds the first JSON version format as described in the \"FieldsV1\" type."),
	    FSTR("subresource", 8, 0,
		 "Subresource is the name of the subresource used to update that object, or empty "
		 "string if the object was updated through the main resource."));

static const struct api_field object_meta_fields[] = {
    FSTR("name", 1, 0,
	 "Name must be unique within a namespace. Is required when creating resources, although "
	 "some resources may allow a client to request the generation of an appropriate name "
	 "automatically. Cannot be updated. More info: "
	 "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"),
    FSTR("generateName", 2, 0,
	 "GenerateName is an optional prefix, used by the server, to generate a unique name "
	 "ONLY IF the Name field has not been provided."),
    FSTR("namespace", 3, 0,
	 "Namespace defines the space within which each name must be unique. An empty namespace "
	 "is equivalent to the \"default\" namespace, but \"default\" is the canonical "
	 "representation. Cannot be updated."),
    FSTR("selfLink", 4, 0,
	 "Deprecated: selfLink is a legacy read-only field that is no longer "
	 "populated by the system."),
    FSTR("uid", 5, 0,
	 "UID is the unique in time and space value for this object. It is typically generated "
	 "by the server on successful creation of a resource and is not allowed to change on "
	 "PUT operations. Populated by the system. Read-only."),
    FSTR("resourceVersion", 6, 0,
	 "An opaque value that represents the internal version of this object that can be used "
	 "by clients to determine when objects have changed. Populated by the system. "
	 "Read-only."),
    FINT("generation", 7, I64,
	 "A sequence number representing a specific generation of the desired state. Populated "
	 "by the system. Read-only."),
    FTIME("creationTimestamp", 8, 0,
	  "CreationTimestamp is a timestamp representing the server time when this object was "
	  "created. Populated by the system. Read-only. Null for lists."),
    FTIME("deletionTimestamp", 9, PTR,
	  "DeletionTimestamp is RFC 3339 date and time at which this resource will be deleted. "
	  "Populated by the system when a graceful deletion is requested. Read-only."),
    FINT("deletionGracePeriodSeconds", 10, PTR | I64,
	 "Number of seconds allowed for this object to gracefully terminate before it will be "
	 "removed from the system. Only set when deletionTimestamp is also set."),
    FMAP("labels", 11, 0,
	 "Map of string keys and values that can be used to organize and categorize (scope and "
	 "select) objects. May match selectors of replication controllers and services. More "
	 "info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels"),
    FMAP("annotations", 12, 0,
	 "Annotations is an unstructured key value map stored with a resource that may be set "
	 "by external tools to store and retrieve arbitrary metadata. More info: "
	 "https://kubernetes.io/docs/concepts/overview/working-with-objects/annotations"),
    FLIST("ownerReferences", api__schema_owner_reference, "uid", 13, 0,
	  "List of objects depended by this object. If ALL objects in the list have been "
	  "deleted, this object will be garbage collected."),
    FSTRS("finalizers", 14, SET,
	  "Must be empty before the object is deleted from the registry. Each entry is an "
	  "identifier for the responsible component that will remove the entry from the list."),
    FLIST("managedFields", api__schema_managed_fields_entry, NULL, 17, 0,
	  "ManagedFields maps workflow-id and version to the set of fields that are managed by "
	  "that workflow. This is mostly for internal housekeeping, and users typically "
	  "shouldn't need to set or understand this field."),
};

const struct api_schema api_schema_object_meta = {
    META "ObjectMeta",
    "ObjectMeta is metadata that all persisted resources must have, which includes all objects "
    "users must create.",
    object_meta_fields,
    API__N(object_meta_fields),
};

API__SCHEMA(static, label_selector_requirement, META "LabelSelectorRequirement",
	    "A label selector requirement is a selector that contains values, a key, and an "
	    "operator that relates the key and values.",
	    FSTR("key", 1, REQ, "key is the label key that the selector applies to."),
	    FSTR("operator", 2, REQ,
		 "operator represents a key's relationship to a set of values. Valid operators are "
		 "In, NotIn, Exists and DoesNotExist."),
	    FSTRS("values", 3, 0,
		  "values is an array of string values. If the operator is In or NotIn, the values "
		  "array must be non-empty. If the operator is Exists or DoesNotExist, the values "
		  "array must be empty."));

API__SCHEMA(, api__schema_label_selector, META "LabelSelector",
	    "A label selector is a label query over a set of resources. The result of matchLabels "
	    "and matchExpressions are ANDed. An empty label selector matches all objects. A null "
	    "label selector matches no objects.",
	    FMAP("matchLabels", 1, 0,
		 "matchLabels is a map of {key,value} pairs. A single {key,value} in the matchLabels "
		 "map is equivalent to an element of matchExpressions, whose key field is \"key\", "
		 "the operator is \"In\", and the values array contains only \"value\"."),
	    FLIST("matchExpressions", label_selector_requirement, NULL, 2, 0,
		  "matchExpressions is a list of label selector requirements. The requirements are "
		  "ANDed."));

API__SCHEMA(, api__schema_condition, META "Condition",
	    "Condition contains details for one aspect of the current state of this API Resource.",
	    FSTR("type", 1, REQ, "type of condition in CamelCase or in foo.example.com/CamelCase."),
	    FSTR("status", 2, REQ, "status of the condition, one of True, False, Unknown."),
	    FINT("observedGeneration", 3, I64,
		 "observedGeneration represents the .metadata.generation that the condition was set "
		 "based upon."),
	    FTIME("lastTransitionTime", 4, REQ,
		  "lastTransitionTime is the last time the condition transitioned from one status to "
		  "another."),
	    FSTR("reason", 5, REQ,
		 "reason contains a programmatic identifier indicating the reason for the "
		 "condition's last transition."),
	    FSTR("message", 6, REQ,
		 "message is a human readable message indicating details about the transition. This "
		 "may be an empty string."));
