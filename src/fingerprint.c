/*-------------------------------------------------------------------------
 * fingerprint.c
 *	  The stable fingerprint of an analyzed statement.
 *
 * The core's queryid hashes the analyzed statement (the Query tree after
 * parse analysis) field by field, OIDs included, so the same statement has
 * another queryid in another database.  The fingerprint walks the same
 * tree and the same fields, with three differences:
 *
 *	- every OID is replaced by the object's name, schema-qualified
 *	  (relations, functions and operators with their argument types, types,
 *	  collations), so the value is the same wherever the schema is;
 *	- every constant and every $n parameter is one placeholder of its type
 *	  (the $n number is left out), and a cast of one is still one;
 *	- "x op ANY (ARRAY[constants])", which is what IN (constants) becomes,
 *	  hashes as "x op constant", so the length of an IN list does not count.
 *
 * It never looks at a field the core leaves out (aliases, column names in
 * the select list, locations, constant values), so every text that gets one
 * queryid in a database gets one fingerprint, whatever order the texts come
 * in: `*` or the column list, `public.t` or `t`, aliases, comments, case.
 * The node kinds and enumerations of each node are hashed as names or as
 * their PostgreSQL 15 values, so fingerprints are portable between clusters,
 * and between major versions: where a later version builds another tree for
 * the same statement, the walk hashes the tree PostgreSQL 15 builds
 * (the version differences are named in src/compat.h):
 *
 *	- PostgreSQL 18 adds an RTE_GROUP range table entry to a query with
 *	  GROUP BY and puts Vars of it in place of the grouped expressions in the
 *	  target list and HAVING: the entry is skipped and each such Var hashed
 *	  as its grouped expression;
 *	- PostgreSQL 18 also flattens join alias Vars there (a USING column, a
 *	  column named through a join's alias), which 15 leaves in place: on
 *	  every version, such a Var is hashed as the column or expression it
 *	  stands for;
 *	- PostgreSQL 17 keeps a MERGE's join condition in mergeJoinCondition,
 *	  15 as the quals of the jointree: hashed as the latter;
 *	- PostgreSQL 18's RowCompareExpr.cmptype has the values of 15's rctype.
 *
 * Node kinds that 15 does not have (SQL/JSON expressions, RETURNING OLD and
 * NEW) are hashed by their tag numbers, which hold within one major version
 * only; such statements cannot run on 15 anyway.  A statement whose
 * functions or operators resolve differently in another version's catalog
 * (an overload added) gets another fingerprint there, as it should.
 *
 * While it walks, it notes whether the statement uses perfguard's own
 * objects (relations and functions in the extension's schema) and no
 * relation outside that schema and pg_catalog: such a statement is
 * perfguard's own work, which the reports and run-time budgets leave out.
 *
 * Catalog lookups go through the system caches, which parse analysis has
 * just filled for the same objects.  Nothing here raises an ERROR or sends
 * a message: a name that cannot be found is hashed as its OID, and a tree
 * too deep for the stack gives up (pfg_fingerprint_query returns false).
 * Allocations are made in a memory context of its own, deleted at the end.
 *
 * IDENTIFICATION	  src/fingerprint.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_opclass.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "nodes/parsenodes.h"
#include "parser/parsetree.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/syscache.h"

#include "compat.h"
#include "fingerprint.h"

#define FNV64_OFFSET	UINT64CONST(0xcbf29ce484222325)
#define FNV64_PRIME		UINT64CONST(0x100000001b3)

typedef struct PfgFp
{
	uint64		h;
	Oid			own_nsp;		/* perfguard's schema, or InvalidOid */
	bool		uses_own;		/* a relation or function of perfguard's */
	bool		uses_other;		/* a relation outside perfguard, pg_catalog */
	bool		too_deep;
	List	   *rtables;		/* range tables, innermost query first */
	Oid			target;			/* relation whose columns TargetEntries set */

	/*
	 * While an expression that a Var stands for is hashed in the Var's place
	 * (var_expansion), its Vars are hashed as if the expression were copied
	 * to where the Var is: those of levels from levels_min up (outside the
	 * subqueries of the expression) get levels_shift more levels up.
	 */
	int			levels_shift;
	int			levels_min;
} PfgFp;

/* perfguard's schema in this database; reset by any pg_namespace change */
static Oid	own_nsp_cache = InvalidOid;
static bool own_nsp_valid = false;
static bool own_nsp_callback = false;

static void fp_node(PfgFp *st, Node *node);
static void fp_query(PfgFp *st, Query *query);

static void
own_nsp_invalidate(Datum arg, int cacheid, uint32 hashvalue)
{
	own_nsp_valid = false;
}

