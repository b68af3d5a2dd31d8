/*-------------------------------------------------------------------------
 * guc.c
 *	  Every perfguard.* configuration parameter, in one place.
 *
 * Parameters that size shared memory are PGC_POSTMASTER; parameters that
 * decide what is recorded are PGC_SUSET, so that an ordinary user can
 * neither hide statements from perfguard nor make it record more.  Every
 * parameter is documented in docs/configuration.md and pinned by
 * test/sql/guc.sql.
 *
 * IDENTIFICATION	  src/guc.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/varlena.h"

#include "compat.h"
#include "guc.h"

int			pfg_max_queries = 5000;
int			pfg_query_text_length = 1024;
int			pfg_track = PFG_TRACK_TOP;
bool		pfg_save = true;
bool		pfg_track_utility = true;
int			pfg_events_memory = 2048;
bool		pfg_log_events = false;
int			pfg_log_events_level = LOG;
int			pfg_capture_min_duration = 1000;
int			pfg_capture_mode = PFG_CAPTURE_ADAPTIVE;
bool		pfg_capture_analyze = true;
bool		pfg_capture_buffers = true;
bool		pfg_capture_timing = false;
int			pfg_capture_format = PFG_FORMAT_TEXT;
double		pfg_capture_sample_rate = 1.0;
bool		pfg_capture_nested = false;
int			pfg_capture_interval = 60;
int			pfg_seqscan_min_rows = 10000;
char	   *pfg_seqscan_ignore = NULL;
int			pfg_nplus1_threshold = 10;
int			pfg_row_by_row_threshold = 50;
int			pfg_nplus1_window = 1000;
int			pfg_nplus1_action = PFG_NPLUS1_LOG;
int			pfg_nplus1_action_floor = PFG_NPLUS1_LOG;
int			pfg_enforce = PFG_ENFORCE_OFF;
int			pfg_enforce_floor = PFG_ENFORCE_OFF;

/*
 * The parsed perfguard.seqscan_ignore: count, then that many NUL-terminated
 * names, each "relation" or "schema.relation", folded as identifiers are.
 */
typedef struct PfgIgnoreList
{
	int			count;
	char		names[FLEXIBLE_ARRAY_MEMBER];
} PfgIgnoreList;

static PfgIgnoreList *seqscan_ignore_list = NULL;

static const struct config_enum_entry track_options[] =
{
	{"none", PFG_TRACK_NONE, false},
	{"top", PFG_TRACK_TOP, false},
	{"all", PFG_TRACK_ALL, false},
	{NULL, 0, false}
};

static const struct config_enum_entry capture_mode_options[] =
{
	{"adaptive", PFG_CAPTURE_ADAPTIVE, false},
	{"always", PFG_CAPTURE_ALWAYS, false},
	{NULL, 0, false}
};

static const struct config_enum_entry enforce_options[] =
{
	{"off", PFG_ENFORCE_OFF, false},
	{"warn", PFG_ENFORCE_WARN, false},
	{"warning", PFG_ENFORCE_WARN, true},
	{"error", PFG_ENFORCE_ERROR, false},
	{"false", PFG_ENFORCE_OFF, true},
	{"no", PFG_ENFORCE_OFF, true},
	{"0", PFG_ENFORCE_OFF, true},
	{NULL, 0, false}
};

static const struct config_enum_entry nplus1_action_options[] =
{
	{"log", PFG_NPLUS1_LOG, false},
	{"warn", PFG_NPLUS1_WARN, false},
	{"warning", PFG_NPLUS1_WARN, true},
	{"error", PFG_NPLUS1_ERROR, false},
	{NULL, 0, false}
};

static const struct config_enum_entry format_options[] =
{
	{"text", PFG_FORMAT_TEXT, false},
	{"json", PFG_FORMAT_JSON, false},
	{NULL, 0, false}
};

/* The levels auto_explain offers for its log output, and the same names. */
static const struct config_enum_entry log_level_options[] =
{
	{"debug5", DEBUG5, false},
	{"debug4", DEBUG4, false},
	{"debug3", DEBUG3, false},
	{"debug2", DEBUG2, false},
	{"debug1", DEBUG1, false},
	{"debug", DEBUG2, true},
	{"info", INFO, false},
	{"notice", NOTICE, false},
	{"warning", WARNING, false},
	{"log", LOG, false},
	{NULL, 0, false}
};

/*
 * check_seqscan_ignore
 *		Parse a comma-separated list of relation names into the flat form
 *		that pfg_seqscan_ignored() reads.
 */
