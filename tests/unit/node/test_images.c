/* test_images.c - built-in entrypoints of the seeds' tutorial images. */
#include <string.h>

#include "harness/t.h"
#include "node/images.h"

TEST(images_kubia_entrypoint)
{
	const char *const *a = node_image_entrypoint("luksa/kubia");
	ASSERT(a != NULL);
	ASSERT_STR_EQ(a[0], "python3");
	ASSERT_STR_CONTAINS(a[2], "You've hit");
	ASSERT_STR_CONTAINS(a[2], "8080");
	ASSERT(node_image_entrypoint("docker.io/luksa/kubia:latest") == a);
	ASSERT(node_image_entrypoint("luksa/kubia@sha256:00") == a);
	ASSERT(node_image_entrypoint("luksa/kubia-unhealthy") != NULL);
	ASSERT(node_image_entrypoint("luksa/kubia2") == NULL);
	ASSERT(node_image_entrypoint("nginx") == NULL);
	ASSERT(node_image_entrypoint(NULL) == NULL);
}
