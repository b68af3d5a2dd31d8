/*-------------------------------------------------------------------------
 * api.c
 *	  SQL-callable functions: the statistics view, reset, fingerprint and
 *	  info.
 *
 * Visibility rule: a statement's text is shown to the user who ran it, to
 * superusers and to members of pg_read_all_stats; anyone else sees the
 * numbers with the text replaced by "<insufficient privilege>", as in
 * pg_stat_statements.  What can hold constant values (plans, filters) is
 * shown to the statement's user, superusers and the roles granted EXECUTE
 * on perfguard.read_constants() (pfg_may_read_constants).  The functions
 * check this themselves (they run as SECURITY INVOKER).
 *
 * Every function that reads shared memory first checks that perfguard was
 * preloaded, so that using it without shared_preload_libraries fails with
 * a clear ERROR; perfguard.fingerprint() needs no shared memory.
 *
 * IDENTIFICATION	  src/api.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/syscache.h"

#include "compat.h"
#include "dumpfile.h"
#include "events.h"
#include "identity.h"
#include "guc.h"
#include "perfguard.h"
#include "stats.h"

#define PFG_STATS_COLS	41		/* 1.1; 1.0 declared the first 38 */
#define PFG_STATS_COLS_1_0	38
#define PFG_STATS_QUERY_COL 5	/* the query column, 0-based */
#define PFG_INFO_COLS	10		/* 1.1; 1.0 declared the first 9 */
#define PFG_INFO_COLS_1_0	9

/* The columns of perfguard.stats_internal(), as the C code builds them. */
static const Oid stats_types[PFG_STATS_COLS] = {
	OIDOID, OIDOID, BOOLOID, INT8OID, INT8OID,	/* userid .. fingerprint */
	TEXTOID,					/* query */
	INT8OID,					/* calls */
	FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID,	/* total .. stddev */
	FLOAT8OID, FLOAT8OID, FLOAT8OID,	/* p50, p95, p99 */
	INT8OID,					/* rows */
	INT8OID, INT8OID, INT8OID, INT8OID, /* shared_blks_* */
	INT8OID, INT8OID, INT8OID, INT8OID, /* local_blks_* */
	INT8OID, INT8OID,			/* temp_blks_* */
	INT8OID, INT8OID, INT8OID, INT8OID, INT8OID,	/* slow_calls .. row_by_row_dml */
	INT8OID, INT8OID, INT8OID, INT8OID, /* max_rows .. max_calls_per_xact */
	INT8OID,					/* plan_shape */
	TIMESTAMPTZOID, TIMESTAMPTZOID,	/* first_exec_at, last_exec_at */
	INT8OID, FLOAT8OID, JSONBOID	/* failed_calls .. failed_by_sqlstate */
};

/* The columns of perfguard.info(). */
static const Oid info_types[PFG_INFO_COLS] = {
	TEXTOID,					/* version */
	INT4OID,					/* max_queries */
	INT8OID,					/* statements */
	INT8OID,					/* evictions */
	TIMESTAMPTZOID,				/* stats_reset */
	INT4OID,					/* query_text_length */
	INT8OID,					/* events */
	INT8OID,					/* events_dropped */
	INT8OID,					/* events_memory */
	INT8OID						/* nplus1_uncounted */
};

/*
 * A row of perfguard.stats whose text must be converted to be shown: it is
 * built under the table's lock but for its text, a copy of which is
 * converted after the lock is released (converting looks the conversion
 * up in the catalogs, which is not done while an LWLock is held).
 */
typedef struct PfgStatsRow
{
	Datum		values[PFG_STATS_COLS];
	bool		nulls[PFG_STATS_COLS];
	char	   *text;			/* as kept, NUL-terminated */
	int			text_len;
	int			encoding;
} PfgStatsRow;

PG_FUNCTION_INFO_V1(perfguard_stats);
PG_FUNCTION_INFO_V1(perfguard_stats_1_1);
PG_FUNCTION_INFO_V1(perfguard_reset);
PG_FUNCTION_INFO_V1(perfguard_fingerprint);
PG_FUNCTION_INFO_V1(perfguard_info);
PG_FUNCTION_INFO_V1(perfguard_info_1_1);

