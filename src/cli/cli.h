/*-------------------------------------------------------------------------
 * cli.h
 *	  Declarations shared by the files of the perfguard command-line
 *	  client: options, the connection, query helpers, output helpers.
 *
 * The client is single-threaded and short-lived.  Every fatal error goes
 * through pfg_fatal(), which prints "perfguard: error: ...", closes the
 * connection and exits with PFG_EXIT_ERROR; memory is freed where a
 * function is done with it, and otherwise at exit.  Everything meant for
 * standard output goes through out_*(), which end the program the same way
 * when a write fails (a full disk must not give an empty report and exit
 * code 0).
 *
 * IDENTIFICATION	  src/cli/cli.h
 *-------------------------------------------------------------------------
 */
#ifndef PFG_CLI_H
#define PFG_CLI_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "libpq-fe.h"

#define PFG_PROGNAME		"perfguard"
#define PFG_CLIENT_VERSION	"1.1"
/* the oldest extension version this client can talk to */
#define PFG_MIN_EXT_MAJOR	1
#define PFG_MIN_EXT_MINOR	1

/* exit codes, documented in docs/cli.md */
#define PFG_EXIT_OK			0
#define PFG_EXIT_FOUND		1	/* check found violations or regressions */
#define PFG_EXIT_ERROR		2	/* usage, connection or server error */

#if defined(__GNUC__) || defined(__clang__)
#define PFG_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define PFG_NORETURN __attribute__((noreturn))
#else
#define PFG_PRINTF(f, a)
#define PFG_NORETURN
#endif

typedef enum PfgFormat
{
	PFG_FORMAT_TEXT,
	PFG_FORMAT_JSON,
	PFG_FORMAT_JUNIT,
	PFG_FORMAT_MARKDOWN,
	PFG_FORMAT_HTML
} PfgFormat;

/* Everything the command line can say, after parsing. */
typedef struct PfgOptions
{
	/* connection */
	const char *dbname;
	const char *host;
	const char *port;
	const char *username;
	bool		no_password;	/* -w */
	bool		force_password; /* -W */

	/* commands */
	PfgFormat	format;
	const char *baseline;		/* check --baseline */
	const char *baseline_file;	/* check --baseline-file */
	int			top;			/* report --top */
	const char *sort;			/* report --sort */
	const char *output;			/* baseline export, report, check -o */
	const char *name;			/* baseline import --name */
	bool		replace;		/* baseline save/import --replace */
	bool		current;		/* baseline export --current */
	bool		if_exists;		/* baseline drop --if-exists */
	const char *kind;			/* events --kind */
	const char *since;			/* events --since */
	int			limit;			/* events --limit */
	bool		all_databases;	/* events --all-databases */
	bool		verbose;		/* events, check --verbose */
	bool		events;			/* reset --events */

	/* the command and its positional arguments */
	const char *command;
	int			nargs;
	char	  **args;
} PfgOptions;

/* A growable string. */
typedef struct PfgBuf
{
	char	   *data;
	size_t		len;
	size_t		cap;
} PfgBuf;

/* The client's own hint for a server error of one SQLSTATE. */
typedef struct PfgHint
{
	const char *sqlstate;
	const char *hint;
} PfgHint;

/* hints shared by the commands */
extern const PfgHint pfg_hints_baseline_name[];
extern const PfgHint pfg_hints_baseline_file[];
extern const PfgHint pfg_hints_baseline_import[];

/* util.c */
extern PGconn *pfg_conn;
extern void pfg_error(const char *fmt,...) PFG_PRINTF(1, 2);
extern void pfg_detail(const char *fmt,...) PFG_PRINTF(1, 2);
extern void pfg_hint(const char *fmt,...) PFG_PRINTF(1, 2);
extern void pfg_fatal(const char *fmt,...) PFG_PRINTF(1, 2) PFG_NORETURN;
extern void pfg_exit(int code) PFG_NORETURN;
extern void *pfg_malloc(size_t size);
extern char *pfg_strdup(const char *s);
extern void buf_init(PfgBuf *buf);
extern void buf_putc(PfgBuf *buf, char c);
extern void buf_puts(PfgBuf *buf, const char *s);
extern void buf_putn(PfgBuf *buf, const char *s, size_t n);
extern void buf_printf(PfgBuf *buf, const char *fmt,...) PFG_PRINTF(2, 3);
extern void buf_vprintf(PfgBuf *buf, const char *fmt, va_list ap) PFG_PRINTF(2, 0);
extern void buf_reset(PfgBuf *buf);
extern void buf_free(PfgBuf *buf);
extern PGresult *pfg_query(const char *sql, int nparams,
						   const char *const *params);
