/*-------------------------------------------------------------------------
 * dumpfile.c
 *	  Reading and writing the files that carry perfguard's shared state
 *	  (statistics, events) across a clean restart.
 *
 * A dump file is a header that starts with a 4-byte magic number, a body,
 * and a CRC-32C of everything before it.  It is written by the postmaster
 * at shutdown to a temporary file that is then durably renamed, and read
 * back by the postmaster at start.  Nothing here raises an ERROR: a file
 * that cannot be written is logged; a file that cannot be used is
 * reported with a WARNING, removed, and ignored, and the server starts
 * without what it held.
 *
 * IDENTIFICATION	  src/dumpfile.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>
#include <unistd.h>

#include "storage/fd.h"
#include "utils/memutils.h"

#include "dumpfile.h"

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
	if (fwrite(data, 1, len, w->file) != len)
		w->failed = true;
}

/*
 * pfg_dump_finish
 *		Append the CRC, close the file and rename it into place; or, if
 *		anything failed, log why and remove the temporary file.
 */
void
pfg_dump_finish(PfgDumpWriter *w)
{
	pg_crc32c	crc = w->crc;

	FIN_CRC32C(crc);
	if (!w->failed && fwrite(&crc, sizeof(crc), 1, w->file) != 1)
		w->failed = true;
	if (w->file != NULL && FreeFile(w->file) != 0)
		w->failed = true;
	w->file = NULL;
	if (!w->failed)
	{
		(void) durable_rename(w->tmppath, w->path, LOG);
		return;
	}
	ereport(LOG,
			(errcode_for_file_access(),
			 errmsg("could not write perfguard file \"%s\": %m", w->tmppath)));
	unlink(w->tmppath);
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
 * pfg_dump_read
 *		Read a whole dump file and check its size, magic number and CRC.
 *		Returns its contents (palloc'd), with *body_len the bytes before the
 *		CRC; or NULL when there is no file, or when the file cannot be used
 *		(then it has been reported and removed).  The caller checks the
 *		rest of its header and its body.
 */
char *
pfg_dump_read(const char *path, const char *what, uint32 magic,
			  Size header_size, Size *body_len)
{
	FILE	   *file;
	struct stat st;
	char	   *buf;
	uint32		file_magic;
	pg_crc32c	crc;
	pg_crc32c	stored_crc;
	Size		len;
	char		why[128];

	file = AllocateFile(path, PG_BINARY_R);
	if (file == NULL)
	{
		if (errno != ENOENT)
			ereport(LOG,
					(errcode_for_file_access(),
					 errmsg("could not read perfguard file \"%s\": %m", path)));
		return NULL;
	}
	if (fstat(fileno(file), &st) != 0 ||
		st.st_size < (off_t) (header_size + sizeof(pg_crc32c)) ||
		st.st_size > (off_t) MaxAllocHugeSize)
	{
		FreeFile(file);
		snprintf(why, sizeof(why),
				 "The file is too short or too long to be a perfguard %s file.", what);
		pfg_dump_reject(path, what, why);
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
		snprintf(why, sizeof(why), "The file is not a perfguard %s file.", what);
		pfg_dump_reject(path, what, why);
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
