/*-------------------------------------------------------------------------
 * nplus1.c
 *	  The N+1 detector: the same statement run again and again, where one
 *	  statement (a join, an "= ANY($1)", a multi-row INSERT) would do.
 *
 * Two kinds of repetition are told apart: a SELECT repeated is an N+1
 * read (n_plus_one); a single-row INSERT, UPDATE, DELETE or MERGE
 * repeated is row-by-row writing (row_by_row_dml).  A DML statement that
 * touches several rows is batched already and is not counted.
 *
 * Executions are counted per statement (queryid) within a scope:
 *
 *	- in a transaction block, and for statements run inside functions, the
 *	  scope is the transaction.  A statement is reported when it reaches
 *	  its threshold; its parent is the statement that ran just before its
 *	  first execution (for a nested statement: the client's statement that
 *	  called the function).
 *
 *	- outside transaction blocks (autocommit, how most ORM applications
 *	  run), the scope is a burst: statements that follow one another with
 *	  pauses shorter than perfguard.nplus1_window.  A burst also ends when,
 *	  after some statement has repeated, a statement new to the burst runs
 *	  (the loop is over).  A repeated statement is reported only when its
 *	  parent drives it (burst_parent_drives): a parent that ran once and
 *	  returned at least threshold rows (each row of the parent drives one
 *	  more statement), or a repeated parent whose lists drove it (nested
 *	  N+1).  A session that runs one lookup
 *	  over and over (pgbench -S) has no such parent and is never reported.
 *
 * State is backend-local and costs O(1) per statement: an open-addressing
 * table per scope, of PFG_REPEAT_SLOTS slots to start with, doubled when
 * it is half full, up to PFG_REPEAT_MAX_SLOTS (half of them statements):
 * far beyond a real transaction, which a test suite wrapping each test in
 * a transaction can make long.  A scope is emptied in O(1) by bumping its
 * generation (a slot of an older generation is free), and shrinks back at
 * its end if it had grown past PFG_REPEAT_KEEP_SLOTS.  A scope that meets
 * more distinct statements than the largest table holds stops counting the
 * new ones (those counted go on), and says so: every statement left
 * uncounted adds one to perfguard.info().nplus1_uncounted.
 *
 * Each report is an event, rate-limited like the others, and counted in
 * perfguard.stats; its count, time and last execution are brought up to
 * date when the scope ends.  perfguard.nplus1_action can also warn the
 * client or fail the statement (SQLSTATE PF001 or PF002).
 *
 * IDENTIFICATION	  src/nplus1.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "compat.h"
#include PFG_QUERYJUMBLE_HEADER
#include "events.h"
#include "identity.h"
#include "guc.h"
#include "nplus1.h"
#include "stats.h"

#define PFG_REPEAT_SLOTS	256		/* a scope's table to start with; a power of two */
#define PFG_REPEAT_KEEP_SLOTS	4096	/* kept at a scope's end */
#define PFG_REPEAT_MAX_SLOTS	131072	/* the largest: 65,536 statements */
#define PFG_REPEAT_REPORTED	16	/* reports per scope kept up to date */

#define ERRCODE_PFG_N_PLUS_ONE		MAKE_SQLSTATE('P','F','0','0','1')
#define ERRCODE_PFG_ROW_BY_ROW		MAKE_SQLSTATE('P','F','0','0','2')

/* One statement counted in a scope. */
typedef struct PfgRepeat
{
	uint64		queryid;
	uint32		generation;		/* the slot is in use if it is the scope's */
	bool		toplevel;
	bool		reported;
	int32		count;
	int64		rows;			/* rows of all its executions in the scope */
	double		total_ms;
	TimestampTz first_at;
	TimestampTz last_at;
	uint64		parent_queryid; /* 0: none */
	bool		parent_toplevel;
	int64		parent_rows;	/* -1: unknown */
	int64		event_id;		/* 0: no event */
} PfgRepeat;