/*
 * perfguard_stats
 *		One row per tracked statement.  showtext = false leaves the query
 *		column NULL, which saves the text conversion.  A text that is not
 *		valid in this database's encoding is shown with its bad bytes
 *		escaped (pfg_text_to_server), so that no entry can fail the view.
 *		Rows are put into the result under the table's shared lock, except
 *		those whose text was recorded in a database of another encoding:
 *		they are kept aside and finished after the lock is released.
 */
static Datum
stats_rows(FunctionCallInfo fcinfo, int ncols)
{
	bool		showtext = PG_GETARG_BOOL(0);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			userid = GetUserId();
	/* who may read constants may read the texts too */
	bool		read_all = has_privs_of_role(userid, ROLE_PG_READ_ALL_STATS) ||
		pfg_may_read_constants();
	HASH_SEQ_STATUS hs;
	PfgEntry   *entry;
	List	   *to_convert = NIL;
	ListCell   *lc;

	pfg_check_loaded();
	pfg_init_materialized_srf(fcinfo);
	pfg_check_result_type(fcinfo, rsinfo->setDesc, stats_types, ncols);

	LWLockAcquire(pfg_shared->lock, LW_SHARED);
	hash_seq_init(&hs, pfg_stats_hash());
	while ((entry = hash_seq_search(&hs)) != NULL)
	{
		Datum		values[PFG_STATS_COLS];
		bool		nulls[PFG_STATS_COLS];
		bool		convert_later = false;
		PfgCounters c;
		PfgHistogram hist;
		uint64		counts[PFG_HIST_BUCKETS];
		int			i = 0;
		double		stddev;

		SpinLockAcquire(&entry->mutex);
		c = entry->counters;
		memcpy(&hist, &entry->hist, sizeof(PfgHistogram));
		SpinLockRelease(&entry->mutex);

		/*
		 * An entry is created just before its first call is counted; 1.0's
		 * function shows completed calls only, 1.1's failed ones too.
		 */
		if (c.calls == 0 && (ncols == PFG_STATS_COLS_1_0 || c.failed_calls == 0))
			continue;

		memset(nulls, 0, sizeof(nulls));
		values[i++] = ObjectIdGetDatum(entry->key.userid);
		values[i++] = ObjectIdGetDatum(entry->key.dbid);
		values[i++] = BoolGetDatum(entry->key.toplevel);
		values[i++] = Int64GetDatum((int64) entry->key.queryid);
		values[i++] = Int64GetDatum((int64) entry->fingerprint);
		Assert(i == PFG_STATS_QUERY_COL);
		if (!showtext)
			nulls[i++] = true;
		else if (!(read_all || entry->key.userid == userid))
			values[i++] = CStringGetTextDatum("<insufficient privilege>");
		else if (pfg_text_converts(entry->encoding))
		{
			convert_later = true;
			values[i++] = (Datum) 0;
		}
		else
		{
			char	   *text = pfg_text_to_server(entry->text, entry->text_len,
												  entry->encoding, false);

			values[i++] = CStringGetTextDatum(text);
			if (text != entry->text)
				pfree(text);
		}

		values[i++] = Int64GetDatum(c.calls);
		values[i++] = Float8GetDatum(c.total_time);
		if (c.calls > 0)
		{
			values[i++] = Float8GetDatum(c.min_time);
			values[i++] = Float8GetDatum(c.max_time);
			values[i++] = Float8GetDatum(c.mean_time);
		}
		else
		{
			/* only failed executions: no completed one to describe */
			nulls[i++] = true;
			nulls[i++] = true;
			nulls[i++] = true;
		}
		stddev = (c.calls > 1) ? sqrt(c.sum_var_time / c.calls) : 0.0;
		values[i++] = Float8GetDatum(stddev);
		for (int b = 0; b < PFG_HIST_BUCKETS; b++)
			counts[b] = hist.counts[b];
		if (c.calls > 0 || c.failed_by[PFG_FAIL_CANCELED] > 0)
		{
			double		lo;
			double		hi;

			pfg_hist_bounds(&c, &lo, &hi);
			values[i++] = Float8GetDatum(pfg_hist_percentile_within(counts, 0.50, lo, hi));
			values[i++] = Float8GetDatum(pfg_hist_percentile_within(counts, 0.95, lo, hi));
			values[i++] = Float8GetDatum(pfg_hist_percentile_within(counts, 0.99, lo, hi));
		}
		else
		{
			nulls[i++] = true;
			nulls[i++] = true;
			nulls[i++] = true;
		}
		values[i++] = Int64GetDatum(c.rows);
		values[i++] = Int64GetDatum(c.shared_blks_hit);
		values[i++] = Int64GetDatum(c.shared_blks_read);
		values[i++] = Int64GetDatum(c.shared_blks_dirtied);
		values[i++] = Int64GetDatum(c.shared_blks_written);
		values[i++] = Int64GetDatum(c.local_blks_hit);
		values[i++] = Int64GetDatum(c.local_blks_read);
		values[i++] = Int64GetDatum(c.local_blks_dirtied);
		values[i++] = Int64GetDatum(c.local_blks_written);
		values[i++] = Int64GetDatum(c.temp_blks_read);
		values[i++] = Int64GetDatum(c.temp_blks_written);
		values[i++] = Int64GetDatum(c.slow_calls);
		values[i++] = Int64GetDatum(c.plans_captured);
		values[i++] = Int64GetDatum(c.seq_scans);
		values[i++] = Int64GetDatum(c.n_plus_one);
		values[i++] = Int64GetDatum(c.row_by_row);
		values[i++] = Int64GetDatum(c.max_rows);
		values[i++] = Int64GetDatum(c.max_blocks);
		values[i++] = Int64GetDatum(c.xacts);
		values[i++] = Int64GetDatum(c.max_xact_calls);
		if (c.plan_shape != 0)
			values[i++] = Int64GetDatum((int64) c.plan_shape);
		else
			nulls[i++] = true;
		values[i++] = TimestampTzGetDatum(c.first_exec);
		values[i++] = TimestampTzGetDatum(c.last_exec);
		if (ncols > PFG_STATS_COLS_1_0)
		{
			values[i++] = Int64GetDatum(c.failed_calls);
			values[i++] = Float8GetDatum(c.failed_time);
			values[i++] = pfg_failed_by_jsonb(c.failed_by);
		}
		Assert(i == ncols);

		if (convert_later)
		{
			PfgStatsRow *row = palloc(sizeof(PfgStatsRow));

			memcpy(row->values, values, sizeof(values));
			memcpy(row->nulls, nulls, sizeof(nulls));
			row->text = palloc(entry->text_len + 1);
			memcpy(row->text, entry->text, entry->text_len);
			row->text[entry->text_len] = '\0';
			row->text_len = entry->text_len;
			row->encoding = entry->encoding;
			to_convert = lappend(to_convert, row);
		}
		else
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	LWLockRelease(pfg_shared->lock);

	foreach(lc, to_convert)
	{
		PfgStatsRow *row = (PfgStatsRow *) lfirst(lc);

		row->values[PFG_STATS_QUERY_COL] =
			CStringGetTextDatum(pfg_text_to_server(row->text, row->text_len,
												   row->encoding, false));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc,
							 row->values, row->nulls);
		pfree(row->text);
	}
	list_free_deep(to_convert);

	return (Datum) 0;
}

