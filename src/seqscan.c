/*-------------------------------------------------------------------------
 * seqscan.c
 *	  The sequential-scan detector: find the sequential scans of large
 *	  tables in a finished execution, and describe each one (relation,
 *	  filter, rows, candidate index) in a seq_scan event.
 *
 * A scan is judged on the size of the table it read, not on the rows it
 * returned: a scan is flagged when the table holds at least
 * perfguard.seqscan_min_rows rows.  The size is the planner's own
 * estimate: pg_class.reltuples / relpages (the density at the last VACUUM
 * or ANALYZE) times the number of blocks the scan found when it started
 * (so a table that grew since is judged on its size now); for a table
 * never vacuumed nor analyzed, the density comes from the row width, as
 * the planner estimates it.  A scan node that never ran is not flagged.
 *
 * Finding costs a walk of the plan-state tree and, for each sequential
 * scan, a few reads of the relation's cached pg_class row.  Everything
 * else (names, the filter's text, index advice) is done only for an event
 * that passes the rate limit.
 *
 * The filter is deparsed as EXPLAIN prints it (commands/explain.c,
 * show_qual).  The advice is a btree index on the columns the filter
 * compares with values: equality columns first, then one range column.
 *
 * IDENTIFICATION	  src/seqscan.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "catalog/pg_am.h"
#include "catalog/pg_index.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "optimizer/plancat.h"
#include "storage/bufmgr.h"
#include "storage/bufpage.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/ruleutils.h"
#include "utils/syscache.h"

#include "compat.h"
#include "events.h"
#include "guc.h"
#include "seqscan.h"

/* Columns in a candidate index, at most. */
#define PFG_ADVICE_COLUMNS	4

/*
 * table_rows
 *		Estimated rows of the table a sequential scan read; 0 when the scan
 *		never started.  A scan under a Gather whose workers ran may have been
 *		run by the workers only (a single-copy Gather, force_parallel_mode):
 *		the leader's node then has no scan of its own, and the table's
 *		current size is asked of the storage manager.
 */
static double
table_rows(SeqScanState *node, bool by_workers)
{
	TableScanDesc scan = node->ss.ss_currentScanDesc;
	Relation	rel = node->ss.ss_currentRelation;
	BlockNumber nblocks;
	double		density;

	if (rel == NULL || (scan == NULL && !by_workers))
		return 0;
	if (scan == NULL)
		nblocks = RelationGetNumberOfBlocks(rel);
	else if (rel->rd_rel->relam == HEAP_TABLE_AM_OID)
		nblocks = ((HeapScanDesc) scan)->rs_nblocks;
	else
		nblocks = rel->rd_rel->relpages;

	/* cheap answer for small tables: not even full pages reach the limit */
	if ((double) nblocks * MaxHeapTuplesPerPage < pfg_seqscan_min_rows)
		return 0;

	if (rel->rd_rel->reltuples >= 0 && rel->rd_rel->relpages > 0)
		density = rel->rd_rel->reltuples / rel->rd_rel->relpages;
	else
	{
		int32		width = get_rel_data_width(rel, NULL);

		width += MAXALIGN(SizeofHeapTupleHeader) + sizeof(ItemIdData);
		density = (double) (BLCKSZ - SizeOfPageHeaderData) / width;
	}
	return rint(density * nblocks);
}

typedef struct FindContext
{
	PfgSeqScanHits *hits;
	int			flagged;
	bool		by_workers;		/* under a Gather whose workers ran */
} FindContext;

/* Judge one sequential scan node. */
static void
check_scan(SeqScanState *node, FindContext *ctx)
{
	double		rows = table_rows(node, ctx->by_workers);
	Relation	rel;

	if (rows < pfg_seqscan_min_rows || rows <= 0)
		return;
	rel = node->ss.ss_currentRelation;
	if (!pfg_seqscan_ignored(RelationGetNamespace(rel), RelationGetRelationName(rel)))
	{
		if (ctx->flagged < PFG_SEQSCAN_KEEP)
		{
			ctx->hits->node[ctx->flagged] = node;
			ctx->hits->table_rows[ctx->flagged] = rows;
		}
		ctx->flagged++;
	}
}

static void find_scans(PlanState *ps, FindContext *ctx);

/*
 * find_deeper
 *		find_scans one level down (a child that is not a left child): a
 *		plan too deep for the stack is not judged any further, and never
 *		raises an ERROR from here.
 */
