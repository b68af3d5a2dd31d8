/*-------------------------------------------------------------------------
 * dumpfile.h
 *	  What perfguard reads back without having written it in this run: the
 *	  files that carry its shared state across a clean restart, the texts
 *	  it keeps with the encoding they were written in, and the row types
 *	  its SQL functions are declared with.
 *
 * IDENTIFICATION	  src/dumpfile.h
 *-------------------------------------------------------------------------
 */
#ifndef PFG_DUMPFILE_H
#define PFG_DUMPFILE_H

#include "fmgr.h"
#include "access/tupdesc.h"
#include "port/pg_crc32c.h"

/* A dump file being written: data first, then a CRC-32C of all of it. */
typedef struct PfgDumpWriter
{
	const char *path;
	char		tmppath[MAXPGPATH];
	FILE	   *file;
	pg_crc32c	crc;
	bool		failed;
	int			failed_errno;	/* errno of the first failure */
} PfgDumpWriter;

extern void pfg_dump_begin(PfgDumpWriter *w, const char *path);
extern void pfg_dump_write(PfgDumpWriter *w, const void *data, Size len);
extern void pfg_dump_finish(PfgDumpWriter *w);

extern Size pfg_dump_limit(uint64 full_size);
extern char *pfg_dump_read(const char *path, const char *what, uint32 magic,
						   Size header_size, Size max_size,
						   const char *sized_by, Size *body_len);
extern void pfg_dump_reject(const char *path, const char *what, const char *why);

/* Texts kept with their encoding (statistics entries, events). */
extern bool pfg_text_valid(const char *s, int len, int encoding);
extern const char *pfg_json_members_problem(const char *members, int len,
											int encoding);
extern char *pfg_text_to_server(const char *s, int len, int encoding,
								bool in_json);
extern bool pfg_text_converts(int encoding);

/* The row type of a SQL function, checked against what the C code builds. */
extern void pfg_check_result_type(FunctionCallInfo fcinfo, TupleDesc desc,
								  const Oid *types, int ncols);

#endif							/* PFG_DUMPFILE_H */