/*
 * own_namespace
 *		The schema of the perfguard extension in this database (the schema
 *		perfguard), or InvalidOid when there is none.
 */
static Oid
own_namespace(void)
{
	if (!own_nsp_callback)
	{
		CacheRegisterSyscacheCallback(NAMESPACEOID, own_nsp_invalidate, (Datum) 0);
		own_nsp_callback = true;
	}
	if (!own_nsp_valid)
	{
		/*
		 * The extension is not relocatable: its schema is perfguard.  A
		 * system cache lookup, like the parse's own; no catalog is opened.
		 */
		own_nsp_cache = get_namespace_oid("perfguard", true);
		own_nsp_valid = true;
	}
	return own_nsp_cache;
}

static inline void
fp_bytes(PfgFp *st, const char *s, size_t len)
{
	uint64		h = st->h;

	for (size_t k = 0; k < len; k++)
	{
		h ^= (unsigned char) s[k];
		h *= FNV64_PRIME;
	}
	st->h = h;
}

/* A string and a separator, so that "ab","c" and "a","bc" differ. */
static inline void
fp_str(PfgFp *st, const char *s)
{
	fp_bytes(st, s, strlen(s) + 1);
}

/* An integer, little-endian whatever the platform. */
static inline void
fp_int(PfgFp *st, int64 v)
{
	char		b[8];

	for (int k = 0; k < 8; k++)
		b[k] = (char) ((uint64) v >> (8 * k));
	fp_bytes(st, b, 8);
}

/* A name looked up by OID; NULL (not found) hashes the OID itself. */
static void
fp_name(PfgFp *st, char kind, char *name, Oid oid)
{
	char		k[2] = {kind, '\0'};

	fp_str(st, k);
	if (name != NULL)
	{
		fp_str(st, name);
		pfree(name);
	}
	else
		fp_int(st, -(int64) oid);
}

static void
fp_type(PfgFp *st, Oid type)
{
	fp_name(st, 't', OidIsValid(type) ?
			format_type_extended(type, -1, FORMAT_TYPE_FORCE_QUALIFY |
								 FORMAT_TYPE_INVALID_AS_NULL) : pstrdup("-"),
			type);
}

static void
fp_func(PfgFp *st, Oid func)
{
	if (OidIsValid(st->own_nsp) && get_func_namespace(func) == st->own_nsp)
		st->uses_own = true;
	fp_name(st, 'f', format_procedure_extended(func, FORMAT_PROC_FORCE_QUALIFY |
											   FORMAT_PROC_INVALID_AS_NULL),
			func);
}

static void
fp_oper(PfgFp *st, Oid oper)
{
	fp_name(st, 'o', OidIsValid(oper) ?
			format_operator_extended(oper, FORMAT_OPERATOR_FORCE_QUALIFY |
									 FORMAT_OPERATOR_INVALID_AS_NULL) : pstrdup("-"),
			oper);
}

/* A name in a schema: "schema.name", or NULL if either is unknown. */
static char *
qualified(Oid nsp, const char *name)
{
	char	   *nspname = OidIsValid(nsp) ? get_namespace_name(nsp) : NULL;
	char	   *result = NULL;

	if (nspname != NULL && name != NULL)
		result = psprintf("%s.%s", nspname, name);
	return result;
}

static void
fp_rel(PfgFp *st, Oid rel)
{
	Oid			nsp = get_rel_namespace(rel);

	if (OidIsValid(st->own_nsp) && nsp == st->own_nsp)
		st->uses_own = true;
	else if (nsp != PG_CATALOG_NAMESPACE)
		st->uses_other = true;
	fp_name(st, 'r', qualified(nsp, get_rel_name(rel)), rel);
}

static void
fp_coll(PfgFp *st, Oid coll)
{
	char	   *name = NULL;
	HeapTuple	tup;

	if (!OidIsValid(coll))
		name = pstrdup("-");
	else if ((tup = SearchSysCache1(COLLOID, ObjectIdGetDatum(coll))) != NULL)
	{
		Form_pg_collation c = (Form_pg_collation) GETSTRUCT(tup);

		name = qualified(c->collnamespace, NameStr(c->collname));
		ReleaseSysCache(tup);
	}
	fp_name(st, 'c', name, coll);
}