typedef struct PfgScope
{
	uint32		generation;
	bool		repeating;		/* some statement ran twice in this scope */
	int			nreported;
	PfgRepeat  *reported[PFG_REPEAT_REPORTED];
	uint64		prev_queryid;	/* the last top-level statement; 0: none */
	int64		prev_rows;
	TimestampTz prev_end;		/* session scope: when it ended */
	int			used;			/* slots of this generation */
	uint32		mask;			/* slots - 1 */
	PfgRepeat  *slots;			/* in TopMemoryContext; NULL until used */
} PfgScope;

static PfgScope xact_scope = {.generation = 1};
static PfgScope session_scope = {.generation = 1};
static bool exit_callback_set = false;

/* The client's statement under way, the parent of nested repetitions. */
uint64		pfg_nplus1_top_queryid = 0;	/* the client's statement under way */

/*
 * scope_end
 *		Bring the events of the scope's reports up to date, then empty it.
 *		keep_prev: the last statement stays the parent of what follows.
 */
static void
scope_end(PfgScope *s, bool keep_prev)
{
	for (int i = 0; i < s->nreported; i++)
	{
		PfgRepeat  *r = s->reported[i];

		if (r->event_id != 0)
			pfg_event_update_repeat(r->event_id, r->count, r->total_ms,
									r->last_at);
	}
	s->nreported = 0;
	s->repeating = false;
	s->generation++;
	s->used = 0;
	if (!keep_prev)
		s->prev_queryid = 0;
	if (s->slots != NULL && s->mask + 1 > PFG_REPEAT_KEEP_SLOTS)
	{
		/* a scope that grew for a long transaction gives its memory back */
		pfree(s->slots);
		s->slots = NULL;
	}
}

/*
 * pfg_nplus1_xact_end
 *		The transaction ended (commit, abort or PREPARE; called by hooks.c's
 *		transaction callback): its scope ends.
 */
void
pfg_nplus1_xact_end(void)
{
	scope_end(&xact_scope, false);
}

static void
exit_callback(int code, Datum arg)
{
	/* the open burst's reports get their final counts */
	if (code == 0 && session_scope.nreported > 0)
		scope_end(&session_scope, false);
}


/*
 * pfg_nplus1_uncounted
 *		A statement could not be counted: its scope is as large as it gets.
 */
static void
pfg_nplus1_uncounted(void)
{
	if (pfg_shared != NULL)
		pg_atomic_fetch_add_u64(&pfg_shared->nplus1_uncounted, 1);
}

static inline uint32
slot_hash(uint64 queryid, bool toplevel)
{
	return (uint32) (((queryid ^ toplevel) * UINT64CONST(0x9E3779B97F4A7C15)) >> 32);
}

/*
 * scope_resize
 *		Give a scope a table of this many slots, moving the statements of
 *		the current generation into it; the reports follow their slots.
 *		Allocated in TopMemoryContext (scopes outlive transactions).
 */
static void
scope_resize(PfgScope *s, uint32 slots)
{
	PfgRepeat  *old = s->slots;
	uint32		old_slots = old ? s->mask + 1 : 0;

	s->slots = MemoryContextAllocZero(TopMemoryContext, slots * sizeof(PfgRepeat));
	s->mask = slots - 1;
	for (uint32 j = 0; j < old_slots; j++)
	{
		PfgRepeat  *from = &old[j];
		uint32		k;

		if (from->generation != s->generation)
			continue;
		for (k = slot_hash(from->queryid, from->toplevel) & s->mask;
			 s->slots[k].generation == s->generation;
			 k = (k + 1) & s->mask)
			;
		s->slots[k] = *from;
		for (int n = 0; n < s->nreported; n++)
			if (s->reported[n] == from)
				s->reported[n] = &s->slots[k];
	}
	if (old)
		pfree(old);
}

/*
 * scope_slot
 *		The slot of a statement in a scope, or NULL.  With claim, a statement
 *		new to the scope gets the first free slot of its probe sequence
 *		(*fresh); NULL then means that the sequence is full.  Slots are
 *		never freed within a generation, so the first free slot ends the
 *		search.
 */
