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
#include "storage/ipc.h"

#include "compat.h"
#include PFG_QUERYJUMBLE_HEADER
#include "budget.h"
#include "capture.h"
#include "events.h"
#include "guc.h"
#include "nplus1.h"
#include "perfguard.h"
#include "planshape.h"
#include "stats.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/*
 * pfg_shmem_request, pfg_shmem_startup
 *		perfguard's one pair of shared-memory hooks: each part (statistics,
 *		event store, capture state) asks for its memory and lock, then
 *		creates or attaches to its state.
 */
static void
pfg_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	pfg_stats_shmem_request();
	pfg_events_shmem_request();
	pfg_capture_shmem_request();
}

static void
pfg_shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	pfg_stats_shmem_startup();
	pfg_events_shmem_startup();
	pfg_capture_shmem_startup();
}

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

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = pfg_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = pfg_shmem_startup;
	pfg_planshape_init();
	pfg_hooks_init();
}
