/*-------------------------------------------------------------------------
 * stats.h
 *	  perfguard's shared statistics table.
 *
 * IDENTIFICATION	  src/stats.h
 *-------------------------------------------------------------------------
 */
#ifndef PFG_STATS_H
#define PFG_STATS_H

#include "port/atomics.h"
#include "storage/lwlock.h"
#include "storage/spin.h"
#include "utils/timestamp.h"

#include "histogram.h"

/* The hash key: the same as pg_stat_statements', so rows join with it. */
typedef struct PfgKey
{
	Oid			userid;
	Oid			dbid;
	uint64		queryid;
	bool		toplevel;
} PfgKey;

/* The buffer counters perfguard keeps of one execution. */
typedef struct PfgBlocks
{
	int64		shared_hit;
	int64		shared_read;
	int64		shared_dirtied;
	int64		shared_written;
	int64		local_hit;
	int64		local_read;
	int64		local_dirtied;
	int64		local_written;
	int64		temp_read;
	int64		temp_written;
} PfgBlocks;

/* What the detectors found in one execution. */
typedef struct PfgFound
{
	bool		slow;			/* ran at least capture_min_duration */
	bool		captured;		/* its plan was captured */
	bool		seq_scan;		/* it had a flagged sequential scan */
	bool		n_plus_one;		/* it completed an N+1 pattern */
	bool		row_by_row;		/* it completed row-by-row writing */
	int64		xact_calls;		/* its executions in this transaction so
								 * far, this one included; 0: unknown */
	uint64		plan_shape;		/* its plan's shape; 0: unknown */
} PfgFound;

/*
 * The SQLSTATEs a failed execution is counted under; the numbers index
 * PfgCounters.failed_by and are stored in the dump file.
 */
typedef enum PfgFailKind
{
	PFG_FAIL_CANCELED = 0,		/* 57014: statement_timeout, cancel request */
	PFG_FAIL_LOCK_TIMEOUT,		/* 55P03: lock_timeout, NOWAIT */
	PFG_FAIL_DEADLOCK,			/* 40P01 */
	PFG_FAIL_SERIALIZATION,		/* 40001 */
	PFG_FAIL_OTHER				/* any other */
} PfgFailKind;

#define PFG_FAIL_KINDS	5

/* One failed execution, as the executor hooks hand it over. */
typedef struct PfgFailure
{
	Oid			userid;
	uint64		queryid;
	bool		toplevel;
	int			sqlstate;		/* as MAKE_SQLSTATE packs it */
	double		elapsed_ms;		/* from its start to the ERROR */
} PfgFailure;

/* Counters of one entry; read and written only under the entry's mutex. */
typedef struct PfgCounters
{
	int64		calls;
	double		total_time;		/* ms */
	double		min_time;
	double		max_time;
	double		mean_time;
	double		sum_var_time;	/* sum of squared deviations (Welford) */
	int64		rows;
	int64		shared_blks_hit;
	int64		shared_blks_read;
	int64		shared_blks_dirtied;
	int64		shared_blks_written;
	int64		local_blks_hit;
	int64		local_blks_read;
	int64		local_blks_dirtied;
	int64		local_blks_written;
	int64		temp_blks_read;
	int64		temp_blks_written;
	int64		slow_calls;		/* executions over capture_min_duration */
	int64		plans_captured; /* slow_plan events recorded */
	int64		seq_scans;		/* executions with a flagged seq scan */
	int64		n_plus_one;		/* N+1 patterns it completed */
	int64		row_by_row;		/* row-by-row patterns it completed */
	int64		max_rows;		/* most rows of one execution */
	int64		max_blocks;		/* most shared blocks (hit + read) of one */
	int64		xacts;			/* transactions it ran in */
	int64		max_xact_calls; /* most executions in one transaction */
	uint64		plan_shape;		/* the last plan shape seen; 0: none */
	TimestampTz first_exec;
	TimestampTz last_exec;
	double		usage;			/* for eviction: calls, decayed */
	/* executions that ended in an ERROR (not counted in calls above) */
	int64		failed_calls;
	double		failed_time;	/* ms, their total elapsed time */
	double		failed_max_time;	/* ms, the longest of them */
	double		cancel_min_time;	/* ms, shortest and longest cancelled */
	double		cancel_max_time;	/* (57014) one, which the histogram holds */
	int64		failed_by[PFG_FAIL_KINDS];	/* per PfgFailKind */
} PfgCounters;

/*
 * One tracked statement.  The normalized text is kept inline, truncated to
 * perfguard.query_text_length bytes, so an entry's size is fixed at startup.
 */
typedef struct PfgEntry
{
	PfgKey		key;			/* hash key; must be first */
	slock_t		mutex;			/* protects counters and hist */
	uint64		fingerprint;	/* set at creation, then read-only */
	bool		own;			/* perfguard's own work; likewise */
	PfgCounters counters;
	PfgHistogram hist;
	int32		text_len;		/* set at creation, then read-only */
	int32		encoding;		/* encoding of text */
	char		text[FLEXIBLE_ARRAY_MEMBER];
} PfgEntry;

#define PFG_ENTRY_FIXED_SIZE	offsetof(PfgEntry, text)

/* Global state, in shared memory. */
typedef struct PfgShared
{
	LWLock	   *lock;			/* protects the hash table's membership */
	slock_t		mutex;			/* protects the fields below */
	int64		evictions;		/* entries evicted since the last reset */
	uint64		generation;		/* bumped whenever an entry is removed;
								 * changed only under lock exclusively */
	TimestampTz stats_reset;	/* when all statistics were last reset */
	pg_atomic_uint64 budget_generation; /* bumped when budgets change */
	pg_atomic_uint64 nplus1_uncounted;	/* statements the N+1 detector could
										 * not count (a scope full) */
} PfgShared;

extern PfgShared *pfg_shared;

extern void pfg_stats_shmem_request(void);
extern void pfg_stats_shmem_startup(void);
extern void pfg_check_loaded(void);
extern bool pfg_clean_shutdown(void);

extern uint64 pfg_stats_store(const char *query, int query_location, int query_len,
							  uint64 queryid, bool utility, bool toplevel,
							  double total_ms, uint64 rows,
							  const PfgBlocks *blocks, const PfgFound *found,
							  bool *own);
extern uint64 pfg_stats_store_failed(const PfgFailure *f, const char *query,
									 int query_len, bool *own);
extern PfgFailKind pfg_fail_kind(int sqlstate);
extern Datum pfg_failed_by_jsonb(const int64 *failed_by);
extern void pfg_hist_bounds(const PfgCounters *c, double *lo, double *hi);
extern const char *pfg_fail_kind_key(PfgFailKind kind);
extern int64 pfg_stats_reset(bool all, uint64 fingerprint);
extern int64 pfg_stats_count(void);
extern char *pfg_stats_text(Oid userid, Oid dbid, uint64 queryid,
							bool toplevel, uint64 *fingerprint);

/* For the SQL functions: walk the table under the shared lock. */
extern struct HTAB *pfg_stats_hash(void);

#endif							/* PFG_STATS_H */
