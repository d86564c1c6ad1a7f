/* schema_coord.c - the schema of coordination.k8s.io/v1 Lease, modelled completely.
 *
 * Field order, JSON names and protobuf numbers follow k8s.io/api coordination/v1
 * types.go and generated.proto. Agents renew one Lease per node in kube-node-lease
 * (node/lbannounce.c), as kubelet does, and read the others' to decide which nodes are
 * alive; the API server treats a Lease like any namespaced kind without status.
 */
#include "api/schema_defs.h"

#define COORD "io.k8s.api.coordination.v1."

API__SCHEMA(static, lease_spec, COORD "LeaseSpec", "LeaseSpec is a specification of a Lease.",
	    FSTR("holderIdentity", 1, PTR,
		 "holderIdentity contains the identity of the holder of a current lease. If "
		 "Coordinated Leader Election is used, the holder identity must be equal to the "
		 "elected LeaseCandidate.metadata.name field."),
	    FINT("leaseDurationSeconds", 2, PTR,
		 "leaseDurationSeconds is a duration that candidates for a lease need to wait to "
		 "force acquire it. This is measured against the time of last observed renewTime."),
	    FTIME("acquireTime", 3, PTR | API_F_MICROTIME,
		  "acquireTime is a time when the current lease was acquired."),
	    FTIME("renewTime", 4, PTR | API_F_MICROTIME,
		  "renewTime is a time when the current holder of a lease has last updated the lease."),
	    FINT("leaseTransitions", 5, PTR,
		 "leaseTransitions is the number of transitions of a lease between holders."),
	    FSTR("strategy", 6, PTR,
		 "Strategy indicates the strategy for picking the leader for coordinated leader "
		 "election. If the field is not specified, there is no active coordination for this "
		 "lease. (Alpha) Using this field requires the CoordinatedLeaderElection feature gate "
		 "to be enabled."),
	    FSTR("preferredHolder", 7, PTR,
		 "PreferredHolder signals to a lease holder that the lease has a more optimal holder "
		 "and should be given up. This field can only be set if Strategy is also set."));

API__SCHEMA(, api__schema_lease, COORD "Lease", "Lease defines a lease concept.", API__TYPE_META,
	    API__OBJECT_META(1, 0),
	    FOBJ("spec", lease_spec, 2, 0,
		 "spec contains the specification of the Lease. More info: "
		 "https://git.k8s.io/community/contributors/devel/sig-architecture/"
		 "api-conventions.md#spec-and-status"));