static PfgRepeat *
scope_slot(PfgScope *s, uint64 queryid, bool toplevel, bool claim, bool *fresh)
{
	uint32		h = slot_hash(queryid, toplevel);
	PfgRepeat  *r;

	*fresh = false;
	if (s->slots == NULL)
	{
		if (!claim)
			return NULL;
		scope_resize(s, PFG_REPEAT_SLOTS);
	}
	for (uint32 i = h & s->mask;; i = (i + 1) & s->mask)
	{
		r = &s->slots[i];
		if (r->generation != s->generation)
			break;
		if (r->queryid == queryid && r->toplevel == toplevel)
			return r;
	}
	if (!claim)
		return NULL;
	if ((s->used + 1) * 2 > (int) s->mask + 1)
	{
		if (s->mask + 1 >= PFG_REPEAT_MAX_SLOTS)
		{
			/* as large as it gets: not counted, but counted as such */
			pfg_nplus1_uncounted();
			return NULL;
		}
		/* the statement is not in the table: its place in the larger one */
		scope_resize(s, (s->mask + 1) * 2);
		for (uint32 i = h & s->mask;; i = (i + 1) & s->mask)
		{
			r = &s->slots[i];
			if (r->generation != s->generation)
				break;
		}
	}
	memset(r, 0, sizeof(PfgRepeat));
	r->generation = s->generation;
	r->queryid = queryid;
	r->toplevel = toplevel;
	r->parent_rows = -1;
	s->used++;
	*fresh = true;
	return r;
}

/*
 * burst_parent_drives
 *		In an autocommit burst, is r's repetition driven by its parent, the
 *		statement that ran just before r first did?  Either the parent ran
 *		once and returned at least threshold rows (load a list, then one
 *		query per row), or it is itself repeated, returned lists (more rows
 *		than executions) and at least as many rows as r ran (the nested
 *		shape: one query per post, then one per comment of each).  A
 *		statement repeated with no such parent (pgbench -S), or after a
 *		parent that returns one row each time (two lookups of a request
 *		handler served over and over), is not reported.
 */
static bool
burst_parent_drives(PfgScope *s, PfgRepeat *r, int threshold)
{
	bool		fresh;
	PfgRepeat  *p;

	if (r->parent_queryid == 0)
		return false;
	p = scope_slot(s, r->parent_queryid, true, false, &fresh);
	if (p == NULL || p->count <= 1)
		return r->parent_rows >= threshold;
	return p->rows > p->count && p->rows >= r->count;
}

/*
 * report
 *		A statement reached its threshold: fill in *found for the action,
 *		and record an event unless the rate limit says no.
 */