static void
fp_opclass(PfgFp *st, Oid opclass)
{
	char	   *name = NULL;
	HeapTuple	tup;

	if (!OidIsValid(opclass))
		name = pstrdup("-");
	else if ((tup = SearchSysCache1(CLAOID, ObjectIdGetDatum(opclass))) != NULL)
	{
		Form_pg_opclass c = (Form_pg_opclass) GETSTRUCT(tup);

		name = qualified(c->opcnamespace, NameStr(c->opcname));
		ReleaseSysCache(tup);
	}
	fp_name(st, 'p', name, opclass);
}

/*
 * constant_like
 *		Is node a constant, a $n parameter, or a cast of one?  Such a node
 *		is hashed as one placeholder of its type.
 */
static bool
constant_like(Node *node)
{
	if (node == NULL)
		return false;
	switch (nodeTag(node))
	{
		case T_Const:
			return true;
		case T_Param:
			return ((Param *) node)->paramkind == PARAM_EXTERN;
		case T_RelabelType:
			return constant_like((Node *) ((RelabelType *) node)->arg);
		case T_CoerceViaIO:
			return constant_like((Node *) ((CoerceViaIO *) node)->arg);
		case T_OpExpr:
			{
				/* a minus sign in front of a constant: -1.5::numeric */
				OpExpr	   *o = (OpExpr *) node;
				char	   *name;
				bool		minus;

				if (list_length(o->args) != 1 || !constant_like(linitial(o->args)))
					return false;
				name = get_opname(o->opno);
				minus = (name != NULL && strcmp(name, "-") == 0);
				if (name)
					pfree(name);
				return minus;
			}
		case T_FuncExpr:
			{
				FuncExpr   *f = (FuncExpr *) node;
				ListCell   *lc;

				if (f->funcformat != COERCE_IMPLICIT_CAST &&
					f->funcformat != COERCE_EXPLICIT_CAST)
					return false;
				foreach(lc, f->args)
					if (!constant_like(lfirst(lc)))
						return false;
				return f->args != NIL;
			}
		default:
			return false;
	}
}

/* Is node an ARRAY[...] made only of constants (what IN (...) makes)? */
static bool
constant_array(Node *node)
{
	ArrayExpr  *a = (ArrayExpr *) node;
	ListCell   *lc;

	if (node == NULL || !IsA(node, ArrayExpr) || a->multidims ||
		a->elements == NIL)
		return false;
	foreach(lc, a->elements)
		if (!constant_like(lfirst(lc)))
			return false;
	return true;
}

static void
fp_placeholder(PfgFp *st, Oid type)
{
	fp_str(st, "?");
	fp_type(st, type);
}

static void
fp_list(PfgFp *st, List *list)
{
	ListCell   *lc;

	fp_int(st, list_length(list));
	foreach(lc, list)
		fp_node(st, lfirst(lc));
}

/*
 * fp_column
 *		The column a Var reads: by name when it is a column of a table, so
 *		that the order in which a table's columns were created does not
 *		count; else by number.  (A column of a join never gets here:
 *		var_expansion hashes what is under it.)
 */
static void
fp_column(PfgFp *st, Var *var)
{
	List	   *rtable;
	RangeTblEntry *rte;

	if (var->varattno > 0 && var->varlevelsup < list_length(st->rtables))
	{
		rtable = (List *) list_nth(st->rtables, var->varlevelsup);
		if (var->varno >= 1 && var->varno <= list_length(rtable))
		{
			rte = rt_fetch(var->varno, rtable);
			if (rte->rtekind == RTE_RELATION)
			{
				fp_name(st, 'a', get_attname(rte->relid, var->varattno, true),
						var->varattno);
				return;
			}
		}
	}
	fp_int(st, var->varattno);
}

/*
 * var_expansion
 *		The expression a Var stands for, when it is hashed in the Var's
 *		place, else NULL:
 *
 *		- a column of a join (a USING column, a column named through the
 *		  join's alias) is the column or expression under it, as if the
 *		  core had flattened the join's alias Vars: PostgreSQL 18 flattens
 *		  them in the target list and HAVING of a query with GROUP BY, 15
 *		  nowhere;
 *		- a Var of the grouping step (PostgreSQL 18's RTE_GROUP) is the
 *		  grouped expression, which is what 15 has in its place.
 */
static Node *
var_expansion(PfgFp *st, Var *var)
{
	List	   *rtable;
	RangeTblEntry *rte;
	List	   *exprs;

	if (var->varattno <= 0 || var->varlevelsup >= list_length(st->rtables))
		return NULL;
	rtable = (List *) list_nth(st->rtables, var->varlevelsup);
	if (var->varno < 1 || var->varno > list_length(rtable))
		return NULL;
	rte = rt_fetch(var->varno, rtable);
	if (rte->rtekind == RTE_JOIN)
		exprs = rte->joinaliasvars;
#ifdef PFG_HAVE_GROUP_RTE
	else if (rte->rtekind == RTE_GROUP)
		exprs = rte->groupexprs;
#endif
	else
		return NULL;
	if (var->varattno > list_length(exprs))
		return NULL;
	return (Node *) list_nth(exprs, var->varattno - 1);	/* NULL: dropped */
}

