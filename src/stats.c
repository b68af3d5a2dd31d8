/*-------------------------------------------------------------------------
 * stats.c
 *	  perfguard's shared statistics table: sizing, creation, updates,
 *	  eviction, reset, and the dump file that carries it across restarts.
 *
 * The table is a shared dynahash of PfgEntry, keyed like pg_stat_statements
 * (user, database, queryid, top-level), of at most perfguard.max_queries
 * entries, each of a size fixed at server start.
 *
 * Locking: create or remove an entry only with pfg_shared->lock held
 * exclusively; look entries up with it held shared.  Touch an entry's
 * counters and histogram only under entry->mutex, for a few instructions.
 * Nothing is allocated while a lock is held, except the eviction scratch
 * array, in the caller's (short-lived) memory context.
 *
 * The dump file, pg_stat/perfguard.stat, is written by the postmaster at a
 * clean shutdown and read back (then removed) at the next start.  A file
 * that is damaged, or written by another version, is reported with a
 * WARNING and ignored: it never stops the server.
 *
 * IDENTIFICATION	  src/stats.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <unistd.h>

#include "access/xact.h"
#include "access/xlog_internal.h"
#include "catalog/pg_control.h"
#include "miscadmin.h"
#include "mb/pg_wchar.h"
#include "pgstat.h"
#include "port/pg_crc32c.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "utils/hsearch.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "compat.h"
#include PFG_QUERYJUMBLE_HEADER
#include "dumpfile.h"
#include "identity.h"
#include "guc.h"
#include "stats.h"

#define PFG_DUMP_FILE		PGSTAT_STAT_PERMANENT_DIRECTORY "/perfguard.stat"
#define PFG_DUMP_MAGIC		0x50464731	/* "PFG1" */
#define PFG_DUMP_FORMAT		5	/* 5: failed executions */

/* Eviction frees this share of the table at once, and at least 10 entries. */
#define PFG_EVICT_PERCENT	5
#define PFG_USAGE_DECAY		0.99

/* Header of the dump file; entries and a CRC-32C of all before it follow. */
typedef struct PfgDumpHeader
{
	uint32		magic;
	uint32		format;
	uint32		pg_major;
	uint32		entry_fixed_size;
	uint32		hist_buckets;
	uint32		padding;
	int64		nentries;
	int64		evictions;
	TimestampTz stats_reset;
} PfgDumpHeader;

PfgShared  *pfg_shared = NULL;
static HTAB *pfg_hash = NULL;

/*
 * Backend-local cache of entry pointers, so that a known statement costs no
 * hash computation.  A slot is valid while pfg_shared->generation has the
 * value it had when the slot was filled: entries never move, and every
 * removal bumps the generation under the exclusive lock, so a lookup made
 * under the shared lock can trust a slot of the current generation.
 */
#define PFG_CACHE_SIZE	64		/* a power of two */

typedef struct PfgCacheSlot
{
	PfgKey		key;
	PfgEntry   *entry;			/* NULL: empty */
	uint64		generation;
} PfgCacheSlot;

static PfgCacheSlot entry_cache[PFG_CACHE_SIZE];

static inline PfgCacheSlot *
cache_slot(const PfgKey *key)
{
	uint64		h = key->queryid ^ (key->queryid >> 29) ^ key->userid ^ key->toplevel;

	return &entry_cache[h & (PFG_CACHE_SIZE - 1)];
}


/*
 * entry_size
 *		Bytes of one hash entry: the fixed part and the inline text.
 */
static Size
entry_size(void)
{
	return MAXALIGN(PFG_ENTRY_FIXED_SIZE + pfg_query_text_length);
}

static Size
stats_memsize(void)
{
	return add_size(MAXALIGN(sizeof(PfgShared)),
					hash_estimate_size(pfg_max_queries, entry_size()));
}

/*
 * pfg_stats_shmem_request
 *		Ask for the shared memory and the lock the table needs.
 */
