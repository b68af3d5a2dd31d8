/*-------------------------------------------------------------------------
 * events.c
 *	  The event store: a fixed-size ring of what perfguard's detectors
 *	  report (slow plans, sequential scans, N+1 patterns), its persistence,
 *	  its log output and the SQL functions that read and reset it.
 *
 * The store is one buffer of perfguard.events_memory bytes in shared
 * memory.  Events are variable-size records written one after another;
 * positions are counted in bytes since the store was created (virtual
 * positions, which only grow), and a record lives at position % size.  A
 * record never wraps around the end of the buffer: when it does not fit
 * before the end, the rest of the buffer is filled with a padding record
 * first.  When the buffer is full, the oldest records are dropped, and
 * the number of events dropped is counted.  An event is at most a quarter
 * of the buffer; a plan longer than that is truncated, and the event's
 * detail says so.
 *
 * Locking: pfg_events->lock, held exclusively to add or remove events,
 * shared to read them.  Nothing is allocated, and nothing can fail, while
 * the lock is held: the reading function allocates room for the part of
 * the store in use before it takes the lock, then copies it in one piece.
 *
 * The store is saved to pg_stat/perfguard_events.stat at a clean shutdown
 * and read back at the next start, like the statistics.
 *
 * IDENTIFICATION	  src/events.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>
#include <unistd.h>

#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "dumpfile.h"
#include "capture.h"
#include "events.h"
#include "guc.h"
#include "perfguard.h"
#include "stats.h"

#define PFG_EVENTS_FILE		PGSTAT_STAT_PERMANENT_DIRECTORY "/perfguard_events.stat"
#define PFG_EVENTS_MAGIC	0x50464745	/* "PFGE" */
#define PFG_EVENTS_FORMAT	3	/* 2: details in three parts; 3: drops per
								 * kind */

#define PFG_EVENTS_COLS		13

/* The columns of perfguard.events_internal(), as the C code builds them. */
static const Oid events_types[PFG_EVENTS_COLS] = {
	INT8OID,					/* event_id */
	TIMESTAMPTZOID,				/* event_time */
	TEXTOID,					/* kind */
	OIDOID,						/* dbid */
	OIDOID,						/* userid */
	BOOLOID,					/* toplevel */
	INT8OID,					/* fingerprint */
	INT8OID,					/* queryid */
	TEXTOID,					/* query */
	FLOAT8OID,					/* duration_ms */
	TEXTOID,					/* plan_format */
	TEXTOID,					/* plan */
	JSONBOID					/* detail */
};

/* perfguard.events copies the part of the store in use, and this much more. */
#define PFG_EVENTS_COPY_SLACK	(64 * 1024)

/* One stored event; its four strings follow, each NUL-terminated. */
typedef struct PfgEventRec
{
	uint32		size;			/* bytes of the whole record, MAXALIGNed */
	int16		kind;			/* PfgEventKind; NONE: padding or removed */
	int16		plan_format;
	int64		id;
	TimestampTz time;
	Oid			dbid;
	Oid			userid;
	uint64		fingerprint;
	uint64		queryid;
	double		duration_ms;
	int32		encoding;
	bool		toplevel;
	bool		has_plan;
	bool		plan_truncated;
	bool		detail_truncated;	/* a detail did not fit and was left out */
	int32		query_len;
	int32		plan_len;
	int32		detail_len;
	int32		private_len;
	int32		constants_len;
	bool		has_repeat;		/* the repeat_* fields are set */
	int64		repeat_count;	/* updated in place: pfg_event_update_repeat */
	double		repeat_ms;
	TimestampTz repeat_first;
	TimestampTz repeat_last;
} PfgEventRec;

#define PFG_EVENT_REC_FIXED		MAXALIGN(sizeof(PfgEventRec))

typedef struct PfgEventsShared
{
	LWLock	   *lock;
	uint64		size;			/* bytes in buf */
	uint64		head;			/* virtual position of the oldest record */
	uint64		tail;			/* virtual position of the next record */
	int64		count;			/* events stored */
	int64		next_id;		/* id of the next event */
	int64		dropped;		/* events dropped to make room */
	int64		dropped_kind[PFG_EVENT_KIND_MAX + 1];	/* the same per kind
														 * (0: of no kind
														 * known any more) */
	char		buf[FLEXIBLE_ARRAY_MEMBER];
} PfgEventsShared;

