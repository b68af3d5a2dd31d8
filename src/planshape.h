/*-------------------------------------------------------------------------
 * planshape.h
 *	  The shape of a plan: its node tree without costs or row counts.
 *
 * IDENTIFICATION	  src/planshape.h
 *-------------------------------------------------------------------------
 */
#ifndef PFG_PLANSHAPE_H
#define PFG_PLANSHAPE_H

#include "nodes/plannodes.h"

extern void pfg_planshape_init(void);
extern uint64 pfg_plan_shape(PlannedStmt *stmt);

#endif							/* PFG_PLANSHAPE_H */