static bool
check_seqscan_ignore(char **newval, void **extra, GucSource source)
{
	char	   *raw;
	List	   *names;
	ListCell   *lc;
	Size		size = offsetof(PfgIgnoreList, names);
	PfgIgnoreList *list;
	char	   *p;

	raw = pstrdup(*newval ? *newval : "");
	if (!SplitIdentifierString(raw, ',', &names))
	{
		GUC_check_errdetail("List syntax is invalid.");
		pfree(raw);
		list_free(names);
		return false;
	}
	foreach(lc, names)
		size += strlen((char *) lfirst(lc)) + 1;

	list = (PfgIgnoreList *) pfg_guc_malloc(size);	/* GUC "extra" memory */
	if (list == NULL)
		return false;
	list->count = list_length(names);
	p = list->names;
	foreach(lc, names)
	{
		strcpy(p, (char *) lfirst(lc));
		p += strlen(p) + 1;
	}
	pfree(raw);
	list_free(names);
	*extra = list;
	return true;
}

static void
assign_seqscan_ignore(const char *newval, void *extra)
{
	seqscan_ignore_list = (PfgIgnoreList *) extra;
}

/*
 * check_threshold
 *		A repetition threshold is -1 (off) or at least 2: one execution is
 *		not a repetition.
 */
static bool
check_threshold(int *newval, void **extra, GucSource source)
{
	if (*newval == 0 || *newval == 1)
	{
		GUC_check_errdetail("The threshold must be -1 (off) or at least 2.");
		return false;
	}
	return true;
}

/*
 * pfg_seqscan_ignored
 *		Is this relation listed in perfguard.seqscan_ignore?  An entry with
 *		a dot names schema.relation, one without names a relation in any
 *		schema.  The schema's name is looked up only when an entry with a
 *		dot has to be compared (the check runs for every large scan).
 */
bool
pfg_seqscan_ignored(Oid nspid, const char *relname)
{
	const char *p;
	char	   *nspname = NULL;
	bool		ignored = false;

	if (seqscan_ignore_list == NULL)
		return false;
	p = seqscan_ignore_list->names;
	for (int i = 0; i < seqscan_ignore_list->count; i++)
	{
		const char *dot = strchr(p, '.');

		if (dot == NULL)
		{
			if (strcmp(p, relname) == 0)
			{
				ignored = true;
				break;
			}
		}
		else if (strcmp(dot + 1, relname) == 0)
		{
			if (nspname == NULL)
				nspname = get_namespace_name(nspid);
			if (nspname != NULL && strncmp(p, nspname, dot - p) == 0 &&
				nspname[dot - p] == '\0')
			{
				ignored = true;
				break;
			}
		}
		p += strlen(p) + 1;
	}
	if (nspname)
		pfree(nspname);
	return ignored;
}

/*
 * pfg_define_gucs
 *		Register every perfguard.* parameter.  Called once from _PG_init.
 */
