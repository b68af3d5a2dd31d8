/*-------------------------------------------------------------------------
 * budget.c
 *	  Query budgets judged at the end of each execution, when
 *	  perfguard.enforce is warn or error.
 *
 * Budgets live in the table perfguard.budgets of each database (written by
 * perfguard.set_budget and kept by pg_dump).  Reading that table for every
 * statement would cost far more than the statement, so each backend keeps
 * a copy: a hash table from fingerprint to limits, plus the default
 * budget.  The copy is read again
 *
 *	- when a transaction that changed the table commits (a trigger on the
 *	  table marks the transaction; at commit it bumps a counter in shared
 *	  memory, which every backend compares with the value it loaded at;
 *	  every COMMIT PREPARED bumps it too), so a change made on this server
 *	  applies from the next statement of every session;
 *	- at every statement of the transaction that changed it, in that
 *	  backend (its own change, or a savepoint rolled back);
 *	- and at the latest one second after it was read, which covers what
 *	  no trigger sees: a change replayed on a hot standby.
 *
 * The table is read with a fresh MVCC snapshot and without waiting for a
 * lock: if someone holds a conflicting lock on it (ALTER TABLE), the copy
 * is kept and read again at a later statement, so no statement ever waits
 * on the budgets table.  Nothing is read while perfguard.enforce is off.
 *
 * Only the limits that one execution can break are judged here: max_ms,
 * max_rows, max_blocks, max_calls_per_xact, allow_seqscan, allow_nplus1.
 * Limits on aggregates (mean_ms, p95_ms) are judged by
 * perfguard.violations().  A statement's own budget overrides the default
 * budget limit by limit: a limit left NULL in the statement's budget is
 * the default's.
 *
 * IDENTIFICATION	  src/budget.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "storage/lmgr.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "budget.h"
#include "guc.h"

#define ERRCODE_PFG_BUDGET	MAKE_SQLSTATE('P','F','0','0','3')

/* How long a backend's copy of the budgets may be used without a check. */
#define PFG_BUDGET_MAX_AGE	USECS_PER_SEC

typedef enum PfgLimit
{
	PFG_LIMIT_MAX_MS,
	PFG_LIMIT_MAX_ROWS,
	PFG_LIMIT_MAX_BLOCKS,
	PFG_LIMIT_MAX_CALLS_PER_XACT,
	PFG_LIMIT_SEQSCAN,
	PFG_LIMIT_NPLUS1,
	PFG_LIMIT_COUNT
} PfgLimit;

/* The columns of perfguard.budgets read here, in PfgLimit order. */
static const struct
{
	const char *name;
	Oid			type;
}			limit_columns[PFG_LIMIT_COUNT] =
{
	{"max_ms", FLOAT8OID},
	{"max_rows", INT8OID},
	{"max_blocks", INT8OID},
	{"max_calls_per_xact", INT8OID},
	{"allow_seqscan", BOOLOID},
	{"allow_nplus1", BOOLOID},
};

/*
 * One budget's run-time limits.  A limit is set when its bit is; the
 * booleans are stored as 0/1 in value.
 */
typedef struct PfgLimits
{
	uint32		set;			/* bit PfgLimit: the limit is not NULL */
	double		value[PFG_LIMIT_COUNT];
} PfgLimits;

typedef struct PfgBudgetEntry
{
	uint64		fingerprint;	/* hash key */
	PfgLimits	limits;
} PfgBudgetEntry;

/* This backend's copy of the budgets of its database. */
static MemoryContext budget_cxt = NULL;
static HTAB *budget_hash = NULL;
static bool have_default = false;
static PfgLimits default_limits;
static bool loaded = false;
static TimestampTz loaded_at = 0;
static uint64 loaded_generation = 0;
static bool warned_definition = false;

/* This transaction changed the budgets table. */
static bool budgets_changed = false;

PG_FUNCTION_INFO_V1(perfguard_budgets_changed);

/*
 * perfguard_budgets_changed
 *		Statement trigger on perfguard.budgets: the change is announced to
 *		every backend when (if) the transaction commits; this backend reads
 *		the table again at its next statement, to see its own change.
 */
Datum
perfguard_budgets_changed(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("perfguard_budgets_changed() must be called as a trigger")));
	budgets_changed = true;
	return PointerGetDatum(NULL);
}

/*
 * pfg_budget_announce
 *		Tell every backend to read the budgets again: a transaction that
 *		changed them committed (here, or by COMMIT PREPARED, which cannot
 *		know what the prepared transaction changed).
 */
void
pfg_budget_announce(void)
{
	if (pfg_shared != NULL)
		pg_atomic_fetch_add_u64(&pfg_shared->budget_generation, 1);
}