static void
find_deeper(PlanState *ps, FindContext *ctx)
{
	if (!stack_is_too_deep())
		find_scans(ps, ctx);
}

/*
 * find_scans
 *		Walk a plan-state tree, reaching the same children as the core's
 *		planstate_tree_walker (nodes/nodeFuncs.c), written out because it
 *		runs at the end of every tracked statement: a one-node plan costs a
 *		dozen instructions.  Left children are followed in the loop.
 */
static void
find_scans(PlanState *ps, FindContext *ctx)
{
	bool		save_by_workers = ctx->by_workers;

	while (ps != NULL)
	{
		ListCell   *lc;

		switch (nodeTag(ps))
		{
			case T_SeqScanState:
				check_scan((SeqScanState *) ps, ctx);
				break;
			case T_GatherState:
				/* what is below ran in the workers too (or only there) */
				if (((GatherState *) ps)->nworkers_launched > 0)
					ctx->by_workers = true;
				break;
			case T_GatherMergeState:
				if (((GatherMergeState *) ps)->nworkers_launched > 0)
					ctx->by_workers = true;
				break;
			case T_AppendState:
				for (int i = 0; i < ((AppendState *) ps)->as_nplans; i++)
					find_deeper(((AppendState *) ps)->appendplans[i], ctx);
				break;
			case T_MergeAppendState:
				for (int i = 0; i < ((MergeAppendState *) ps)->ms_nplans; i++)
					find_deeper(((MergeAppendState *) ps)->mergeplans[i], ctx);
				break;
			case T_BitmapAndState:
				for (int i = 0; i < ((BitmapAndState *) ps)->nplans; i++)
					find_deeper(((BitmapAndState *) ps)->bitmapplans[i], ctx);
				break;
			case T_BitmapOrState:
				for (int i = 0; i < ((BitmapOrState *) ps)->nplans; i++)
					find_deeper(((BitmapOrState *) ps)->bitmapplans[i], ctx);
				break;
			case T_SubqueryScanState:
				find_deeper(((SubqueryScanState *) ps)->subplan, ctx);
				break;
			case T_CustomScanState:
				foreach(lc, ((CustomScanState *) ps)->custom_ps)
					find_deeper((PlanState *) lfirst(lc), ctx);
				break;
			default:
				break;
		}
		foreach(lc, ps->initPlan)
			find_deeper(((SubPlanState *) lfirst(lc))->planstate, ctx);
		foreach(lc, ps->subPlan)
			find_deeper(((SubPlanState *) lfirst(lc))->planstate, ctx);
		if (ps->righttree)
			find_deeper(ps->righttree, ctx);
		ps = ps->lefttree;
	}
	ctx->by_workers = save_by_workers;
}

/*
 * pfg_seqscan_find
 *		Find the flagged sequential scans of a finished execution.  Returns
 *		how many there are; the first PFG_SEQSCAN_KEEP are kept in hits.
 */
int
pfg_seqscan_find(QueryDesc *queryDesc, PfgSeqScanHits *hits)
{
	FindContext ctx;

	ctx.hits = hits;
	ctx.flagged = 0;
	ctx.by_workers = false;
	find_scans(queryDesc->planstate, &ctx);
	hits->count = Min(ctx.flagged, PFG_SEQSCAN_KEEP);
	return ctx.flagged;
}

static inline Node *
strip_relabel(Node *n)
{
	while (n && IsA(n, RelabelType))
		n = (Node *) ((RelabelType *) n)->arg;
	return n;
}

/* A plain column of the scanned relation? */
static inline AttrNumber
scan_column(Node *n, Index scanrelid)
{
	n = strip_relabel(n);
	if (n && IsA(n, Var) && ((Var *) n)->varno == scanrelid &&
		((Var *) n)->varlevelsup == 0 && ((Var *) n)->varattno > 0)
		return ((Var *) n)->varattno;
	return InvalidAttrNumber;
}

/*
 * btree_category
 *		BTEqualStrategyNumber if opno is a btree equality operator,
 *		BTLessStrategyNumber if it is a btree range operator, 0 otherwise.
 */