typedef struct PfgEventsDumpHeader
{
	uint32		magic;
	uint32		format;
	uint32		pg_major;
	uint32		rec_fixed;
	int64		count;
	int64		next_id;
	int64		dropped;
	int64		dropped_kind[PFG_EVENT_KIND_MAX + 1];
} PfgEventsDumpHeader;

static PfgEventsShared *pfg_events = NULL;


static const char *const kind_names[] = {
	"removed", "slow_plan", "seq_scan", "n_plus_one", "row_by_row_dml",
	"failed"
};

PG_FUNCTION_INFO_V1(perfguard_events);
PG_FUNCTION_INFO_V1(perfguard_reset_events);
PG_FUNCTION_INFO_V1(perfguard_event_drops);

const char *
pfg_event_kind_name(PfgEventKind kind)
{
	Assert(kind >= 0 && kind <= PFG_EVENT_KIND_MAX);
	return kind_names[kind];
}

static Size
events_buffer_size(void)
{
	return MAXALIGN((Size) pfg_events_memory * 1024);
}

static Size
events_memsize(void)
{
	return add_size(MAXALIGN(offsetof(PfgEventsShared, buf)),
					events_buffer_size());
}

static inline PfgEventRec *
rec_at(uint64 pos)
{
	return (PfgEventRec *) (pfg_events->buf + pos % pfg_events->size);
}

/* The largest record the store takes. */
static inline Size
rec_max(void)
{
	return MAXALIGN_DOWN(pfg_events->size / 4);
}

/*
 * drop_oldest
 *		Remove the record at the head.  Caller holds the lock exclusively.
 */
static void
drop_oldest(void)
{
	PfgEventRec *rec = rec_at(pfg_events->head);

	if (rec->kind != PFG_EVENT_NONE)
	{
		pfg_events->count--;
		pfg_events->dropped++;
		pfg_events->dropped_kind[rec->kind <= PFG_EVENT_KIND_MAX ? rec->kind : 0]++;
	}
	pfg_events->head += rec->size;
}

/*
 * make_room
 *		Reserve size bytes at the tail, dropping old records as needed, and
 *		return where they start.  Caller holds the lock exclusively; size is
 *		at most rec_max().
 */
static PfgEventRec *
make_room(Size size)
{
	uint64		to_end = pfg_events->size - pfg_events->tail % pfg_events->size;
	PfgEventRec *rec;

	if (to_end < size)
	{
		/* pad up to the end of the buffer, so that no record wraps */
		while (pfg_events->size - (pfg_events->tail - pfg_events->head) < to_end)
			drop_oldest();
		rec = rec_at(pfg_events->tail);
		rec->size = to_end;
		rec->kind = PFG_EVENT_NONE;
		pfg_events->tail += to_end;
	}
	while (pfg_events->size - (pfg_events->tail - pfg_events->head) < size)
		drop_oldest();
	rec = rec_at(pfg_events->tail);
	pfg_events->tail += size;
	return rec;
}

/*
 * store_record
 *		Copy a complete record (header and strings) into the ring.  Caller
 *		holds the lock exclusively.
 */
static void
store_record(const PfgEventRec *src)
{
	PfgEventRec *rec = make_room(src->size);

	memcpy(rec, src, src->size);
	pfg_events->count++;
}

/*
 * rec_strings
 *		The five strings of a record.
 */
static inline void
rec_strings(const PfgEventRec *rec, const char **query, const char **plan,
			const char **detail, const char **private, const char **constants)
{
	const char *p = (const char *) rec + PFG_EVENT_REC_FIXED;

	*query = p;
	p += rec->query_len + 1;
	*plan = p;
	p += rec->plan_len + 1;
	*detail = p;
	p += rec->detail_len + 1;
	*private = p;
	p += rec->private_len + 1;
	*constants = p;
}

static inline Size
rec_needed(const PfgEventRec *rec)
{
	return PFG_EVENT_REC_FIXED + rec->query_len + rec->plan_len +
		rec->detail_len + rec->private_len + rec->constants_len + 5;
}

/* Clip len bytes of text to at most max bytes, on a character boundary. */
static int
clip(const char *text, int len, int max)
{
	if (len <= max)
		return len;
	return pg_mbcliplen(text, len, Max(max, 0));
}