/*
 * pfg_budget_xact
 *		At the end of a transaction (hooks.c's transaction callback, the one
 *		perfguard registers): announce a committed change of the budgets.
 */
void
pfg_budget_xact(XactEvent event)
{
	if (!budgets_changed)
		return;
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			pfg_budget_announce();
			budgets_changed = false;
			loaded = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			/* gone, or not committed yet: forget what was read of it */
			budgets_changed = false;
			loaded = false;
			break;
		default:
			break;
	}
}

/*
 * budgets_relation
 *		The OID of perfguard.budgets in this database, or InvalidOid when
 *		the extension is not installed here.  The extension is not
 *		relocatable: its schema is always perfguard.
 */
static Oid
budgets_relation(void)
{
	Oid			nspid;

	if (!OidIsValid(get_extension_oid("perfguard", true)))
		return InvalidOid;
	nspid = get_namespace_oid("perfguard", true);
	if (!OidIsValid(nspid))
		return InvalidOid;
	return get_relname_relid("budgets", nspid);
}

/*
 * read_limits
 *		The limits of one row; false if the row has no fingerprint column
 *		value (the default budget).
 */
static bool
read_limits(HeapTuple tup, TupleDesc desc, AttrNumber fp_att,
			const AttrNumber *atts, uint64 *fingerprint, PfgLimits *limits)
{
	bool		isnull;
	Datum		d;

	memset(limits, 0, sizeof(PfgLimits));
	for (int i = 0; i < PFG_LIMIT_COUNT; i++)
	{
		d = heap_getattr(tup, atts[i], desc, &isnull);
		if (isnull)
			continue;
		limits->set |= (1 << i);
		switch (limit_columns[i].type)
		{
			case FLOAT8OID:
				limits->value[i] = DatumGetFloat8(d);
				break;
			case INT8OID:
				limits->value[i] = (double) DatumGetInt64(d);
				break;
			default:
				limits->value[i] = DatumGetBool(d) ? 1.0 : 0.0;
				break;
		}
	}
	d = heap_getattr(tup, fp_att, desc, &isnull);
	if (isnull)
		return false;
	*fingerprint = (uint64) DatumGetInt64(d);
	return true;
}

/* The attribute number of a column of the expected type, or 0. */
static AttrNumber
column_of(TupleDesc desc, const char *name, Oid type)
{
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
			return att->atttypid == type ? att->attnum : 0;
	}
	return 0;
}

/*
 * budget_load
 *		Read perfguard.budgets into a new copy.  Returns false, keeping the
 *		old copy, when the table is locked by someone else.  The new copy is
 *		built in a context of its own, under the statement's memory until it
 *		is complete, so an ERROR on the way leaves the old copy in place.
 */
static bool
budget_load(void)
{
	Oid			relid = budgets_relation();
	Relation	rel;
	TupleDesc	desc;
	AttrNumber	fp_att;
	AttrNumber	atts[PFG_LIMIT_COUNT];
	bool		usable = true;
	Snapshot	snapshot;
	SysScanDesc scan;
	HeapTuple	tup;
	MemoryContext cxt;
	HTAB	   *hash;
	HASHCTL		info;
	bool		new_have_default = false;
	PfgLimits	new_default;

	cxt = AllocSetContextCreate(CurrentMemoryContext, "perfguard budgets",
								ALLOCSET_SMALL_SIZES);
	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(uint64);
	info.entrysize = sizeof(PfgBudgetEntry);
	info.hcxt = cxt;
	hash = hash_create("perfguard budgets", 64, &info,
					   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	memset(&new_default, 0, sizeof(new_default));

	if (OidIsValid(relid))
	{
		if (!ConditionalLockRelationOid(relid, AccessShareLock))
		{
			MemoryContextDelete(cxt);
			return false;
		}
		rel = table_open(relid, NoLock);
		desc = RelationGetDescr(rel);
		fp_att = column_of(desc, "fingerprint", INT8OID);
		usable = (fp_att != 0);
		for (int i = 0; i < PFG_LIMIT_COUNT; i++)
		{
			atts[i] = column_of(desc, limit_columns[i].name, limit_columns[i].type);
			usable = usable && atts[i] != 0;
		}

		if (usable)
		{
			snapshot = RegisterSnapshot(GetLatestSnapshot());
			scan = systable_beginscan(rel, InvalidOid, false, snapshot, 0, NULL);
			while ((tup = systable_getnext(scan)) != NULL)
			{
				uint64		fingerprint;
				PfgLimits	limits;
				PfgBudgetEntry *entry;

				if (!read_limits(tup, desc, fp_att, atts, &fingerprint, &limits))
				{
					new_have_default = true;
					new_default = limits;
					continue;
				}
				entry = hash_search(hash, &fingerprint, HASH_ENTER, NULL);
				entry->limits = limits;
			}
			systable_endscan(scan);
			UnregisterSnapshot(snapshot);
		}
		table_close(rel, AccessShareLock);

		if (!usable && !warned_definition)
		{
			warned_definition = true;
			ereport(WARNING,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("perfguard cannot enforce budgets: table perfguard.budgets does not have the columns it expects"),
					 errdetail("A column perfguard reads is missing or has another type."),
					 errhint("Recreate the extension, or restore the table's definition from perfguard's installation script.")));
		}
	}

	/* complete: make it the copy */
	MemoryContextSetParent(cxt, TopMemoryContext);
	if (budget_cxt != NULL)
		MemoryContextDelete(budget_cxt);
	budget_cxt = cxt;
	budget_hash = hash;
	have_default = new_have_default;
	default_limits = new_default;
	return true;
}