/*
 * fp_expansion
 *		Hash expr, which belongs to the query levelsup levels up from the
 *		current one, as if it had been copied here.
 */
static void
fp_expansion(PfgFp *st, Node *expr, int levelsup)
{
	List	   *save_rtables = st->rtables;
	int			save_shift = st->levels_shift;
	int			save_min = st->levels_min;

	st->rtables = list_copy_tail(save_rtables, levelsup);
	st->levels_shift = (st->levels_min <= levelsup ? save_shift : 0) + levelsup;
	st->levels_min = 0;
	fp_node(st, expr);
	list_free(st->rtables);
	st->rtables = save_rtables;
	st->levels_shift = save_shift;
	st->levels_min = save_min;
}

/*
 * fp_target_list
 *		A select list, or the columns an INSERT, UPDATE or ON CONFLICT sets
 *		(target: the table they belong to), whose entries then name the
 *		columns they set.
 */
static void
fp_target_list(PfgFp *st, List *tlist, Oid target)
{
	Oid			save = st->target;

	st->target = target;
	fp_node(st, (Node *) tlist);
	st->target = save;
}

/* The table whose columns a Query's target list sets, or InvalidOid. */
static Oid
result_relation(Query *query)
{
	if ((query->commandType == CMD_INSERT || query->commandType == CMD_UPDATE) &&
		query->resultRelation > 0 &&
		query->resultRelation <= list_length(query->rtable))
		return rt_fetch(query->resultRelation, query->rtable)->relid;
	return InvalidOid;
}

/*
 * fp_rtable
 *		The range table, entry by entry, with what the core hashes of each.
 */
static void
fp_rtable(PfgFp *st, List *rtable)
{
	ListCell   *lc;

	foreach(lc, rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		switch (rte->rtekind)
		{
			case RTE_RELATION:
				fp_str(st, "rel");
				fp_rel(st, rte->relid);
				fp_node(st, (Node *) rte->tablesample);
				fp_int(st, rte->inh);
				break;
			case RTE_SUBQUERY:
				fp_str(st, "subquery");
				fp_query(st, rte->subquery);
				break;
			case RTE_JOIN:
				fp_str(st, "join");
				fp_int(st, rte->jointype);
				break;
			case RTE_FUNCTION:
				fp_str(st, "function");
				fp_node(st, (Node *) rte->functions);
				break;
			case RTE_TABLEFUNC:
				fp_str(st, "tablefunc");
				fp_node(st, (Node *) rte->tablefunc);
				break;
			case RTE_VALUES:
				fp_str(st, "values");
				fp_node(st, (Node *) rte->values_lists);
				break;
			case RTE_CTE:
				fp_str(st, "cte");
				fp_str(st, rte->ctename ? rte->ctename : "");
				fp_int(st, rte->ctelevelsup);
				break;
			case RTE_NAMEDTUPLESTORE:
				fp_str(st, "tuplestore");
				fp_str(st, rte->enrname ? rte->enrname : "");
				break;
#ifdef PFG_HAVE_GROUP_RTE
			case RTE_GROUP:
				/* not in 15's tree: its Vars are hashed as the grouped expressions */
				break;
#endif
			default:
				fp_int(st, rte->rtekind);
				break;
		}
	}
}

/*
 * fp_query
 *		A Query, with the fields the core hashes, in its order.
 */