static int
btree_category(Oid opno)
{
	List	   *interps = pfg_get_op_interpretation(opno);
	ListCell   *lc;
	int			category = 0;

	foreach(lc, interps)
	{
		PfgOpInterpretation *i = (PfgOpInterpretation *) lfirst(lc);
		int			strategy = pfg_interp_strategy(i);

		if (strategy == BTEqualStrategyNumber)
			category = BTEqualStrategyNumber;
		else if (category == 0 && strategy >= BTLessStrategyNumber &&
				 strategy <= BTGreaterStrategyNumber)
			category = BTLessStrategyNumber;
	}
	list_free_deep(interps);
	return category;
}

static void
add_column(AttrNumber *cols, int *n, AttrNumber att)
{
	for (int i = 0; i < *n; i++)
		if (cols[i] == att)
			return;
	if (*n < PFG_ADVICE_COLUMNS)
		cols[(*n)++] = att;
}

/*
 * advice_columns
 *		The columns of a candidate index for these quals (implicitly ANDed):
 *		columns compared with a value by a btree operator, equality first,
 *		then the first range column.  Returns how many.
 */
static int
advice_columns(List *quals, Index scanrelid, AttrNumber *cols)
{
	AttrNumber	eq[PFG_ADVICE_COLUMNS];
	int			neq = 0;
	AttrNumber	range = InvalidAttrNumber;
	ListCell   *lc;
	int			n = 0;

	foreach(lc, quals)
	{
		Node	   *clause = (Node *) lfirst(lc);
		AttrNumber	att = InvalidAttrNumber;
		int			category = 0;

		if (IsA(clause, OpExpr) && list_length(((OpExpr *) clause)->args) == 2)
		{
			OpExpr	   *op = (OpExpr *) clause;
			Node	   *l = linitial(op->args);
			Node	   *r = lsecond(op->args);

			if ((att = scan_column(l, scanrelid)) != InvalidAttrNumber &&
				contain_var_clause(r))
				att = InvalidAttrNumber;
			else if (att == InvalidAttrNumber &&
					 (att = scan_column(r, scanrelid)) != InvalidAttrNumber &&
					 contain_var_clause(l))
				att = InvalidAttrNumber;
			if (att != InvalidAttrNumber)
				category = btree_category(op->opno);
		}
		else if (IsA(clause, ScalarArrayOpExpr))
		{
			ScalarArrayOpExpr *sa = (ScalarArrayOpExpr *) clause;

			att = scan_column(linitial(sa->args), scanrelid);
			if (att != InvalidAttrNumber && sa->useOr &&
				!contain_var_clause(lsecond(sa->args)) &&
				btree_category(sa->opno) == BTEqualStrategyNumber)
				category = BTEqualStrategyNumber;
		}
		else if (IsA(clause, NullTest) &&
				 ((NullTest *) clause)->nulltesttype == IS_NULL)
		{
			att = scan_column((Node *) ((NullTest *) clause)->arg, scanrelid);
			category = BTEqualStrategyNumber;
		}

		if (att == InvalidAttrNumber || category == 0)
			continue;
		if (category == BTEqualStrategyNumber)
			add_column(eq, &neq, att);
		else if (range == InvalidAttrNumber)
			range = att;
	}

	for (int i = 0; i < neq; i++)
		add_column(cols, &n, eq[i]);
	if (range != InvalidAttrNumber)
		add_column(cols, &n, range);
	return n;
}

/*
 * existing_index
 *		The name of a valid index of rel whose first column is att, or NULL.
 */
static char *
existing_index(Relation rel, AttrNumber att)
{
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;
	char	   *name = NULL;

	foreach(lc, indexes)
	{
		Oid			indexoid = lfirst_oid(lc);
		HeapTuple	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(indexoid));
		Form_pg_index index;

		if (!HeapTupleIsValid(tup))
			continue;
		index = (Form_pg_index) GETSTRUCT(tup);
		if (index->indisvalid && index->indnkeyatts > 0 &&
			index->indkey.values[0] == att)
			name = get_rel_name(indexoid);
		ReleaseSysCache(tup);
		if (name)
			break;
	}
	list_free(indexes);
	return name;
}

/*
 * deparse_filter
 *		The scan's filter, as EXPLAIN prints it.
 */