static void
report(PfgDetect *d, PfgScope *s, PfgRepeat *r, PfgEventKind kind,
	   int threshold, PfgRepeatFound *found)
{
	uint64		parent_fingerprint = 0;
	char	   *parent = NULL;
	const char *top_text;
	int			location;
	int			len;
	bool		utility;
	StringInfoData detail;
	StringInfoData constants;	/* the parent's text: who reads constants */
	PfgEventData ev;

	pfg_detect_text(d);
	if (r->parent_queryid != 0 && r->parent_toplevel && !r->toplevel &&
		r->parent_queryid == pfg_nplus1_top_queryid &&
		pfg_top_statement(pfg_nplus1_top_queryid, &top_text, &location, &len, &utility))
	{
		/* a nested statement's parent is the client's statement under way */
		int			norm_len;
		bool		own;

		parent_fingerprint = pfg_identify(pfg_nplus1_top_queryid, utility,
										  top_text, location, len,
										  &parent, &norm_len, &own);
	}
	else if (r->parent_queryid != 0)
		parent = pfg_stats_text(GetUserId(), MyDatabaseId, r->parent_queryid,
								r->parent_toplevel, &parent_fingerprint);

	found->kind = kind;
	found->count = r->count;
	found->in_xact = (s == &xact_scope);
	found->query = d->query;
	found->parent = parent;
	found->parent_rows = r->parent_rows;

	r->reported = true;
	if (s->nreported < PFG_REPEAT_REPORTED)
		s->reported[s->nreported++] = r;
	if (s == &session_scope && !exit_callback_set)
	{
		before_shmem_exit(exit_callback, (Datum) 0);
		exit_callback_set = true;
	}

	/*
	 * One report per N+1 site: the rate limit is per (statement, parent),
	 * so the same lookup after another parent (another code path) is a
	 * report of its own.
	 */
	if (!pfg_throttle_pass(d->fingerprint ^
						   (parent_fingerprint * UINT64CONST(0x9E3779B97F4A7C15)),
						   d->queryid ^
						   (r->parent_queryid * UINT64CONST(0xC2B2AE3D27D4EB4F)),
						   kind))
		return;

	initStringInfo(&detail);
	initStringInfo(&constants);
	pfg_json_str(&detail, "scope", s == &xact_scope ? "transaction" : "session");
	pfg_json_int(&detail, "threshold", threshold);
	if (r->parent_queryid != 0)
	{
		pfg_json_int(&detail, "parent_queryid", (int64) r->parent_queryid);
		if (parent)
			pfg_json_int(&detail, "parent_fingerprint", (int64) parent_fingerprint);
		else
			pfg_json_str(&detail, "parent_fingerprint", NULL);
	}
	else
	{
		pfg_json_str(&detail, "parent_queryid", NULL);
		pfg_json_str(&detail, "parent_fingerprint", NULL);
	}
	if (r->parent_rows >= 0)
		pfg_json_int(&detail, "parent_rows", r->parent_rows);
	else
		pfg_json_str(&detail, "parent_rows", NULL);
	pfg_json_str(&constants, "parent_query", parent);

	pfg_detect_event(d, kind, &ev);
	ev.duration_ms = r->total_ms;
	ev.detail = detail.data;
	ev.detail_len = detail.len;
	ev.detail_constants = constants.data;
	ev.detail_constants_len = constants.len;
	ev.has_repeat = true;
	ev.repeat_count = r->count;
	ev.repeat_ms = r->total_ms;
	ev.repeat_first = r->first_at;
	ev.repeat_last = r->last_at;
	r->event_id = pfg_event_add(&ev);
}

/*
 * pfg_nplus1_exec
 *		Count one finished execution of a tracked statement.  When it
 *		completes a pattern, *found says so (and an event is recorded);
 *		the caller acts on it after the executor has finished.
 *
 *		*xact_calls is set to the number of times the statement has run in
 *		the current transaction, this time included (1 for a statement
 *		that is a transaction of its own), or 0 when that is not known (the
 *		transaction met more distinct statements than the scope holds).
 *		Every statement is counted in a transaction, whatever its kind, for
 *		the budgets on executions per transaction.
 */
