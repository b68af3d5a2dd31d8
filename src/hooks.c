/*-------------------------------------------------------------------------
 * hooks.c
 *	  Executor and utility hooks: measure each statement, track nesting,
 *	  and hand the finished execution to the statistics table.
 *
 * Each hook calls the one installed before it (or the standard function),
 * so perfguard runs alongside pg_stat_statements, auto_explain and others.
 *
 * nesting_level counts the executor and utility calls under way in this
 * backend; it is 0 for a statement sent by the client.  A utility call
 * undoes its increment in PG_FINALLY; an executor call undoes it when it
 * returns, and when an ERROR skips that, the rollback of the
 * subtransaction that catches it (or of the transaction) restores the
 * level it had when that subtransaction started.
 *
 * Measuring: perfguard does not use queryDesc->totaltime (the core's
 * Instrumentation, whose set-up and full buffer/WAL accounting cost more
 * than everything else perfguard does per statement).  Instead, a tracked
 * execution gets a small PfgExec record, from a static pool, holding its
 * accumulated run time and buffer counters; the Run and Finish hooks add
 * to it, ExecutorEnd hands it to the statistics table.  The record is
 * released by a reset callback on the query's es_query_cxt, so it goes
 * away with the query however the query ends, ERROR included.  Other
 * modules' use of totaltime is left alone.
 *
 * Failed executions: while a tracked execution's Run or Finish is under
 * way, its record is on error_context_stack (no PG_TRY, see run_nested).
 * When a message is raised, the callback notes in the record what an
 * ERROR needs: its SQLSTATE, the time so far, the text.  A record released
 * while its Run or Finish is under way was unwound by an ERROR: it is
 * noted as failed, in static memory (exec_release).  The next statement
 * the backend starts accounts the failures (failures_flush).
 *
 * IDENTIFICATION	  src/hooks.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "common/hashfn.h"
#include "common/pg_prng.h"
#include "executor/executor.h"
#include "executor/instrument.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/analyze.h"
#include "storage/ipc.h"
#include "tcop/pquery.h"
#include "tcop/utility.h"
#include "utils/memutils.h"
#include "utils/portal.h"

#include "compat.h"
#include PFG_QUERYJUMBLE_HEADER

#include "budget.h"
#include "capture.h"
#include "events.h"
#include "identity.h"
#include "normalize.h"
#include "guc.h"
#include "nplus1.h"
#include "perfguard.h"
#include "planshape.h"
#include "seqscan.h"
#include "stats.h"

static int	nesting_level = 0;

/*
 * Utility commands under way (CALL, DO, ...).  A transaction can end inside
 * one (COMMIT or ROLLBACK in a procedure): then the nesting level is left as
 * it is; the command's PG_FINALLY puts it back to what it was before it.
 */
static int	utility_depth = 0;

/*
 * While a DECLARE CURSOR runs: its nesting level and the cursor's name, so
 * that ExecutorStart can tell the cursor's own query (which runs as the
 * statement the client declared, one level deeper) from statements that
 * run while it is planned.
 */
static int	declare_level = -1;
static const char *declare_name = NULL;

/*
 * The client's utility command while it runs (DO, CALL, ...), for the N+1
 * reports of the statements it runs; text NULL when there is none.  Set
 * and restored around the command, so it never outlives its text.
 */
typedef struct PfgUtilityTop
{
	uint64		queryid;
	const char *text;
	int			location;
	int			len;
} PfgUtilityTop;

static PfgUtilityTop utility_top = {0, NULL, 0, 0};

/* Where a measured piece of work started: the clock and the counters. */
typedef struct PfgMark
{
	instr_time	start;
	PfgBlocks	blocks;
} PfgMark;

/* One tracked execution, from ExecutorStart until its es_query_cxt goes. */
typedef struct PfgExec
{
	QueryDesc  *queryDesc;		/* NULL while the record is free */
	struct PfgExec *next;		/* active list, most recent first */
	MemoryContextCallback cb;	/* releases the record */
	instr_time	elapsed;		/* Run + Finish time so far */
	PfgBlocks	blocks;			/* Run + Finish buffer counters so far */
	uint64		rows;			/* rows processed by the Run calls so far */
	bool		stats;			/* account it in the statistics table */
	bool		capture;		/* its plan may be captured */
	bool		armed;			/* instrumented because it was armed */
	bool		sampled;		/* capture_sample_rate was applied at start */
	bool		toplevel;		/* sent by the client */
	bool		detected;		/* the detectors ran (a SELECT ran to its end) */
	bool		reported;		/* a running limit was reported at a fetch */
	PfgFound	found;			/* what the detectors found */
	PfgMark		mark;			/* where the Run or Finish under way started;
								 * here, not on the stack, whose use per
								 * nesting level must stay small */
	uint64		queryid;
	bool		running;		/* a Run or Finish is under way */
	ErrorContextCallback errcb; /* on error_context_stack while running */
	/* noted by exec_error_seen at the latest message while running */
	bool		err_seen;
	int			err_sqlstate;
	double		err_ms;
	Oid			err_userid;
	int			err_text_len;
	char	   *err_text;		/* pool records: pfg_query_text_length
								 * bytes of their own; else NULL */
} PfgExec;

/*
 * Executions under way in this backend: one per nesting level, plus open
 * portals.  The pool covers ordinary depths without any allocation; deeper
 * nesting takes records from the query's own memory context.
 */
#define PFG_EXEC_POOL	32
static PfgExec exec_pool[PFG_EXEC_POOL];
static PfgExec *exec_active = NULL;
static char *exec_text = NULL;	/* PFG_EXEC_POOL * pfg_query_text_length */

static void exec_complete(PfgExec *ex);
static void exec_running(PfgExec *ex);
static void exec_error_seen(void *arg);
static void failure_note(const PfgExec *ex);

/*
 * Failed executions waiting to be accounted.  When the memory of an
 * execution unwound by an ERROR goes, exec_release notes the failure here:
 * in static memory, with no lock, no allocation and no message.  The next
 * statement this backend starts accounts them (failures_flush), when
 * taking locks and allocating is safe again.  The text of each (the
 * statement's source, clipped) is kept in failed_text, allocated once at
 * load.  Failures beyond PFG_FAILED_MAX before the next statement (deep
 * nesting, all failing at once) are not counted.
 */
