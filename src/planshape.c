/*-------------------------------------------------------------------------
 * planshape.c
 *	  The shape of a plan, as a 64-bit hash: which nodes, in which tree,
 *	  scanning which relations through which indexes, with which join and
 *	  aggregation strategies.  Costs, row estimates, expressions and
 *	  parameter values are left out, so the same plan chosen again has the
 *	  same shape, and a different plan (an index scan become a sequential
 *	  scan, a nested loop become a hash join) has another.
 *
 * Relations and indexes enter the shape by name, not by OID, so the same
 * plan on another cluster (a CI database built from the same migrations)
 * has the same shape.  Node types enter by their number in the server's
 * NodeTag list, which is the same across the minor releases of a major
 * version; baselines record the server version, and the report compares
 * plan shapes only between the same major versions.
 *
 * Cost: names are looked up in the system caches, which is too dear for
 * every execution, and even a walk of the tree costs a couple of hundred
 * instructions.  So each backend remembers, per statement (queryid), the
 * shape it last computed, and walks the plan again only every
 * PFG_SHAPE_RECHECK executions of the statement, or when a relation cache
 * invalidation arrives (DDL, ANALYZE: what makes the planner choose
 * anew), which empties that memory.  A walk first hashes the plan with OIDs
 * in place of names (no lookups, no allocation); a second backend-local
 * table maps that hash to the portable shape, which is computed only the
 * first time a plan is met.  The shape kept is therefore that of a recent
 * plan of the statement: a statement whose plan depends on its parameters
 * shows one of them.
 *
 * IDENTIFICATION	  src/planshape.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "miscadmin.h"
#include "nodes/plannodes.h"
#include "parser/parsetree.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"

#include "planshape.h"

/* Portable shapes remembered per backend; powers of two. */
#define PFG_SHAPE_MEMO		128
#define PFG_STMT_MEMO		256
#define PFG_SHAPE_RECHECK	64

typedef struct PfgShapeMemo
{
	uint64		local;			/* hash with OIDs; 0: empty */
	uint64		portable;		/* hash with names */
} PfgShapeMemo;

typedef struct PfgStmtMemo
{
	uint64		queryid;		/* 0: empty */
	uint64		shape;
	uint32		runs;			/* executions since the shape was computed */
} PfgStmtMemo;

static PfgShapeMemo shape_memo[PFG_SHAPE_MEMO];
static PfgStmtMemo stmt_memo[PFG_STMT_MEMO];

static uint64 shape_plan(Plan *plan, PlannedStmt *stmt, bool portable,
						 uint64 h);

static inline uint64
mix(uint64 h, uint64 v)
{
	return hash_combine64(h, v * UINT64CONST(0x9E3779B97F4A7C15));
}

/* A relation (table or index): its name, or its OID. */
static uint64
mix_relation(uint64 h, Oid relid, bool portable)
{
	char	   *name;
	uint64		v;

	if (!portable)
		return mix(h, relid);
	name = get_rel_name(relid);
	if (name == NULL)			/* dropped under us: the OID must do */
		return mix(h, relid);
	v = hash_bytes_extended((const unsigned char *) name, strlen(name), 0);
	pfree(name);
	return mix(h, v);
}

static uint64
mix_scanrel(uint64 h, Scan *scan, PlannedStmt *stmt, bool portable)
{
	RangeTblEntry *rte;

	if (scan->scanrelid == 0 ||
		scan->scanrelid > (Index) list_length(stmt->rtable))
		return h;
	rte = rt_fetch(scan->scanrelid, stmt->rtable);
	if (rte->rtekind != RTE_RELATION)
		return mix(h, rte->rtekind);
	return mix_relation(h, rte->relid, portable);
}

static uint64
shape_list(List *plans, PlannedStmt *stmt, bool portable, uint64 h)
{
	ListCell   *lc;

	foreach(lc, plans)
		h = shape_plan((Plan *) lfirst(lc), stmt, portable, h);
	return h;
}

/*
 * shape_plan
 *		Add a plan node and everything under it to the hash, in pre-order,
 *		with a mark where each node's children end (so that trees of the
 *		same nodes in another arrangement differ).
 */