void
pfg_stats_shmem_request(void)
{
	RequestAddinShmemSpace(stats_memsize());
	RequestNamedLWLockTranche("perfguard", 1);
}

/*
 * entry_init
 *		Fill in a new entry.  Caller holds the lock exclusively.
 */
static void
entry_init(PfgEntry *entry, uint64 fingerprint, bool own, const char *text,
		   int len, int encoding)
{
	SpinLockInit(&entry->mutex);
	entry->fingerprint = fingerprint;
	entry->own = own;
	memset(&entry->counters, 0, sizeof(PfgCounters));
	memset(&entry->hist, 0, sizeof(PfgHistogram));
	entry->counters.usage = 1.0;
	entry->counters.first_exec = GetCurrentStatementStartTimestamp();
	if (len >= pfg_query_text_length)
		len = pg_encoding_mbcliplen(encoding, text, len,
									pfg_query_text_length - 1);
	memcpy(entry->text, text, len);
	entry->text[len] = '\0';
	entry->text_len = len;
	entry->encoding = encoding;
}

static int
usage_cmp(const void *a, const void *b)
{
	double		ua = (*(PfgEntry *const *) a)->counters.usage;
	double		ub = (*(PfgEntry *const *) b)->counters.usage;

	return (ua < ub) ? -1 : (ua > ub) ? 1 : 0;
}

/*
 * entry_evict
 *		Remove the least-used entries (PFG_EVICT_PERCENT of the table, at
 *		least 10) and decay the usage of the others.  Caller holds the lock
 *		exclusively, so no counter is being updated.
 */
static void
entry_evict(void)
{
	HASH_SEQ_STATUS hs;
	PfgEntry  **entries;
	PfgEntry   *entry;
	long		n = 0;
	long		nvictims;

	entries = palloc(hash_get_num_entries(pfg_hash) * sizeof(PfgEntry *));
	hash_seq_init(&hs, pfg_hash);
	while ((entry = hash_seq_search(&hs)) != NULL)
	{
		entries[n++] = entry;
		entry->counters.usage *= PFG_USAGE_DECAY;
	}
	qsort(entries, n, sizeof(PfgEntry *), usage_cmp);

	nvictims = Max(10, n * PFG_EVICT_PERCENT / 100);
	nvictims = Min(nvictims, n);
	for (long i = 0; i < nvictims; i++)
		hash_search(pfg_hash, &entries[i]->key, HASH_REMOVE, NULL);
	pfree(entries);
	pfg_shared->generation++;

	SpinLockAcquire(&pfg_shared->mutex);
	pfg_shared->evictions += nvictims;
	SpinLockRelease(&pfg_shared->mutex);
}

/*
 * entry_alloc
 *		Find or create the entry for key, evicting if the table is full.
 *		Caller holds the lock exclusively.
 */
static PfgEntry *
entry_alloc(const PfgKey *key, uint64 fingerprint, bool own, const char *text,
			int len, int encoding)
{
	PfgEntry   *entry;
	bool		found;

	while (hash_get_num_entries(pfg_hash) >= pfg_max_queries)
		entry_evict();

	entry = hash_search(pfg_hash, key, HASH_ENTER, &found);
	if (!found)
		entry_init(entry, fingerprint, own, text, len, encoding);
	return entry;
}

/*
 * dump_size_limit
 *		The largest statistics file load_dump reads: see pfg_dump_limit.
 *		A full table writes its header, every entry's fixed part and a text
 *		shorter than perfguard.query_text_length, and the CRC.
 */
static Size
dump_size_limit(void)
{
	uint64		full = sizeof(PfgDumpHeader) + sizeof(pg_crc32c) +
		(uint64) pfg_max_queries * (PFG_ENTRY_FIXED_SIZE + pfg_query_text_length);

	return pfg_dump_limit(full);
}