static void
log_event(const PfgEventData *ev, int64 id)
{
	ereport(pfg_log_events_level,
			(errmsg("perfguard recorded a %s event",
					pfg_event_kind_name(ev->kind)),
			 errdetail_internal("event_id: %lld, fingerprint: %lld, duration: %.3f ms\n"
								"statement: %.*s\n"
								"detail: {%.*s%s%.*s%s%.*s}%s%.*s",
								(long long) id, (long long) ev->fingerprint,
								Max(ev->duration_ms, 0.0),
								ev->query_len, ev->query,
								ev->detail_len, ev->detail,
								ev->detail_len > 0 && ev->detail_private_len > 0 ? ", " : "",
								ev->detail_private_len, ev->detail_private,
								ev->detail_len + ev->detail_private_len > 0 &&
								ev->detail_constants_len > 0 ? ", " : "",
								ev->detail_constants_len, ev->detail_constants,
								ev->plan ? "\nplan:\n" : "",
								ev->plan ? ev->plan_len : 0,
								ev->plan ? ev->plan : ""),
			 errhidestmt(true)));
}

/*
 * pfg_event_add
 *		Record one event of the current user and database; returns its id.
 *		The record is built in local memory, then copied in under the lock.
 */
int64
pfg_event_add(const PfgEventData *ev)
{
	PfgEventRec *rec;
	Size		max = rec_max();
	int			query_len = clip(ev->query, ev->query_len, pfg_query_text_length - 1);
	int			detail_len = ev->detail_len;
	int			private_len = ev->detail_private_len;
	int			constants_len = ev->detail_constants_len;
	int			plan_len = ev->plan ? ev->plan_len : 0;
	bool		detail_truncated = false;
	bool		plan_truncated = false;
	Size		room = max - PFG_EVENT_REC_FIXED - 5;	/* for the strings */
	char	   *p;
	int64		id;

	/*
	 * An event must fit in a quarter of the store.  The details are JSON,
	 * kept whole or not at all: the public one (numbers and names) first,
	 * then the private one (a filter can be long).  The statement's text
	 * is clipped to what is left, and the plan gets the rest.
	 */
	if ((Size) detail_len > room / 2)
	{
		detail_len = 0;
		detail_truncated = true;
	}
	room -= detail_len;
	if ((Size) private_len > room / 2)
	{
		private_len = 0;
		detail_truncated = true;
	}
	room -= private_len;
	if ((Size) constants_len > room / 2)
	{
		constants_len = 0;
		detail_truncated = true;
	}
	room -= constants_len;
	query_len = clip(ev->query, query_len, Min((Size) query_len, room));
	room -= query_len;
	if ((Size) plan_len > room)
	{
		plan_len = clip(ev->plan, plan_len, room);
		plan_truncated = true;
	}

	rec = palloc0(MAXALIGN(PFG_EVENT_REC_FIXED + query_len + plan_len +
						   detail_len + private_len + constants_len + 5));
	rec->kind = ev->kind;
	rec->plan_format = ev->plan_format;
	rec->time = GetCurrentTimestamp();
	rec->dbid = MyDatabaseId;
	rec->userid = OidIsValid(ev->userid) ? ev->userid : GetUserId();
	rec->fingerprint = ev->fingerprint;
	rec->queryid = ev->queryid;
	rec->duration_ms = ev->duration_ms;
	rec->encoding = GetDatabaseEncoding();
	rec->toplevel = ev->toplevel;
	rec->has_plan = (ev->plan != NULL);
	rec->plan_truncated = plan_truncated;
	rec->detail_truncated = detail_truncated;
	rec->has_repeat = ev->has_repeat;
	rec->repeat_count = ev->repeat_count;
	rec->repeat_ms = ev->repeat_ms;
	rec->repeat_first = ev->repeat_first;
	rec->repeat_last = ev->repeat_last;
	rec->query_len = query_len;
	rec->plan_len = plan_len;
	rec->detail_len = detail_len;
	rec->private_len = private_len;
	rec->constants_len = constants_len;
	rec->size = MAXALIGN(rec_needed(rec));

	p = (char *) rec + PFG_EVENT_REC_FIXED;
	memcpy(p, ev->query, query_len);
	p += query_len + 1;
	if (plan_len > 0)
		memcpy(p, ev->plan, plan_len);
	p += plan_len + 1;
	memcpy(p, ev->detail, detail_len);
	p += detail_len + 1;
	memcpy(p, ev->detail_private, private_len);
	p += private_len + 1;
	memcpy(p, ev->detail_constants, constants_len);

	LWLockAcquire(pfg_events->lock, LW_EXCLUSIVE);
	id = rec->id = pfg_events->next_id++;
	store_record(rec);
	LWLockRelease(pfg_events->lock);

	pfree(rec);

	if (pfg_log_events)
		log_event(ev, id);
	return id;
}