static uint64
shape_plan(Plan *plan, PlannedStmt *stmt, bool portable, uint64 h)
{
	if (plan == NULL)
		return mix(h, 0x5A);

	check_stack_depth();
	h = mix(h, (uint64) nodeTag(plan));
	switch (nodeTag(plan))
	{
		case T_SeqScan:
		case T_SampleScan:
		case T_BitmapHeapScan:
		case T_TidScan:
		case T_TidRangeScan:
			h = mix_scanrel(h, (Scan *) plan, stmt, portable);
			break;
		case T_IndexScan:
			h = mix_scanrel(h, (Scan *) plan, stmt, portable);
			h = mix_relation(h, ((IndexScan *) plan)->indexid, portable);
			break;
		case T_IndexOnlyScan:
			h = mix_scanrel(h, (Scan *) plan, stmt, portable);
			h = mix_relation(h, ((IndexOnlyScan *) plan)->indexid, portable);
			break;
		case T_BitmapIndexScan:
			h = mix_relation(h, ((BitmapIndexScan *) plan)->indexid, portable);
			break;
		case T_NestLoop:
		case T_MergeJoin:
		case T_HashJoin:
			h = mix(h, ((Join *) plan)->jointype);
			break;
		case T_Agg:
			h = mix(h, ((Agg *) plan)->aggstrategy);
			break;
		case T_ModifyTable:
			h = mix(h, ((ModifyTable *) plan)->operation);
			break;
		case T_Append:
			h = shape_list(((Append *) plan)->appendplans, stmt, portable, h);
			break;
		case T_MergeAppend:
			h = shape_list(((MergeAppend *) plan)->mergeplans, stmt, portable, h);
			break;
		case T_BitmapAnd:
			h = shape_list(((BitmapAnd *) plan)->bitmapplans, stmt, portable, h);
			break;
		case T_BitmapOr:
			h = shape_list(((BitmapOr *) plan)->bitmapplans, stmt, portable, h);
			break;
		case T_SubqueryScan:
			h = shape_plan(((SubqueryScan *) plan)->subplan, stmt, portable, h);
			break;
		case T_CustomScan:
			h = shape_list(((CustomScan *) plan)->custom_plans, stmt, portable, h);
			break;
		default:
			break;
	}
	h = shape_plan(plan->lefttree, stmt, portable, h);
	h = shape_plan(plan->righttree, stmt, portable, h);
	return mix(h, 0xA5);
}

static uint64
shape_stmt(PlannedStmt *stmt, bool portable)
{
	uint64		h = shape_plan(stmt->planTree, stmt, portable, 0);

	/* subplans and initplans, in the order the planner numbered them */
	h = shape_list(stmt->subplans, stmt, portable, h);
	return h != 0 ? h : 1;
}

/* A relation changed somewhere: plans may change; forget the shapes. */
static void
shape_relcache_callback(Datum arg, Oid relid)
{
	memset(stmt_memo, 0, sizeof(stmt_memo));
}

/* At load: every relation cache invalidation empties the memo. */
void
pfg_planshape_init(void)
{
	CacheRegisterRelcacheCallback(shape_relcache_callback, (Datum) 0);
}

/*
 * pfg_plan_shape
 *		The portable shape of a statement's plan (never 0), as recently
 *		computed in this backend.
 */
uint64
pfg_plan_shape(PlannedStmt *stmt)
{
	PfgStmtMemo *sm;
	PfgShapeMemo *m;
	uint64		local;

	if (stmt == NULL || stmt->planTree == NULL)
		return 0;
	sm = &stmt_memo[stmt->queryId & (PFG_STMT_MEMO - 1)];
	if (sm->queryid == stmt->queryId && ++sm->runs < PFG_SHAPE_RECHECK)
		return sm->shape;

	local = shape_stmt(stmt, false);
	m = &shape_memo[local & (PFG_SHAPE_MEMO - 1)];
	if (m->local != local)
	{
		m->portable = shape_stmt(stmt, true);
		m->local = local;
	}
	sm->queryid = stmt->queryId;
	sm->shape = m->portable;
	sm->runs = 0;
	return m->portable;
}