/*
 * dump_entry_problem
 *		NULL if the n-th saved entry (1-based), whose fixed part is fixed
 *		and whose text is at text, can be loaded; else why not.  Its
 *		lengths and encoding number were checked by the caller.
 */
static const char *
dump_entry_problem(int64 n, const PfgEntry *fixed, const char *text)
{
	if (!pfg_text_valid(text, fixed->text_len, fixed->encoding))
		return psprintf("The text of saved statement %lld is not valid in encoding %s.",
						(long long) n, pg_encoding_to_char(fixed->encoding));
	if (!IS_VALID_TIMESTAMP(fixed->counters.first_exec) ||
		!IS_VALID_TIMESTAMP(fixed->counters.last_exec))
		return psprintf("Saved statement %lld has a time out of range.",
						(long long) n);
	return NULL;
}

/*
 * load_dump
 *		Read the dump file into the (empty) table, then remove the file.
 *		Runs in the postmaster at start-up; never raises an ERROR.  Every
 *		entry is checked before any is taken: its place in the file, its
 *		text (valid in the encoding it was recorded in, so that reading it
 *		later cannot fail) and its times.  One entry that fails makes the
 *		whole file ignored: a file with a valid checksum and a bad entry was
 *		not written by perfguard as it is, so none of it is trusted.
 */
static void
load_dump(void)
{
	char	   *buf;
	PfgDumpHeader hdr;
	Size		pos;
	Size		body_end;
	int64		loaded = 0;
	const char *problem = NULL;

	buf = pfg_dump_read(PFG_DUMP_FILE, "statistics", PFG_DUMP_MAGIC,
						sizeof(PfgDumpHeader), dump_size_limit(),
						"perfguard.max_queries and perfguard.query_text_length",
						&body_end);
	if (buf == NULL)
		return;

	memcpy(&hdr, buf, sizeof(hdr));
	if (hdr.format != PFG_DUMP_FORMAT ||
		hdr.pg_major != PG_VERSION_NUM / 100 ||
		hdr.entry_fixed_size != PFG_ENTRY_FIXED_SIZE ||
		hdr.hist_buckets != PFG_HIST_BUCKETS)
	{
		pfree(buf);
		pfg_dump_reject(PFG_DUMP_FILE, "statistics",
						"The file was written by another version of perfguard or of PostgreSQL.");
		return;
	}

	/* First pass: the entries must fill the body exactly, and be sound. */
	pos = (hdr.nentries >= 0) ? sizeof(PfgDumpHeader) : body_end + 1;
	for (int64 i = 0; i < hdr.nentries; i++)
	{
		PfgEntry	fixed;
		uint8		toplevel;
		uint8		own;

		if (body_end - pos < PFG_ENTRY_FIXED_SIZE)
		{
			pos = body_end + 1;	/* fewer entries than the header says */
			break;
		}
		memcpy(&fixed, buf + pos, PFG_ENTRY_FIXED_SIZE);
		/* the bools as bytes: another value is no bool */
		memcpy(&toplevel, buf + pos + offsetof(PfgEntry, key.toplevel), 1);
		memcpy(&own, buf + pos + offsetof(PfgEntry, own), 1);
		pos += PFG_ENTRY_FIXED_SIZE;
		if (fixed.text_len < 0 || (Size) fixed.text_len > body_end - pos ||
			!PG_VALID_BE_ENCODING(fixed.encoding) || toplevel > 1 || own > 1)
		{
			pos = body_end + 1;
			break;
		}
		problem = dump_entry_problem(i + 1, &fixed, buf + pos);
		if (problem != NULL)
			break;
		pos += fixed.text_len;
	}
	if (problem == NULL && pos != body_end)
		problem = "The file's entries do not match its header.";
	if (problem == NULL && !IS_VALID_TIMESTAMP(hdr.stats_reset))
		problem = "The file's reset time is out of range.";
	if (problem != NULL)
	{
		pfree(buf);
		pfg_dump_reject(PFG_DUMP_FILE, "statistics", problem);
		return;
	}

	/* Second pass: insert, as many as the table holds now. */
	pos = sizeof(PfgDumpHeader);
	for (int64 i = 0; i < hdr.nentries && loaded < pfg_max_queries; i++)
	{
		PfgEntry	fixed;
		PfgEntry   *entry;
		bool		found;

		memcpy(&fixed, buf + pos, PFG_ENTRY_FIXED_SIZE);
		pos += PFG_ENTRY_FIXED_SIZE;
		entry = hash_search(pfg_hash, &fixed.key, HASH_ENTER, &found);
		if (!found)
		{
			entry_init(entry, fixed.fingerprint, fixed.own, buf + pos,
					   fixed.text_len, fixed.encoding);
			entry->counters = fixed.counters;
			entry->hist = fixed.hist;
			loaded++;
		}
		pos += fixed.text_len;
	}
	if (loaded < hdr.nentries)
		ereport(LOG,
				(errmsg("perfguard loaded %lld of %lld saved statements",
						(long long) loaded, (long long) hdr.nentries),
				 errdetail("perfguard.max_queries is smaller than when the statistics were saved.")));

	pfg_shared->evictions = hdr.evictions;
	pfg_shared->stats_reset = hdr.stats_reset;
	pfree(buf);
	unlink(PFG_DUMP_FILE);
}

