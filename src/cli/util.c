/*-------------------------------------------------------------------------
 * util.c
 *	  Messages, memory, growable strings, queries and files for the
 *	  perfguard client.
 *
 * Messages follow the PostgreSQL 15 client tools: "perfguard: error: ...",
 * then "perfguard: detail: ..." and "perfguard: hint: ...", on stderr.
 * Every query goes through pfg_query(), which sends it with PQexecParams
 * (parameters travel apart from the SQL text) and turns any failure into
 * the server's message, detail and hint and exit code 2.
 *
 * IDENTIFICATION	  src/cli/util.c
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

PGconn	   *pfg_conn = NULL;

/* a stored baseline, by name */
const PfgHint pfg_hints_baseline_name[] = {
	{"42704", "perfguard baseline list shows the stored baselines."},
	{"42710", "Add --replace to replace it."},
	{NULL, NULL}
};

/* a baseline document read from a file */
const PfgHint pfg_hints_baseline_file[] = {
	{"22P02", "The file is not JSON; perfguard baseline export writes baseline files."},
	{"22023", "perfguard baseline export writes baseline files."},
	{NULL, NULL}
};

/* a baseline document read from a file, to be stored */
const PfgHint pfg_hints_baseline_import[] = {
	{"22P02", "The file is not JSON; perfguard baseline export writes baseline files."},
	{"22023", "perfguard baseline export writes baseline files; one without a name needs --name."},
	{"42710", "Add --replace to replace it, or --name to store it under another name."},
	{NULL, NULL}
};

/*
 * message
 *		Print "perfguard: LEVEL: text" to stderr; a text of several lines
 *		keeps its lines, without a trailing newline of its own.
 */
static void message(const char *level, const char *fmt, va_list ap) PFG_PRINTF(2, 0);

static void
message(const char *level, const char *fmt, va_list ap)
{
	char		text[8192];
	size_t		len;

	vsnprintf(text, sizeof(text), fmt, ap);
	len = strlen(text);
	while (len > 0 && text[len - 1] == '\n')
		text[--len] = '\0';
	fflush(stdout);
	fprintf(stderr, "%s: %s: %s\n", PFG_PROGNAME, level, text);
}

void
pfg_error(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	message("error", fmt, ap);
	va_end(ap);
}

void
pfg_detail(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	message("detail", fmt, ap);
	va_end(ap);
}

void
pfg_hint(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	message("hint", fmt, ap);
	va_end(ap);
}

/*
 * pfg_exit
 *		Close the connection and exit with code.
 */
void
pfg_exit(int code)
{
	if (pfg_conn)
		PQfinish(pfg_conn);
	pfg_conn = NULL;
	exit(code);
}

/*
 * pfg_fatal
 *		Print an error and exit with PFG_EXIT_ERROR.
 */
void
pfg_fatal(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	message("error", fmt, ap);
	va_end(ap);
	pfg_exit(PFG_EXIT_ERROR);
}

void *
pfg_malloc(size_t size)
{
	void	   *p = malloc(size ? size : 1);

	if (p == NULL)
		pfg_fatal("out of memory");
	return p;
}

char *
pfg_strdup(const char *s)
{
	size_t		len = strlen(s);
	char	   *p = pfg_malloc(len + 1);

	memcpy(p, s, len + 1);
	return p;
}

void
buf_init(PfgBuf *buf)
{
	buf->cap = 256;
	buf->len = 0;
	buf->data = pfg_malloc(buf->cap);
	buf->data[0] = '\0';
}

/* make room for n more bytes and the terminating zero */
static void
buf_reserve(PfgBuf *buf, size_t n)
{
	size_t		need = buf->len + n + 1;
	char	   *p;

	if (need <= buf->cap)
		return;
	while (buf->cap < need)
		buf->cap *= 2;
	p = realloc(buf->data, buf->cap);
	if (p == NULL)
		pfg_fatal("out of memory");
	buf->data = p;
}

void
buf_putn(PfgBuf *buf, const char *s, size_t n)
{
	buf_reserve(buf, n);
	memcpy(buf->data + buf->len, s, n);
	buf->len += n;
	buf->data[buf->len] = '\0';
}

void
buf_putc(PfgBuf *buf, char c)
{
	buf_putn(buf, &c, 1);
}

void
buf_puts(PfgBuf *buf, const char *s)
{
	buf_putn(buf, s, strlen(s));
}