/* perfguard.stats_internal() as 1.0 declared it: completed calls only */
Datum
perfguard_stats(PG_FUNCTION_ARGS)
{
	return stats_rows(fcinfo, PFG_STATS_COLS_1_0);
}

/* perfguard.stats_internal() of 1.1: with the failed executions */
Datum
perfguard_stats_1_1(PG_FUNCTION_ARGS)
{
	return stats_rows(fcinfo, PFG_STATS_COLS);
}

/*
 * pfg_may_read_constants
 *		May the current user read what can hold constant values in other
 *		users' statements (plans, filters, parent texts)?  Superusers may,
 *		and roles granted EXECUTE on perfguard.read_constants() -- an
 *		explicit grant of the DBA's, per database.  Never raises an ERROR:
 *		without that function (an older SQL script), nobody else may.
 */
bool
pfg_may_read_constants(void)
{
	Oid			nsp;
	Oid			func;
	oidvector  *noargs;

	if (superuser())
		return true;
	nsp = get_namespace_oid("perfguard", true);
	if (!OidIsValid(nsp))
		return false;
	noargs = buildoidvector(NULL, 0);
	func = GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid,
						   CStringGetDatum("read_constants"),
						   PointerGetDatum(noargs), ObjectIdGetDatum(nsp));
	pfree(noargs);
	return OidIsValid(func) &&
		pfg_proc_aclcheck(func, GetUserId(), ACL_EXECUTE) == ACLCHECK_OK;
}