/*
 * pfg_clean_shutdown
 *		True if pg_control says that the cluster was shut down cleanly: the
 *		shutdown checkpoint has been written.  In PostgreSQL 15 the
 *		postmaster also exits with code 0 after an immediate shutdown, when
 *		backends may have been killed in the middle of an update, so the
 *		exit code alone does not tell.  Never raises an ERROR.
 */
bool
pfg_clean_shutdown(void)
{
	ControlFileData control;
	pg_crc32c	crc;
	int			fd;
	bool		ok;

	fd = open(XLOG_CONTROL_FILE, O_RDONLY | PG_BINARY, 0);
	if (fd < 0)
		return false;
	ok = (read(fd, &control, sizeof(control)) == sizeof(control));
	close(fd);
	if (!ok)
		return false;

	INIT_CRC32C(crc);
	COMP_CRC32C(crc, &control, offsetof(ControlFileData, crc));
	FIN_CRC32C(crc);
	return EQ_CRC32C(crc, control.crc) &&
		(control.state == DB_SHUTDOWNED ||
		 control.state == DB_SHUTDOWNED_IN_RECOVERY);
}

/*
 * write_dump
 *		on_shmem_exit callback of the postmaster (or of a single-user
 *		backend): write the table to the dump file after a clean shutdown.
 *		Failures are logged, never raised.
 */
static void
write_dump(int code, Datum arg)
{
	PfgDumpWriter w;
	PfgDumpHeader hdr;
	HASH_SEQ_STATUS hs;
	PfgEntry   *entry;

	/* Don't save after a crash or an immediate shutdown, nor when asked not to. */
	if (code != 0 || pfg_shared == NULL || !pfg_save || !pfg_clean_shutdown())
		return;

	memset(&hdr, 0, sizeof(hdr));
	hdr.magic = PFG_DUMP_MAGIC;
	hdr.format = PFG_DUMP_FORMAT;
	hdr.pg_major = PG_VERSION_NUM / 100;
	hdr.entry_fixed_size = PFG_ENTRY_FIXED_SIZE;
	hdr.hist_buckets = PFG_HIST_BUCKETS;
	hdr.nentries = hash_get_num_entries(pfg_hash);
	hdr.evictions = pfg_shared->evictions;
	hdr.stats_reset = pfg_shared->stats_reset;

	pfg_dump_begin(&w, PFG_DUMP_FILE);
	pfg_dump_write(&w, &hdr, sizeof(hdr));
	hash_seq_init(&hs, pfg_hash);
	while ((entry = hash_seq_search(&hs)) != NULL)
	{
		pfg_dump_write(&w, entry, PFG_ENTRY_FIXED_SIZE);
		pfg_dump_write(&w, entry->text, entry->text_len);
	}
	pfg_dump_finish(&w);
}

