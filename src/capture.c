/*-------------------------------------------------------------------------
 * capture.c
 *	  Slow-plan capture: which executions run instrumented, the rate limit
 *	  on events, and the EXPLAIN output of a finished execution (as
 *	  contrib/auto_explain prints it in its ExecutorEnd hook).
 *
 * In capture_mode = always, hooks.c asks the executor for per-node
 * instrumentation on every statement, so a slow statement is captured
 * with actual rows on its first slow run.  In capture_mode = adaptive (the
 * default), statements run uninstrumented; when one is slow, its plan is
 * captured with the planner's estimates and its queryid is armed: the
 * next executions of that statement, in any session, run instrumented,
 * until one of them is slow again and is captured with actual rows (or
 * until PFG_ARM_RUNS of them were fast, or the arming expired).
 *
 * Shared state: a small array of armed queryids, read without a lock at
 * every ExecutorStart while anything is armed (an atomic counter makes
 * the common case, nothing armed, one read); and a throttle table of the
 * last event time per (fingerprint, event kind), which keeps a hot slow
 * statement from flooding the event store.  Both are changed only under
 * pfg_capture->lock, taken only on the way to recording an event.
 *
 * IDENTIFICATION	  src/capture.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/explain.h"
#include "common/pg_prng.h"
#include "executor/instrument.h"
#include "miscadmin.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "compat.h"
#include PFG_EXPLAIN_STATE_HEADER
#include PFG_EXPLAIN_FORMAT_HEADER
#include PFG_QUERYJUMBLE_HEADER
#include "capture.h"
#include "identity.h"
#include "guc.h"

/* An armed statement runs instrumented this many times, at most. */
#define PFG_ARM_RUNS		100
/* ... and for at most this long, or capture_interval if longer. */
#define PFG_ARM_SECONDS		60

/* Throttle table: open addressing, a few probes, the oldest slot reused. */
#define PFG_THROTTLE_SLOTS	1024	/* a power of two */
#define PFG_THROTTLE_PROBES	8

typedef struct PfgThrottleSlot
{
	uint64		fingerprint;
	int32		kind;			/* PFG_EVENT_NONE: free */
	TimestampTz last;
} PfgThrottleSlot;

PfgCaptureShared *pfg_capture = NULL;
static PfgThrottleSlot *throttle = NULL;

static Size
capture_memsize(void)
{
	return add_size(MAXALIGN(sizeof(PfgCaptureShared)),
					mul_size(PFG_THROTTLE_SLOTS, sizeof(PfgThrottleSlot)));
}

void
pfg_capture_shmem_request(void)
{
	RequestAddinShmemSpace(capture_memsize());
	RequestNamedLWLockTranche("perfguard capture", 1);
}

