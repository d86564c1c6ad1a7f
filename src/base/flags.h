/* flags.h - command-line flags from one table (nginx's ngx_command_t is the model): each
 * row names a flag, the commands that take it, how its value is checked and parsed, the
 * field of the caller's options struct it sets, and its help text. Parsing (getopt_long),
 * the error messages and `--help` all come from the same row, so they cannot drift apart.
 *
 * Rows of several commands live in one table; a row carries a bit mask of the commands
 * that take it, so a flag two commands share (--node-ip) is one row. Two rows may have
 * the same name for different commands (--data-dir of the server and of the agent).
 *
 * Every bad value is refused with "PROG: --NAME: VALUE is not WHAT" on stderr and exit
 * code 2, before anything is created. Libc and base/ only; no I/O but the messages.
 */
#ifndef BASE_FLAGS_H
#define BASE_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum flag_type {
	FLAG_TRUE,     /* --x: the bool at off becomes true */
	FLAG_BOOL,     /* --x or --x=true|false: the bool at off */
	FLAG_STR,      /* --x V: the const char * at off (borrowed from argv), after check */
	FLAG_INT,      /* --x N: the int at off, from lo to hi */
	FLAG_LLONG,    /* --x N: the long long at off, from lo to hi */
	FLAG_DURATION, /* --x D: a Go duration ("1h30m", "500ms", "0") as the int64_t ms at off,
			* at least lo ms */
	FLAG_LIST,     /* --x A,B: the char ** at off, a heap NULL-terminated list of at most hi
			* items, each passing check; a repeated flag replaces it; flags_fini frees */
	FLAG_FN,       /* --x V: set(conf, v) does the work; -1 refuses v */
};

struct flag {
	const char *name; /* long name, without "--"; NULL ends a table */
	char shortc;	  /* a one-letter alias (-v), or 0 */
	const char *meta; /* the argument as the help shows it ("N", "CIDR[,CIDR]"); NULL for
			   * FLAG_TRUE and FLAG_BOOL */
	unsigned cmds;	  /* the commands (bits) that take this row */
	enum flag_type type;
	size_t off; /* the field it sets in the caller's struct */
	long long lo, hi;
	bool (*check)(const char *v);	       /* FLAG_STR, FLAG_LIST items: true when valid */
	int (*set)(void *conf, const char *v); /* FLAG_FN */
	/* What a good value is, for "VALUE is not WHAT"; NULL: "a number from LO to HI",
	 * "true or false", "a duration like 15s" by type. */
	const char *what;
	/* Help text; a '\n' starts a continuation line. NULL: not listed in --help. */
	const char *help;
};

/* One command's view of a table. */
struct flag_set {
	const char *prog;     /* "svcplane server": starts every message */
	const char *synopsis; /* what follows "usage: " on the first help line */
	unsigned cmd;	      /* the bit of this command in the rows' cmds */
	const struct flag *rows;
};

/* Parses argv (argv[0] is the command) against the rows of set->cmd into conf, which
 * holds the defaults. -h/--help prints the usage on stdout and returns 0; a bad value
 * prints its message, an unknown flag getopt's and the usage, on stderr, and returns 2;
 * a positional argument is refused ("unexpected argument", 2). Returns -1 when the
 * command should go on. Not thread-safe (getopt). */
int flags_parse(const struct flag_set *set, int argc, char **argv, void *conf);
/* Writes "usage: SYNOPSIS" and one aligned entry per listed row of the command. */
void flags_usage(const struct flag_set *set, FILE *out);
/* Frees the FLAG_LIST fields of the command's rows in conf (and clears them). */
void flags_fini(const struct flag_set *set, void *conf);

/* Parses a Go duration of flags ("5m", "30s", "1h30m", "500ms", "0") into *ms. Returns 0
 * or -EINVAL. */
int flag_duration_ms(const char *s, int64_t *ms);
/* Splits a comma list into a heap NULL-terminated array of at most max strings (free with
 * flag_list_free). Returns NULL when an item is empty or there are more than max. */
char **flag_list_split(const char *s, int max);
void flag_list_free(char **v);

/* Checks for FLAG_STR and FLAG_LIST rows. */
bool flag_is_ip(const char *v);
bool flag_is_cidr(const char *v);
/* One address (CIDR), or one IPv4 and one IPv6 separated by a comma, as dual-stack flags. */
bool flag_is_ip_pair(const char *v);
bool flag_is_cidr_pair(const char *v);
/* "A-B" with 1 <= A <= B <= 65535. */
bool flag_is_port_range(const char *v);

#endif