/*
 * pfg_stats_shmem_startup
 *		Create or attach to the shared state; in the postmaster, also load
 *		the dump file and arrange for it to be written at shutdown.
 */
void
pfg_stats_shmem_startup(void)
{
	bool		found;
	HASHCTL		info;

	pfg_shared = NULL;
	pfg_hash = NULL;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);

	pfg_shared = ShmemInitStruct("perfguard", sizeof(PfgShared), &found);
	if (!found)
	{
		pfg_shared->lock = &(GetNamedLWLockTranche("perfguard"))->lock;
		SpinLockInit(&pfg_shared->mutex);
		pfg_shared->evictions = 0;
		pfg_shared->generation = 1;
		pfg_shared->stats_reset = GetCurrentTimestamp();
		pg_atomic_init_u64(&pfg_shared->budget_generation, 0);
		pg_atomic_init_u64(&pfg_shared->nplus1_uncounted, 0);
	}

	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(PfgKey);
	info.entrysize = entry_size();
	pfg_hash = ShmemInitHash("perfguard statistics",
							 pfg_max_queries, pfg_max_queries,
							 &info, HASH_ELEM | HASH_BLOBS);

	LWLockRelease(AddinShmemInitLock);

	if (!IsUnderPostmaster)
		on_shmem_exit(write_dump, (Datum) 0);

	/* Only the first process to get here (the postmaster) loads the file. */
	if (found)
		return;
	if (pfg_save)
		load_dump();
	else
		unlink(PFG_DUMP_FILE);
}

/*
 * pfg_check_loaded
 *		Raise an ERROR unless the shared state exists, that is, unless
 *		perfguard was loaded through shared_preload_libraries.
 */
void
pfg_check_loaded(void)
{
	if (pfg_shared == NULL || pfg_hash == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("perfguard must be loaded via shared_preload_libraries"),
				 errhint("Add perfguard to shared_preload_libraries in postgresql.conf and restart the server.")));
}

/*
 * pfg_stats_store
 *		Account one finished execution; return its fingerprint, and in *own
 *		(when not NULL) whether it is perfguard's own work.
 *		query[query_location ..] is the statement's source text, used only
 *		when the statement is new to the table (its normalized text, and
 *		the fingerprint of a utility command).  This is the hot path: one
 *		shared-lock lookup and one short spinlock section for a known
 *		statement.
 */
