/*-------------------------------------------------------------------------
 * perfguard.c
 *	  Module entry point.
 *
 * perfguard does its work in shared memory and executor hooks, so it acts
 * only when loaded through shared_preload_libraries.  Loaded any other way
 * (for instance by calling one of its SQL functions), _PG_init returns
 * quietly, and every SQL function then raises an ERROR that names the
 * setting -- the same behaviour as pg_stat_statements.
 *
 * IDENTIFICATION	  src/perfguard.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"

#include "compat.h"
#include PFG_QUERYJUMBLE_HEADER
#include "capture.h"
#include "events.h"
#include "guc.h"
#include "nplus1.h"
#include "perfguard.h"
#include "stats.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * _PG_init
 *		Define the parameters, ask for the core queryid, and install the
 *		shared-memory and executor hooks.
 */
void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;

	pfg_define_gucs();

	/* perfguard keys its statistics on the core queryid. */
	EnableQueryId();
	if (compute_query_id == COMPUTE_QUERY_ID_OFF)
		ereport(WARNING,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("perfguard records no statements while compute_query_id is off"),
				 errdetail("perfguard identifies statements by the query identifier that the server computes."),
				 errhint("Set compute_query_id to \"auto\" (the default) or \"on\".")));

	pfg_stats_init();
	pfg_events_init();
	pfg_capture_init();
	pfg_nplus1_init();
	pfg_hooks_init();
}