#define PFG_FAILED_MAX	8
#define PFG_FAILED_MESSAGE	256		/* bytes of an error message kept */

typedef struct PfgFailed
{
	PfgFailure	f;
	int			text_len;
	char		message[PFG_FAILED_MESSAGE];	/* "": none */
} PfgFailed;

static PfgFailed failed[PFG_FAILED_MAX];
static int	failed_used = 0;
static bool failed_exit_set = false;	/* failures_at_exit is registered */
static char *failed_text = NULL;	/* PFG_FAILED_MAX * pfg_query_text_length */

/*
 * The latest ERROR reported to the server log (pfg_emit_log), for the
 * events of the executions it fails, which are released after it is
 * reported.  An error caught by an exception block is never reported: the
 * rollback of its subtransaction, which releases what it failed, forgets
 * the reported one first, as does the end of a transaction that commits.
 */
static bool reported_valid = false;
static int	reported_sqlstate = 0;
static char reported_message[PFG_FAILED_MESSAGE];

static void failures_flush(void);
static void failures_at_exit(int code, Datum arg);
static emit_log_hook_type prev_emit_log_hook = NULL;

static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorRun_hook_type prev_ExecutorRun = NULL;
static ExecutorFinish_hook_type prev_ExecutorFinish = NULL;
static ExecutorEnd_hook_type prev_ExecutorEnd = NULL;
static ProcessUtility_hook_type prev_ProcessUtility = NULL;
static post_parse_analyze_hook_type prev_post_parse_analyze = NULL;

/*
 * Is a statement at this nesting level tracked?  Parallel workers report
 * nothing: their leader accounts for the whole statement.
 */
#define pfg_enabled(level) \
	((pfg_track == PFG_TRACK_ALL || \
	  (pfg_track == PFG_TRACK_TOP && (level) == 0)) && \
	 !IsParallelWorker())

/* Copy the counters perfguard keeps out of pgBufferUsage. */
static inline void
blocks_read(PfgBlocks *b)
{
	b->shared_hit = pgBufferUsage.shared_blks_hit;
	b->shared_read = pgBufferUsage.shared_blks_read;
	b->shared_dirtied = pgBufferUsage.shared_blks_dirtied;
	b->shared_written = pgBufferUsage.shared_blks_written;
	b->local_hit = pgBufferUsage.local_blks_hit;
	b->local_read = pgBufferUsage.local_blks_read;
	b->local_dirtied = pgBufferUsage.local_blks_dirtied;
	b->local_written = pgBufferUsage.local_blks_written;
	b->temp_read = pgBufferUsage.temp_blks_read;
	b->temp_written = pgBufferUsage.temp_blks_written;
}

/* acc += pgBufferUsage - start */
static inline void
blocks_accum(PfgBlocks *acc, const PfgBlocks *start)
{
	acc->shared_hit += pgBufferUsage.shared_blks_hit - start->shared_hit;
	acc->shared_read += pgBufferUsage.shared_blks_read - start->shared_read;
	acc->shared_dirtied += pgBufferUsage.shared_blks_dirtied - start->shared_dirtied;
	acc->shared_written += pgBufferUsage.shared_blks_written - start->shared_written;
	acc->local_hit += pgBufferUsage.local_blks_hit - start->local_hit;
	acc->local_read += pgBufferUsage.local_blks_read - start->local_read;
	acc->local_dirtied += pgBufferUsage.local_blks_dirtied - start->local_dirtied;
	acc->local_written += pgBufferUsage.local_blks_written - start->local_written;
	acc->temp_read += pgBufferUsage.temp_blks_read - start->temp_read;
	acc->temp_written += pgBufferUsage.temp_blks_written - start->temp_written;
}


static inline void
mark_start(PfgMark *mark)
{
	blocks_read(&mark->blocks);
	INSTR_TIME_SET_CURRENT(mark->start);
}

/* Add the time and buffer counters since mark to *elapsed and *blocks. */
static inline void
mark_add(const PfgMark *mark, instr_time *elapsed, PfgBlocks *blocks)
{
	instr_time	end;

	INSTR_TIME_SET_CURRENT(end);
	INSTR_TIME_ACCUM_DIFF(*elapsed, end, mark->start);
	blocks_accum(blocks, &mark->blocks);
}

/*
 * exec_release
 *		Reset callback of a tracked query's es_query_cxt: unlink its record
 *		and give it back.  Runs when the query ends normally (in
 *		standard_ExecutorEnd) and when its memory goes at abort.
 */
static void
exec_release(void *arg)
{
	PfgExec    *ex = (PfgExec *) arg;
	PfgExec   **link;

	/* released while its Run or Finish was under way: an ERROR unwound it */
	if (ex->running)
		failure_note(ex);

	for (link = &exec_active; *link != NULL; link = &(*link)->next)
	{
		if (*link == ex)
		{
			*link = ex->next;
			break;
		}
	}
	ex->queryDesc = NULL;
	ex->next = NULL;
}

/*
 * exec_begin
 *		Start tracking an execution: take a record (from the pool, or from
 *		the query's memory when the pool is used up), tie its release to
 *		the query's memory context, and put it first in the active list.
 */
