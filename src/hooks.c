/*-------------------------------------------------------------------------
 * hooks.c
 *	  Executor and utility hooks: measure each statement, track nesting,
 *	  and hand the finished execution to the statistics table.
 *
 * Each hook calls the one installed before it (or the standard function),
 * so perfguard runs alongside pg_stat_statements, auto_explain and others.
 *
 * nesting_level counts the executor and utility calls under way in this
 * backend; it is 0 for a statement sent by the client.  Every increment is
 * undone in PG_FINALLY, so an ERROR thrown at any depth leaves it right.
 *
 * Per-query allocations (the Instrumentation) live in the query's
 * es_query_cxt and go away with it.
 *
 * IDENTIFICATION	  src/hooks.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "executor/executor.h"
#include "executor/instrument.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"

#include "guc.h"
#include "perfguard.h"
#include "stats.h"

static int	nesting_level = 0;

static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorRun_hook_type prev_ExecutorRun = NULL;
static ExecutorFinish_hook_type prev_ExecutorFinish = NULL;
static ExecutorEnd_hook_type prev_ExecutorEnd = NULL;
static ProcessUtility_hook_type prev_ProcessUtility = NULL;

/*
 * Is a statement at this nesting level tracked?  Parallel workers report
 * nothing: their leader accounts for the whole statement.
 */
#define pfg_enabled(level) \
	((pfg_track == PFG_TRACK_ALL || \
	  (pfg_track == PFG_TRACK_TOP && (level) == 0)) && \
	 !IsParallelWorker())

/*
 * pfg_ExecutorStart
 *		Ask the executor to time the whole query and count its buffers.
 *		INSTRUMENT_ALL, because another module that finds totaltime set
 *		(pg_stat_statements) reads its WAL counters from it too.
 */
static void
pfg_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);

	/* EXPLAIN without ANALYZE starts and ends the executor but runs nothing */
	if (pfg_enabled(nesting_level) &&
		queryDesc->plannedstmt->queryId != UINT64CONST(0) &&
		queryDesc->totaltime == NULL &&
		(eflags & EXEC_FLAG_EXPLAIN_ONLY) == 0)
	{
		MemoryContext oldcxt;

		oldcxt = MemoryContextSwitchTo(queryDesc->estate->es_query_cxt);
		queryDesc->totaltime = InstrAlloc(1, INSTRUMENT_ALL, false);
		MemoryContextSwitchTo(oldcxt);
	}
}

static void
pfg_ExecutorRun(QueryDesc *queryDesc, ScanDirection direction, uint64 count,
				bool execute_once)
{
	nesting_level++;
	PG_TRY();
	{
		if (prev_ExecutorRun)
			prev_ExecutorRun(queryDesc, direction, count, execute_once);
		else
			standard_ExecutorRun(queryDesc, direction, count, execute_once);
	}
	PG_FINALLY();
	{
		nesting_level--;
	}
	PG_END_TRY();
}

static void
pfg_ExecutorFinish(QueryDesc *queryDesc)
{
	nesting_level++;
	PG_TRY();
	{
		if (prev_ExecutorFinish)
			prev_ExecutorFinish(queryDesc);
		else
			standard_ExecutorFinish(queryDesc);
	}
	PG_FINALLY();
	{
		nesting_level--;
	}
	PG_END_TRY();
}

/*
 * pfg_ExecutorEnd
 *		Account the finished execution, then let the executor clean up.
 */
static void
pfg_ExecutorEnd(QueryDesc *queryDesc)
{
	uint64		queryid = queryDesc->plannedstmt->queryId;

	if (queryid != UINT64CONST(0) && queryDesc->totaltime &&
		pfg_enabled(nesting_level) &&
		(queryDesc->estate->es_top_eflags & EXEC_FLAG_EXPLAIN_ONLY) == 0)
	{
		/* Make sure the totals are final (as pg_stat_statements does). */
		InstrEndLoop(queryDesc->totaltime);

		pfg_stats_store(queryDesc->sourceText,
						queryDesc->plannedstmt->stmt_location,
						queryDesc->plannedstmt->stmt_len,
						queryid,
						nesting_level == 0,
						queryDesc->totaltime->total * 1000.0,
						queryDesc->estate->es_processed,
						&queryDesc->totaltime->bufusage);
	}

	if (prev_ExecutorEnd)
		prev_ExecutorEnd(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);
}

/*
 * pfg_ProcessUtility
 *		Make statements run by a utility command (DO, CALL, CREATE TABLE AS,
 *		EXPLAIN ANALYZE, COPY (query), ...) count as nested, and time the
 *		utility command itself when perfguard.track_utility is on.
 *
 *		EXECUTE, PREPARE and DEALLOCATE are passed through untouched: the
 *		statement EXECUTE runs is the one the client asked for, and is
 *		tracked at top level by the executor hooks.
 */
static void
pfg_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
				   bool readOnlyTree, ProcessUtilityContext context,
				   ParamListInfo params, QueryEnvironment *queryEnv,
				   DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;
	/* pstmt may not survive the command: keep what we need of it */
	uint64		queryid = pstmt->queryId;
	int			location = pstmt->stmt_location;
	int			len = pstmt->stmt_len;
	bool		timed;
	instr_time	start;
	instr_time	duration;
	BufferUsage bufusage_start;
	BufferUsage bufusage;

	if (IsA(parsetree, ExecuteStmt) || IsA(parsetree, PrepareStmt) ||
		IsA(parsetree, DeallocateStmt))
	{
		if (prev_ProcessUtility)
			prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
									params, queryEnv, dest, qc);
		return;
	}

	timed = pfg_track_utility && pfg_enabled(nesting_level) &&
		queryid != UINT64CONST(0);
	if (timed)
	{
		bufusage_start = pgBufferUsage;
		INSTR_TIME_SET_CURRENT(start);
	}

	nesting_level++;
	PG_TRY();
	{
		if (prev_ProcessUtility)
			prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
									params, queryEnv, dest, qc);
	}
	PG_FINALLY();
	{
		nesting_level--;
	}
	PG_END_TRY();

	if (timed)
	{
		uint64		rows = 0;

		INSTR_TIME_SET_CURRENT(duration);
		INSTR_TIME_SUBTRACT(duration, start);
		memset(&bufusage, 0, sizeof(bufusage));
		BufferUsageAccumDiff(&bufusage, &pgBufferUsage, &bufusage_start);
		if (qc && (qc->commandTag == CMDTAG_COPY ||
				   qc->commandTag == CMDTAG_FETCH ||
				   qc->commandTag == CMDTAG_SELECT ||
				   qc->commandTag == CMDTAG_REFRESH_MATERIALIZED_VIEW))
			rows = qc->nprocessed;

		pfg_stats_store(queryString, location, len, queryid,
						nesting_level == 0,
						INSTR_TIME_GET_MILLISEC(duration), rows, &bufusage);
	}
}

/*
 * pfg_hooks_init
 *		Install the hooks, keeping the previous ones to chain to.
 */
void
pfg_hooks_init(void)
{
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = pfg_ExecutorStart;
	prev_ExecutorRun = ExecutorRun_hook;
	ExecutorRun_hook = pfg_ExecutorRun;
	prev_ExecutorFinish = ExecutorFinish_hook;
	ExecutorFinish_hook = pfg_ExecutorFinish;
	prev_ExecutorEnd = ExecutorEnd_hook;
	ExecutorEnd_hook = pfg_ExecutorEnd;
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = pfg_ProcessUtility;
}