/*
 * perfguard_reset
 *		Forget every statement, or (with a fingerprint) the statements of
 *		one fingerprint.  Returns how many entries were removed.  EXECUTE is
 *		revoked from PUBLIC in the extension script.
 */
Datum
perfguard_reset(PG_FUNCTION_ARGS)
{
	pfg_check_loaded();
	if (PG_ARGISNULL(0))
		PG_RETURN_INT64(pfg_stats_reset(true, 0));
	PG_RETURN_INT64(pfg_stats_reset(false, (uint64) PG_GETARG_INT64(0)));
}

/*
 * perfguard_fingerprint
 *		The fingerprint of a statement's text, analyzed in the current
 *		database: the value perfguard.stats shows once that statement has
 *		run here.  Needs no shared memory.
 */
Datum
perfguard_fingerprint(PG_FUNCTION_ARGS)
{
	char	   *query = text_to_cstring(PG_GETARG_TEXT_PP(0));

	PG_RETURN_INT64((int64) pfg_fingerprint_sql(query));
}

/*
 * perfguard_info, perfguard_info_1_1
 *		One row about perfguard itself: the 9 columns of the extension's
 *		1.0 definition, or the 10 of 1.1 (as pg_stat_statements keeps one
 *		entry point per version of its row, so that a library newer than
 *		the SQL definitions still works until ALTER EXTENSION UPDATE).
 */
static Datum info_row(FunctionCallInfo fcinfo, int ncols);

Datum
perfguard_info(PG_FUNCTION_ARGS)
{
	return info_row(fcinfo, PFG_INFO_COLS_1_0);
}

Datum
perfguard_info_1_1(PG_FUNCTION_ARGS)
{
	return info_row(fcinfo, PFG_INFO_COLS);
}

static Datum
info_row(FunctionCallInfo fcinfo, int ncols)
{
	TupleDesc	tupdesc;
	Datum		values[PFG_INFO_COLS];
	bool		nulls[PFG_INFO_COLS];
	int64		evictions;
	TimestampTz stats_reset;
	int64		events;
	int64		events_dropped;

	pfg_check_loaded();
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	pfg_check_result_type(fcinfo, tupdesc, info_types, ncols);

	SpinLockAcquire(&pfg_shared->mutex);
	evictions = pfg_shared->evictions;
	stats_reset = pfg_shared->stats_reset;
	SpinLockRelease(&pfg_shared->mutex);

	memset(nulls, 0, sizeof(nulls));
	values[0] = CStringGetTextDatum(PERFGUARD_VERSION);
	values[1] = Int32GetDatum(pfg_max_queries);
	values[2] = Int64GetDatum(pfg_stats_count());
	values[3] = Int64GetDatum(evictions);
	values[4] = TimestampTzGetDatum(stats_reset);
	values[5] = Int32GetDatum(pfg_query_text_length);
	pfg_events_counts(&events, &events_dropped);
	values[6] = Int64GetDatum(events);
	values[7] = Int64GetDatum(events_dropped);
	values[8] = Int64GetDatum((int64) pfg_events_memory * 1024);
	if (ncols > PFG_INFO_COLS_1_0)
		values[9] = Int64GetDatum((int64) pg_atomic_read_u64(&pfg_shared->nplus1_uncounted));

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
