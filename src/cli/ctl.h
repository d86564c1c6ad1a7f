/* ctl.h - `svcplane ctl`: the command-line client (get, apply, delete, describe) with
 * kubectl's flags, output and exit codes, talking to the API through client/client.h.
 */
#ifndef CLI_CTL_H
#define CLI_CTL_H

/* Runs `svcplane ctl ARGS...` (argv[0] is "ctl"). Prints to stdout/stderr and returns the
 * exit code (0 ok, 1 a command failed, 2 usage). Blocks on the network. */
int cli_ctl_main(int argc, char **argv);

#endif
