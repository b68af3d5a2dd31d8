/*-------------------------------------------------------------------------
 * dumpfile.h
 *	  Files that carry perfguard's shared state across a clean restart.
 *
 * IDENTIFICATION	  src/dumpfile.h
 *-------------------------------------------------------------------------
 */
#ifndef PFG_DUMPFILE_H
#define PFG_DUMPFILE_H

#include "port/pg_crc32c.h"

/* A dump file being written: data first, then a CRC-32C of all of it. */
typedef struct PfgDumpWriter
{
	const char *path;
	char		tmppath[MAXPGPATH];
	FILE	   *file;
	pg_crc32c	crc;
	bool		failed;
} PfgDumpWriter;

extern void pfg_dump_begin(PfgDumpWriter *w, const char *path);
extern void pfg_dump_write(PfgDumpWriter *w, const void *data, Size len);
extern void pfg_dump_finish(PfgDumpWriter *w);

extern char *pfg_dump_read(const char *path, const char *what, uint32 magic,
						   Size header_size, Size *body_len);
extern void pfg_dump_reject(const char *path, const char *what, const char *why);

#endif							/* PFG_DUMPFILE_H */
