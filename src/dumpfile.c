/*-------------------------------------------------------------------------
 * dumpfile.c
 *	  What perfguard reads back without having written it in this run, and
 *	  so must not trust: the files that carry its shared state (statistics,
 *	  events) across a clean restart, the texts it keeps with the encoding
 *	  they were written in, and the row types its SQL functions are
 *	  declared with.
 *
 * A dump file is a header that starts with a 4-byte magic number, a body,
 * and a CRC-32C of everything before it.  It is written by the postmaster
 * at shutdown to a temporary file that is then durably renamed, and read
 * back by the postmaster at start.  Nothing here raises an ERROR while a
 * file is read or written: a file that cannot be written is logged (and
 * its temporary file removed); a file that cannot be used is reported
 * with a WARNING, removed, and ignored, and the server starts without
 * what it held.  A file larger than the settings of this server can use
 * is refused before it is read, so that a damaged or foreign file never
 * makes the postmaster allocate or read more than a bounded amount.
 *
 * Texts: a statistics entry or an event keeps the encoding of the database
 * it was recorded in, and can be read from a database of another encoding.
 * pfg_text_valid checks a text loaded from a file against its encoding;
 * pfg_text_to_server gives the text as the reading database can show it,
 * without ever raising an ERROR for its contents (pg_any_to_server raises
 * on invalid bytes and on characters the database's encoding lacks: one
 * such text would fail every read of a view, for everyone).
 *
 * Row types: pfg_check_result_type compares the row type a SQL function is
 * declared with to what its C code builds, and is the one function here
 * that raises an ERROR, on purpose.
 *
 * IDENTIFICATION	  src/dumpfile.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>
#include <unistd.h>

#include "catalog/namespace.h"
#include "common/jsonapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/regproc.h"

#include "compat.h"
#include "dumpfile.h"
#include "perfguard.h"

/*
 * A dump file may be this many times larger than the file this server's
 * table or store writes when it is full, and is always allowed up to
 * PFG_DUMP_MIN_LIMIT bytes.  See pfg_dump_limit.
 */
#define PFG_DUMP_LIMIT_FACTOR	2
#define PFG_DUMP_MIN_LIMIT		((Size) 64 * 1024 * 1024)

/*
 * How deep the detail of an event may nest (the object itself is level 1).
 * perfguard writes flat objects; the bound keeps pg_parse_json's recursion
 * (and jsonb_in's, when the view is read) far from the stack limit.
 */
#define PFG_JSON_MAX_DEPTH		16

/* Bytes of text converted at a time (pfg_text_to_server). */
#define PFG_CONVERT_CHUNK		8192

/*
 * pfg_dump_begin
 *		Open path's temporary file for writing.
 */
void
pfg_dump_begin(PfgDumpWriter *w, const char *path)
{
	w->path = path;
	snprintf(w->tmppath, sizeof(w->tmppath), "%s.tmp", path);
	INIT_CRC32C(w->crc);
	w->file = AllocateFile(w->tmppath, PG_BINARY_W);
	w->failed = (w->file == NULL);
	w->failed_errno = w->failed ? errno : 0;
}

/*
 * pfg_dump_write
 *		Append data to the file and to its CRC.  After a failure, does
 *		nothing; pfg_dump_finish reports it.
 */
void
pfg_dump_write(PfgDumpWriter *w, const void *data, Size len)
{
	if (w->failed || len == 0)
		return;
	COMP_CRC32C(w->crc, data, len);
	errno = 0;
	if (fwrite(data, 1, len, w->file) != len)
	{
		w->failed = true;
		/* a short write without errno: assume the disk is full */
		w->failed_errno = errno ? errno : ENOSPC;
	}
}

/*
 * pfg_dump_finish
 *		Append the CRC, close the file and rename it into place; or, if
 *		anything failed (the rename included), log why and remove the
 *		temporary file, so that no failure leaves one behind.
 */