/* A bool of a record, read as the byte it is: true if it is 0 or 1. */
#define REC_BOOL_VALID(rec, field) \
	(*((const uint8 *) (rec) + offsetof(PfgEventRec, field)) <= 1)

/*
 * rec_valid
 *		Is this saved record sound enough to be read back: its sizes and
 *		lengths within the file, its kind known, its bools bools, its
 *		encoding that of a database and its strings NUL-terminated?
 *		rec_problem checks what is in it.
 */
static bool
rec_valid(const PfgEventRec *rec, Size avail)
{
	const char *query,
			   *plan,
			   *detail,
			   *private,
			   *constants;

	if (avail < PFG_EVENT_REC_FIXED || rec->size < PFG_EVENT_REC_FIXED ||
		rec->size > avail || rec->size != MAXALIGN(rec->size) ||
		rec->kind <= PFG_EVENT_NONE || rec->kind > PFG_EVENT_KIND_MAX ||
		rec->query_len < 0 || rec->plan_len < 0 || rec->detail_len < 0 ||
		rec->private_len < 0 || rec->constants_len < 0 ||
		rec_needed(rec) > rec->size ||
		!PG_VALID_BE_ENCODING(rec->encoding) ||
		!REC_BOOL_VALID(rec, toplevel) || !REC_BOOL_VALID(rec, has_plan) ||
		!REC_BOOL_VALID(rec, plan_truncated) ||
		!REC_BOOL_VALID(rec, detail_truncated) ||
		!REC_BOOL_VALID(rec, has_repeat))
		return false;
	rec_strings(rec, &query, &plan, &detail, &private, &constants);
	return query[rec->query_len] == '\0' && plan[rec->plan_len] == '\0' &&
		detail[rec->detail_len] == '\0' && private[rec->private_len] == '\0' &&
		constants[rec->constants_len] == '\0';
}

/*
 * rec_problem
 *		NULL if the contents of a sound saved record (rec_valid) can be
 *		shown by perfguard.events without an ERROR, else why not: its
 *		strings valid in its encoding, its details JSON members as
 *		perfguard writes them (pfg_json_members_problem), its times in
 *		range.  Never raises an ERROR.
 */
static const char *
rec_problem(const PfgEventRec *rec)
{
	static const char *const names[5] = {
		"text", "plan", "detail", "private detail", "constants detail"
	};
	const int	lens[5] = {
		rec->query_len, rec->plan_len, rec->detail_len, rec->private_len,
		rec->constants_len
	};
	const char *strings[5];
	const char *json_problem;

	rec_strings(rec, &strings[0], &strings[1], &strings[2], &strings[3],
				&strings[4]);
	for (int i = 0; i < 5; i++)
	{
		if (!pfg_text_valid(strings[i], lens[i], rec->encoding))
			return psprintf("The %s of saved event %lld is not valid in encoding %s.",
							names[i], (long long) rec->id,
							pg_encoding_to_char(rec->encoding));
	}
	for (int i = 2; i < 5; i++)
	{
		json_problem = pfg_json_members_problem(strings[i], lens[i], rec->encoding);
		if (json_problem != NULL)
			return psprintf("The %s of saved event %lld is not what perfguard writes: %s.",
							names[i], (long long) rec->id, json_problem);
	}
	if (!IS_VALID_TIMESTAMP(rec->time) ||
		!IS_VALID_TIMESTAMP(rec->repeat_first) ||
		!IS_VALID_TIMESTAMP(rec->repeat_last))
		return psprintf("Saved event %lld has a time out of range.",
						(long long) rec->id);
	return NULL;
}

/*
 * events_size_limit
 *		The largest events file load_events reads: see pfg_dump_limit.  A
 *		full store writes its header, at most its size of records, and the
 *		CRC.
 */
static Size
events_size_limit(void)
{
	return pfg_dump_limit((uint64) MAXALIGN(sizeof(PfgEventsDumpHeader)) +
						  events_buffer_size() + sizeof(pg_crc32c));
}