void
pfg_capture_shmem_startup(void)
{
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	pfg_capture = ShmemInitStruct("perfguard capture", capture_memsize(), &found);
	throttle = (PfgThrottleSlot *) ((char *) pfg_capture +
									MAXALIGN(sizeof(PfgCaptureShared)));
	if (!found)
	{
		pfg_capture->lock = &(GetNamedLWLockTranche("perfguard capture"))->lock;
		pg_atomic_init_u32(&pfg_capture->narmed, 0);
		pg_atomic_init_u64(&pfg_capture->throttle_generation, 0);
		for (int i = 0; i < PFG_ARMED_SLOTS; i++)
		{
			pg_atomic_init_u64(&pfg_capture->armed[i].queryid, 0);
			pfg_capture->armed[i].runs_left = 0;
			pfg_capture->armed[i].expires = 0;
		}
		memset(throttle, 0, PFG_THROTTLE_SLOTS * sizeof(PfgThrottleSlot));
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * pfg_capture_armed_slow
 *		The lock-free search of the armed array, when something is armed.
 *		A slot being changed at this moment can be missed or seen once too
 *		often; either costs at most one instrumented run more or less.
 */
bool
pfg_capture_armed_slow(uint64 queryid)
{
	for (int i = 0; i < PFG_ARMED_SLOTS; i++)
		if (pg_atomic_read_u64(&pfg_capture->armed[i].queryid) == queryid)
			return true;
	return false;
}

static void
slot_free(PfgArmedSlot *slot)
{
	pg_atomic_write_u64(&slot->queryid, 0);
	pg_atomic_sub_fetch_u32(&pfg_capture->narmed, 1);
}

/*
 * arm
 *		Make the next executions of queryid run instrumented.  When every
 *		slot is taken, the arming that expires first gives way.
 */
static void
arm(uint64 queryid)
{
	TimestampTz now = GetCurrentTimestamp();
	PfgArmedSlot *victim = NULL;

	LWLockAcquire(pfg_capture->lock, LW_EXCLUSIVE);
	for (int i = 0; i < PFG_ARMED_SLOTS; i++)
	{
		PfgArmedSlot *slot = &pfg_capture->armed[i];
		uint64		id = pg_atomic_read_u64(&slot->queryid);

		if (id == queryid || id == 0)
		{
			victim = slot;
			break;
		}
		if (victim == NULL || slot->expires < victim->expires)
			victim = slot;
	}
	if (pg_atomic_read_u64(&victim->queryid) == 0)
		pg_atomic_add_fetch_u32(&pfg_capture->narmed, 1);
	pg_atomic_write_u64(&victim->queryid, queryid);
	victim->runs_left = PFG_ARM_RUNS;
	victim->expires = TimestampTzPlusMilliseconds(now,
												  Max(pfg_capture_interval, PFG_ARM_SECONDS) * 1000L);
	LWLockRelease(pfg_capture->lock);
}

/*
 * disarm
 *		Take queryid out of the armed array.  Returns false if it was not
 *		there (another session's run was captured first).
 */
static bool
disarm(uint64 queryid)
{
	bool		found = false;

	LWLockAcquire(pfg_capture->lock, LW_EXCLUSIVE);
	for (int i = 0; i < PFG_ARMED_SLOTS; i++)
	{
		if (pg_atomic_read_u64(&pfg_capture->armed[i].queryid) == queryid)
		{
			slot_free(&pfg_capture->armed[i]);
			found = true;
		}
	}
	LWLockRelease(pfg_capture->lock);
	return found;
}

/*
 * pfg_capture_armed_fast
 *		An armed statement ran instrumented and was fast: count the run,
 *		and give up after PFG_ARM_RUNS of them or when the arming expires.
 */
void
pfg_capture_armed_fast(uint64 queryid)
{
	TimestampTz now = GetCurrentTimestamp();

	LWLockAcquire(pfg_capture->lock, LW_EXCLUSIVE);
	for (int i = 0; i < PFG_ARMED_SLOTS; i++)
	{
		PfgArmedSlot *slot = &pfg_capture->armed[i];

		if (pg_atomic_read_u64(&slot->queryid) == queryid &&
			(--slot->runs_left <= 0 || slot->expires <= now))
			slot_free(slot);
	}
	LWLockRelease(pfg_capture->lock);
}

/*
 * Backend-local memory of rate-limit refusals: (queryid, kind) → the time
 * before which the rate limit will say no again.  The shared table's times
 * only move forward, so the answer cannot change before then, and a
 * statement flagged on every execution (a scan of a large table) skips its
 * fingerprint and the shared lock until then.
 */
#define PFG_REFUSED_SLOTS	16	/* a power of two */

typedef struct PfgRefused
{
	uint64		queryid;
	int32		kind;
	TimestampTz until;
} PfgRefused;

static PfgRefused refused[PFG_REFUSED_SLOTS];
static uint64 refused_generation = 0;	/* the throttle's, when filled */

static inline PfgRefused *
refused_slot(uint64 queryid, PfgEventKind kind)
{
	uint64		generation = pg_atomic_read_u64(&pfg_capture->throttle_generation);

	/* the rate limit was reset (reset_events): forget what it refused */
	if (generation != refused_generation)
	{
		memset(refused, 0, sizeof(refused));
		refused_generation = generation;
	}
	return &refused[(queryid ^ (uint64) kind) & (PFG_REFUSED_SLOTS - 1)];
}

/*
 * pfg_throttle_reset
 *		Start the rate limit over for one kind of event (PFG_EVENT_NONE:
 *		every kind), as perfguard.reset_events() does: a test suite that
 *		resets the events between its cases sees each case's events.
 */
void
pfg_throttle_reset(PfgEventKind kind)
{
	LWLockAcquire(pfg_capture->lock, LW_EXCLUSIVE);
	for (int i = 0; i < PFG_THROTTLE_SLOTS; i++)
		if (kind == PFG_EVENT_NONE || throttle[i].kind == (int32) kind)
			throttle[i].kind = PFG_EVENT_NONE;
	pg_atomic_fetch_add_u64(&pfg_capture->throttle_generation, 1);
	LWLockRelease(pfg_capture->lock);
}

/*
 * pfg_throttle_refused
 *		True if the rate limit is known to refuse this statement's events
 *		of this kind now, without asking it.
 */
bool
pfg_throttle_refused(uint64 queryid, PfgEventKind kind)
{
	PfgRefused *r = refused_slot(queryid, kind);

	return pfg_capture_interval > 0 && r->queryid == queryid &&
		r->kind == kind && GetCurrentTimestamp() < r->until;
}

/*
 * pfg_throttle_pass
 *		May an event of this kind be recorded for this fingerprint now?  If
 *		so, the time is noted.  With capture_interval = 0, always.  A
 *		refusal is remembered for queryid (see pfg_throttle_refused).
 */
bool
pfg_throttle_pass(uint64 fingerprint, uint64 queryid, PfgEventKind kind)
{
	TimestampTz now;
	TimestampTz interval;
	uint64		h;
	PfgThrottleSlot *victim = NULL;
	bool		pass = true;

	if (pfg_capture_interval <= 0)
		return true;

	now = GetCurrentTimestamp();
	interval = (TimestampTz) pfg_capture_interval * USECS_PER_SEC;
	h = fingerprint ^ ((uint64) kind * UINT64CONST(0x9E3779B97F4A7C15));
	h ^= h >> 31;

	LWLockAcquire(pfg_capture->lock, LW_EXCLUSIVE);
	for (int i = 0; i < PFG_THROTTLE_PROBES; i++)
	{
		PfgThrottleSlot *slot = &throttle[(h + i) & (PFG_THROTTLE_SLOTS - 1)];

		if (slot->kind == kind && slot->fingerprint == fingerprint)
		{
			victim = slot;
			pass = (slot->last + interval <= now);
			break;
		}
		if (victim == NULL || slot->kind == PFG_EVENT_NONE ||
			(victim->kind != PFG_EVENT_NONE && slot->last < victim->last))
			victim = slot;
	}
	if (pass)
	{
		victim->fingerprint = fingerprint;
		victim->kind = kind;
		victim->last = now;
	}
	else
	{
		PfgRefused *r = refused_slot(queryid, kind);

		r->queryid = queryid;
		r->kind = kind;
		r->until = victim->last + interval;
	}
	LWLockRelease(pfg_capture->lock);
	return pass;
}

/*
 * pfg_detect_text
 *		Compute the statement's fingerprint and normalized text, once.
 */
void
pfg_detect_text(PfgDetect *d)
{
	PlannedStmt *stmt = d->queryDesc->plannedstmt;
	bool		own;

	if (d->have_text)
		return;
	d->fingerprint = pfg_identify(d->queryid, false, d->queryDesc->sourceText,
								  stmt->stmt_location, stmt->stmt_len,
								  &d->query, &d->query_len, &own);
	d->have_text = true;
}

/*
 * pfg_detect_event
 *		Start an event of this kind about the statement d describes.
 */
void
pfg_detect_event(PfgDetect *d, PfgEventKind kind, PfgEventData *ev)
{
	pfg_detect_text(d);
	memset(ev, 0, sizeof(PfgEventData));
	ev->kind = kind;
	ev->fingerprint = d->fingerprint;
	ev->queryid = d->queryid;
	ev->toplevel = d->toplevel;
	ev->duration_ms = d->duration_ms;
	ev->query = d->query;
	ev->query_len = d->query_len;
}

/*
 * explain_plan
 *		The EXPLAIN output of the finished execution, with actual rows when
 *		it ran instrumented (and buffers and timing when those were
 *		measured), in the configured format.
 */
static StringInfo
explain_plan(QueryDesc *queryDesc, bool analyzed)
{
	ExplainState *es = NewExplainState();

	es->analyze = analyzed;
	es->verbose = false;
	es->buffers = analyzed && (queryDesc->instrument_options & INSTRUMENT_BUFFERS);
	es->wal = analyzed && (queryDesc->instrument_options & INSTRUMENT_WAL);
	es->timing = analyzed && (queryDesc->instrument_options & INSTRUMENT_TIMER);
	es->summary = false;
	es->format = (pfg_capture_format == PFG_FORMAT_JSON) ?
		EXPLAIN_FORMAT_JSON : EXPLAIN_FORMAT_TEXT;

	ExplainBeginOutput(es);
	ExplainPrintPlan(es, queryDesc);
	if (analyzed)
		ExplainPrintTriggers(es, queryDesc);
	if (es->costs)
		ExplainPrintJITSummary(es, queryDesc);
	ExplainEndOutput(es);

	/* no final line break; JSON as one object, as auto_explain does */
	if (es->str->len > 0 && es->str->data[es->str->len - 1] == '\n')
		es->str->data[--es->str->len] = '\0';
	if (es->format == EXPLAIN_FORMAT_JSON && es->str->len >= 2)
	{
		es->str->data[0] = '{';
		es->str->data[es->str->len - 1] = '}';
	}
	return es->str;
}

/*
 * pfg_capture_slow
 *		A tracked execution took at least capture_min_duration.  Record a
 *		slow_plan event unless sampling or the rate limit says no; in
 *		adaptive mode, arm the statement when its plan had no actuals.
 *		armed: the execution ran instrumented because it was armed.
 *		sampled: perfguard.capture_sample_rate was applied when the
 *		execution started (capture_mode = always), so it is not again.
 *		Returns whether a plan was captured.  Allocates in the caller's
 *		(short-lived) memory context.
 */
bool
pfg_capture_slow(PfgDetect *d, bool armed, bool sampled)
{
	QueryDesc  *queryDesc = d->queryDesc;
	bool		analyzed = pfg_capture_analyze &&
		(queryDesc->instrument_options & INSTRUMENT_ROWS) != 0;
	StringInfo	plan;
	StringInfoData detail;
	PfgEventData ev;

	if (armed)
	{
		/* the run the arming waited for; only one session records it */
		if (!disarm(d->queryid))
			return false;
	}
	else
	{
		/* sampled once: at the start, when it decided the instrumentation */
		if (!sampled && pfg_capture_sample_rate < 1.0 &&
			pg_prng_double(&pg_global_prng_state) >= pfg_capture_sample_rate)
			return false;
		if (pfg_throttle_refused(d->queryid, PFG_EVENT_SLOW_PLAN))
			return false;
		pfg_detect_text(d);
		if (!pfg_throttle_pass(d->fingerprint, d->queryid, PFG_EVENT_SLOW_PLAN))
			return false;
	}

	plan = explain_plan(queryDesc, analyzed);
	initStringInfo(&detail);
	pfg_json_bool(&detail, "analyzed", analyzed);
	pfg_json_bool(&detail, "armed_run", armed);
	pfg_json_str(&detail, "mode", pfg_capture_mode == PFG_CAPTURE_ALWAYS ?
				 "always" : "adaptive");
	pfg_json_int(&detail, "threshold_ms", pfg_capture_min_duration);
	pfg_json_int(&detail, "rows", (int64) d->rows);

	pfg_detect_event(d, PFG_EVENT_SLOW_PLAN, &ev);
	ev.plan = plan->data;
	ev.plan_len = plan->len;
	ev.plan_format = pfg_capture_format;
	ev.detail = detail.data;
	ev.detail_len = detail.len;
	pfg_event_add(&ev);

	if (!analyzed && pfg_capture_mode == PFG_CAPTURE_ADAPTIVE &&
		pfg_capture_analyze)
		arm(d->queryid);
	return true;
}