static void
exec_begin(QueryDesc *queryDesc, bool stats, bool capture, bool armed,
		   bool sampled, bool toplevel)
{
	PfgExec    *ex = NULL;

	for (int i = 0; i < PFG_EXEC_POOL; i++)
	{
		if (exec_pool[i].queryDesc == NULL)
		{
			ex = &exec_pool[i];
			ex->err_text = exec_text ?
				exec_text + (Size) i * pfg_query_text_length : NULL;
			break;
		}
	}
	if (ex == NULL)
	{
		ex = MemoryContextAlloc(queryDesc->estate->es_query_cxt, sizeof(PfgExec));
		ex->err_text = NULL;
	}
	ex->queryDesc = queryDesc;
	ex->queryid = queryDesc->plannedstmt->queryId;
	ex->running = false;
	ex->err_seen = false;
	ex->errcb.callback = exec_error_seen;
	ex->errcb.arg = ex;
	INSTR_TIME_SET_ZERO(ex->elapsed);
	memset(&ex->blocks, 0, sizeof(PfgBlocks));
	ex->rows = 0;
	ex->stats = stats;
	ex->capture = capture;
	ex->armed = armed;
	ex->sampled = sampled;
	ex->toplevel = toplevel;
	ex->detected = false;
	ex->reported = false;
	memset(&ex->found, 0, sizeof(PfgFound));
	ex->cb.func = exec_release;
	ex->cb.arg = ex;
	MemoryContextRegisterResetCallback(queryDesc->estate->es_query_cxt, &ex->cb);
	ex->next = exec_active;
	exec_active = ex;
}

/*
 * exec_find
 *		The record of a tracked execution, or NULL.  The list is as long as
 *		the executions under way (usually one), the current one first.
 */
static inline PfgExec *
exec_find(QueryDesc *queryDesc)
{
	for (PfgExec *ex = exec_active; ex != NULL; ex = ex->next)
		if (ex->queryDesc == queryDesc)
			return ex;
	return NULL;
}

/*
 * exec_error_seen
 *		Error context callback of a tracked execution whose Run or Finish
 *		is under way: a message is being raised (it is called for any
 *		message that is reported, and for an ERROR before it unwinds).
 *		Note what a failure needs while everything is still there: the
 *		SQLSTATE (geterrcode(), valid in an error callback), the user, the
 *		time so far, and once, a clipped copy of the text.  Nothing is
 *		allocated or reported, and nothing is added to the message.
 */
static void
exec_error_seen(void *arg)
{
	PfgExec    *ex = (PfgExec *) arg;
	QueryDesc  *queryDesc = ex->queryDesc;
	instr_time	now;

	if (!ex->err_seen)
	{
		ex->err_text_len = 0;
		if (ex->err_text != NULL && queryDesc->sourceText != NULL)
		{
			int			location = queryDesc->plannedstmt->stmt_location;
			int			len = queryDesc->plannedstmt->stmt_len;
			const char *text = CleanQuerytext(queryDesc->sourceText,
											  &location, &len);

			if (len >= pfg_query_text_length)
				len = pg_mbcliplen(text, len, pfg_query_text_length - 1);
			memcpy(ex->err_text, text, len);
			ex->err_text_len = len;
		}
		ex->err_seen = true;
	}
	ex->err_sqlstate = geterrcode();
	ex->err_userid = GetUserId();
	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, ex->mark.start);
	ex->err_ms = INSTR_TIME_GET_MILLISEC(ex->elapsed) +
		INSTR_TIME_GET_MILLISEC(now);
}

/*
 * failure_note
 *		An execution was unwound by an ERROR (exec_release): note it for
 *		failures_flush, with what exec_error_seen took when the error was
 *		raised.  Runs while memory is being freed, often during an abort:
 *		static memory only, no lock, no report.  An execution whose
 *		callback never ran (an ERROR without its record on the context
 *		stack cannot happen) or whose text could not be kept (records past
 *		the pool) is noted without text: it is counted only if its
 *		statement is in the table already.
 */
static void
failure_note(const PfgExec *ex)
{
	PfgFailed  *p;

	if (!ex->stats || ex->detected || !ex->err_seen ||
		failed_used >= PFG_FAILED_MAX || failed_text == NULL)
		return;
	p = &failed[failed_used];
	p->f.userid = ex->err_userid;
	p->f.queryid = ex->queryid;
	p->f.toplevel = ex->toplevel;
	p->f.sqlstate = ex->err_sqlstate;
	p->f.elapsed_ms = ex->err_ms;
	p->text_len = 0;
	if (ex->err_text != NULL)
	{
		memcpy(failed_text + (Size) failed_used * pfg_query_text_length,
			   ex->err_text, ex->err_text_len);
		p->text_len = ex->err_text_len;
	}
	p->message[0] = '\0';
	if (reported_valid && reported_sqlstate == ex->err_sqlstate)
		strlcpy(p->message, reported_message, PFG_FAILED_MESSAGE);
	failed_used++;

	/*
	 * A session that ends after its failure (a client that disconnects
	 * after an ERROR) starts no next statement: account them at its exit.
	 * Registering writes to a static array; not while exiting already.
	 */
	if (!failed_exit_set && !proc_exit_inprogress)
	{
		before_shmem_exit(failures_at_exit, (Datum) 0);
		failed_exit_set = true;
	}
}

/*
 * pfg_emit_log
 *		emit_log_hook: keep the message of an ERROR reported to the server
 *		log, for the failed executions released after it (failure_note).
 *		A copy into static memory, clipped: nothing is allocated here.
 */
static void
pfg_emit_log(ErrorData *edata)
{
	if (edata->elevel == ERROR && edata->message != NULL)
	{
		int			len = strlen(edata->message);

		if (len >= PFG_FAILED_MESSAGE)
			len = pg_mbcliplen(edata->message, len, PFG_FAILED_MESSAGE - 1);
		memcpy(reported_message, edata->message, len);
		reported_message[len] = '\0';
		reported_sqlstate = edata->sqlerrcode;
		reported_valid = true;
	}
	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}

/*
 * failure_event
 *		A failed event for one accounted failure, if the rate limit lets
 *		it through: its SQLSTATE and elapsed time.  The plan is not
 *		captured: the executor's state is gone by now, and taking it while
 *		the error unwinds could raise a second one.
 */