/*
 * load_events
 *		Read the events file into the (empty) store, then remove the file.
 *		Runs in the postmaster at start-up; never raises an ERROR.  Every
 *		record is checked before any is taken (see rec_valid, rec_problem;
 *		ids must grow, as the store's walks assume); one that fails makes
 *		the whole file ignored, as in load_dump (src/stats.c).
 */
static void
load_events(void)
{
	char	   *buf;
	PfgEventsDumpHeader hdr;
	Size		pos;
	Size		body_end;
	int64		n;
	int64		last_id = 0;
	const char *problem = NULL;

	buf = pfg_dump_read(PFG_EVENTS_FILE, "events", PFG_EVENTS_MAGIC,
						MAXALIGN(sizeof(hdr)), events_size_limit(),
						"perfguard.events_memory", &body_end);
	if (buf == NULL)
		return;

	memcpy(&hdr, buf, sizeof(hdr));
	if (hdr.format != PFG_EVENTS_FORMAT ||
		hdr.pg_major != PG_VERSION_NUM / 100 ||
		hdr.rec_fixed != PFG_EVENT_REC_FIXED)
	{
		pfree(buf);
		pfg_dump_reject(PFG_EVENTS_FILE, "events",
						"The file was written by another version of perfguard or of PostgreSQL.");
		return;
	}

	/* Check every record before taking any (records are MAXALIGNed). */
	pos = MAXALIGN(sizeof(hdr));
	for (n = 0; n < hdr.count && pos <= body_end && hdr.next_id >= 1; n++)
	{
		PfgEventRec *rec = (PfgEventRec *) (buf + pos);

		if (!rec_valid(rec, body_end - pos))
			break;
		if (rec->id <= last_id || rec->id >= hdr.next_id)
		{
			problem = "The file's event ids are not in order.";
			break;
		}
		last_id = rec->id;
		problem = rec_problem(rec);
		if (problem != NULL)
			break;
		pos += rec->size;
	}
	if (problem == NULL && (n != hdr.count || pos != body_end || hdr.next_id < 1))
		problem = "The file's events do not match its header.";
	if (problem != NULL)
	{
		pfree(buf);
		pfg_dump_reject(PFG_EVENTS_FILE, "events", problem);
		return;
	}

	/* Oldest first; a smaller store keeps the newest. */
	pos = MAXALIGN(sizeof(hdr));
	for (n = 0; n < hdr.count; n++)
	{
		PfgEventRec *rec = (PfgEventRec *) (buf + pos);

		if (rec->size <= rec_max())
			store_record(rec);
		else
		{
			pfg_events->dropped++;
			pfg_events->dropped_kind[rec->kind <= PFG_EVENT_KIND_MAX ? rec->kind : 0]++;
		}
		pos += rec->size;
	}
	/* a smaller store than before may have dropped some just now */
	pfg_events->next_id = hdr.next_id;
	pfg_events->dropped += hdr.dropped;
	for (int k = 0; k <= PFG_EVENT_KIND_MAX; k++)
		pfg_events->dropped_kind[k] += Max(hdr.dropped_kind[k], 0);
	pfree(buf);
	unlink(PFG_EVENTS_FILE);
}

/*
 * write_events
 *		on_shmem_exit callback of the postmaster: save the store after a
 *		clean shutdown.  Failures are logged, never raised.
 */
static void
write_events(int code, Datum arg)
{
	PfgDumpWriter w;
	PfgEventsDumpHeader hdr;
	char		pad[MAXIMUM_ALIGNOF] = {0};

	if (code != 0 || pfg_events == NULL || !pfg_save || !pfg_clean_shutdown())
		return;

	memset(&hdr, 0, sizeof(hdr));
	hdr.magic = PFG_EVENTS_MAGIC;
	hdr.format = PFG_EVENTS_FORMAT;
	hdr.pg_major = PG_VERSION_NUM / 100;
	hdr.rec_fixed = PFG_EVENT_REC_FIXED;
	hdr.count = pfg_events->count;
	hdr.next_id = pfg_events->next_id;
	hdr.dropped = pfg_events->dropped;
	memcpy(hdr.dropped_kind, pfg_events->dropped_kind, sizeof(hdr.dropped_kind));

	pfg_dump_begin(&w, PFG_EVENTS_FILE);
	pfg_dump_write(&w, &hdr, sizeof(hdr));
	pfg_dump_write(&w, pad, MAXALIGN(sizeof(hdr)) - sizeof(hdr));
	for (uint64 pos = pfg_events->head; pos < pfg_events->tail;)
	{
		PfgEventRec *rec = rec_at(pos);

		if (rec->kind != PFG_EVENT_NONE)
			pfg_dump_write(&w, rec, rec->size);
		pos += rec->size;
	}
	pfg_dump_finish(&w);
}