static char *
deparse_filter(QueryDesc *queryDesc, Plan *plan)
{
	PlannedStmt *pstmt = queryDesc->plannedstmt;
	Bitmapset  *rels_used = NULL;
	List	   *rtable_names;
	List	   *context;
	int			nrels = list_length(pstmt->rtable);

	if (nrels > 0)
		rels_used = bms_add_range(NULL, 1, nrels);
	rtable_names = select_rtable_names_for_explain(pstmt->rtable, rels_used);
	context = deparse_context_for_plan_tree(pstmt, rtable_names);
	context = set_deparse_context_plan(context, plan, NIL);
	return deparse_expression((Node *) make_ands_explicit(plan->qual),
							  context, nrels > 1, false);
}

/*
 * record_one
 *		One seq_scan event.
 */
static void
record_one(PfgDetect *d, SeqScanState *node, double rows)
{
	Relation	rel = node->ss.ss_currentRelation;
	Plan	   *plan = node->ss.ps.plan;
	Instrumentation *instr = node->ss.ps.instrument;
	char	   *relname;
	StringInfoData detail;		/* numbers: anyone */
	StringInfoData names;		/* relation, advice: who reads the text */
	StringInfoData constants;	/* the filter: who reads constants */
	PfgEventData ev;

	relname = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
										 RelationGetRelationName(rel));
	initStringInfo(&detail);
	initStringInfo(&names);
	initStringInfo(&constants);

	pfg_json_str(&names, "relation", relname);
	pfg_json_int(&detail, "table_rows", (int64) rows);
	pfg_json_bool(&detail, "full_read", plan->qual == NIL);
	if (instr)
	{
		InstrEndLoop(instr);
		pfg_json_int(&detail, "rows_read", (int64) rint(instr->ntuples + instr->nfiltered1));
		pfg_json_int(&detail, "rows_returned", (int64) rint(instr->ntuples));
		pfg_json_int(&detail, "loops", (int64) rint(instr->nloops));
	}
	else
	{
		pfg_json_str(&detail, "rows_read", NULL);
		pfg_json_str(&detail, "rows_returned", NULL);
		pfg_json_str(&detail, "loops", NULL);
	}
	pfg_json_int(&detail, "estimated_rows_returned", (int64) rint(plan->plan_rows));
	pfg_json_bool(&detail, "parallel", plan->parallel_aware);

	if (plan->qual == NIL)
		pfg_json_str(&names, "index_advice", NULL);
	else
	{
		AttrNumber	cols[PFG_ADVICE_COLUMNS];
		int			ncols = advice_columns(plan->qual,
										   ((Scan *) plan)->scanrelid, cols);
		char	   *exists = ncols > 0 ? existing_index(rel, cols[0]) : NULL;

		if (ncols == 0 || exists)
			pfg_json_str(&names, "index_advice", NULL);
		else
		{
			StringInfoData advice;
			TupleDesc	desc = RelationGetDescr(rel);

			initStringInfo(&advice);
			appendStringInfo(&advice, "CREATE INDEX ON %s (", relname);
			for (int i = 0; i < ncols; i++)
				appendStringInfo(&advice, "%s%s", i > 0 ? ", " : "",
								 quote_identifier(NameStr(TupleDescAttr(desc, cols[i] - 1)->attname)));
			appendStringInfoChar(&advice, ')');
			pfg_json_str(&names, "index_advice", advice.data);
		}
		if (exists)
			pfg_json_str(&names, "existing_index", exists);
		pfg_json_str(&constants, "filter", deparse_filter(d->queryDesc, plan));
	}

	pfg_detect_event(d, PFG_EVENT_SEQ_SCAN, &ev);
	ev.detail = detail.data;
	ev.detail_len = detail.len;
	ev.detail_private = names.data;
	ev.detail_private_len = names.len;
	ev.detail_constants = constants.data;
	ev.detail_constants_len = constants.len;
	pfg_event_add(&ev);
}

/*
 * pfg_seqscan_record
 *		Record a seq_scan event for each flagged scan of the execution,
 *		unless the statement had one within capture_interval.  Allocates in
 *		the caller's (short-lived) memory context.
 */
void
pfg_seqscan_record(PfgDetect *d, PfgSeqScanHits *hits)
{
	if (pfg_throttle_refused(d->queryid, PFG_EVENT_SEQ_SCAN))
		return;
	pfg_detect_text(d);
	if (!pfg_throttle_pass(d->fingerprint, d->queryid, PFG_EVENT_SEQ_SCAN))
		return;
	for (int i = 0; i < hits->count; i++)
		record_one(d, hits->node[i], hits->table_rows[i]);
}