static void
failure_event(const PfgFailure *f, const char *message, uint64 fingerprint)
{
	PfgEventData ev;
	StringInfoData detail;
	StringInfoData constants;
	uint64		fp;
	char	   *query;

	if (pfg_throttle_refused(f->queryid, PFG_EVENT_FAILED) ||
		!pfg_throttle_pass(fingerprint, f->queryid, PFG_EVENT_FAILED))
		return;
	query = pfg_stats_text(f->userid, MyDatabaseId, f->queryid, f->toplevel,
						   &fp);
	if (query == NULL)
		return;					/* removed meanwhile */

	initStringInfo(&detail);
	pfg_json_str(&detail, "sqlstate", unpack_sql_state(f->sqlstate));
	pfg_json_num(&detail, "elapsed_ms", f->elapsed_ms);
	if (pfg_capture_min_duration >= 0 &&
		f->elapsed_ms >= pfg_capture_min_duration)
		pfg_json_str(&detail, "plan", "not captured: the execution failed");
	/* a message can hold constant values: shown like plans */
	initStringInfo(&constants);
	if (message[0] != '\0')
		pfg_json_str(&constants, "message", message);

	memset(&ev, 0, sizeof(ev));
	ev.kind = PFG_EVENT_FAILED;
	ev.userid = f->userid;
	ev.fingerprint = fingerprint;
	ev.queryid = f->queryid;
	ev.toplevel = f->toplevel;
	ev.duration_ms = f->elapsed_ms;
	ev.query = query;
	ev.query_len = strlen(query);
	ev.detail = detail.data;
	ev.detail_len = detail.len;
	ev.detail_constants = constants.data;
	ev.detail_constants_len = constants.len;
	pfg_event_add(&ev);
}

/*
 * failures_flush
 *		Account the failed executions noted since the last statement (see
 *		failure_note): in the statistics table, and as events.  Runs at the
 *		start of a statement, in a memory context of its own.  The list is
 *		emptied first, so that an ERROR here cannot account one twice.
 */
static pg_noinline void
failures_flush(void)
{
	PfgFailed	todo[PFG_FAILED_MAX];
	int			n = failed_used;
	char	   *texts;
	MemoryContext cxt;
	MemoryContext old;

	cxt = AllocSetContextCreate(CurrentMemoryContext, "perfguard failures",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	memcpy(todo, failed, n * sizeof(PfgFailed));
	texts = palloc((Size) n * pfg_query_text_length);
	memcpy(texts, failed_text, (Size) n * pfg_query_text_length);
	failed_used = 0;
	reported_valid = false;

	for (int i = 0; i < n; i++)
	{
		bool		own;
		uint64		fingerprint;

		fingerprint = pfg_stats_store_failed(&todo[i].f,
											 texts + (Size) i * pfg_query_text_length,
											 todo[i].text_len, &own);
		if (fingerprint != 0 && !own)
			failure_event(&todo[i].f, todo[i].message, fingerprint);
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
}

/*
 * failures_at_exit
 *		before_shmem_exit callback: account the failures still waiting when
 *		the session ends normally (it runs before the session's transaction
 *		state is cleaned up, after any abort).  Not after a FATAL error.
 */
static void
failures_at_exit(int code, Datum arg)
{
	if (code == 0 && failed_used > 0 && pfg_shared != NULL)
		failures_flush();
}

/*
 * pfg_top_statement
 *		The text of the client's statement with this queryid that is under
 *		way: an execution still running (its QueryDesc and source text are
 *		alive), or the utility command running.  The pointers are valid
 *		only during the calling hook.  False if there is none.
 */
bool
pfg_top_statement(uint64 queryid, const char **text, int *location, int *len,
				  bool *utility)
{
	for (PfgExec *ex = exec_active; ex != NULL; ex = ex->next)
	{
		QueryDesc  *qd = ex->queryDesc;

		if (ex->toplevel && qd->plannedstmt->queryId == queryid &&
			qd->sourceText != NULL)
		{
			*text = qd->sourceText;
			*location = qd->plannedstmt->stmt_location;
			*len = qd->plannedstmt->stmt_len;
			*utility = false;
			return true;
		}
	}
	if (utility_top.text != NULL && utility_top.queryid == queryid)
	{
		*text = utility_top.text;
		*location = utility_top.location;
		*len = utility_top.len;
		*utility = true;
		return true;
	}
	return false;
}

/*
 * exec_level
 *		The nesting level a starting execution counts at: its own, except
 *		for the query of a cursor being declared, which counts at the level
 *		of its DECLARE (PortalStart makes the cursor's portal active while
 *		the executor starts its query).
 */
static inline int
exec_level(void)
{
	if (declare_level >= 0 && nesting_level == declare_level + 1 &&
		ActivePortal != NULL && declare_name != NULL &&
		strcmp(ActivePortal->name, declare_name) == 0)
		return declare_level;
	return nesting_level;
}

/*
 * pfg_ExecutorStart
 *		Decide whether this execution is tracked, and whether it runs with
 *		per-node instrumentation for a plan capture (every statement in
 *		capture_mode = always; an armed statement in adaptive mode).
 *		EXPLAIN without ANALYZE starts and ends the executor but runs
 *		nothing, so it is not tracked.
 */
static void
pfg_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	uint64		queryid = queryDesc->plannedstmt->queryId;
	int			level = nesting_level;
	bool		stats = false;
	bool		capture = false;
	bool		armed = false;
	bool		sampled = false;

	if (unlikely(failed_used > 0))
		failures_flush();

	if (queryid != UINT64CONST(0) && (eflags & EXEC_FLAG_EXPLAIN_ONLY) == 0 &&
		!IsParallelWorker())
	{
		level = exec_level();
		stats = pfg_enabled(level);
		capture = pfg_capture_min_duration >= 0 &&
			pfg_track != PFG_TRACK_NONE &&
			(level == 0 || pfg_capture_nested);
		if (capture && pfg_capture_analyze)
		{
			bool		instrument = false;

			if (pfg_capture_mode == PFG_CAPTURE_ALWAYS)
			{
				/* sampled here, once: the capture does not sample again */
				instrument = pfg_capture_sample_rate >= 1.0 ||
					pg_prng_double(&pg_global_prng_state) < pfg_capture_sample_rate;
				capture = instrument;
				sampled = true;
			}
			else
				instrument = armed = pfg_capture_is_armed(queryid);
			if (instrument)
				queryDesc->instrument_options |= INSTRUMENT_ROWS |
					(pfg_capture_buffers ? INSTRUMENT_BUFFERS : 0) |
					(pfg_capture_timing ? INSTRUMENT_TIMER : 0);
		}
	}

	/* read the budgets here, if needed: the end of an execution reads nothing */
	if (stats && pfg_enforce_level() != PFG_ENFORCE_OFF)
		pfg_budget_prepare();

	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);

	if (stats || capture)
		exec_begin(queryDesc, stats, capture, armed, sampled, level == 0);
	if (nesting_level == 0)
		pfg_nplus1_top(queryid);
}