/*
 * pfg_event_update_repeat
 *		Bring the counters of a repeated-statement event up to date, if the
 *		event is still in the store.  Records can only be walked from the
 *		oldest, and ids grow along the way, so the walk stops at the first
 *		id not below the one sought.  Happens once per reported pattern.
 */
void
pfg_event_update_repeat(int64 id, int64 count, double total_ms,
						TimestampTz last)
{
	LWLockAcquire(pfg_events->lock, LW_EXCLUSIVE);
	for (uint64 pos = pfg_events->head; pos < pfg_events->tail;)
	{
		PfgEventRec *rec = rec_at(pos);

		if (rec->kind != PFG_EVENT_NONE && rec->id >= id)
		{
			if (rec->id == id && rec->has_repeat)
			{
				rec->repeat_count = count;
				rec->repeat_ms = total_ms;
				rec->repeat_last = last;
			}
			break;
		}
		pos += rec->size;
	}
	LWLockRelease(pfg_events->lock);
}

void
pfg_events_shmem_request(void)
{
	RequestAddinShmemSpace(events_memsize());
	RequestNamedLWLockTranche("perfguard events", 1);
}

void
pfg_events_shmem_startup(void)
{
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	pfg_events = ShmemInitStruct("perfguard events", events_memsize(), &found);
	if (!found)
	{
		pfg_events->lock = &(GetNamedLWLockTranche("perfguard events"))->lock;
		pfg_events->size = events_buffer_size();
		pfg_events->head = 0;
		pfg_events->tail = 0;
		pfg_events->count = 0;
		pfg_events->next_id = 1;
		pfg_events->dropped = 0;
		memset(pfg_events->dropped_kind, 0, sizeof(pfg_events->dropped_kind));
	}
	LWLockRelease(AddinShmemInitLock);

	if (!IsUnderPostmaster)
		on_shmem_exit(write_events, (Datum) 0);
	if (found)
		return;
	if (pfg_save)
		load_events();
	else
		unlink(PFG_EVENTS_FILE);
}

/*
 * pfg_events_counts
 *		Events stored and dropped, for perfguard.info().
 */
void
pfg_events_counts(int64 *count, int64 *dropped)
{
	LWLockAcquire(pfg_events->lock, LW_SHARED);
	*count = pfg_events->count;
	*dropped = pfg_events->dropped;
	LWLockRelease(pfg_events->lock);
}

/*
 * rec_text
 *		A string of a record as this database shows it (pfg_text_to_server:
 *		never an ERROR, whatever the database the event was recorded in).
 */
static Datum
rec_text(const PfgEventRec *rec, const char *s, int len)
{
	char	   *conv = pfg_text_to_server(s, len, rec->encoding, false);
	Datum		d = CStringGetTextDatum(conv);

	if (conv != s)
		pfree(conv);
	return d;
}

/*
 * copy_live_region
 *		A copy of the store's records, oldest first, unrolled (palloc'd in
 *		the current context); *used is its size.  Only the part in use is
 *		copied and allocated, not the whole store: its size is read under
 *		the lock, the copy allocated without it (nothing is allocated while
 *		the lock is held), and taken if the region still fits.  Events added
 *		in between can make it grow: after two tries, room for the whole
 *		store is taken, which always fits.
 */