/*
 * budget_refresh
 *		Make sure the copy is fresh enough, reading the table if it is not.
 *		In a transaction that changed the budgets, the table is read at
 *		every statement: the change becomes visible to this backend only
 *		at its next command, and a ROLLBACK TO SAVEPOINT can take it back.
 */
static void
budget_refresh(void)
{
	TimestampTz now = GetCurrentStatementStartTimestamp();
	uint64		generation = pg_atomic_read_u64(&pfg_shared->budget_generation);

	if (loaded && !budgets_changed && generation == loaded_generation &&
		now >= loaded_at && now - loaded_at < PFG_BUDGET_MAX_AGE)
		return;
	if (budget_load())
	{
		loaded = true;
		loaded_at = now;
		loaded_generation = generation;
	}
}

/* One limit broken by an execution. */
typedef struct PfgBreach
{
	PfgLimit	limit;
	double		value;			/* what the execution did */
	double		bound;			/* what the budget allows */
	bool		from_default;
} PfgBreach;

/* The words for one broken limit, e.g. "ran 25.312 ms, max_ms is 10". */
static char *
breach_words(const PfgBreach *b, const PfgFound *found)
{
	switch (b->limit)
	{
		case PFG_LIMIT_MAX_MS:
			return psprintf("ran %.3f ms, max_ms is %g", b->value, b->bound);
		case PFG_LIMIT_MAX_ROWS:
			return psprintf("processed %.0f rows, max_rows is %.0f", b->value, b->bound);
		case PFG_LIMIT_MAX_BLOCKS:
			return psprintf("touched %.0f shared blocks, max_blocks is %.0f", b->value, b->bound);
		case PFG_LIMIT_MAX_CALLS_PER_XACT:
			return psprintf("ran %.0f times in this transaction, max_calls_per_xact is %.0f",
							b->value, b->bound);
		case PFG_LIMIT_SEQSCAN:
			return pstrdup("read a large table with a sequential scan, allow_seqscan is false");
		case PFG_LIMIT_NPLUS1:
			return psprintf("repeated as %s, allow_nplus1 is false",
							found->row_by_row ? "row-by-row writing" : "an N+1 pattern");
		default:
			break;
	}
	return pstrdup("?");
}

/*
 * pfg_budget_prepare
 *		Make the backend's copy of the budgets fresh enough for the
 *		execution that is starting.  Called at ExecutorStart, where the
 *		table can be read: never in parallel mode (a statement run by a
 *		function inside a parallel query), where a snapshot cannot be
 *		taken; the copy read before is used then.  The end of an execution
 *		(ExecutorRun, ExecutorEnd) reads nothing.  The caller calls it only
 *		when budgets are enforced.
 */
void
pfg_budget_prepare(void)
{
	if (pfg_shared != NULL && !IsInParallelMode())
		budget_refresh();
}

/*
 * limit_from
 *		The limits that give limit i of a statement: its own budget's, else
 *		the default budget's; NULL if neither sets it.
 */
static const PfgLimits *
limit_from(const PfgBudgetEntry *entry, int i)
{
	if (entry != NULL && (entry->limits.set & (1 << i)))
		return &entry->limits;
	if (have_default && (default_limits.set & (1 << i)))
		return &default_limits;
	return NULL;
}

/* The limits one execution can break while it is still being fetched. */
#define RUNNING_LIMIT(i) \
	((i) == PFG_LIMIT_MAX_MS || (i) == PFG_LIMIT_MAX_ROWS || \
	 (i) == PFG_LIMIT_MAX_BLOCKS)

/* What the detectors found in an execution still being fetched: nothing. */
static const PfgFound no_findings;

/*
 * limit_broken
 *		Does an execution break limit i, whose bound is from's?  *value is
 *		what the limit measures (for the report).
 */