void
buf_printf(PfgBuf *buf, const char *fmt,...)
{
	va_list		ap;
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(buf->data + buf->len, buf->cap - buf->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		pfg_fatal("could not format output");
	if ((size_t) n >= buf->cap - buf->len)
	{
		buf_reserve(buf, (size_t) n);
		va_start(ap, fmt);
		vsnprintf(buf->data + buf->len, buf->cap - buf->len, fmt, ap);
		va_end(ap);
	}
	buf->len += (size_t) n;
}

void
buf_reset(PfgBuf *buf)
{
	buf->len = 0;
	buf->data[0] = '\0';
}

void
buf_free(PfgBuf *buf)
{
	free(buf->data);
	buf->data = NULL;
	buf->len = buf->cap = 0;
}

/*
 * report_server_error
 *		Print a failed result's primary message, detail and hint (or, when
 *		the server sent no fields, libpq's message: a lost connection).
 *		A hint of hints for the error's SQLSTATE replaces the server's
 *		(which speaks of SQL function arguments, not of options).
 */
static void
report_server_error(const PGresult *res, const PfgHint *hints)
{
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *server_hint = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;

	if (primary)
		pfg_error("%s", primary);
	else if (res && PQresultErrorMessage(res)[0] != '\0')
		pfg_error("%s", PQresultErrorMessage(res));
	else
		pfg_error("%s", PQerrorMessage(pfg_conn));
	if (detail)
		pfg_detail("%s", detail);
	for (; hints && hints->sqlstate; hints++)
		if (state && strcmp(hints->sqlstate, state) == 0)
		{
			pfg_hint("%s", hints->hint);
			return;
		}
	if (server_hint)
		pfg_hint("%s", server_hint);
}

/*
 * pfg_query_hinted
 *		Run one statement with text parameters (NULL pointers are SQL NULL)
 *		and return its rows, or exit with code 2 after printing the
 *		server's error, with the client's own hint for the SQLSTATEs in
 *		hints (an array ended by a NULL sqlstate; NULL for none).  The
 *		caller PQclear()s the result.
 */
PGresult *
pfg_query_hinted(const char *sql, int nparams, const char *const *params,
				 const PfgHint *hints)
{
	PGresult   *res;
	ExecStatusType status;

	res = PQexecParams(pfg_conn, sql, nparams, NULL, params, NULL, NULL, 0);
	status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK)
	{
		report_server_error(res, hints);
		PQclear(res);
		pfg_exit(PFG_EXIT_ERROR);
	}
	return res;
}

/*
 * pfg_query
 *		pfg_query_hinted() with the server's hints.
 */
PGresult *
pfg_query(const char *sql, int nparams, const char *const *params)
{
	return pfg_query_hinted(sql, nparams, params, NULL);
}

/*
 * pfg_query_quiet
 *		As pfg_query(), but a failed statement returns NULL and prints
 *		nothing: for trying how the server reads a value.
 */
PGresult *
pfg_query_quiet(const char *sql, int nparams, const char *const *params)
{
	PGresult   *res;

	res = PQexecParams(pfg_conn, sql, nparams, NULL, params, NULL, NULL, 0);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		PQclear(res);
		if (PQstatus(pfg_conn) == CONNECTION_BAD)
			pfg_fatal("%s", PQerrorMessage(pfg_conn));
		return NULL;
	}
	return res;
}

/*
 * pfg_column
 *		Number of the named column; a missing column is a mismatch between
 *		this client and the server's SQL API, reported as such.
 */
int
pfg_column(const PGresult *res, const char *column)
{
	int			col = PQfnumber(res, column);

	if (col < 0)
		pfg_fatal("the server's result has no column \"%s\"; is the perfguard extension of a version this client knows?",
				  column);
	return col;
}

/*
 * pfg_value
 *		The named column of a row, or NULL for SQL NULL.  Points into res.
 */
const char *
pfg_value(const PGresult *res, int row, const char *column)
{
	int			col = pfg_column(res, column);

	return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

/*
 * pfg_read_file
 *		The whole of a file ("-": standard input) as a string, malloc'd.
 *		Exits with code 2 if it cannot be read or holds a zero byte (which
 *		a text parameter could not carry).
 */
char *
pfg_read_file(const char *path)
{
	FILE	   *f;
	PfgBuf		buf;
	char		chunk[65536];
	size_t		n;
	bool		is_stdin = strcmp(path, "-") == 0;

	f = is_stdin ? stdin : fopen(path, "rb");
	if (f == NULL)
		pfg_fatal("could not open file \"%s\" for reading: %s", path, strerror(errno));
	buf_init(&buf);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_putn(&buf, chunk, n);
	if (ferror(f))
		pfg_fatal("could not read file \"%s\": %s", path, strerror(errno));
	if (!is_stdin)
		fclose(f);
	if (strlen(buf.data) != buf.len)
		pfg_fatal("file \"%s\" is not a baseline document: it contains a zero byte", path);
	return buf.data;
}

/*
 * pfg_finish_output
 *		Flush standard output; a failed write (a full disk) is an error.
 */
void
pfg_finish_output(void)
{
	if (fflush(stdout) != 0 || ferror(stdout))
		pfg_fatal("could not write to standard output: %s", strerror(errno));
}