uint64
pfg_stats_store(const char *query, int query_location, int query_len,
				uint64 queryid, bool utility, bool toplevel, double total_ms,
				uint64 rows, const PfgBlocks *blocks, const PfgFound *found,
				bool *own)
{
	PfgKey		key;
	PfgEntry   *entry;
	PfgCacheSlot *slot;
	PfgCounters *c;
	char	   *norm = NULL;
	int			norm_len = 0;
	int			bucket = pfg_hist_bucket(total_ms);
	uint64		fingerprint;
	bool		is_own;

	memset(&key, 0, sizeof(key));
	key.userid = GetUserId();
	key.dbid = MyDatabaseId;
	key.queryid = queryid;
	key.toplevel = toplevel;

	LWLockAcquire(pfg_shared->lock, LW_SHARED);
	slot = cache_slot(&key);
	if (slot->entry != NULL && slot->generation == pfg_shared->generation &&
		memcmp(&slot->key, &key, sizeof(PfgKey)) == 0)
		entry = slot->entry;
	else
	{
		entry = hash_search(pfg_hash, &key, HASH_FIND, NULL);
		if (entry == NULL)
		{
			/* Fingerprint and normalize without holding the lock. */
			LWLockRelease(pfg_shared->lock);
			fingerprint = pfg_identify(queryid, utility, query, query_location,
									   query_len, &norm, &norm_len, &is_own);

			LWLockAcquire(pfg_shared->lock, LW_EXCLUSIVE);
			entry = entry_alloc(&key, fingerprint, is_own, norm, norm_len,
								GetDatabaseEncoding());
		}
		/*
		 * The key too, even when the pointer is the one the slot had: a
		 * removed entry's memory is reused for another key.
		 */
		slot->key = key;
		slot->entry = entry;
		slot->generation = pfg_shared->generation;
	}

	SpinLockAcquire(&entry->mutex);
	c = &entry->counters;
	c->calls++;
	c->total_time += total_ms;
	if (c->calls == 1)
	{
		c->min_time = total_ms;
		c->max_time = total_ms;
		c->mean_time = total_ms;
	}
	else
	{
		/* Welford's method, as in pg_stat_statements */
		double		old_mean = c->mean_time;

		c->mean_time += (total_ms - old_mean) / c->calls;
		c->sum_var_time += (total_ms - old_mean) * (total_ms - c->mean_time);
		if (total_ms < c->min_time)
			c->min_time = total_ms;
		if (total_ms > c->max_time)
			c->max_time = total_ms;
	}
	c->rows += rows;
	if ((int64) rows > c->max_rows)
		c->max_rows = (int64) rows;
	if (blocks->shared_hit + blocks->shared_read > c->max_blocks)
		c->max_blocks = blocks->shared_hit + blocks->shared_read;
	c->shared_blks_hit += blocks->shared_hit;
	c->shared_blks_read += blocks->shared_read;
	c->shared_blks_dirtied += blocks->shared_dirtied;
	c->shared_blks_written += blocks->shared_written;
	c->local_blks_hit += blocks->local_hit;
	c->local_blks_read += blocks->local_read;
	c->local_blks_dirtied += blocks->local_dirtied;
	c->local_blks_written += blocks->local_written;
	c->temp_blks_read += blocks->temp_read;
	c->temp_blks_written += blocks->temp_written;
	if (found)
	{
		c->slow_calls += found->slow;
		c->plans_captured += found->captured;
		c->seq_scans += found->seq_scan;
		c->n_plus_one += found->n_plus_one;
		c->row_by_row += found->row_by_row;
		if (found->xact_calls == 1)
			c->xacts++;
		if (found->xact_calls > c->max_xact_calls)
			c->max_xact_calls = found->xact_calls;
		if (found->plan_shape != 0)
			c->plan_shape = found->plan_shape;
	}
	c->last_exec = GetCurrentStatementStartTimestamp();
	c->usage += 1.0;
	pfg_hist_add_bucket(&entry->hist, bucket);
	SpinLockRelease(&entry->mutex);

	fingerprint = entry->fingerprint;
	if (own)
		*own = entry->own;
	LWLockRelease(pfg_shared->lock);

	if (norm)
		pfree(norm);
	return fingerprint;
}

/*
 * pfg_fail_kind
 *		Which of the counted kinds a failed execution's SQLSTATE is.
 */
PfgFailKind
pfg_fail_kind(int sqlstate)
{
	switch (sqlstate)
	{
		case ERRCODE_QUERY_CANCELED:
			return PFG_FAIL_CANCELED;
		case ERRCODE_LOCK_NOT_AVAILABLE:
			return PFG_FAIL_LOCK_TIMEOUT;
		case ERRCODE_T_R_DEADLOCK_DETECTED:
			return PFG_FAIL_DEADLOCK;
		case ERRCODE_T_R_SERIALIZATION_FAILURE:
			return PFG_FAIL_SERIALIZATION;
		default:
			return PFG_FAIL_OTHER;
	}
}