void
pfg_define_gucs(void)
{
	DefineCustomIntVariable("perfguard.max_queries",
							"Sets the maximum number of statements tracked by perfguard.",
							"When the table is full, the least-used statements are evicted.",
							&pfg_max_queries,
							5000, 100, INT_MAX / 2,
							PGC_POSTMASTER, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("perfguard.query_text_length",
							"Sets the number of bytes of each statement's normalized text that perfguard keeps.",
							"Longer texts are truncated; the fingerprint is always computed from the whole text.",
							&pfg_query_text_length,
							1024, 64, 1024 * 1024,
							PGC_POSTMASTER, GUC_UNIT_BYTE,
							NULL, NULL, NULL);

	DefineCustomEnumVariable("perfguard.track",
							 "Selects which statements perfguard tracks.",
							 "none tracks nothing, top only statements issued by clients, all also statements run inside functions.",
							 &pfg_track,
							 PFG_TRACK_TOP, track_options,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("perfguard.track_utility",
							 "Times utility commands (DDL, COPY, CALL, ...) too.",
							 "Statements that a utility command runs count as nested whether or not this is on.",
							 &pfg_track_utility,
							 true,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("perfguard.save",
							 "Saves perfguard's statistics across server shutdowns.",
							 NULL,
							 &pfg_save,
							 true,
							 PGC_SIGHUP, 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("perfguard.events_memory",
							"Sets the shared memory that holds perfguard's events.",
							"When it is full, the oldest events are dropped first.",
							&pfg_events_memory,
							2048, 64, INT_MAX / 1024,
							PGC_POSTMASTER, GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("perfguard.log_events",
							 "Writes every event perfguard records to the server log too.",
							 NULL,
							 &pfg_log_events,
							 false,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomEnumVariable("perfguard.log_events_level",
							 "Sets the message level of events written to the server log.",
							 NULL,
							 &pfg_log_events_level,
							 LOG, log_level_options,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("perfguard.capture_min_duration",
							"Sets the execution time above which a statement's plan is captured.",
							"-1 turns plan capture off; 0 captures every statement.",
							&pfg_capture_min_duration,
							1000, -1, INT_MAX,
							PGC_SUSET, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomEnumVariable("perfguard.capture_mode",
							 "Selects when statements run with per-node instrumentation.",
							 "adaptive instruments only the next executions of a statement that was slow; always instruments every statement.",
							 &pfg_capture_mode,
							 PFG_CAPTURE_ADAPTIVE, capture_mode_options,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("perfguard.capture_analyze",
							 "Captures plans with actual row counts (EXPLAIN ANALYZE).",
							 "When off, captured plans show the planner's estimates only and no statement is instrumented.",
							 &pfg_capture_analyze,
							 true,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("perfguard.capture_buffers",
							 "Includes buffer usage in plans captured with actual row counts.",
							 NULL,
							 &pfg_capture_buffers,
							 true,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("perfguard.capture_timing",
							 "Includes per-node timing in plans captured with actual row counts.",
							 "Per-node timing reads the clock twice per row of every node, which can double the run time of some statements.",
							 &pfg_capture_timing,
							 false,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomEnumVariable("perfguard.capture_format",
							 "Selects the format of captured plans.",
							 NULL,
							 &pfg_capture_format,
							 PFG_FORMAT_TEXT, format_options,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomRealVariable("perfguard.capture_sample_rate",
							 "Sets the fraction of slow statements whose plan is captured.",
							 NULL,
							 &pfg_capture_sample_rate,
							 1.0, 0.0, 1.0,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("perfguard.capture_nested",
							 "Captures the plans of statements run inside functions too.",
							 NULL,
							 &pfg_capture_nested,
							 false,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("perfguard.capture_interval",
							"Sets the minimum time between two events of the same kind for the same statement.",
							"Executions in between are still counted in perfguard.stats.  0 records every event.",
							&pfg_capture_interval,
							60, 0, INT_MAX / 1000,
							PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("perfguard.seqscan_min_rows",
							"Sets the table size, in rows, from which a sequential scan is flagged.",
							"-1 turns the sequential-scan detector off.",
							&pfg_seqscan_min_rows,
							10000, -1, INT_MAX,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomStringVariable("perfguard.seqscan_ignore",
							   "Lists relations whose sequential scans are never flagged.",
							   "A comma-separated list of names, each \"relation\" or \"schema.relation\".",
							   &pfg_seqscan_ignore,
							   "",
							   PGC_SUSET, GUC_LIST_INPUT,
							   check_seqscan_ignore, assign_seqscan_ignore, NULL);

	DefineCustomIntVariable("perfguard.nplus1_threshold",
							"Sets how many executions of the same SELECT in one transaction make an N+1 pattern.",
							"-1 turns the N+1 detector off.",
							&pfg_nplus1_threshold,
							10, -1, INT_MAX,
							PGC_SUSET, 0,
							check_threshold, NULL, NULL);

	DefineCustomIntVariable("perfguard.row_by_row_threshold",
							"Sets how many executions of the same single-row INSERT, UPDATE or DELETE in one transaction make row-by-row writing.",
							"-1 turns this detector off.",
							&pfg_row_by_row_threshold,
							50, -1, INT_MAX,
							PGC_SUSET, 0,
							check_threshold, NULL, NULL);

	DefineCustomIntVariable("perfguard.nplus1_window",
							"Sets the longest pause between autocommit statements that still belong to one burst.",
							"Outside transaction blocks, repeated statements are counted per burst of statements separated by less than this.  0 counts them in transaction blocks only.",
							&pfg_nplus1_window,
							1000, 0, INT_MAX,
							PGC_SUSET, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomEnumVariable("perfguard.nplus1_action",
							 "Selects what happens when a statement completes an N+1 or row-by-row pattern.",
							 "log records an event; warn also sends a WARNING; error also fails the statement.",
							 &pfg_nplus1_action,
							 PFG_NPLUS1_LOG, nplus1_action_options,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);

	DefineCustomEnumVariable("perfguard.enforce",
							 "Selects what happens when a statement breaks its budget.",
							 "off judges nothing at run time; warn sends a WARNING; error fails the statement. "
							 "Limits on one execution are judged: max_ms, max_rows, max_blocks, "
							 "max_calls_per_xact, allow_seqscan, allow_nplus1.",
							 &pfg_enforce,
							 PFG_ENFORCE_OFF, enforce_options,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);

	/*
	 * The floors: set by superusers (also through ALTER ROLE/DATABASE ...
	 * SET), the level applied is the stricter of the floor and the
	 * session's own setting, so a session can make enforcement stricter,
	 * never looser.
	 */
	DefineCustomEnumVariable("perfguard.enforce_floor",
							 "Sets the least that perfguard.enforce does, whatever a session sets.",
							 "The level applied is the stricter of perfguard.enforce and this.  Only superusers can set it.",
							 &pfg_enforce_floor,
							 PFG_ENFORCE_OFF, enforce_options,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomEnumVariable("perfguard.nplus1_action_floor",
							 "Sets the least that perfguard.nplus1_action does, whatever a session sets.",
							 "The action applied is the stricter of perfguard.nplus1_action and this.  Only superusers can set it.",
							 &pfg_nplus1_action_floor,
							 PFG_NPLUS1_LOG, nplus1_action_options,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	MarkGUCPrefixReserved("perfguard");
}