/*
 * run_nested, finish_nested
 *		Call the next hook (or the standard function) one nesting level
 *		deeper.  No PG_TRY here: its jump buffer would be on the stack at
 *		every level of a recursion through the executor (a PL/pgSQL
 *		function calling itself), and shorten it.  When an ERROR skips the
 *		decrement, the (sub)transaction callbacks below put the level back
 *		to what it was where the error is caught: the start of the
 *		subtransaction that is rolled back, or 0 at transaction abort.
 */
static inline void
run_nested(QueryDesc *queryDesc, ScanDirection direction, uint64 count
		   PFG_EXECUTE_ONCE_PARAM)
{
	nesting_level++;
	if (prev_ExecutorRun)
		prev_ExecutorRun(queryDesc, direction, count PFG_EXECUTE_ONCE_ARG);
	else
		standard_ExecutorRun(queryDesc, direction, count PFG_EXECUTE_ONCE_ARG);
	nesting_level--;
}

/* The next ExecutorFinish: the hook installed before ours, or the standard one. */
static inline void
finish_next(QueryDesc *queryDesc)
{
	if (prev_ExecutorFinish)
		prev_ExecutorFinish(queryDesc);
	else
		standard_ExecutorFinish(queryDesc);
}

static inline void
finish_nested(QueryDesc *queryDesc)
{
	nesting_level++;
	finish_next(queryDesc);
	nesting_level--;
}

/*
 * The nesting level at the start of each subtransaction under way, so that
 * rolling one back (a PL/pgSQL exception block, ROLLBACK TO SAVEPOINT) puts
 * the level back.  Grown as needed in TopMemoryContext; emptied at the end
 * of the transaction.
 */
typedef struct PfgSubLevel
{
	SubTransactionId subid;
	int			level;
} PfgSubLevel;

static PfgSubLevel *sub_levels = NULL;
static int	sub_levels_used = 0;
static int	sub_levels_size = 0;

static void
hooks_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	switch (event)
	{
		case SUBXACT_EVENT_START_SUB:
			if (sub_levels_used == sub_levels_size)
			{
				int			size = Max(16, sub_levels_size * 2);

				sub_levels = sub_levels == NULL ?
					MemoryContextAlloc(TopMemoryContext, size * sizeof(PfgSubLevel)) :
					repalloc(sub_levels, size * sizeof(PfgSubLevel));
				sub_levels_size = size;
			}
			sub_levels[sub_levels_used].subid = mySubid;
			sub_levels[sub_levels_used].level = nesting_level;
			sub_levels_used++;
			break;
		case SUBXACT_EVENT_COMMIT_SUB:
		case SUBXACT_EVENT_ABORT_SUB:
			/* an error caught here is not reported (see reported_valid) */
			if (event == SUBXACT_EVENT_ABORT_SUB)
				reported_valid = false;
			/* the innermost ones first; find this one */
			while (sub_levels_used > 0)
			{
				PfgSubLevel *top = &sub_levels[--sub_levels_used];

				if (top->subid == mySubid)
				{
					if (event == SUBXACT_EVENT_ABORT_SUB)
						nesting_level = top->level;
					break;
				}
			}
			break;
		default:
			break;
	}
}

/*
 * hooks_xact_callback
 *		perfguard's one transaction callback (every statement of autocommit
 *		is a transaction, and each callback registered is called at each of
 *		its events): the nesting level, the N+1 detector's transaction
 *		scope, the budgets' change announcement.
 */
static void
hooks_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PREPARE:
			/*
			 * Between statements, a transaction that ends is at level 0 (an
			 * ERROR that skipped decrements is why this is needed).  Inside
			 * a utility command (a procedure's COMMIT or ROLLBACK) the level
			 * is right as it is, and the command restores it when it ends.
			 */
			if (utility_depth == 0)
				nesting_level = 0;
			if (event != XACT_EVENT_ABORT && event != XACT_EVENT_PARALLEL_ABORT)
				reported_valid = false;
			sub_levels_used = 0;
			pfg_nplus1_xact_end();
			pfg_budget_xact(event);
			break;
		default:
			break;
	}
}

/* Before one piece of a tracked query runs; not inlined, as run_done. */
static pg_noinline void
run_start(PfgExec *ex)
{
	mark_start(&ex->mark);
	ex->running = true;
	ex->errcb.previous = error_context_stack;
	error_context_stack = &ex->errcb;
}

/*
 * run_done
 *		After one piece of a tracked query has run: add its time, buffer
 *		counters and rows to the execution's record.  A SELECT can be
 *		fetched in pieces (a cursor, a portal with a row limit) and ended
 *		later, in another statement or at COMMIT; its verdicts belong to
 *		the statement that ran it: the one whose fetch reached the end of
 *		the result (fewer rows than asked for), or, for a running limit,
 *		the fetch that crossed it.  Not inlined: pfg_ExecutorRun's frame is
 *		on the stack at every nesting level and must stay small.
 */
static pg_noinline void
run_done(PfgExec *ex, uint64 count)
{
	QueryDesc  *queryDesc = ex->queryDesc;

	error_context_stack = ex->errcb.previous;
	ex->running = false;
	mark_add(&ex->mark, &ex->elapsed, &ex->blocks);
	/* each Run counts its rows afresh: a cursor's FETCHes add up */
	ex->rows += queryDesc->estate->es_processed;

	/*
	 * Only a plain SELECT: one with data-modifying CTEs has work left for
	 * ExecutorFinish (the rest of the modifications, AFTER triggers), and
	 * always ends in the statement that ran it.
	 */
	if (ex->stats && queryDesc->operation == CMD_SELECT && !ex->detected &&
		queryDesc->estate->es_auxmodifytables == NIL)
	{
		if (count == 0 || queryDesc->estate->es_processed < count)
			exec_complete(ex);
		else if (pfg_enforce_level() != PFG_ENFORCE_OFF && !ex->reported)
			exec_running(ex);
	}
}

