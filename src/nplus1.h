/*-------------------------------------------------------------------------
 * nplus1.h
 *	  The N+1 and row-by-row detector.
 *
 * IDENTIFICATION	  src/nplus1.h
 *-------------------------------------------------------------------------
 */
#ifndef PFG_NPLUS1_H
#define PFG_NPLUS1_H

#include "nodes/nodes.h"

#include "capture.h"

/* What one execution completed, for the caller to act on. */
typedef struct PfgRepeatFound
{
	PfgEventKind kind;			/* PFG_EVENT_NONE: nothing */
	int64		count;
	bool		in_xact;		/* counted in a transaction block */
	char	   *query;			/* normalized text of the statement */
	char	   *parent;			/* normalized text of its parent, or NULL */
	int64		parent_rows;	/* -1: unknown */
} PfgRepeatFound;

extern void pfg_nplus1_xact_end(void);
/*
 * The queryid of the client's statement under way, whose nested statements
 * name it as their parent.  Only the queryid is kept: its text belongs to
 * its portal, which can be gone by the time a nested statement of another
 * portal reports (hooks.c finds the text of an execution still under way).
 */
extern uint64 pfg_nplus1_top_queryid;

static inline void
pfg_nplus1_top(uint64 queryid)
{
	pfg_nplus1_top_queryid = queryid;
}

/* hooks.c: the text of the client's statement under way */
extern bool pfg_top_statement(uint64 queryid, const char **text,
							  int *location, int *len, bool *utility);
extern void pfg_nplus1_exec(PfgDetect *d, CmdType operation, double ms,
							PfgRepeatFound *found, int64 *xact_calls);
extern void pfg_nplus1_act(const PfgRepeatFound *found, bool may_fail);

#endif							/* PFG_NPLUS1_H */