/*
 * pfg_fail_kind_key
 *		The key of a kind in failed_by_sqlstate.
 */
const char *
pfg_fail_kind_key(PfgFailKind kind)
{
	static const char *const keys[PFG_FAIL_KINDS] = {
		"57014", "55P03", "40P01", "40001", "other"
	};

	return keys[kind];
}

/*
 * pfg_failed_by_jsonb
 *		failed_by_sqlstate: the failed executions per kind, as a jsonb
 *		object with every key, in the current memory context.
 */
Datum
pfg_failed_by_jsonb(const int64 *failed_by)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int k = 0; k < PFG_FAIL_KINDS; k++)
		appendStringInfo(&buf, "%s\"%s\": " INT64_FORMAT, k > 0 ? ", " : "",
						 pfg_fail_kind_key((PfgFailKind) k), failed_by[k]);
	appendStringInfoChar(&buf, '}');
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));
}

/*
 * pfg_hist_bounds
 *		What the histogram of an entry holds lies in [lo, hi]: its completed
 *		executions and its cancelled ones.  The percentiles are kept inside.
 */
void
pfg_hist_bounds(const PfgCounters *c, double *lo, double *hi)
{
	bool		cancels = c->failed_by[PFG_FAIL_CANCELED] > 0;

	if (c->calls > 0 && cancels)
	{
		*lo = Min(c->min_time, c->cancel_min_time);
		*hi = Max(c->max_time, c->cancel_max_time);
	}
	else if (cancels)
	{
		*lo = c->cancel_min_time;
		*hi = c->cancel_max_time;
	}
	else
	{
		*lo = c->min_time;
		*hi = c->max_time;
	}
}

/*
 * pfg_stats_store_failed
 *		Account one execution that ended in an ERROR; return its
 *		fingerprint (0: not accounted), and in *own whether it is
 *		perfguard's own work.  query (query_len bytes, the statement's
 *		source text, possibly clipped) is used only when the statement is
 *		new to the table; without it (query_len 0), a statement new to the
 *		table is not accounted.
 *		Called at the start of a later statement (hooks.c), never while an
 *		error is being handled: it may allocate and take locks.
 *		A cancelled execution (57014) also enters the latency histogram,
 *		with the time it had run: a lower bound of its latency.
 */
uint64
pfg_stats_store_failed(const PfgFailure *f, const char *query, int query_len,
					   bool *own)
{
	PfgKey		key;
	PfgEntry   *entry;
	PfgCounters *c;
	char	   *norm = NULL;
	int			norm_len = 0;
	PfgFailKind kind = pfg_fail_kind(f->sqlstate);
	uint64		fingerprint;
	bool		is_own;

	memset(&key, 0, sizeof(key));
	key.userid = f->userid;
	key.dbid = MyDatabaseId;
	key.queryid = f->queryid;
	key.toplevel = f->toplevel;

	LWLockAcquire(pfg_shared->lock, LW_SHARED);
	entry = hash_search(pfg_hash, &key, HASH_FIND, NULL);
	if (entry == NULL && query_len == 0)
	{
		/* no text to show for it: counted only in an existing entry */
		LWLockRelease(pfg_shared->lock);
		return 0;
	}
	if (entry == NULL)
	{
		LWLockRelease(pfg_shared->lock);
		fingerprint = pfg_identify(f->queryid, false, query, 0, query_len,
								   &norm, &norm_len, &is_own);
		LWLockAcquire(pfg_shared->lock, LW_EXCLUSIVE);
		entry = entry_alloc(&key, fingerprint, is_own, norm, norm_len,
							GetDatabaseEncoding());
	}

	SpinLockAcquire(&entry->mutex);
	c = &entry->counters;
	if (kind == PFG_FAIL_CANCELED)
	{
		if (c->failed_by[PFG_FAIL_CANCELED] == 0 ||
			f->elapsed_ms < c->cancel_min_time)
			c->cancel_min_time = f->elapsed_ms;
		if (c->failed_by[PFG_FAIL_CANCELED] == 0 ||
			f->elapsed_ms > c->cancel_max_time)
			c->cancel_max_time = f->elapsed_ms;
		pfg_hist_add_bucket(&entry->hist, pfg_hist_bucket(f->elapsed_ms));
	}
	if (c->failed_calls == 0 || f->elapsed_ms > c->failed_max_time)
		c->failed_max_time = f->elapsed_ms;
	c->failed_calls++;
	c->failed_time += f->elapsed_ms;
	c->failed_by[kind]++;
	c->last_exec = GetCurrentStatementStartTimestamp();
	c->usage += 1.0;
	SpinLockRelease(&entry->mutex);

	fingerprint = entry->fingerprint;
	if (own)
		*own = entry->own;
	LWLockRelease(pfg_shared->lock);

	if (norm)
		pfree(norm);
	return fingerprint;
}