static char *
copy_live_region(uint64 *used)
{
	char	   *copy = NULL;
	uint64		room = 0;
	uint64		start;

	for (int tries = 0;; tries++)
	{
		LWLockAcquire(pfg_events->lock, LW_SHARED);
		*used = pfg_events->tail - pfg_events->head;
		if (copy != NULL && *used <= room)
			break;				/* with the lock held */
		LWLockRelease(pfg_events->lock);
		if (copy != NULL)
			pfree(copy);
		room = (tries < 2) ? Min(*used + PFG_EVENTS_COPY_SLACK, pfg_events->size) :
			pfg_events->size;
		copy = MemoryContextAllocHuge(CurrentMemoryContext, Max(room, 1));
	}

	start = pfg_events->head % pfg_events->size;
	/* the live region, unrolled: from the head to the end, then the rest */
	if (start + *used <= pfg_events->size)
		memcpy(copy, pfg_events->buf + start, *used);
	else
	{
		memcpy(copy, pfg_events->buf + start, pfg_events->size - start);
		memcpy(copy + pfg_events->size - start, pfg_events->buf,
			   *used - (pfg_events->size - start));
	}
	LWLockRelease(pfg_events->lock);
	return copy;
}

/*
 * perfguard_events
 *		One row per stored event, oldest first.  The store is copied in one
 *		piece under the shared lock, then turned into rows without it.
 */
Datum
perfguard_events(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			userid = GetUserId();
	bool		read_constants = pfg_may_read_constants();

	/* who may read constants may read the texts too */
	bool		read_all = read_constants ||
		has_privs_of_role(userid, ROLE_PG_READ_ALL_STATS);
	char	   *copy;
	uint64		used;
	StringInfoData detail;

	pfg_check_loaded();
	pfg_init_materialized_srf(fcinfo);
	pfg_check_result_type(fcinfo, rsinfo->setDesc, events_types, PFG_EVENTS_COLS);

	copy = copy_live_region(&used);

	initStringInfo(&detail);
	for (uint64 pos = 0; pos < used;)
	{
		PfgEventRec *rec = (PfgEventRec *) (copy + pos);
		Datum		values[PFG_EVENTS_COLS];
		bool		nulls[PFG_EVENTS_COLS];
		const char *query,
				   *plan,
				   *det,
				   *private,
				   *constants;
		bool		visible;
		bool		constants_visible;
		int			i = 0;

		pos += rec->size;
		if (rec->kind == PFG_EVENT_NONE)
			continue;
		rec_strings(rec, &query, &plan, &det, &private, &constants);
		visible = read_all || rec->userid == userid;
		constants_visible = read_constants || rec->userid == userid;
		memset(nulls, 0, sizeof(nulls));

		values[i++] = Int64GetDatum(rec->id);
		values[i++] = TimestampTzGetDatum(rec->time);
		values[i++] = CStringGetTextDatum(pfg_event_kind_name(rec->kind));
		values[i++] = ObjectIdGetDatum(rec->dbid);
		values[i++] = ObjectIdGetDatum(rec->userid);
		values[i++] = BoolGetDatum(rec->toplevel);
		values[i++] = Int64GetDatum((int64) rec->fingerprint);
		values[i++] = Int64GetDatum((int64) rec->queryid);
		if (visible)
			values[i++] = rec_text(rec, query, rec->query_len);
		else
			values[i++] = CStringGetTextDatum("<insufficient privilege>");
		if (rec->duration_ms >= 0)
			values[i++] = Float8GetDatum(rec->duration_ms);
		else
			nulls[i++] = true;
		if (rec->has_plan)
			values[i++] = CStringGetTextDatum(rec->plan_format == PFG_FORMAT_JSON ?
											  "json" : "text");
		else
			nulls[i++] = true;
		if (rec->has_plan && constants_visible)
			values[i++] = rec_text(rec, plan, rec->plan_len);
		else
			nulls[i++] = true;

		resetStringInfo(&detail);
		appendStringInfoChar(&detail, '{');
		appendBinaryStringInfo(&detail, det, rec->detail_len);
		if (visible && rec->private_len > 0)
		{
			if (detail.len > 1)
				appendStringInfoString(&detail, ", ");
			appendBinaryStringInfo(&detail, private, rec->private_len);
		}
		if (constants_visible && rec->constants_len > 0)
		{
			if (detail.len > 1)
				appendStringInfoString(&detail, ", ");
			appendBinaryStringInfo(&detail, constants, rec->constants_len);
		}
		if (rec->plan_truncated)
			pfg_json_bool(&detail, "plan_truncated", true);
		if (rec->detail_truncated)
			pfg_json_bool(&detail, "detail_truncated", true);
		if (rec->has_repeat)
		{
			pfg_json_int(&detail, "count", rec->repeat_count);
			pfg_json_num(&detail, "total_ms", rec->repeat_ms);
			pfg_json_str(&detail, "first_at", timestamptz_to_str(rec->repeat_first));
			pfg_json_str(&detail, "last_at", timestamptz_to_str(rec->repeat_last));
		}
		appendStringInfoChar(&detail, '}');
		/* valid JSON (checked at load, or written by perfguard): stays so */
		values[i++] = DirectFunctionCall1(jsonb_in, CStringGetDatum(
						 pfg_text_to_server(detail.data, detail.len, rec->encoding, true)));
		Assert(i == PFG_EVENTS_COLS);

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	pfree(copy);
	return (Datum) 0;
}

/*
 * perfguard_reset_events
 *		Remove every event, or the events of one kind; returns how many.
 *		Removing every event also zeroes the dropped-events counter.
 */
Datum
perfguard_reset_events(PG_FUNCTION_ARGS)
{
	int64		removed = 0;
	int			kind = -1;

	pfg_check_loaded();
	if (!PG_ARGISNULL(0))
	{
		char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));

		for (int k = 1; k <= PFG_EVENT_KIND_MAX; k++)
			if (strcmp(name, kind_names[k]) == 0)
				kind = k;
		if (kind < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("\"%s\" is not a perfguard event kind", name),
					 errhint("The kinds are slow_plan, seq_scan, n_plus_one, row_by_row_dml and failed.")));
	}

	LWLockAcquire(pfg_events->lock, LW_EXCLUSIVE);
	if (kind < 0)
	{
		removed = pfg_events->count;
		pfg_events->head = pfg_events->tail = 0;
		pfg_events->count = 0;
		pfg_events->dropped = 0;
		memset(pfg_events->dropped_kind, 0, sizeof(pfg_events->dropped_kind));
	}
	else
	{
		for (uint64 pos = pfg_events->head; pos < pfg_events->tail;)
		{
			PfgEventRec *rec = rec_at(pos);

			if (rec->kind == kind)
			{
				rec->kind = PFG_EVENT_NONE;
				removed++;
			}
			pos += rec->size;
		}
		pfg_events->count -= removed;
		pfg_events->dropped -= pfg_events->dropped_kind[kind];
		pfg_events->dropped_kind[kind] = 0;
	}
	LWLockRelease(pfg_events->lock);

	/* and the rate limit starts over, so the next events are recorded */
	pfg_throttle_reset(kind < 0 ? PFG_EVENT_NONE : (PfgEventKind) kind);

	PG_RETURN_INT64(removed);
}

