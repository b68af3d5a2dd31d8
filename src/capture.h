/*-------------------------------------------------------------------------
 * capture.h
 *	  Slow-plan capture: instrumentation decisions, rate limiting, and the
 *	  EXPLAIN text of a finished execution.
 *
 * IDENTIFICATION	  src/capture.h
 *-------------------------------------------------------------------------
 */
#ifndef PFG_CAPTURE_H
#define PFG_CAPTURE_H

#include "executor/execdesc.h"
#include "port/atomics.h"
#include "storage/lwlock.h"
#include "utils/timestamp.h"

#include "events.h"

/*
 * What the detectors know of one finished execution.  The fingerprint and
 * normalized text are computed only when an event is about to be recorded
 * (pfg_detect_text).
 */
typedef struct PfgDetect
{
	QueryDesc  *queryDesc;
	uint64		queryid;
	bool		toplevel;
	double		duration_ms;
	uint64		rows;			/* rows processed, all Run calls together */
	bool		have_text;
	uint64		fingerprint;
	char	   *query;			/* normalized text */
	int			query_len;
} PfgDetect;

/* Statements armed for an instrumented run; read without a lock. */
#define PFG_ARMED_SLOTS		16

typedef struct PfgArmedSlot
{
	pg_atomic_uint64 queryid;	/* 0: free */
	int32		runs_left;		/* under the capture lock */
	TimestampTz expires;		/* under the capture lock */
} PfgArmedSlot;

typedef struct PfgCaptureShared
{
	LWLock	   *lock;			/* protects the throttle and the arming */
	pg_atomic_uint32 narmed;	/* slots in use */
	pg_atomic_uint64 throttle_generation;	/* bumped by pfg_throttle_reset */
	PfgArmedSlot armed[PFG_ARMED_SLOTS];
	/* the throttle table follows */
} PfgCaptureShared;

extern PfgCaptureShared *pfg_capture;

extern void pfg_capture_shmem_request(void);
extern void pfg_capture_shmem_startup(void);
extern bool pfg_capture_armed_slow(uint64 queryid);
extern bool pfg_throttle_refused(uint64 queryid, PfgEventKind kind);
extern bool pfg_throttle_pass(uint64 fingerprint, uint64 queryid,
							  PfgEventKind kind);
extern void pfg_throttle_reset(PfgEventKind kind);
extern void pfg_detect_text(PfgDetect *d);
extern void pfg_detect_event(PfgDetect *d, PfgEventKind kind, PfgEventData *ev);

/* At ExecutorEnd of an execution that ran at least capture_min_duration. */
extern bool pfg_capture_slow(PfgDetect *d, bool armed, bool sampled);
/* At ExecutorEnd of an armed execution that was fast this time. */
extern void pfg_capture_armed_fast(uint64 queryid);

/*
 * pfg_capture_is_armed
 *		Is this statement armed for an instrumented run?  The hot path: one
 *		atomic read when nothing is armed.
 */
static inline bool
pfg_capture_is_armed(uint64 queryid)
{
	if (pg_atomic_read_u32(&pfg_capture->narmed) == 0)
		return false;
	return pfg_capture_armed_slow(queryid);
}

#endif							/* PFG_CAPTURE_H */
