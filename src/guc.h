/*-------------------------------------------------------------------------
 * guc.h
 *	  perfguard's configuration parameters.
 *
 * IDENTIFICATION	  src/guc.h
 *-------------------------------------------------------------------------
 */
#ifndef PFG_GUC_H
#define PFG_GUC_H

typedef enum PfgTrackLevel
{
	PFG_TRACK_NONE,				/* track no statements */
	PFG_TRACK_TOP,				/* only top-level statements */
	PFG_TRACK_ALL				/* all statements, including nested ones */
} PfgTrackLevel;

typedef enum PfgCaptureMode
{
	PFG_CAPTURE_ADAPTIVE,		/* instrument only statements known to be slow */
	PFG_CAPTURE_ALWAYS			/* instrument every statement */
} PfgCaptureMode;

typedef enum PfgNplus1Action
{
	PFG_NPLUS1_LOG,				/* record the event only */
	PFG_NPLUS1_WARN,			/* and warn the client */
	PFG_NPLUS1_ERROR			/* and fail the statement */
} PfgNplus1Action;

typedef enum PfgEnforce
{
	PFG_ENFORCE_OFF,			/* budgets are judged by the reports only */
	PFG_ENFORCE_WARN,			/* and a WARNING at run time */
	PFG_ENFORCE_ERROR			/* and an ERROR at run time */
} PfgEnforce;

typedef enum PfgPlanFormat
{
	PFG_FORMAT_TEXT,
	PFG_FORMAT_JSON
} PfgPlanFormat;

/* sizing: read once, at server start */
extern int	pfg_max_queries;
extern int	pfg_query_text_length;
extern int	pfg_events_memory;	/* kB */

/* behaviour */
extern int	pfg_track;
extern bool pfg_save;
extern bool pfg_track_utility;

/* events */
extern bool pfg_log_events;
extern int	pfg_log_events_level;

/* slow-plan capture */
extern int	pfg_capture_min_duration;	/* ms; -1: off */
extern int	pfg_capture_mode;
extern bool pfg_capture_analyze;
extern bool pfg_capture_buffers;
extern bool pfg_capture_timing;
extern int	pfg_capture_format;
extern double pfg_capture_sample_rate;
extern bool pfg_capture_nested;
extern int	pfg_capture_interval;	/* s; 0: no limit */

/* sequential-scan detector */
extern int	pfg_seqscan_min_rows;	/* -1: off */
extern char *pfg_seqscan_ignore;

/* N+1 detector */
extern int	pfg_nplus1_threshold;	/* -1: off */
extern int	pfg_row_by_row_threshold;	/* -1: off */
extern int	pfg_nplus1_window;	/* ms; 0: transactions only */
extern int	pfg_nplus1_action;
extern int	pfg_nplus1_action_floor;

/* budgets */
extern int	pfg_enforce;
extern int	pfg_enforce_floor;

extern bool pfg_seqscan_ignored(Oid nspid, const char *relname);

extern void pfg_define_gucs(void);

/*
 * The levels applied: the stricter of a session's setting and the floor a
 * superuser set.
 */
static inline int
pfg_enforce_level(void)
{
	return pfg_enforce > pfg_enforce_floor ? pfg_enforce : pfg_enforce_floor;
}

static inline int
pfg_nplus1_level(void)
{
	return pfg_nplus1_action > pfg_nplus1_action_floor ?
		pfg_nplus1_action : pfg_nplus1_action_floor;
}

#endif							/* PFG_GUC_H */