void
pfg_dump_finish(PfgDumpWriter *w)
{
	pg_crc32c	crc = w->crc;

	FIN_CRC32C(crc);
	pfg_dump_write(w, &crc, sizeof(crc));
	if (w->file != NULL && FreeFile(w->file) != 0 && !w->failed)
	{
		w->failed = true;
		w->failed_errno = errno;
	}
	w->file = NULL;
	if (!w->failed)
	{
		/* durable_rename logs its own failure */
		if (durable_rename(w->tmppath, w->path, LOG) == 0)
			return;
	}
	else
	{
		errno = w->failed_errno;
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not write perfguard file \"%s\": %m", w->tmppath)));
	}
	if (unlink(w->tmppath) != 0 && errno != ENOENT)
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not remove file \"%s\": %m", w->tmppath)));
}

/*
 * pfg_dump_reject
 *		Report a file that cannot be used, and remove it.  what names its
 *		contents ("statistics", "events").
 */
void
pfg_dump_reject(const char *path, const char *what, const char *why)
{
	ereport(WARNING,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("perfguard ignored its %s file \"%s\"", what, path),
			 errdetail("%s", why),
			 errhint("perfguard starts without its saved %s; the server is not affected.",
					 what)));
	unlink(path);
}

/*
 * pfg_dump_limit
 *		The largest dump file worth reading, given full_size, the size of
 *		the file that the table or store would write, full, at this
 *		server's settings: twice that, and at least 64 MB.
 *
 *		The margin keeps what the documentation promises: a file written
 *		before perfguard.max_queries (or query_text_length, events_memory)
 *		was lowered is loaded in part, as much as fits.  Twice the full
 *		size covers settings halved; the floor covers any lowering for
 *		the default settings and below, where reading and checking 64 MB
 *		takes a fraction of a second, and the memory, taken by the
 *		postmaster only while it loads, is freed before the server accepts
 *		connections.  Above the floor the postmaster never allocates more
 *		than twice the shared memory it has already set aside for the
 *		table, however large the file.
 */
Size
pfg_dump_limit(uint64 full_size)
{
	uint64		limit = full_size * PFG_DUMP_LIMIT_FACTOR;

	if (limit < PFG_DUMP_MIN_LIMIT)
		limit = PFG_DUMP_MIN_LIMIT;
	if (limit > MaxAllocHugeSize)
		limit = MaxAllocHugeSize;
	return (Size) limit;
}

/*
 * pfg_dump_read
 *		Read a whole dump file and check its size, magic number and CRC.
 *		A file larger than max_size (pfg_dump_limit) is refused before
 *		anything is allocated for it or read from it; sized_by names the
 *		settings that max_size comes from, for the message.  Returns the
 *		contents (palloc'd), with *body_len the bytes before the CRC; or
 *		NULL when there is no file, or when the file cannot be used (then
 *		it has been reported and removed).  The caller checks the rest of
 *		its header and its body.
 *
 *		A temporary file left by a writer that did not finish (the server
 *		was killed while it wrote) is removed first.
 */
