/*-------------------------------------------------------------------------
 * util.c
 *	  Messages, memory, growable strings, queries and files for the
 *	  perfguard client.
 *
 * Messages follow the PostgreSQL 15 client tools: "perfguard: error: ...",
 * then "perfguard: detail: ..." and "perfguard: hint: ...", on stderr,
 * whole whatever their length.  Every query goes through pfg_query(),
 * which sends it with PQexecParams (parameters travel apart from the SQL
 * text) and turns any failure into the server's message, detail and hint
 * and exit code 2.  Standard output is written only through out_*(), and
 * every write, the final flush and the close are checked: a report that
 * could not be written is an error (exit code 2), never a success.
 *
 * IDENTIFICATION	  src/cli/util.c
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

PGconn	   *pfg_conn = NULL;

/* set by pfg_finish_output(): stdout is closed, nothing may touch it */
static bool stdout_closed = false;

/* while set (out_capture()), out_*() append here instead of writing */
static PfgBuf *captured = NULL;

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
 *		Print "perfguard: LEVEL: text" to stderr, the text whole whatever
 *		its length (a server message may be long: a list of violations); a
 *		text of several lines keeps its lines, without a trailing newline
 *		of its own.
 */
static void message(const char *level, const char *fmt, va_list ap) PFG_PRINTF(2, 0);

