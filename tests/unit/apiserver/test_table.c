/* test_table.c - kubectl's columns and cells for the kinds (apiserver/table.c). */
#include "apiserver/table.h"
#include "api/object.h"
#include "harness/t.h"

#include <stdlib.h>

static const struct api_kind svc_kind = {
    .group = "", .version = "v1", .kind = "Service", .plural = "services", .namespaced = true};
static const struct api_kind ep_kind = {
    .group = "", .version = "v1", .kind = "Endpoints", .plural = "endpoints", .namespaced = true};
static const struct api_kind pod_kind = {
    .group = "", .version = "v1", .kind = "Pod", .plural = "pods", .namespaced = true};

static const char *cell(json_t *row, size_t i)
{
	return json_string_value(json_array_get(json_object_get(row, "cells"), i));
}

TEST(table_service_columns_and_cells)
{
	json_t *cols = table_columns(&svc_kind);
	ASSERT_INT_EQ(json_array_size(cols), 7);
	ASSERT_STR_EQ(api_str(json_array_get(cols, 0), "format"), "name");
	ASSERT_STR_EQ(api_str(json_array_get(cols, 4), "name"), "Port(s)");
	ASSERT_INT_EQ(json_integer_value(json_object_get(json_array_get(cols, 6), "priority")), 1);
	json_decref(cols);
	int64_t t0 = api_time_parse("2026-01-01T00:00:00Z");
	json_t *svc = json_loads(
	    "{\"metadata\":{\"name\":\"np\",\"namespace\":\"default\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\","
	    "\"labels\":{\"a\":\"b\"},\"managedFields\":[{}]},\"spec\":{\"type\":\"NodePort\",\"clusterIP\":\"198.19.0.5\","
	    "\"selector\":{\"z\":\"1\",\"app\":\"web\"},\"ports\":[{\"port\":80,\"nodePort\":30036,\"protocol\":\"TCP\"},"
	    "{\"port\":53,\"protocol\":\"UDP\"}]}}",
	    0, NULL);
	json_t *row = table_row(&svc_kind, svc, 1, t0 + 190);
	ASSERT_STR_EQ(cell(row, 0), "np");
	ASSERT_STR_EQ(cell(row, 1), "NodePort");
	ASSERT_STR_EQ(cell(row, 2), "198.19.0.5");
	ASSERT_STR_EQ(cell(row, 3), "<none>");
	ASSERT_STR_EQ(cell(row, 4), "80:30036/TCP,53/UDP");
	ASSERT_STR_EQ(cell(row, 5), "3m10s");
	ASSERT_STR_EQ(cell(row, 6), "app=web,z=1");
	ASSERT_STR_EQ(api_str(row, "object.kind"), "PartialObjectMetadata");
	ASSERT_STR_EQ(api_str(row, "object.metadata.namespace"), "default");
	ASSERT(api_get(row, "object.metadata.managedFields") == NULL);
	json_decref(row);
	json_object_set_new(json_object_get(svc, "spec"), "type", json_string("LoadBalancer"));
	row = table_row(&svc_kind, svc, 2, t0);
	ASSERT_STR_EQ(cell(row, 3), "<pending>");
	ASSERT_STR_EQ(api_str(row, "object.spec.type"), "LoadBalancer");
	json_decref(row);
	json_object_set_new(json_object_get(svc, "spec"), "type", json_string("ExternalName"));
	json_object_set_new(json_object_get(svc, "spec"), "externalName",
			    json_string("my.database.example.com"));
	row = table_row(&svc_kind, svc, 0, t0);
	ASSERT_STR_EQ(cell(row, 3), "my.database.example.com");
	ASSERT(json_object_get(row, "object") == NULL);
	json_decref(row);
	json_decref(svc);
}

TEST(table_endpoints_cells)
{
	json_t *ep = json_loads(
	    "{\"metadata\":{\"name\":\"e\"},\"subsets\":[{\"addresses\":[{\"ip\":\"198.18.0.1\"},{\"ip\":\"198.18.0.2\"},"
	    "{\"ip\":\"2001:db8::1\"}],\"ports\":[{\"port\":80},{\"port\":81}]}]}",
	    0, NULL);
	json_t *row = table_row(&ep_kind, ep, 1, 0);
	ASSERT_STR_EQ(cell(row, 1), "198.18.0.1:80,198.18.0.1:81,198.18.0.2:80 + 3 more...");
	json_decref(row);
	json_decref(ep);
	ep = json_loads("{\"metadata\":{\"name\":\"e\"}}", 0, NULL);
	row = table_row(&ep_kind, ep, 1, 0);
	ASSERT_STR_EQ(cell(row, 1), "<none>");
	json_decref(row);
	json_decref(ep);
}

TEST(table_pod_cells)
{
	json_t *pod = json_loads(
	    "{\"metadata\":{\"name\":\"p\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},\"spec\":{\"nodeName\":\"n1\","
	    "\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]},\"status\":{\"phase\":\"Running\",\"podIP\":\"198.18.128.5\","
	    "\"containerStatuses\":[{\"ready\":true,\"restartCount\":2},{\"ready\":false,\"restartCount\":1}]}}",
	    0, NULL);
	json_t *row = table_row(&pod_kind, pod, 1, api_time_parse("2026-01-01T00:00:30Z"));
	ASSERT_STR_EQ(cell(row, 1), "1/2");
	ASSERT_STR_EQ(cell(row, 2), "Running");
	ASSERT_INT_EQ(json_integer_value(json_array_get(json_object_get(row, "cells"), 3)), 3);
	ASSERT_STR_EQ(cell(row, 4), "30s");
	ASSERT_STR_EQ(cell(row, 5), "198.18.128.5");
	ASSERT_STR_EQ(cell(row, 6), "n1");
	json_decref(row);
	json_decref(pod);
}
