/*-------------------------------------------------------------------------
 * budget.h
 *	  Query budgets judged at run time (perfguard.enforce).
 *
 * IDENTIFICATION	  src/budget.h
 *-------------------------------------------------------------------------
 */
#ifndef PFG_BUDGET_H
#define PFG_BUDGET_H

#include "access/xact.h"

#include "stats.h"

extern void pfg_budget_xact(XactEvent event);
extern void pfg_budget_announce(void);
extern void pfg_budget_prepare(void);
extern bool pfg_budget_breaks(uint64 fingerprint, double ms, uint64 rows,
							  int64 blocks);
extern bool pfg_budget_enforce(uint64 fingerprint, double ms, uint64 rows,
							   int64 blocks, const PfgFound *found,
							   bool running, bool skip_running, bool may_fail);

#endif							/* PFG_BUDGET_H */