/*
 * pfg_stats_reset
 *		Remove every entry (all) or the entries of one fingerprint.
 *		Returns how many were removed.
 */
int64
pfg_stats_reset(bool all, uint64 fingerprint)
{
	HASH_SEQ_STATUS hs;
	PfgEntry   *entry;
	int64		removed = 0;

	LWLockAcquire(pfg_shared->lock, LW_EXCLUSIVE);
	hash_seq_init(&hs, pfg_hash);
	while ((entry = hash_seq_search(&hs)) != NULL)
	{
		if (all || entry->fingerprint == fingerprint)
		{
			hash_search(pfg_hash, &entry->key, HASH_REMOVE, NULL);
			removed++;
		}
	}
	if (removed > 0)
		pfg_shared->generation++;
	if (all)
	{
		SpinLockAcquire(&pfg_shared->mutex);
		pfg_shared->evictions = 0;
		pfg_shared->stats_reset = GetCurrentTimestamp();
		SpinLockRelease(&pfg_shared->mutex);
	}
	LWLockRelease(pfg_shared->lock);
	return removed;
}

/*
 * pfg_stats_count
 *		Number of entries in the table.
 */
int64
pfg_stats_count(void)
{
	int64		n;

	LWLockAcquire(pfg_shared->lock, LW_SHARED);
	n = hash_get_num_entries(pfg_hash);
	LWLockRelease(pfg_shared->lock);
	return n;
}

/*
 * pfg_stats_text
 *		The normalized text (palloc'd, in the server encoding) and the
 *		fingerprint of one entry, or NULL if it is not in the table.
 */
char *
pfg_stats_text(Oid userid, Oid dbid, uint64 queryid, bool toplevel,
			   uint64 *fingerprint)
{
	PfgKey		key;
	PfgEntry   *entry;
	char	   *buf = palloc(pfg_query_text_length + 1);
	int			encoding = 0;
	bool		found = false;

	memset(&key, 0, sizeof(key));
	key.userid = userid;
	key.dbid = dbid;
	key.queryid = queryid;
	key.toplevel = toplevel;

	LWLockAcquire(pfg_shared->lock, LW_SHARED);
	entry = hash_search(pfg_hash, &key, HASH_FIND, NULL);
	if (entry)
	{
		memcpy(buf, entry->text, entry->text_len + 1);
		encoding = entry->encoding;
		*fingerprint = entry->fingerprint;
		found = true;
	}
	LWLockRelease(pfg_shared->lock);

	if (!found)
	{
		pfree(buf);
		return NULL;
	}
	/* never an ERROR for the text's bytes: this runs at a statement's end */
	return pfg_text_to_server(buf, strlen(buf), encoding, false);
}

/*
 * pfg_stats_hash
 *		The table itself, for the SQL functions, which walk it holding
 *		pfg_shared->lock shared.
 */
HTAB *
pfg_stats_hash(void)
{
	return pfg_hash;
}