/*
 * pfg_ExecutorRun
 *		Run one piece of the query, measured for the execution's record
 *		(run_done).  A piece that fails adds nothing: the statement is not
 *		counted.
 */
static void
pfg_ExecutorRun(QueryDesc *queryDesc, ScanDirection direction, uint64 count
				PFG_EXECUTE_ONCE_PARAM)
{
	PfgExec    *ex = exec_find(queryDesc);

	/* a portal resumed (no new ExecutorStart) is the client's statement now */
	if (nesting_level == 0)
		pfg_nplus1_top(queryDesc->plannedstmt->queryId);
	if (ex == NULL)
	{
		run_nested(queryDesc, direction, count PFG_EXECUTE_ONCE_ARG);
		return;
	}
	run_start(ex);
	run_nested(queryDesc, direction, count PFG_EXECUTE_ONCE_ARG);
	run_done(ex, count);
}
/* As run_start and run_done, around ExecutorFinish. */
static inline void
finish_start(PfgExec *ex)
{
	mark_start(&ex->mark);
	ex->running = true;
	ex->errcb.previous = error_context_stack;
	error_context_stack = &ex->errcb;
}

static inline void
finish_done(PfgExec *ex)
{
	error_context_stack = ex->errcb.previous;
	ex->running = false;
	mark_add(&ex->mark, &ex->elapsed, &ex->blocks);
}

/*
 * pfg_ExecutorFinish
 *		As pfg_ExecutorRun, for the work done at the end of the query
 *		(AFTER triggers, data-modifying CTEs).
 */
static void
pfg_ExecutorFinish(QueryDesc *queryDesc)
{
	PfgExec    *ex = exec_find(queryDesc);

	if (ex == NULL)
	{
		finish_nested(queryDesc);
		return;
	}

	/*
	 * A plain SELECT has nothing to finish: no AFTER trigger can be queued
	 * at its level and it has no data-modifying CTE, so no statement runs
	 * here and there is nothing to measure or to nest.
	 */
	if (queryDesc->operation == CMD_SELECT &&
		queryDesc->estate->es_auxmodifytables == NIL)
	{
		finish_next(queryDesc);
		return;
	}

	finish_start(ex);
	finish_nested(queryDesc);
	finish_done(ex);
}

/*
 * exec_detect
 *		Run the detectors on a finished execution, before the executor
 *		frees its plan state: flag sequential scans of large tables, and
 *		capture the plan of a slow statement.
 */