void
pfg_nplus1_exec(PfgDetect *d, CmdType operation, double ms,
				PfgRepeatFound *found, int64 *xact_calls)
{
	TimestampTz now = GetCurrentStatementStartTimestamp();
	PfgEventKind kind = PFG_EVENT_NONE;
	int			threshold = -1;
	PfgScope   *s;
	PfgRepeat  *r = NULL;
	bool		fresh = false;

	*xact_calls = 0;

	if (operation == CMD_SELECT)
	{
		kind = PFG_EVENT_N_PLUS_ONE;
		threshold = pfg_nplus1_threshold;
	}
	else if ((operation == CMD_INSERT || operation == CMD_UPDATE ||
			  operation == CMD_DELETE || operation == CMD_MERGE) &&
			 d->rows <= 1)
	{
		kind = PFG_EVENT_ROW_BY_ROW_DML;
		threshold = pfg_row_by_row_threshold;
	}

	if (!d->toplevel || IsTransactionBlock())
		s = &xact_scope;
	else
	{
		*xact_calls = 1;
		if (pfg_nplus1_window <= 0)
			return;
		s = &session_scope;
		/* a pause longer than the window ends the burst */
		if (s->prev_end != 0 &&
			now - s->prev_end > (TimestampTz) pfg_nplus1_window * 1000)
			scope_end(s, false);
		s->prev_end = now + (TimestampTz) (ms * 1000.0);
	}

	if (threshold > 0 || s == &xact_scope)
	{
		r = scope_slot(s, d->queryid, d->toplevel, true, &fresh);
		/* in a burst, a new statement after a loop means the loop is over */
		if (r && fresh && s->repeating && s == &session_scope)
		{
			scope_end(s, true);
			r = scope_slot(s, d->queryid, d->toplevel, true, &fresh);
		}
	}
	else if (s->repeating && s == &session_scope)
		scope_end(s, true);

	if (r)
	{
		if (fresh)
		{
			r->first_at = now;
			if (!d->toplevel)
			{
				r->parent_queryid = pfg_nplus1_top_queryid;
				r->parent_toplevel = true;
			}
			else if (s->prev_queryid != 0 && s->prev_queryid != d->queryid)
			{
				r->parent_queryid = s->prev_queryid;
				r->parent_toplevel = true;
				r->parent_rows = s->prev_rows;
			}
		}
		r->count++;
		r->rows += (int64) d->rows;
		r->total_ms += ms;
		r->last_at = now;
		if (s == &xact_scope)
			*xact_calls = r->count;
		if (r->count == 2)
			s->repeating = true;

		if (r->count == threshold &&
			(s == &xact_scope || burst_parent_drives(s, r, threshold)))
			report(d, s, r, kind, threshold, found);
	}

	if (d->toplevel)
	{
		s->prev_queryid = d->queryid;
		s->prev_rows = (int64) d->rows;
	}
}

/*
 * pfg_nplus1_act
 *		Warn, or fail the statement, as perfguard.nplus1_action says.
 *		Called once the statement's query has run to its end.  With
 *		may_fail false (the query's end comes after the statement that ran
 *		it, e.g. a cursor dropped at COMMIT), an ERROR becomes a WARNING.
 */
void
pfg_nplus1_act(const PfgRepeatFound *found, bool may_fail)
{
	StringInfoData detail;
	int			level;
	bool		n_plus_one = (found->kind == PFG_EVENT_N_PLUS_ONE);

	if (found->kind == PFG_EVENT_NONE || pfg_nplus1_level() == PFG_NPLUS1_LOG)
		return;
	level = (pfg_nplus1_level() == PFG_NPLUS1_ERROR && may_fail) ? ERROR : WARNING;

	initStringInfo(&detail);
	appendStringInfo(&detail, "Statement: %s", found->query);
	if (found->parent)
	{
		appendStringInfo(&detail, "\nIt follows: %s", found->parent);
		if (found->parent_rows >= 0)
			appendStringInfo(&detail, " (" INT64_FORMAT " rows)", found->parent_rows);
	}

	ereport(level,
			(errcode(n_plus_one ? ERRCODE_PFG_N_PLUS_ONE : ERRCODE_PFG_ROW_BY_ROW),
			 errmsg("perfguard detected %s: the same %s ran " INT64_FORMAT " times %s",
					n_plus_one ? "an N+1 query pattern" : "row-by-row writing",
					n_plus_one ? "query" : "single-row statement",
					found->count,
					found->in_xact ? "in this transaction" : "in a burst of statements"),
			 errdetail_internal("%s", detail.data),
			 errhint("%s", n_plus_one ?
					 "Fetch these rows in one query: join them to the query before, or pass all the keys at once with \"= ANY($1)\"." :
					 "Write the rows in one statement: INSERT with several VALUES lists or INSERT ... SELECT, COPY, or UPDATE/DELETE ... WHERE key = ANY($1).")));
	pfree(detail.data);
}
