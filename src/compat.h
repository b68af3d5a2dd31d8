/*-------------------------------------------------------------------------
 * compat.h
 *	  The one place where perfguard looks at PG_VERSION_NUM.
 *
 * perfguard is written against PostgreSQL 15 and builds against 15 and 18
 * (both tested); 16 and 17 get the differences known to matter for them
 * (marked below with the version that introduced each), but are untested.
 * Every difference between server major versions that the code has to
 * care about is hidden behind a macro here, so that the rest of src/ reads
 * as plain PostgreSQL 15 code.  A macro's PostgreSQL 15 spelling is the
 * definition in its #else branch.
 *
 * Include it after the PostgreSQL headers a file needs: some macros name
 * functions and types those headers declare.
 *
 * IDENTIFICATION	  src/compat.h
 *-------------------------------------------------------------------------
 */
#ifndef PFG_COMPAT_H
#define PFG_COMPAT_H

#if PG_VERSION_NUM < 150000
#error "perfguard requires PostgreSQL 15 or later"
#endif

/* --- SQL-callable functions ------------------------------------------- */

/* PostgreSQL 16 renamed SetSingleFuncCall to InitMaterializedSRF. */
#if PG_VERSION_NUM >= 160000
#define pfg_init_materialized_srf(fcinfo) InitMaterializedSRF((fcinfo), 0)
#else
#define pfg_init_materialized_srf(fcinfo) SetSingleFuncCall((fcinfo), 0)
#endif

/*
 * PostgreSQL 16 replaced the per-class ACL checks (pg_proc_aclcheck, ...)
 * by object_aclcheck.  Needs catalog/pg_proc.h and utils/acl.h.
 */
#if PG_VERSION_NUM >= 160000
#define pfg_proc_aclcheck(func, role, mode) \
	object_aclcheck(ProcedureRelationId, (func), (role), (mode))
#else
#define pfg_proc_aclcheck(func, role, mode) pg_proc_aclcheck((func), (role), (mode))
#endif

/*
 * PostgreSQL 17: makeJsonLexContextCstringLen takes a context to fill (NULL
 * allocates one), and one made that way is freed with freeJsonLexContext.
 */
#if PG_VERSION_NUM >= 170000
#define pfg_json_lex_make(json, len, encoding, escapes) \
	makeJsonLexContextCstringLen(NULL, (json), (len), (encoding), (escapes))
#define pfg_json_lex_free(lex) freeJsonLexContext(lex)
#else
#define pfg_json_lex_make(json, len, encoding, escapes) \
	makeJsonLexContextCstringLen((json), (len), (encoding), (escapes))
#define pfg_json_lex_free(lex) pfree(lex)
#endif

/* --- query jumbling --------------------------------------------------- */

/* PostgreSQL 16 moved the query jumbling declarations to nodes/queryjumble.h. */
#if PG_VERSION_NUM >= 160000
#define PFG_QUERYJUMBLE_HEADER "nodes/queryjumble.h"
#else
#define PFG_QUERYJUMBLE_HEADER "utils/queryjumble.h"
#endif

/* PostgreSQL 16: JumbleQuery no longer takes the query's text. */
#if PG_VERSION_NUM >= 160000
#define pfg_jumble_query(query, text) JumbleQuery(query)
#else
#define pfg_jumble_query(query, text) JumbleQuery((query), (text))
#endif

/*
 * PostgreSQL 16 jumbles a utility command's tree, as any other statement's;
 * 15 hashes its text.
 */
#if PG_VERSION_NUM >= 160000
#define PFG_JUMBLE_UTILITY_TREE 1
#endif

/* --- executor hooks --------------------------------------------------- */

/*
 * PostgreSQL 18: ExecutorRun (and its hook) lost the execute_once argument.
 * Write "count PFG_EXECUTE_ONCE_PARAM" in a declaration and
 * "count PFG_EXECUTE_ONCE_ARG" in a call.
 */
#if PG_VERSION_NUM >= 180000
#define PFG_EXECUTE_ONCE_PARAM
#define PFG_EXECUTE_ONCE_ARG
#else
#define PFG_EXECUTE_ONCE_PARAM , bool execute_once
#define PFG_EXECUTE_ONCE_ARG , execute_once
#endif

/* --- EXPLAIN ---------------------------------------------------------- */

/*
 * PostgreSQL 18 split commands/explain.h: ExplainState and NewExplainState
 * are in commands/explain_state.h, ExplainBeginOutput and ExplainEndOutput
 * in commands/explain_format.h.  Include all three names; on 15 they are
 * one header.
 */
#if PG_VERSION_NUM >= 180000
#define PFG_EXPLAIN_STATE_HEADER "commands/explain_state.h"
#define PFG_EXPLAIN_FORMAT_HEADER "commands/explain_format.h"
#else
#define PFG_EXPLAIN_STATE_HEADER "commands/explain.h"
#define PFG_EXPLAIN_FORMAT_HEADER "commands/explain.h"
#endif

/* --- settings -------------------------------------------------------- */

/*
 * PostgreSQL 16 allocates GUC "extra" memory with guc_malloc (in a memory
 * context of its own) and frees it with guc_free; 15 with malloc and free.
 * NULL when out of memory.
 */
#if PG_VERSION_NUM >= 160000
#define pfg_guc_malloc(size) guc_malloc(LOG, (size))
#else
#define pfg_guc_malloc(size) malloc(size)
#endif

/* --- operators -------------------------------------------------------- */

/*
 * PostgreSQL 18 generalized get_op_btree_interpretation to
 * get_op_index_interpretation (every index method that can order), whose
 * elements give a CompareType instead of a btree strategy number.
 * COMPARE_LT .. COMPARE_GT have the values of BTLessStrategyNumber ..
 * BTGreaterStrategyNumber, and COMPARE_NE is 15's ROWCOMPARE_NE (6), which
 * 15's function gives for <>.  Needs utils/lsyscache.h.
 */
#if PG_VERSION_NUM >= 180000
#define PfgOpInterpretation OpIndexInterpretation
#define pfg_get_op_interpretation(opno) get_op_index_interpretation(opno)
#define pfg_interp_strategy(interp) ((int) (interp)->cmptype)
#else
#define PfgOpInterpretation OpBtreeInterpretation
#define pfg_get_op_interpretation(opno) get_op_btree_interpretation(opno)
#define pfg_interp_strategy(interp) ((int) (interp)->strategy)
#endif

/* --- the analyzed statement, for the fingerprint ---------------------- */

/*
 * PostgreSQL 18 renamed RowCompareExpr.rctype (RowCompareType) to cmptype
 * (CompareType); the values of <, <=, =, >=, >, <> are the same (1 to 6).
 */
#if PG_VERSION_NUM >= 180000
#define pfg_rowcompare_type(rc) ((int) (rc)->cmptype)
#else
#define pfg_rowcompare_type(rc) ((int) (rc)->rctype)
#endif

/*
 * PostgreSQL 17 keeps the join condition of a MERGE in
 * Query.mergeJoinCondition; 15 has it as the quals of the jointree.
 */
#if PG_VERSION_NUM >= 170000
#define PFG_MERGE_JOIN_CONDITION 1
#endif

/*
 * PostgreSQL 18 adds to a query with GROUP BY (or grouping sets) a range
 * table entry of kind RTE_GROUP, and replaces the grouped expressions in
 * the target list and HAVING by Vars of that entry; its groupexprs are the
 * expressions, as 15 has them in place.
 */
#if PG_VERSION_NUM >= 180000
#define PFG_HAVE_GROUP_RTE 1
#endif

#endif							/* PFG_COMPAT_H */