char *
pfg_dump_read(const char *path, const char *what, uint32 magic,
			  Size header_size, Size max_size, const char *sized_by,
			  Size *body_len)
{
	FILE	   *file;
	struct stat st;
	char	   *buf;
	uint32		file_magic;
	pg_crc32c	crc;
	pg_crc32c	stored_crc;
	Size		len;
	char		tmppath[MAXPGPATH];

	snprintf(tmppath, sizeof(tmppath), "%s.tmp", path);
	if (unlink(tmppath) == 0)
		ereport(LOG,
				(errmsg("perfguard removed \"%s\", left by a write that did not finish",
						tmppath)));

	file = AllocateFile(path, PG_BINARY_R);
	if (file == NULL)
	{
		if (errno != ENOENT)
			ereport(LOG,
					(errcode_for_file_access(),
					 errmsg("could not read perfguard file \"%s\": %m", path)));
		return NULL;
	}
	if (fstat(fileno(file), &st) != 0 || !S_ISREG(st.st_mode))
	{
		FreeFile(file);
		pfg_dump_reject(path, what, "The file is not a regular file.");
		return NULL;
	}
	if (st.st_size < (off_t) (header_size + sizeof(pg_crc32c)))
	{
		FreeFile(file);
		pfg_dump_reject(path, what,
						psprintf("The file is too short to be a perfguard %s file.",
								 what));
		return NULL;
	}
	if ((uint64) st.st_size > (uint64) max_size)
	{
		FreeFile(file);
		pfg_dump_reject(path, what,
						psprintf("The file has %llu bytes, more than the %llu bytes that perfguard reads as its %s file with this server's %s.",
								 (unsigned long long) st.st_size,
								 (unsigned long long) max_size, what, sized_by));
		return NULL;
	}
	buf = palloc_extended(st.st_size, MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
	if (buf == NULL || fread(buf, 1, st.st_size, file) != (size_t) st.st_size)
	{
		FreeFile(file);
		if (buf)
			pfree(buf);
		pfg_dump_reject(path, what, "The file could not be read completely.");
		return NULL;
	}
	FreeFile(file);

	memcpy(&file_magic, buf, sizeof(file_magic));
	if (file_magic != magic)
	{
		pfree(buf);
		pfg_dump_reject(path, what,
						psprintf("The file is not a perfguard %s file.", what));
		return NULL;
	}

	len = st.st_size - sizeof(pg_crc32c);
	INIT_CRC32C(crc);
	COMP_CRC32C(crc, buf, len);
	FIN_CRC32C(crc);
	memcpy(&stored_crc, buf + len, sizeof(pg_crc32c));
	if (!EQ_CRC32C(crc, stored_crc))
	{
		pfree(buf);
		pfg_dump_reject(path, what, "The file's checksum does not match its contents.");
		return NULL;
	}
	*body_len = len;
	return buf;
}

/*
 * pfg_text_valid
 *		Is s (len bytes) a text that a database of this encoding could have
 *		given perfguard: the encoding one of a database, and every byte
 *		part of a valid character of it (no NUL)?  Never raises an ERROR;
 *		needs no database (the postmaster calls it).
 */
bool
pfg_text_valid(const char *s, int len, int encoding)
{
	return PG_VALID_BE_ENCODING(encoding) && len >= 0 &&
		pg_verify_mbstr(encoding, s, len, true);
}

/*
 * pfg_json_members_problem
 *		Are members (len bytes, valid in encoding: the members of a JSON
 *		object without its braces, as an event's detail is kept) what
 *		perfguard writes?  Returns NULL if so, else a sentence saying what
 *		is wrong.  Never raises an ERROR; needs no database.
 *
 *		Besides being valid JSON, they must nest at most PFG_JSON_MAX_DEPTH
 *		levels (pg_parse_json and jsonb_in recurse once per level, and fail
 *		with an ERROR at the stack limit), and a \u escape may only stand
 *		for an ASCII character other than NUL (escape_json writes no other;
 *		jsonb_in rejects \u0000, and others may have no equivalent in the
 *		database that reads them).  The escapes and depth are checked
 *		first, by a scan that knows strings; then pg_parse_json, which
 *		returns its errors, checks the grammar without de-escaping (which
 *		could raise).
 */
const char *
pfg_json_members_problem(const char *members, int len, int encoding)
{
	int			depth = 1;
	bool		in_string = false;
	char	   *json;
	JsonLexContext *lex;
	JsonParseErrorType result;

	for (int i = 0; i < len; i++)
	{
		char		c = members[i];

		if (in_string)
		{
			if (c == '"')
				in_string = false;
			else if (c == '\\' && i + 1 < len && members[i + 1] == 'u')
			{
				int			code = 0;

				if (i + 5 >= len)
					return "it is not valid JSON";
				for (int k = i + 2; k <= i + 5; k++)
				{
					char		h = members[k];

					if (h >= '0' && h <= '9')
						code = code * 16 + (h - '0');
					else if (h >= 'a' && h <= 'f')
						code = code * 16 + (h - 'a' + 10);
					else if (h >= 'A' && h <= 'F')
						code = code * 16 + (h - 'A' + 10);
					else
						return "it is not valid JSON";
				}
				if (code == 0 || code > 0x7f)
					return "it has a \\u escape of a character that is NUL or not ASCII";
				i += 5;
			}
			else if (c == '\\')
				i++;			/* the escaped character */
		}
		else if (c == '"')
			in_string = true;
		else if (c == '{' || c == '[')
		{
			if (++depth > PFG_JSON_MAX_DEPTH)
				return "it is nested too deeply";
		}
		else if (c == '}' || c == ']')
			depth--;
	}

	json = palloc(len + 3);
	json[0] = '{';
	memcpy(json + 1, members, len);
	json[len + 1] = '}';
	json[len + 2] = '\0';
	lex = pfg_json_lex_make(json, len + 2, encoding, false);
	result = pg_parse_json(lex, &nullSemAction);
	pfg_json_lex_free(lex);
	pfree(json);
	return result == JSON_SUCCESS ? NULL : "it is not valid JSON";
}

/* Append byte c as \xNN (in JSON: \\xNN, a backslash inside a string). */
static void
append_escaped_byte(StringInfo buf, unsigned char c, bool in_json)
{
	appendStringInfo(buf, in_json ? "\\\\x%02x" : "\\x%02x", c);
}

/*
 * escape_invalid
 *		s (len bytes) with every byte that is not part of a valid character
 *		of encoding escaped.  Returns s itself when it is all valid, else a
 *		palloc'd string; *out_len is the result's length.
 */
static const char *
escape_invalid(const char *s, int len, int encoding, bool in_json, int *out_len)
{
	StringInfoData buf;
	int			ok = pg_encoding_verifymbstr(encoding, s, len);

	if (ok == len)
	{
		*out_len = len;
		return s;
	}
	initStringInfo(&buf);
	for (;;)
	{
		appendBinaryStringInfo(&buf, s, ok);
		if (ok == len)
			break;
		append_escaped_byte(&buf, (unsigned char) s[ok], in_json);
		s += ok + 1;
		len -= ok + 1;
		ok = pg_encoding_verifymbstr(encoding, s, len);
	}
	*out_len = buf.len;
	return buf.data;
}

/*
 * convert_escaping
 *		s (len bytes, valid in encoding from, no NUL) converted to the
 *		database's encoding, each character that has no equivalent there
 *		written as the escapes of its bytes.  The conversion functions are
 *		called with noError, so they stop at such a character instead of
 *		raising; each call converts at most PFG_CONVERT_CHUNK bytes, cut at
 *		a character boundary.  Without a conversion between the two
 *		encodings, ASCII is kept and every other byte escaped.  Returns a
 *		palloc'd string.  Needs a transaction (catalog lookup).
 */
static char *
convert_escaping(const char *s, int len, int from, bool in_json)
{
	int			to = GetDatabaseEncoding();
	Oid			proc = FindDefaultConversionProc(from, to);
	StringInfoData buf;
	unsigned char *out;
	int			pos = 0;

	initStringInfo(&buf);
	if (!OidIsValid(proc))
	{
		for (int i = 0; i < len; i++)
		{
			if (IS_HIGHBIT_SET(s[i]))
				append_escaped_byte(&buf, (unsigned char) s[i], in_json);
			else
				appendStringInfoChar(&buf, s[i]);
		}
		return buf.data;
	}

	out = palloc(PFG_CONVERT_CHUNK * MAX_CONVERSION_GROWTH + 1);
	while (pos < len)
	{
		int			chunk = len - pos;
		int			done;

		if (chunk > PFG_CONVERT_CHUNK)
			chunk = pg_encoding_mbcliplen(from, s + pos, chunk, PFG_CONVERT_CHUNK);
		done = pg_do_encoding_conversion_buf(proc, from, to,
											 (unsigned char *) s + pos, chunk,
											 out, PFG_CONVERT_CHUNK * MAX_CONVERSION_GROWTH + 1,
											 true);
		appendStringInfoString(&buf, (char *) out);
		pos += done;
		if (done < chunk)
		{
			/* a character the database's encoding lacks: escape its bytes */
			int			clen = Min(pg_encoding_mblen(from, s + pos), len - pos);

			for (int i = 0; i < clen; i++)
				append_escaped_byte(&buf, (unsigned char) s[pos + i], in_json);
			pos += clen;
		}
	}
	pfree(out);
	return buf.data;
}

/*
 * pfg_text_converts
 *		Does showing a text kept in encoding in this database convert it
 *		(and so look the conversion up in the catalogs)?  See
 *		pfg_text_to_server; a caller that holds an LWLock shows such texts
 *		after releasing it.
 */
bool
pfg_text_converts(int encoding)
{
	int			db_encoding = GetDatabaseEncoding();

	return PG_VALID_BE_ENCODING(encoding) && encoding != db_encoding &&
		encoding != PG_SQL_ASCII && db_encoding != PG_SQL_ASCII;
}

/*
 * pfg_text_to_server
 *		A text that perfguard kept in encoding, as this database can show
 *		it: in the database's encoding, with each byte that is not part of
 *		a valid character, and each character that the database's encoding
 *		cannot represent, written as \xNN (one per byte).  With in_json,
 *		the text is JSON and the escapes are written \\xNN, which keeps it
 *		valid JSON (invalid bytes can only be inside its strings).  s[len]
 *		must be a NUL.  Returns s itself when it can be shown as it is,
 *		else a palloc'd string.
 *
 *		Which bytes are valid is decided as pg_any_to_server decides it: a
 *		text kept in the database's encoding or in SQL_ASCII is checked
 *		against the database's encoding and not converted; a database in
 *		SQL_ASCII shows any text as it is, checked against its own
 *		encoding; otherwise the text is converted.  Never raises an ERROR
 *		for the text's contents; converting needs a transaction.
 */
char *
pfg_text_to_server(const char *s, int len, int encoding, bool in_json)
{
	int			db_encoding = GetDatabaseEncoding();
	const char *valid;
	int			valid_len;
	char	   *result;

	if (len <= 0)
		return unconstify(char *, s);
	if (!PG_VALID_BE_ENCODING(encoding))
		encoding = PG_SQL_ASCII;	/* cannot happen: checked at load */

	if (encoding == db_encoding || encoding == PG_SQL_ASCII)
		return unconstify(char *, escape_invalid(s, len, db_encoding, in_json,
												 &valid_len));
	valid = escape_invalid(s, len, encoding, in_json, &valid_len);
	if (!pfg_text_converts(encoding))
		return unconstify(char *, valid);	/* a SQL_ASCII database */

	result = convert_escaping(valid, valid_len, encoding, in_json);
	if (valid != s)
		pfree(unconstify(char *, valid));
	return result;
}

/*
 * pfg_check_result_type
 *		Raise an ERROR unless desc, the row type that the SQL function
 *		being called is declared with, has exactly the ncols columns of the
 *		given types that the C function builds.  A library newer or older
 *		than the extension's SQL script (an ALTER EXTENSION UPDATE not yet
 *		run), or a function declared by hand, would otherwise make the C
 *		function read or write past its arrays of values, or pass a value
 *		as a type it is not.
 */
void
pfg_check_result_type(FunctionCallInfo fcinfo, TupleDesc desc,
					  const Oid *types, int ncols)
{
	const char *name;

	if (desc->natts == ncols)
	{
		int			i;

		for (i = 0; i < ncols; i++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, i);

			if (att->attisdropped || att->atttypid != types[i])
				break;
		}
		if (i == ncols)
			return;
	}

	name = (fcinfo->flinfo != NULL && OidIsValid(fcinfo->flinfo->fn_oid)) ?
		format_procedure(fcinfo->flinfo->fn_oid) : "(unknown)";
	if (desc->natts != ncols)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("function %s is declared with %d result columns, but the perfguard library returns %d",
						name, desc->natts, ncols),
				 errdetail("The function's SQL definition does not match perfguard library version %s.",
						   PERFGUARD_VERSION),
				 errhint("Run ALTER EXTENSION perfguard UPDATE to install the SQL definitions that match the library.")));
	for (int i = 0; i < ncols; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped || att->atttypid != types[i])
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("column %d of function %s is declared as type %s, but the perfguard library returns type %s",
							i + 1, name,
							att->attisdropped ? "(dropped)" : format_type_be(att->atttypid),
							format_type_be(types[i])),
					 errdetail("The function's SQL definition does not match perfguard library version %s.",
							   PERFGUARD_VERSION),
					 errhint("Run ALTER EXTENSION perfguard UPDATE to install the SQL definitions that match the library.")));
	}
}