extern PGresult *pfg_query_hinted(const char *sql, int nparams,
								  const char *const *params,
								  const PfgHint *hints);
extern PGresult *pfg_query_quiet(const char *sql, int nparams,
								 const char *const *params);
extern const char *pfg_value(const PGresult *res, int row, const char *column);
extern int	pfg_column(const PGresult *res, const char *column);
extern PGresult *pfg_result_part(const PGresult *res, int part,
								 const char *const *columns);
extern char *pfg_read_file(const char *path);
extern void pfg_write_file(const char *path, const char *text);
extern void pfg_clear_secret(void *p, size_t n);
extern void out_write(const char *s, size_t n);
extern void out_puts(const char *s);
extern void out_putc(char c);
extern void out_printf(const char *fmt,...) PFG_PRINTF(1, 2);
extern void out_capture(PfgBuf *buf);
extern void pfg_finish_output(void);

/* format.c */
extern void format_duration(PfgBuf *out, double ms);
extern void format_duration_str(PfgBuf *out, const char *ms);
extern void format_number(PfgBuf *out, const char *value);
extern void one_line(PfgBuf *out, const char *s, int maxwidth);
extern int	display_width(const char *s);
extern void json_string(PfgBuf *out, const char *s);
extern void json_value(PfgBuf *out, const PGresult *res, int row, int col);
extern void json_row(PfgBuf *out, const PGresult *res, int row, bool close);
extern void xml_escape(PfgBuf *out, const char *s);
extern void xml_text(PfgBuf *out, const char *s);
extern void md_escape(PfgBuf *out, const char *s);
extern char *cell_text(const char *s, PfgFormat format, int maxwidth);
extern char *cell_query(const char *query, PfgFormat format);
extern void md_code(PfgBuf *out, const char *s);
extern void md_details_code(const char *summary, const char *text);
extern void short_time(PfgBuf *out, const char *timestamp);

/* A table rendered for the terminal (aligned) or as markdown. */
typedef struct PfgTable
{
	int			ncols;
	const char **headers;
	const char *align;			/* one 'l' or 'r' per column */
	int			nrows;
	int			maxrows;
	char	  **cells;			/* nrows * ncols strings, owned */
} PfgTable;

extern void table_init(PfgTable *t, int ncols, const char **headers,
					   const char *align);
extern void table_add_row(PfgTable *t, char **cells);
extern void table_print_text(const PfgTable *t, const char *indent);
extern void table_print_markdown(const PfgTable *t);
extern void table_free(PfgTable *t);

/* html.c: the HTML format of report and check */
#define PFG_HIST_NBUCKETS	264		/* the server's latency histogram */
typedef struct PfgHist
{
	bool		present;
	double		total;
	double		counts[PFG_HIST_NBUCKETS];
} PfgHist;

extern void hist_parse(PfgHist *h, const char *text);
extern void html_text(PfgBuf *out, const char *s);
extern void html_attr(PfgBuf *out, const char *s);
extern void html_begin(PfgBuf *out, const char *title);
extern void html_meta_line(PfgBuf *out);
extern void html_end(PfgBuf *out);
extern void html_svg_histogram(PfgBuf *out, const char *label, const PfgHist *cur,
							   const double cur_p[3], const PfgHist *base,
							   const double base_p[3]);
extern void html_query_cell(PfgBuf *out, const char *query);
extern void html_cell(PfgBuf *out, const char *cls, const char *text);
extern void html_plan(PfgBuf *out, const char *plan, const char *kind,
					  const char *event_id);
extern void html_violations(PfgBuf *out, const PGresult *res);
extern void html_events(PfgBuf *out);
extern void html_report(const PfgOptions *opts, const PGresult *res,
						long total_statements, const char *sort_desc);

/* check.c, commands.c: shared by the formats */
extern void format_measure(PfgBuf *out, const char *what, const char *value);
extern void format_change(PfgBuf *out, const char *kind, const char *before,
						  const char *after);
extern void report_flags(PfgBuf *out, const PGresult *res, int row);

/* commands */
extern int	cmd_check(const PfgOptions *opts);
extern int	cmd_report(const PfgOptions *opts);
extern int	cmd_baseline(const PfgOptions *opts);
extern int	cmd_events(const PfgOptions *opts);
extern int	cmd_reset(const PfgOptions *opts);

#endif							/* PFG_CLI_H */
