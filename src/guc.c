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

#include "utils/guc.h"

#include "guc.h"

int			pfg_max_queries = 5000;
int			pfg_query_text_length = 1024;
int			pfg_track = PFG_TRACK_TOP;
bool		pfg_save = true;
bool		pfg_track_utility = true;

static const struct config_enum_entry track_options[] =
{
	{"none", PFG_TRACK_NONE, false},
	{"top", PFG_TRACK_TOP, false},
	{"all", PFG_TRACK_ALL, false},
	{NULL, 0, false}
};

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

	MarkGUCPrefixReserved("perfguard");
}