static void
fp_query(PfgFp *st, Query *query)
{
	static const char *const commands[] = {
		"unknown", "select", "update", "insert", "delete", "merge", "utility",
		"nothing"
	};
	ListCell   *lc;
	Oid			save_target;

	if (query == NULL || !IsA(query, Query))
	{
		fp_node(st, (Node *) query);
		return;
	}
	fp_str(st, "Query");
	if ((int) query->commandType >= 0 && (int) query->commandType < lengthof(commands))
		fp_str(st, commands[query->commandType]);
	else
		fp_int(st, query->commandType);
	/* a TargetEntry names a column only in this query's own lists */
	save_target = st->target;
	st->target = InvalidOid;
	st->rtables = lcons(query->rtable, st->rtables);
	st->levels_min++;
	fp_node(st, (Node *) query->cteList);
	fp_rtable(st, query->rtable);
#ifdef PFG_MERGE_JOIN_CONDITION
	if (query->commandType == CMD_MERGE && query->jointree != NULL &&
		query->jointree->quals == NULL)
	{
		/* PostgreSQL 15 has the join condition as the jointree's quals */
		fp_str(st, "FromExpr");
		fp_node(st, (Node *) query->jointree->fromlist);
		fp_node(st, query->mergeJoinCondition);
	}
	else
#endif
		fp_node(st, (Node *) query->jointree);
	fp_target_list(st, query->targetList, result_relation(query));
	fp_target_list(st, (List *) query->onConflict, result_relation(query));
	fp_node(st, (Node *) query->returningList);
	fp_node(st, (Node *) query->groupClause);
	fp_int(st, query->groupDistinct);
	fp_node(st, (Node *) query->groupingSets);
	fp_node(st, query->havingQual);
	fp_node(st, (Node *) query->windowClause);
	fp_node(st, (Node *) query->distinctClause);
	fp_node(st, (Node *) query->sortClause);
	fp_node(st, query->limitOffset);
	fp_node(st, query->limitCount);
	fp_int(st, query->limitOption);
	foreach(lc, query->rowMarks)
	{
		RowMarkClause *rm = lfirst_node(RowMarkClause, lc);

		if (!rm->pushedDown)
		{
			fp_int(st, rm->rti);
			fp_int(st, rm->strength);
			fp_int(st, rm->waitPolicy);
		}
	}
	fp_node(st, query->setOperations);
	st->levels_min--;
	st->rtables = list_delete_first(st->rtables);
	st->target = save_target;
}

/*
 * fp_node
 *		One node of an analyzed statement and what is under it.  Each case
 *		hashes the node's kind by name, then the fields the core hashes.
 */