/*
 * JSON members for event details: each call appends ", " when the buffer
 * already holds a member, then "key": value.
 */
void
pfg_json_key(StringInfo buf, const char *key)
{
	if (buf->len > 0 && buf->data[buf->len - 1] != '{')
		appendStringInfoString(buf, ", ");
	escape_json(buf, key);
	appendStringInfoString(buf, ": ");
}

void
pfg_json_str(StringInfo buf, const char *key, const char *value)
{
	pfg_json_key(buf, key);
	if (value)
		escape_json(buf, value);
	else
		appendStringInfoString(buf, "null");
}

void
pfg_json_int(StringInfo buf, const char *key, int64 value)
{
	pfg_json_key(buf, key);
	appendStringInfo(buf, INT64_FORMAT, value);
}

void
pfg_json_num(StringInfo buf, const char *key, double value)
{
	pfg_json_key(buf, key);
	if (isnan(value) || isinf(value))
		appendStringInfoString(buf, "null");
	else
		appendStringInfo(buf, "%.3f", value);
}

void
pfg_json_bool(StringInfo buf, const char *key, bool value)
{
	pfg_json_key(buf, key);
	appendStringInfoString(buf, value ? "true" : "false");
}

/*
 * perfguard_event_drops
 *		Events dropped to make room, per kind (every kind, 0 included), in
 *		the order of the kinds.
 */
Datum
perfguard_event_drops(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int64		dropped[PFG_EVENT_KIND_MAX + 1];

	pfg_check_loaded();
	pfg_init_materialized_srf(fcinfo);
	LWLockAcquire(pfg_events->lock, LW_SHARED);
	memcpy(dropped, pfg_events->dropped_kind, sizeof(dropped));
	LWLockRelease(pfg_events->lock);
	for (int k = 1; k <= PFG_EVENT_KIND_MAX; k++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = CStringGetTextDatum(kind_names[k]);
		values[1] = Int64GetDatum(dropped[k]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