static void
exec_detect(PfgExec *ex, double ms, PfgFound *found, PfgRepeatFound *repeat)
{
	bool		capture;
	QueryDesc  *queryDesc = ex->queryDesc;
	PfgSeqScanHits hits;
	PfgDetect	d;
	MemoryContext cxt;
	MemoryContext old;

	memset(&d, 0, sizeof(d));
	d.queryDesc = queryDesc;
	d.queryid = queryDesc->plannedstmt->queryId;
	d.toplevel = ex->toplevel;
	d.duration_ms = ms;
	d.rows = ex->rows;

	/* counted on every execution; allocates only to report a pattern */
	if (ex->stats)
	{
		pfg_nplus1_exec(&d, queryDesc->operation, ms, repeat,
						&found->xact_calls);
		found->n_plus_one = (repeat->kind == PFG_EVENT_N_PLUS_ONE);
		found->row_by_row = (repeat->kind == PFG_EVENT_ROW_BY_ROW_DML);
		found->plan_shape = pfg_plan_shape(queryDesc->plannedstmt);
	}

	found->seq_scan = ex->stats && pfg_seqscan_min_rows >= 0 &&
		pfg_seqscan_find(queryDesc, &hits) > 0;
	/* every slow execution counts; its plan is captured if it may be */
	found->slow = pfg_capture_min_duration >= 0 &&
		ms >= pfg_capture_min_duration;
	capture = found->slow && ex->capture;
	if (ex->armed && !found->slow)
		pfg_capture_armed_fast(d.queryid);
	if (!found->seq_scan && !capture)
		return;

	/* on the way to an event: what it needs goes away with this context */
	cxt = AllocSetContextCreate(CurrentMemoryContext, "perfguard detectors",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	if (found->seq_scan)
		pfg_seqscan_record(&d, &hits);
	if (capture)
		found->captured = pfg_capture_slow(&d, ex->armed, ex->sampled);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
}

/* The blocks an execution has read or found in shared buffers: what budgets limit. */
static inline int64
exec_blocks(const PfgExec *ex)
{
	return ex->blocks.shared_hit + ex->blocks.shared_read;
}

/*
 * What an execution's verdicts need, taken from its record, which is
 * released with the executor's memory.
 */
typedef struct PfgVerdict
{
	uint64		fingerprint;	/* 0: not accounted */
	bool		own;
	bool		may_fail;		/* an ERROR may fail the statement */
	bool		reported;		/* running limits were reported already */
	double		ms;
	uint64		rows;
	int64		blocks;
	const PfgFound *found;		/* the record's, or found_copy */
	PfgFound	found_copy;
	PfgRepeatFound repeat;
} PfgVerdict;

/*
 * exec_account
 *		Run the detectors on an execution that has come to its end, account
 *		it in the statistics table, and fill in *v for exec_verdicts.  With
 *		copy, v keeps its own copy of what the detectors found (the record
 *		is about to be released with the executor's memory).
 */
static void
exec_account(PfgExec *ex, PfgVerdict *v, bool may_fail, bool copy)
{
	QueryDesc  *queryDesc = ex->queryDesc;

	v->ms = INSTR_TIME_GET_MILLISEC(ex->elapsed);
	v->repeat.kind = PFG_EVENT_NONE;
	exec_detect(ex, v->ms, &ex->found, &v->repeat);
	ex->detected = true;
	v->fingerprint = 0;
	v->own = false;
	v->may_fail = may_fail;
	v->reported = ex->reported;
	v->rows = ex->rows;
	v->blocks = exec_blocks(ex);
	if (ex->stats)
		v->fingerprint = pfg_stats_store(queryDesc->sourceText,
										 queryDesc->plannedstmt->stmt_location,
										 queryDesc->plannedstmt->stmt_len,
										 queryDesc->plannedstmt->queryId,
										 false, ex->toplevel, v->ms, ex->rows,
										 &ex->blocks, &ex->found, &v->own);
	if (copy)
	{
		v->found_copy = ex->found;
		v->found = &v->found_copy;
	}
	else
		v->found = &ex->found;
}

/*
 * exec_verdicts
 *		A WARNING or ERROR for an N+1 pattern and for a broken budget; never
 *		for perfguard's own work.
 */
static void
exec_verdicts(const PfgVerdict *v)
{
	if (v->fingerprint == 0 || v->own)
		return;
	if (v->repeat.kind != PFG_EVENT_NONE)
		pfg_nplus1_act(&v->repeat, v->may_fail);
	if (pfg_enforce_level() != PFG_ENFORCE_OFF)
		pfg_budget_enforce(v->fingerprint, v->ms, v->rows, v->blocks,
						   v->found, false, v->reported, v->may_fail);
}

/*
 * exec_complete
 *		A SELECT's fetch has reached the end of its result: account it and
 *		give the verdicts now, in the statement that fetched it.  Kept out
 *		of pfg_ExecutorRun, whose frame is on the stack at every nesting
 *		level.
 */
static pg_noinline void
exec_complete(PfgExec *ex)
{
	PfgVerdict	v;

	exec_account(ex, &v, true, false);
	exec_verdicts(&v);
}

/*
 * exec_running
 *		A SELECT is being fetched in pieces: judge what it has done so far
 *		against the limits it can break while running, so that the fetch
 *		that crosses one is the one that fails (or warns, once).
 */
static pg_noinline void
exec_running(PfgExec *ex)
{
	PlannedStmt *stmt = ex->queryDesc->plannedstmt;
	bool		own;
	uint64		fingerprint = pfg_identify(stmt->queryId, false,
										   ex->queryDesc->sourceText,
										   stmt->stmt_location, stmt->stmt_len,
										   NULL, NULL, &own);

	if (own)
		return;
	if (pfg_enforce_level() == PFG_ENFORCE_ERROR &&
		pfg_budget_breaks(fingerprint, INSTR_TIME_GET_MILLISEC(ex->elapsed),
						  ex->rows, exec_blocks(ex)))
	{
		/*
		 * This fetch fails: account the execution as it stands first, so
		 * that the statistics and the reports show the breach that failed
		 * it, and give every verdict it has earned.
		 */
		exec_complete(ex);
		return;
	}
	ex->reported = pfg_budget_enforce(fingerprint,
									  INSTR_TIME_GET_MILLISEC(ex->elapsed),
									  ex->rows, exec_blocks(ex),
									  NULL, true, false, true);
}

/*
 * pfg_ExecutorEnd
 *		Run the detectors and account the finished execution, then let the
 *		executor clean up (which also releases the execution's record).
 */
static void
pfg_ExecutorEnd(QueryDesc *queryDesc)
{
	PfgExec    *ex = exec_find(queryDesc);
	PfgVerdict	v;
	bool		judge = (ex != NULL && !ex->detected);

	/*
	 * Other commands, and SELECTs with data-modifying CTEs, end in the
	 * statement that ran them.  A plain SELECT that ends here was not
	 * fetched to its end: a cursor closed early, or dropped at COMMIT,
	 * which a verdict must not fail.
	 */
	if (judge)
		exec_account(ex, &v, queryDesc->operation != CMD_SELECT ||
					 queryDesc->estate->es_auxmodifytables != NIL, true);

	if (prev_ExecutorEnd)
		prev_ExecutorEnd(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);

	/* the verdicts, once the executor is done (ex is gone: v has a copy) */
	if (judge)
		exec_verdicts(&v);
}

/*
 * utility_queryid
 *		The queryid the core gives a utility command: on PostgreSQL 15 a
 *		hash of its cleaned text, from 16 on the jumble of its tree.  Needed
 *		when a module wrapped around perfguard has already set
 *		pstmt->queryId to 0, as pg_stat_statements does before it calls the
 *		next hook.
 */
static uint64
utility_queryid(PlannedStmt *pstmt, const char *query, int location, int len)
{
	uint64		queryid;

#ifdef PFG_JUMBLE_UTILITY_TREE
	/* the Query that parse analysis made for it, as JumbleQuery sees it */
	Query	   *parsed = makeNode(Query);

	parsed->commandType = CMD_UTILITY;
	parsed->canSetTag = true;
	parsed->utilityStmt = pstmt->utilityStmt;
	parsed->stmt_location = location;
	parsed->stmt_len = len;
	(void) pfg_jumble_query(parsed, query);
	queryid = parsed->queryId;
	pfree(parsed);
	return queryid;
#else
	query = CleanQuerytext(query, &location, &len);
	queryid = DatumGetUInt64(hash_any_extended((const unsigned char *) query,
											   len, 0));
	/* as the core does: 1 is a normal statement's substitute for 0 */
	return queryid != UINT64CONST(0) ? queryid : UINT64CONST(2);
#endif
}

/* The next ProcessUtility: the hook installed before ours, or the standard one. */
static inline void
utility_next(PlannedStmt *pstmt, const char *queryString,
			 bool readOnlyTree, ProcessUtilityContext context,
			 ParamListInfo params, QueryEnvironment *queryEnv,
			 DestReceiver *dest, QueryCompletion *qc)
{
	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
							params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
}

static void
utility_nested(PlannedStmt *pstmt, const char *queryString,
			   bool readOnlyTree, ProcessUtilityContext context,
			   ParamListInfo params, QueryEnvironment *queryEnv,
			   DestReceiver *dest, QueryCompletion *qc)
{
	int			save_declare_level = declare_level;
	const char *save_declare_name = declare_name;
	PfgUtilityTop save_top = utility_top;
	int			save_level = nesting_level;

	/* the client's utility command, while (and only while) it runs */
	if (nesting_level == 0)
	{
		utility_top.queryid = pstmt->queryId;
		utility_top.text = queryString;
		utility_top.location = pstmt->stmt_location;
		utility_top.len = pstmt->stmt_len;
	}

	if (IsA(pstmt->utilityStmt, DeclareCursorStmt))
	{
		declare_level = nesting_level;
		declare_name = ((DeclareCursorStmt *) pstmt->utilityStmt)->portalname;
	}
	nesting_level++;
	utility_depth++;
	PG_TRY();
	{
		utility_next(pstmt, queryString, readOnlyTree, context, params,
					 queryEnv, dest, qc);
	}
	PG_FINALLY();
	{
		/* the level before the command, whatever an ERROR skipped */
		nesting_level = save_level;
		utility_depth--;
		declare_level = save_declare_level;
		declare_name = save_declare_name;
		utility_top = save_top;
	}
	PG_END_TRY();
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
	PfgMark		mark;
	instr_time	elapsed;
	PfgBlocks	blocks;
	uint64		rows = 0;

	/* a prepared transaction may have changed the budgets: say so after */
	bool		commit_prepared = IsA(parsetree, TransactionStmt) &&
		((TransactionStmt *) parsetree)->kind == TRANS_STMT_COMMIT_PREPARED;

	if (unlikely(failed_used > 0))
		failures_flush();

	/* the parent that nested statements will name */
	if (nesting_level == 0)
		pfg_nplus1_top(queryid);


	if (IsA(parsetree, ExecuteStmt) || IsA(parsetree, PrepareStmt) ||
		IsA(parsetree, DeallocateStmt))
	{
		utility_next(pstmt, queryString, readOnlyTree, context, params,
					 queryEnv, dest, qc);
		return;
	}

	/*
	 * A queryid of 0 means either that a module before us cleared it (we
	 * compute the core's value again), or that this is an internal
	 * sub-command (the index of a PRIMARY KEY): part of its parent, not a
	 * statement of its own.
	 */
	if (!pfg_track_utility || !pfg_enabled(nesting_level) ||
		!IsQueryIdEnabled() ||
		(queryid == UINT64CONST(0) && context == PROCESS_UTILITY_SUBCOMMAND))
	{
		utility_nested(pstmt, queryString, readOnlyTree, context, params,
					   queryEnv, dest, qc);
		if (commit_prepared)
			pfg_budget_announce();
		return;
	}
	if (queryid == UINT64CONST(0))
		queryid = utility_queryid(pstmt, queryString, location, len);

	INSTR_TIME_SET_ZERO(elapsed);
	memset(&blocks, 0, sizeof(blocks));
	mark_start(&mark);
	utility_nested(pstmt, queryString, readOnlyTree, context, params,
				   queryEnv, dest, qc);
	mark_add(&mark, &elapsed, &blocks);
	if (commit_prepared)
		pfg_budget_announce();
	if (qc && (qc->commandTag == CMDTAG_COPY ||
			   qc->commandTag == CMDTAG_FETCH ||
			   qc->commandTag == CMDTAG_SELECT ||
			   qc->commandTag == CMDTAG_REFRESH_MATERIALIZED_VIEW))
		rows = qc->nprocessed;

	pfg_stats_store(queryString, location, len, queryid, true,
					nesting_level == 0, INSTR_TIME_GET_MILLISEC(elapsed), rows,
					&blocks, NULL, NULL);
}

/*
 * pfg_post_parse_analyze
 *		Compute the fingerprint of an analyzed statement new to this
 *		backend (identity.c), from the tree that exists only now.
 *
 *		Also give the query of a DECLARE CURSOR a queryid and its own place in
 *		the text.  PostgreSQL 15 computes a queryid for the DECLARE only;
 *		its query, run piece by piece by FETCH, would otherwise have none
 *		and go untracked.  The query is jumbled as if it had been sent on
 *		its own, so the cursor's executions count with the same statement
 *		run directly.
 */
static void
pfg_post_parse_analyze(ParseState *pstate, Query *query, JumbleState *jstate)
{
	if (prev_post_parse_analyze)
		prev_post_parse_analyze(pstate, query, jstate);

	/* the statement's fingerprint, while its analyzed tree is at hand */
	pfg_ident_analyzed(query);

	if (query->utilityStmt && IsA(query->utilityStmt, DeclareCursorStmt) &&
		IsQueryIdEnabled() && pfg_track != PFG_TRACK_NONE)
	{
		DeclareCursorStmt *stmt = (DeclareCursorStmt *) query->utilityStmt;
		Query	   *inner = (Query *) stmt->query;
		int			location = query->stmt_location;
		int			len = query->stmt_len;
		const char *text;
		int			offset;

		if (inner == NULL || !IsA(inner, Query) || pstate->p_sourcetext == NULL)
			return;
		text = CleanQuerytext(pstate->p_sourcetext, &location, &len);
		offset = pfg_cursor_query_offset(text, len);
		if (offset >= 0)
		{
			inner->stmt_location = location + offset;
			inner->stmt_len = len - offset;
		}
		if (inner->queryId == UINT64CONST(0))
			(void) pfg_jumble_query(inner, pstate->p_sourcetext);
		pfg_ident_analyzed(inner);
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
	prev_post_parse_analyze = post_parse_analyze_hook;
	post_parse_analyze_hook = pfg_post_parse_analyze;
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = pfg_emit_log;
	/* room for the texts of failed executions; never allocated later */
	failed_text = MemoryContextAlloc(TopMemoryContext,
									 (Size) PFG_FAILED_MAX * pfg_query_text_length);
	exec_text = MemoryContextAlloc(TopMemoryContext,
								   (Size) PFG_EXEC_POOL * pfg_query_text_length);
	RegisterXactCallback(hooks_xact_callback, NULL);
	RegisterSubXactCallback(hooks_subxact_callback, NULL);
}