static void
fp_node(PfgFp *st, Node *node)
{
	ListCell   *lc;

	if (node == NULL)
	{
		fp_str(st, "-");
		return;
	}
	if (st->too_deep || stack_is_too_deep())
	{
		st->too_deep = true;
		return;
	}
	if (constant_like(node))
	{
		fp_placeholder(st, exprType(node));
		return;
	}

	switch (nodeTag(node))
	{
		case T_Query:
			fp_query(st, (Query *) node);
			break;
		case T_List:
			fp_str(st, "List");
			fp_list(st, (List *) node);
			break;
		case T_IntList:
			fp_str(st, "IntList");
			foreach(lc, (List *) node)
				fp_int(st, lfirst_int(lc));
			break;
		case T_Var:
			{
				Var		   *v = (Var *) node;
				Node	   *expansion = var_expansion(st, v);

				if (expansion != NULL)
				{
					fp_expansion(st, expansion, v->varlevelsup);
					break;
				}
				fp_str(st, "Var");
				fp_int(st, v->varno);
				fp_column(st, v);
				fp_int(st, v->varlevelsup +
					   (v->varlevelsup >= st->levels_min ? st->levels_shift : 0));
			}
			break;
		case T_Param:
			{
				/* not a $n: PARAM_EXEC, PARAM_SUBLINK, PARAM_MULTIEXPR */
				Param	   *p = (Param *) node;

				fp_str(st, "Param");
				fp_int(st, p->paramkind);
				fp_int(st, p->paramid);
				fp_type(st, p->paramtype);
			}
			break;
		case T_Aggref:
			{
				Aggref	   *a = (Aggref *) node;

				fp_str(st, "Aggref");
				fp_func(st, a->aggfnoid);
				fp_node(st, (Node *) a->aggdirectargs);
				fp_node(st, (Node *) a->args);
				fp_node(st, (Node *) a->aggorder);
				fp_node(st, (Node *) a->aggdistinct);
				fp_node(st, (Node *) a->aggfilter);
			}
			break;
		case T_GroupingFunc:
			{
				GroupingFunc *g = (GroupingFunc *) node;

				fp_str(st, "GroupingFunc");
				fp_node(st, (Node *) g->refs);
				fp_int(st, g->agglevelsup);
			}
			break;
		case T_WindowFunc:
			{
				WindowFunc *w = (WindowFunc *) node;

				fp_str(st, "WindowFunc");
				fp_func(st, w->winfnoid);
				fp_int(st, w->winref);
				fp_node(st, (Node *) w->args);
				fp_node(st, (Node *) w->aggfilter);
			}
			break;
		case T_SubscriptingRef:
			{
				SubscriptingRef *s = (SubscriptingRef *) node;

				fp_str(st, "SubscriptingRef");
				fp_node(st, (Node *) s->refupperindexpr);
				fp_node(st, (Node *) s->reflowerindexpr);
				fp_node(st, (Node *) s->refexpr);
				fp_node(st, (Node *) s->refassgnexpr);
			}
			break;
		case T_FuncExpr:
			fp_str(st, "FuncExpr");
			fp_func(st, ((FuncExpr *) node)->funcid);
			fp_node(st, (Node *) ((FuncExpr *) node)->args);
			break;
		case T_NamedArgExpr:
			fp_str(st, "NamedArgExpr");
			fp_int(st, ((NamedArgExpr *) node)->argnumber);
			fp_node(st, (Node *) ((NamedArgExpr *) node)->arg);
			break;
		case T_OpExpr:
		case T_DistinctExpr:
		case T_NullIfExpr:
			{
				OpExpr	   *o = (OpExpr *) node;

				fp_str(st, IsA(node, OpExpr) ? "OpExpr" :
					   IsA(node, DistinctExpr) ? "DistinctExpr" : "NullIfExpr");
				fp_oper(st, o->opno);
				fp_node(st, (Node *) o->args);
			}
			break;
		case T_ScalarArrayOpExpr:
			{
				ScalarArrayOpExpr *o = (ScalarArrayOpExpr *) node;

				if (list_length(o->args) == 2 && constant_array(lsecond(o->args)))
				{
					/* x op ANY (ARRAY[c1, c2, ...]): hashed as x op c */
					fp_str(st, "OpExpr");
					fp_oper(st, o->opno);
					fp_str(st, "List");
					fp_int(st, 2);
					fp_node(st, linitial(o->args));
					fp_placeholder(st, ((ArrayExpr *) lsecond(o->args))->element_typeid);
				}
				else
				{
					fp_str(st, "ScalarArrayOpExpr");
					fp_oper(st, o->opno);
					fp_int(st, o->useOr);
					fp_node(st, (Node *) o->args);
				}
			}
			break;
		case T_BoolExpr:
			fp_str(st, "BoolExpr");
			fp_int(st, ((BoolExpr *) node)->boolop);
			fp_node(st, (Node *) ((BoolExpr *) node)->args);
			break;
		case T_SubLink:
			{
				SubLink    *s = (SubLink *) node;

				fp_str(st, "SubLink");
				fp_int(st, s->subLinkType);
				fp_int(st, s->subLinkId);
				fp_node(st, s->testexpr);
				fp_query(st, (Query *) s->subselect);
			}
			break;
		case T_FieldSelect:
			fp_str(st, "FieldSelect");
			fp_int(st, ((FieldSelect *) node)->fieldnum);
			fp_node(st, (Node *) ((FieldSelect *) node)->arg);
			break;
		case T_FieldStore:
			fp_str(st, "FieldStore");
			fp_node(st, (Node *) ((FieldStore *) node)->arg);
			fp_node(st, (Node *) ((FieldStore *) node)->newvals);
			break;
		case T_RelabelType:
			fp_str(st, "RelabelType");
			fp_type(st, ((RelabelType *) node)->resulttype);
			fp_node(st, (Node *) ((RelabelType *) node)->arg);
			break;
		case T_CoerceViaIO:
			fp_str(st, "CoerceViaIO");
			fp_type(st, ((CoerceViaIO *) node)->resulttype);
			fp_node(st, (Node *) ((CoerceViaIO *) node)->arg);
			break;
		case T_ArrayCoerceExpr:
			fp_str(st, "ArrayCoerceExpr");
			fp_type(st, ((ArrayCoerceExpr *) node)->resulttype);
			fp_node(st, (Node *) ((ArrayCoerceExpr *) node)->arg);
			fp_node(st, (Node *) ((ArrayCoerceExpr *) node)->elemexpr);
			break;
		case T_ConvertRowtypeExpr:
			fp_str(st, "ConvertRowtypeExpr");
			fp_type(st, ((ConvertRowtypeExpr *) node)->resulttype);
			fp_node(st, (Node *) ((ConvertRowtypeExpr *) node)->arg);
			break;
		case T_CollateExpr:
			fp_str(st, "CollateExpr");
			fp_coll(st, ((CollateExpr *) node)->collOid);
			fp_node(st, (Node *) ((CollateExpr *) node)->arg);
			break;
		case T_CaseExpr:
			{
				CaseExpr   *c = (CaseExpr *) node;

				fp_str(st, "CaseExpr");
				fp_node(st, (Node *) c->arg);
				foreach(lc, c->args)
				{
					CaseWhen   *w = lfirst_node(CaseWhen, lc);

					fp_node(st, (Node *) w->expr);
					fp_node(st, (Node *) w->result);
				}
				fp_node(st, (Node *) c->defresult);
			}
			break;
		case T_CaseTestExpr:
			fp_str(st, "CaseTestExpr");
			fp_type(st, ((CaseTestExpr *) node)->typeId);
			break;
		case T_ArrayExpr:
			fp_str(st, "ArrayExpr");
			fp_node(st, (Node *) ((ArrayExpr *) node)->elements);
			break;
		case T_RowExpr:
			fp_str(st, "RowExpr");
			fp_node(st, (Node *) ((RowExpr *) node)->args);
			break;
		case T_RowCompareExpr:
			fp_str(st, "RowCompareExpr");
			fp_int(st, pfg_rowcompare_type((RowCompareExpr *) node));
			fp_node(st, (Node *) ((RowCompareExpr *) node)->largs);
			fp_node(st, (Node *) ((RowCompareExpr *) node)->rargs);
			break;
		case T_CoalesceExpr:
			fp_str(st, "CoalesceExpr");
			fp_node(st, (Node *) ((CoalesceExpr *) node)->args);
			break;
		case T_MinMaxExpr:
			fp_str(st, "MinMaxExpr");
			fp_int(st, ((MinMaxExpr *) node)->op);
			fp_node(st, (Node *) ((MinMaxExpr *) node)->args);
			break;
		case T_SQLValueFunction:
			fp_str(st, "SQLValueFunction");
			fp_int(st, ((SQLValueFunction *) node)->op);
			fp_int(st, ((SQLValueFunction *) node)->typmod);
			break;
		case T_XmlExpr:
			fp_str(st, "XmlExpr");
			fp_int(st, ((XmlExpr *) node)->op);
			fp_node(st, (Node *) ((XmlExpr *) node)->named_args);
			fp_node(st, (Node *) ((XmlExpr *) node)->args);
			break;
		case T_NullTest:
			fp_str(st, "NullTest");
			fp_int(st, ((NullTest *) node)->nulltesttype);
			fp_node(st, (Node *) ((NullTest *) node)->arg);
			break;
		case T_BooleanTest:
			fp_str(st, "BooleanTest");
			fp_int(st, ((BooleanTest *) node)->booltesttype);
			fp_node(st, (Node *) ((BooleanTest *) node)->arg);
			break;
		case T_CoerceToDomain:
			fp_str(st, "CoerceToDomain");
			fp_type(st, ((CoerceToDomain *) node)->resulttype);
			fp_node(st, (Node *) ((CoerceToDomain *) node)->arg);
			break;
		case T_CoerceToDomainValue:
			fp_str(st, "CoerceToDomainValue");
			fp_type(st, ((CoerceToDomainValue *) node)->typeId);
			break;
		case T_SetToDefault:
			fp_str(st, "SetToDefault");
			fp_type(st, ((SetToDefault *) node)->typeId);
			break;
		case T_CurrentOfExpr:
			{
				CurrentOfExpr *c = (CurrentOfExpr *) node;

				fp_str(st, "CurrentOfExpr");
				fp_int(st, c->cvarno);
				fp_str(st, c->cursor_name ? c->cursor_name : "");
				fp_int(st, c->cursor_param);
			}
			break;
		case T_NextValueExpr:
			fp_str(st, "NextValueExpr");
			fp_rel(st, ((NextValueExpr *) node)->seqid);
			fp_type(st, ((NextValueExpr *) node)->typeId);
			break;
		case T_InferenceElem:
			fp_str(st, "InferenceElem");
			fp_coll(st, ((InferenceElem *) node)->infercollid);
			fp_opclass(st, ((InferenceElem *) node)->inferopclass);
			fp_node(st, ((InferenceElem *) node)->expr);
			break;
		case T_TargetEntry:
			fp_str(st, "TargetEntry");
			if (OidIsValid(st->target) && !((TargetEntry *) node)->resjunk)
				fp_name(st, 'a', get_attname(st->target, ((TargetEntry *) node)->resno, true),
						((TargetEntry *) node)->resno);
			else
				fp_int(st, ((TargetEntry *) node)->resno);
			fp_int(st, ((TargetEntry *) node)->ressortgroupref);
			fp_node(st, (Node *) ((TargetEntry *) node)->expr);
			break;
		case T_RangeTblRef:
			fp_str(st, "RangeTblRef");
			fp_int(st, ((RangeTblRef *) node)->rtindex);
			break;
		case T_JoinExpr:
			{
				JoinExpr   *j = (JoinExpr *) node;

				fp_str(st, "JoinExpr");
				fp_int(st, j->jointype);
				fp_int(st, j->isNatural);
				fp_int(st, j->rtindex);
				fp_node(st, j->larg);
				fp_node(st, j->rarg);
				fp_node(st, j->quals);
			}
			break;
		case T_FromExpr:
			fp_str(st, "FromExpr");
			fp_node(st, (Node *) ((FromExpr *) node)->fromlist);
			fp_node(st, ((FromExpr *) node)->quals);
			break;
		case T_OnConflictExpr:
			{
				OnConflictExpr *c = (OnConflictExpr *) node;

				fp_str(st, "OnConflictExpr");
				fp_int(st, c->action);
				fp_node(st, (Node *) c->arbiterElems);
				fp_node(st, c->arbiterWhere);
				fp_node(st, (Node *) c->onConflictSet);
				fp_node(st, c->onConflictWhere);
				fp_name(st, 'k', OidIsValid(c->constraint) ?
						get_constraint_name(c->constraint) : pstrdup("-"),
						c->constraint);
				fp_int(st, c->exclRelIndex);
				fp_node(st, (Node *) c->exclRelTlist);
			}
			break;
		case T_SortGroupClause:
			{
				SortGroupClause *s = (SortGroupClause *) node;

				fp_str(st, "SortGroupClause");
				fp_int(st, s->tleSortGroupRef);
				fp_oper(st, s->eqop);
				fp_oper(st, s->sortop);
				fp_int(st, s->nulls_first);
			}
			break;
		case T_GroupingSet:
			fp_str(st, "GroupingSet");
			fp_node(st, (Node *) ((GroupingSet *) node)->content);
			break;
		case T_WindowClause:
			{
				WindowClause *w = (WindowClause *) node;

				fp_str(st, "WindowClause");
				fp_int(st, w->winref);
				fp_int(st, w->frameOptions);
				fp_node(st, (Node *) w->partitionClause);
				fp_node(st, (Node *) w->orderClause);
				fp_node(st, w->startOffset);
				fp_node(st, w->endOffset);
			}
			break;
		case T_CommonTableExpr:
			{
				CommonTableExpr *c = (CommonTableExpr *) node;

				fp_str(st, "CommonTableExpr");
				fp_str(st, c->ctename ? c->ctename : "");
				fp_int(st, c->ctematerialized);
				fp_query(st, (Query *) c->ctequery);
			}
			break;
		case T_SetOperationStmt:
			{
				SetOperationStmt *s = (SetOperationStmt *) node;

				fp_str(st, "SetOperationStmt");
				fp_int(st, s->op);
				fp_int(st, s->all);
				fp_node(st, s->larg);
				fp_node(st, s->rarg);
			}
			break;
		case T_RangeTblFunction:
			fp_str(st, "RangeTblFunction");
			fp_node(st, ((RangeTblFunction *) node)->funcexpr);
			break;
		case T_TableFunc:
			fp_str(st, "TableFunc");
			fp_node(st, ((TableFunc *) node)->docexpr);
			fp_node(st, ((TableFunc *) node)->rowexpr);
			fp_node(st, (Node *) ((TableFunc *) node)->colexprs);
			break;
		case T_TableSampleClause:
			fp_str(st, "TableSampleClause");
			fp_func(st, ((TableSampleClause *) node)->tsmhandler);
			fp_node(st, (Node *) ((TableSampleClause *) node)->args);
			fp_node(st, (Node *) ((TableSampleClause *) node)->repeatable);
			break;
		default:
			/* a kind the core does not hash either: its tag alone */
			fp_str(st, "node");
			fp_int(st, (int) nodeTag(node));
			break;
	}
}

/*
 * pfg_fingerprint_query
 *		The fingerprint of an analyzed statement (not a utility command).
 *		*own tells whether it is perfguard's own work.  Returns false, and
 *		nothing, when the tree is too deep to walk.
 */
bool
pfg_fingerprint_query(Query *query, uint64 *fingerprint, bool *own)
{
	MemoryContext cxt;
	MemoryContext old;
	PfgFp		st;

	cxt = AllocSetContextCreate(CurrentMemoryContext, "perfguard fingerprint",
								ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(cxt);
	st.h = FNV64_OFFSET;
	st.own_nsp = own_namespace();
	st.uses_own = false;
	st.uses_other = false;
	st.too_deep = false;
	st.rtables = NIL;
	st.target = InvalidOid;
	st.levels_shift = 0;
	st.levels_min = 0;
	fp_query(&st, query);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);

	if (st.too_deep)
		return false;
	/* 0 means "none" throughout perfguard */
	*fingerprint = (st.h != 0) ? st.h : 1;
	*own = st.uses_own && !st.uses_other;
	return true;
}
