/*-------------------------------------------------------------------------
 * events.h
 *	  perfguard's event store: what the detectors report.
 *
 * IDENTIFICATION	  src/events.h
 *-------------------------------------------------------------------------
 */
#ifndef PFG_EVENTS_H
#define PFG_EVENTS_H

#include "datatype/timestamp.h"
#include "lib/stringinfo.h"

/* Event kinds; the numbers are stored in the dump file, never reuse one. */
typedef enum PfgEventKind
{
	PFG_EVENT_NONE = 0,			/* a removed event */
	PFG_EVENT_SLOW_PLAN = 1,
	PFG_EVENT_SEQ_SCAN = 2,
	PFG_EVENT_N_PLUS_ONE = 3,
	PFG_EVENT_ROW_BY_ROW_DML = 4,
	PFG_EVENT_FAILED = 5
} PfgEventKind;

#define PFG_EVENT_KIND_MAX	5

/*
 * One event, as a detector hands it over.  Its detail is the members of a
 * JSON object (without the braces), in three parts by who may read them
 * (docs/functions.md, Privileges): detail, numbers that anyone may read;
 * detail_private, names (relations, index advice), shown to those who may
 * read the statement's normalized text; detail_constants, what can hold
 * constant values (filters, parent texts), shown like plans: to the
 * statement's user, superusers and roles granted read_constants().
 */
typedef struct PfgEventData
{
	PfgEventKind kind;
	Oid			userid;			/* InvalidOid: the current user */
	uint64		fingerprint;
	uint64		queryid;
	bool		toplevel;
	double		duration_ms;	/* < 0: none */
	const char *query;			/* normalized text */
	int			query_len;
	const char *plan;			/* NULL: none */
	int			plan_len;
	int			plan_format;	/* PfgPlanFormat */
	const char *detail;
	int			detail_len;
	const char *detail_private;
	int			detail_private_len;
	const char *detail_constants;
	int			detail_constants_len;
	/* repeated statements (N+1 kinds): counters that can be updated later */
	bool		has_repeat;
	int64		repeat_count;
	double		repeat_ms;
	TimestampTz repeat_first;
	TimestampTz repeat_last;
} PfgEventData;

extern void pfg_events_shmem_request(void);
extern void pfg_events_shmem_startup(void);
extern int64 pfg_event_add(const PfgEventData *event);
extern void pfg_events_counts(int64 *count, int64 *dropped);
extern void pfg_event_update_repeat(int64 id, int64 count, double total_ms,
									TimestampTz last);
extern const char *pfg_event_kind_name(PfgEventKind kind);

/* Helpers to write the members of a detail object. */
extern void pfg_json_key(StringInfo buf, const char *key);
extern void pfg_json_str(StringInfo buf, const char *key, const char *value);
extern void pfg_json_int(StringInfo buf, const char *key, int64 value);
extern void pfg_json_num(StringInfo buf, const char *key, double value);
extern void pfg_json_bool(StringInfo buf, const char *key, bool value);

#endif							/* PFG_EVENTS_H */
