/* images.h - the entrypoints of the few tutorial images the seed notes run, for the node
 * runtime, which has no images: a container is its command run from the host's
 * filesystem. A container of one of these images without a `command` runs the
 * equivalent program instead of failing with "no command specified", so the seeds'
 * manifests (the luksa/kubia ReplicationController) apply and run unchanged. */
#ifndef NODE_IMAGES_H
#define NODE_IMAGES_H

/* The default command (NULL-terminated argv, static) of image ("luksa/kubia",
 * "docker.io/luksa/kubia:latest", ...), or NULL for an image this table does not know. */
const char *const *node_image_entrypoint(const char *image);

#endif