static void
message(const char *level, const char *fmt, va_list ap)
{
	va_list		ap2;
	char	   *text;
	int			n;
	size_t		len;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	/* not pfg_malloc(): its failure would come back here */
	text = n < 0 ? NULL : malloc((size_t) n + 1);
	if (text == NULL)
	{
		fprintf(stderr, "%s: %s: (out of memory while formatting a message)\n",
				PFG_PROGNAME, level);
		return;
	}
	vsnprintf(text, (size_t) n + 1, fmt, ap);
	len = (size_t) n;
	while (len > 0 && text[len - 1] == '\n')
		text[--len] = '\0';
	/* what was written before the message comes before it */
	if (!stdout_closed)
		fflush(stdout);
	fprintf(stderr, "%s: %s: %s\n", PFG_PROGNAME, level, text);
	free(text);
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

/*
 * buf_vprintf
 *		Append a formatted string, of any length.
 */
void
buf_vprintf(PfgBuf *buf, const char *fmt, va_list ap)
{
	va_list		ap2;
	int			n;

	va_copy(ap2, ap);
	n = vsnprintf(buf->data + buf->len, buf->cap - buf->len, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		pfg_fatal("could not format output");
	if ((size_t) n >= buf->cap - buf->len)
	{
		buf_reserve(buf, (size_t) n);
		vsnprintf(buf->data + buf->len, buf->cap - buf->len, fmt, ap);
	}
	buf->len += (size_t) n;
}

void
buf_printf(PfgBuf *buf, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	buf_vprintf(buf, fmt, ap);
	va_end(ap);
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
 * pfg_result_part
 *		The rows of res whose integer column "part" equals part, with only
 *		the named columns (a NULL-terminated list; names, types and values
 *		as in res), as a result of their own, which the caller PQclear()s.
 *		This is how one round trip brings several results: one statement
 *		UNION ALLs them, each row tagged with its part.
 */
PGresult *
pfg_result_part(const PGresult *res, int part, const char *const *columns)
{
	int			pcol = pfg_column(res, "part");
	int			ncols = 0;
	int		   *src;
	PGresAttDesc *attrs;
	PGresult   *out;
	int			c,
				r,
				n = 0;

	while (columns[ncols])
		ncols++;
	src = pfg_malloc(sizeof(int) * ncols);
	attrs = pfg_malloc(sizeof(PGresAttDesc) * ncols);
	for (c = 0; c < ncols; c++)
	{
		src[c] = pfg_column(res, columns[c]);
		attrs[c].name = (char *) columns[c];
		attrs[c].tableid = PQftable(res, src[c]);
		attrs[c].columnid = PQftablecol(res, src[c]);
		attrs[c].format = PQfformat(res, src[c]);
		attrs[c].typid = PQftype(res, src[c]);
		attrs[c].typlen = PQfsize(res, src[c]);
		attrs[c].atttypmod = PQfmod(res, src[c]);
	}
	out = PQmakeEmptyPGresult(pfg_conn, PGRES_TUPLES_OK);
	if (out == NULL || !PQsetResultAttrs(out, ncols, attrs))
		pfg_fatal("out of memory");
	for (r = 0; r < PQntuples(res); r++)
	{
		if (PQgetisnull(res, r, pcol) || atoi(PQgetvalue(res, r, pcol)) != part)
			continue;
		for (c = 0; c < ncols; c++)
		{
			bool		null = PQgetisnull(res, r, src[c]);

			if (!PQsetvalue(out, n, c, null ? NULL : PQgetvalue(res, r, src[c]),
							null ? -1 : PQgetlength(res, r, src[c])))
				pfg_fatal("out of memory");
		}
		n++;
	}
	free(attrs);
	free(src);
	return out;
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
 * output_failed
 *		A write to standard output failed: say why (errno, as the failed
 *		call left it) and exit with code 2.
 */
static void PFG_NORETURN
output_failed(void)
{
	int			save = errno;

	pfg_fatal("could not write to standard output: %s", strerror(save));
}

/*
 * out_write, out_puts, out_putc, out_printf
 *		Write to standard output; a failed write (a full disk, a closed
 *		descriptor) ends the program with code 2.  stdio reports a failure
 *		when it writes its buffer out, so the error comes with the write
 *		that filled the buffer, or with pfg_finish_output().
 */
void
out_write(const char *s, size_t n)
{
	if (captured)
		buf_putn(captured, s, n);
	else if (n > 0 && fwrite(s, 1, n, stdout) != n)
		output_failed();
}

/*
 * out_capture
 *		From now on, what out_*() write goes to buf (NULL: to standard
 *		output again): a command's output meant for a file (-o), which
 *		pfg_write_file() then writes whole or not at all.
 */
void
out_capture(PfgBuf *buf)
{
	captured = buf;
}

void
out_puts(const char *s)
{
	out_write(s, strlen(s));
}

void
out_putc(char c)
{
	if (captured)
		buf_putc(captured, c);
	else if (putchar((unsigned char) c) == EOF)
		output_failed();
}

void
out_printf(const char *fmt,...)
{
	va_list		ap;
	int			n;

	va_start(ap, fmt);
	if (captured)
	{
		buf_vprintf(captured, fmt, ap);
		n = 0;
	}
	else
		n = vprintf(fmt, ap);
	va_end(ap);
	if (n < 0)
		output_failed();
}

/*
 * pfg_finish_output
 *		Flush and close standard output: the last chance to learn that the
 *		report did not reach its file (a full disk; an error that a file
 *		system reports only on close).  Exits with code 2 if it did not.
 *		Nothing may write to standard output afterwards.
 */
void
pfg_finish_output(void)
{
	if (stdout_closed)
		return;
	/* before anything can fail: pfg_fatal() must not flush stdout again */
	stdout_closed = true;
	if (fflush(stdout) != 0)
		output_failed();
	/* every write was checked, so this is only a guard */
	if (ferror(stdout))
		pfg_fatal("could not write to standard output");
	if (fclose(stdout) != 0)
		output_failed();
}

/*
 * write_stream
 *		Write text to f, flush it and (with fd >= 0) sync it to disk, then
 *		close it.  Returns 0, or the errno of the first failure; f is
 *		closed either way.
 */
static int
write_stream(FILE *f, int fd, const char *text)
{
	size_t		len = strlen(text);
	int			err = 0;

	errno = 0;
	if (fwrite(text, 1, len, f) != len || fflush(f) != 0)
		err = errno ? errno : EIO;
	else if (fd >= 0 && fsync(fd) != 0)
		err = errno;
	if (fclose(f) != 0 && err == 0)
		err = errno;
	return err;
}

/*
 * pfg_write_file
 *		Write text to the file path, all of it or nothing: a regular file
 *		(or a new one) is written to a temporary file beside it,
 *		"PATH.tmp.XXXXXX", which replaces PATH (rename) only once it is
 *		written, synced and closed; after any failure the temporary file is
 *		removed and PATH is left as it was.  A symbolic link is followed:
 *		the file it points to is replaced, the link stays; a file that may
 *		not be written is an error, as for fopen().  Something that is not a
 *		regular file (/dev/stdout, a FIFO, a device) is written in place and
 *		never removed.  Exits with code 2 on failure.
 */
void
pfg_write_file(const char *path, const char *text)
{
	struct stat st;
	bool		exists = (stat(path, &st) == 0);
	char	   *target;
	PfgBuf		tmp;
	FILE	   *f;
	int			fd,
				err;
	mode_t		mode;

	if (exists && !S_ISREG(st.st_mode))
	{
		f = fopen(path, "w");
		if (f == NULL)
			pfg_fatal("could not open file \"%s\" for writing: %s", path, strerror(errno));
		err = write_stream(f, -1, text);
		if (err != 0)
			pfg_fatal("could not write file \"%s\": %s", path, strerror(err));
		return;
	}

	/*
	 * The file to replace, beside which the temporary file goes.  A file we
	 * may not write stays so: replacing it would need only the directory.
	 */
	if (exists && access(path, W_OK) != 0)
		pfg_fatal("could not open file \"%s\" for writing: %s", path, strerror(errno));
	target = exists ? realpath(path, NULL) : pfg_strdup(path);
	if (target == NULL)
		pfg_fatal("could not open file \"%s\" for writing: %s", path, strerror(errno));
	if (exists)
		mode = st.st_mode & 07777;
	else
	{
		/* what fopen() would give a new file */
		mode = umask(0);
		umask(mode);
		mode = 0666 & ~mode;
	}
	buf_init(&tmp);
	buf_printf(&tmp, "%s.tmp.XXXXXX", target);
	fd = mkstemp(tmp.data);
	if (fd < 0)
	{
		pfg_error("could not open file \"%s\" for writing: %s", path, strerror(errno));
		pfg_detail("The file is written to a temporary file in the same directory first, which then replaces it.");
		pfg_exit(PFG_EXIT_ERROR);
	}
	if (fchmod(fd, mode) != 0 || (f = fdopen(fd, "w")) == NULL)
	{
		err = errno;
		close(fd);
	}
	else
		err = write_stream(f, fd, text);
	if (err == 0 && rename(tmp.data, target) != 0)
		err = errno;
	if (err != 0)
	{
		unlink(tmp.data);
		pfg_fatal("could not write file \"%s\": %s", path, strerror(err));
	}
	buf_free(&tmp);
	free(target);
}

/*
 * pfg_clear_secret
 *		Overwrite n bytes at p with zeros, in a way the compiler may not
 *		leave out as a dead store (the memory is freed or goes out of scope
 *		right after): for passwords.
 */
void
pfg_clear_secret(void *p, size_t n)
{
	if (p == NULL)
		return;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 25))
	explicit_bzero(p, n);
#else
	{
		volatile unsigned char *v = p;

		while (n-- > 0)
			*v++ = 0;
	}
#endif
}