static bool
limit_broken(PfgLimit i, const PfgLimits *from, double ms, uint64 rows,
			 int64 blocks, const PfgFound *found, double *value)
{
	*value = 0;
	switch (i)
	{
		case PFG_LIMIT_MAX_MS:
			*value = ms;
			return ms > from->value[i];
		case PFG_LIMIT_MAX_ROWS:
			*value = (double) rows;
			return *value > from->value[i];
		case PFG_LIMIT_MAX_BLOCKS:
			*value = (double) blocks;
			return *value > from->value[i];
		case PFG_LIMIT_MAX_CALLS_PER_XACT:
			/* once per transaction: at the first execution over it */
			*value = (double) found->xact_calls;
			return found->xact_calls > 0 &&
				*value == floor(from->value[i]) + 1;
		case PFG_LIMIT_SEQSCAN:
			return found->seq_scan && from->value[i] == 0.0;
		case PFG_LIMIT_NPLUS1:
			return (found->n_plus_one || found->row_by_row) &&
				from->value[i] == 0.0;
		default:
			return false;
	}
}

/*
 * pfg_budget_breaks
 *		Has an execution being fetched in pieces broken max_ms, max_rows or
 *		max_blocks by now?  Judges only; reports nothing.
 */
bool
pfg_budget_breaks(uint64 fingerprint, double ms, uint64 rows, int64 blocks)
{
	PfgBudgetEntry *entry;

	if (fingerprint == 0)
		return false;
	entry = budget_hash ? hash_search(budget_hash, &fingerprint, HASH_FIND, NULL) : NULL;
	if (entry == NULL && !have_default)
		return false;
	for (int i = 0; i < PFG_LIMIT_COUNT; i++)
	{
		const PfgLimits *from;
		double		value;

		if (RUNNING_LIMIT(i) && (from = limit_from(entry, i)) != NULL &&
			limit_broken((PfgLimit) i, from, ms, rows, blocks, &no_findings,
						 &value))
			return true;
	}
	return false;
}

/*
 * pfg_budget_enforce
 *		Judge an execution against its budget (its own, else the default)
 *		and send a WARNING, or raise an ERROR, when it broke one or more
 *		limits.  Returns true if it reported something.
 *
 *		running: the execution is being fetched in pieces (a cursor, a
 *		portal with a row limit) and found is NULL: judge only what it has
 *		done so far (max_ms, max_rows, max_blocks), so that the fetch that
 *		crosses a limit is the one that fails.  skip_running: those three
 *		were reported already.  may_fail false: the statement that ran the
 *		query is over (a cursor dropped at COMMIT), so an ERROR becomes a
 *		WARNING; a budget never fails a COMMIT.
 */
bool
pfg_budget_enforce(uint64 fingerprint, double ms, uint64 rows, int64 blocks,
				   const PfgFound *found, bool running, bool skip_running,
				   bool may_fail)
{
	PfgBudgetEntry *entry;
	PfgBreach	breaches[PFG_LIMIT_COUNT];
	int			nbreaches = 0;
	StringInfoData detail;

	if (pfg_enforce_level() == PFG_ENFORCE_OFF || fingerprint == 0)
		return false;
	entry = budget_hash ? hash_search(budget_hash, &fingerprint, HASH_FIND, NULL) : NULL;
	if (entry == NULL && !have_default)
		return false;
	if (found == NULL)
		found = &no_findings;

	for (int i = 0; i < PFG_LIMIT_COUNT; i++)
	{
		const PfgLimits *from;
		double		value;

		if (running ? !RUNNING_LIMIT(i) : (skip_running && RUNNING_LIMIT(i)))
			continue;
		if ((from = limit_from(entry, i)) == NULL)
			continue;
		if (limit_broken((PfgLimit) i, from, ms, rows, blocks, found, &value))
		{
			breaches[nbreaches].limit = (PfgLimit) i;
			breaches[nbreaches].value = value;
			breaches[nbreaches].bound = from->value[i];
			breaches[nbreaches].from_default = (from == &default_limits);
			nbreaches++;
		}
	}
	if (nbreaches == 0)
		return false;

	initStringInfo(&detail);
	appendStringInfoString(&detail, breaches[0].from_default ?
						   "The limit is the default budget's." :
						   "The limit is the statement's own budget.");
	for (int i = 1; i < nbreaches; i++)
		appendStringInfo(&detail, " It also %s%s.",
						 breach_words(&breaches[i], found),
						 breaches[i].from_default ? " (default budget)" : "");

	ereport((pfg_enforce_level() == PFG_ENFORCE_ERROR && may_fail) ? ERROR : WARNING,
			(errcode(ERRCODE_PFG_BUDGET),
			 errmsg("statement with fingerprint %lld broke its perfguard budget: it %s",
					(long long) (int64) fingerprint,
					breach_words(&breaches[0], found)),
			 errdetail_internal("%s", detail.data),
			 errhint("Make the statement cheaper, or change its budget with perfguard.set_budget().")));
	return true;
}
