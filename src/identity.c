/*-------------------------------------------------------------------------
 * identity.c
 *	  Which statement is this: the fingerprint of every queryid this
 *	  backend has analyzed, and the fingerprint of a text given to
 *	  perfguard.fingerprint().
 *
 * The fingerprint of a statement is computed from its analyzed tree
 * (fingerprint.c), which exists only while the statement is being parsed
 * and analyzed.  So the post_parse_analyze hook computes it, once per
 * queryid and backend, and keeps it here, in a backend-local table keyed
 * by queryid (the backend's database is fixed, so the queryid says which
 * statement).  When a statement is new to the statistics table or about to
 * get an event, its fingerprint is taken from this table.
 *
 * The table is open addressing on the queryid (itself a hash), grown by
 * doubling from PFG_IDENT_MIN to PFG_IDENT_MAX slots and kept at most half
 * full; when it would grow past the largest size, it is emptied and
 * starts again.  A hit costs a few instructions, which is what every
 * statement of the simple protocol pays at parse analysis.
 *
 * Fallback: a statement whose tree this backend no longer remembers (it was
 * prepared before the table was emptied, and its statistics entry has
 * been removed since) and utility commands (whose queryid the core
 * computes from the text) get the text fingerprint of normalize.c.
 *
 * Memory: the table lives in a child of TopMemoryContext, for the life of
 * the backend.
 *
 * IDENTIFICATION	  src/identity.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/analyze.h"
#include "parser/parse_node.h"
#include "parser/parse_param.h"
#include "parser/parser.h"
#include "parser/parse_type.h"
#include "utils/memutils.h"

#include "compat.h"
#include PFG_QUERYJUMBLE_HEADER
#include "fingerprint.h"
#include "identity.h"
#include "normalize.h"

#define PFG_IDENT_MIN	256		/* slots; powers of two */
#define PFG_IDENT_MAX	65536

typedef struct PfgIdent
{
	uint64		queryid;		/* 0: empty */
	uint64		fingerprint;
	bool		own;
} PfgIdent;

static MemoryContext ident_cxt = NULL;
static PfgIdent *ident_table = NULL;
static uint32 ident_mask = 0;	/* slots - 1 */
static uint32 ident_count = 0;

/*
 * ident_slot
 *		The slot of queryid in the table, or the empty slot where it would
 *		go.  The table always has an empty slot.
 */
static inline PfgIdent *
ident_slot(uint64 queryid)
{
	uint32		i = (uint32) (queryid ^ (queryid >> 32)) & ident_mask;

	while (ident_table[i].queryid != queryid && ident_table[i].queryid != 0)
		i = (i + 1) & ident_mask;
	return &ident_table[i];
}

/* Make a table of this many slots, moving the old one's entries into it. */
static void
ident_resize(uint32 slots)
{
	PfgIdent   *old = ident_table;
	uint32		old_slots = old ? ident_mask + 1 : 0;

	if (ident_cxt == NULL)
		ident_cxt = AllocSetContextCreate(TopMemoryContext,
										  "perfguard identities",
										  ALLOCSET_SMALL_SIZES);
	ident_table = MemoryContextAllocZero(ident_cxt, slots * sizeof(PfgIdent));
	ident_mask = slots - 1;
	ident_count = 0;
	for (uint32 i = 0; i < old_slots; i++)
	{
		if (old[i].queryid != 0)
		{
			*ident_slot(old[i].queryid) = old[i];
			ident_count++;
		}
	}
	if (old)
		pfree(old);
}

/*
 * ident_remember
 *		Keep the fingerprint of queryid.
 */
static void
ident_remember(uint64 queryid, uint64 fingerprint, bool own)
{
	PfgIdent   *slot;

	if (ident_table == NULL)
		ident_resize(PFG_IDENT_MIN);
	else if ((ident_count + 1) * 2 > ident_mask + 1)
	{
		if (ident_mask + 1 < PFG_IDENT_MAX)
			ident_resize((ident_mask + 1) * 2);
		else
		{
			/* full at the largest size: start again */
			memset(ident_table, 0, (ident_mask + 1) * sizeof(PfgIdent));
			ident_count = 0;
		}
	}
	slot = ident_slot(queryid);
	if (slot->queryid == 0)
		ident_count++;
	slot->queryid = queryid;
	slot->fingerprint = fingerprint;
	slot->own = own;
}

/*
 * pfg_ident_lookup
 *		The fingerprint this backend computed for queryid; false if none.
 */
bool
pfg_ident_lookup(uint64 queryid, uint64 *fingerprint, bool *own)
{
	PfgIdent   *slot;

	if (ident_table == NULL || queryid == 0)
		return false;
	slot = ident_slot(queryid);
	if (slot->queryid != queryid)
		return false;
	*fingerprint = slot->fingerprint;
	*own = slot->own;
	return true;
}

/*
 * pfg_ident_analyzed
 *		Called by the post_parse_analyze hook with a statement that has
 *		just been analyzed: compute its fingerprint unless this backend has
 *		it already.  Utility commands have none of their own (their queryid
 *		is a hash of their text).
 */
void
pfg_ident_analyzed(Query *query)
{
	uint64		fingerprint;
	bool		own;

	if (query->queryId == UINT64CONST(0) || query->utilityStmt != NULL)
		return;
	if (ident_table != NULL && ident_slot(query->queryId)->queryid == query->queryId)
		return;
	if (pfg_fingerprint_query(query, &fingerprint, &own))
		ident_remember(query->queryId, fingerprint, own);
}

/*
 * pfg_identify
 *		The fingerprint of a statement about to enter the statistics table
 *		or an event: the one computed from its tree, or the text
 *		fingerprint (utility commands, and the fallback above).  The
 *		statement is the one at location (length len, 0 for the rest) of
 *		its source text, as the core reports them.  With norm, also its
 *		normalized text, palloc'd, and its length.
 */
uint64
pfg_identify(uint64 queryid, bool utility, const char *source, int location,
			 int len, char **norm, int *norm_len, bool *own)
{
	uint64		fingerprint;
	uint64		text_fingerprint;
	const char *text;

	*own = false;
	if (!utility && pfg_ident_lookup(queryid, &fingerprint, own))
	{
		if (norm)
		{
			text = CleanQuerytext(source, &location, &len);
			*norm = pfg_normalize(text, len, norm_len, NULL);
		}
		return fingerprint;
	}
	text = CleanQuerytext(source, &location, &len);
	if (norm)
		*norm = pfg_normalize(text, len, norm_len, &text_fingerprint);
	else
		text_fingerprint = pfg_text_fingerprint(text, len);
	return text_fingerprint != 0 ? text_fingerprint : 1;
}

/*
 * fingerprint_error_callback
 *		Point a parse error at the text given to perfguard.fingerprint(),
 *		not at the statement that called it (as SPI does for its queries).
 */
static void
fingerprint_error_callback(void *arg)
{
	const char *query = (const char *) arg;
	int			pos = geterrposition();

	if (pos > 0)
	{
		errposition(0);
		internalerrposition(pos);
		internalerrquery(query);
	}
	errcontext("statement given to perfguard for a fingerprint");
}

/*
 * pfg_fingerprint_sql
 *		The fingerprint of one statement given as text: parsed and analyzed
 *		in the current database and search_path (the types of $n inferred
 *		from their use), so that it is the value the statement gets when it
 *		runs here.  A text that is not one valid statement raises the
 *		parser's or the analyzer's error, positioned in that text.
 */
uint64
pfg_fingerprint_sql(const char *query)
{
	ErrorContextCallback cb;
	List	   *raw;
	RawStmt    *rs;
	uint64		fingerprint = 0;
	bool		own;
	Oid		   *types;
	int			ntypes;

	cb.callback = fingerprint_error_callback;
	cb.arg = unconstify(char *, query);
	cb.previous = error_context_stack;
	error_context_stack = &cb;

	raw = raw_parser(query, RAW_PARSE_DEFAULT);
	if (list_length(raw) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 list_length(raw) == 0 ?
				 errmsg("perfguard cannot fingerprint an empty statement") :
				 errmsg("perfguard fingerprints one statement at a time, and the text holds %d",
						list_length(raw)),
				 errhint("Give the text of exactly one SQL statement.")));
	rs = linitial_node(RawStmt, raw);
	types = NULL;
	ntypes = 0;

	/*
	 * What PREPARE, DECLARE CURSOR and EXPLAIN run is their statement, which
	 * is what perfguard accounts: fingerprint that.
	 */
	if (IsA(rs->stmt, PrepareStmt))
	{
		PrepareStmt *ps = (PrepareStmt *) rs->stmt;
		ListCell   *lc;
		int			i = 0;

		ntypes = list_length(ps->argtypes);
		types = ntypes > 0 ? palloc(ntypes * sizeof(Oid)) : NULL;
		foreach(lc, ps->argtypes)
			types[i++] = typenameTypeId(NULL, lfirst_node(TypeName, lc));
		rs->stmt = ps->query;
	}
	else if (IsA(rs->stmt, DeclareCursorStmt))
		rs->stmt = ((DeclareCursorStmt *) rs->stmt)->query;
	else if (IsA(rs->stmt, ExplainStmt))
		rs->stmt = ((ExplainStmt *) rs->stmt)->query;

	switch (nodeTag(rs->stmt))
	{
		case T_SelectStmt:
		case T_InsertStmt:
		case T_UpdateStmt:
		case T_DeleteStmt:
		case T_MergeStmt:
			{
				ParseState *pstate = make_parsestate(NULL);
				Query	   *q;

				pstate->p_sourcetext = query;
				setup_parse_variable_parameters(pstate, &types, &ntypes);
				q = transformTopLevelStmt(pstate, rs);
				check_variable_parameters(pstate, q);
				free_parsestate(pstate);
				if (!pfg_fingerprint_query(q, &fingerprint, &own))
					ereport(ERROR,
							(errcode(ERRCODE_STATEMENT_TOO_COMPLEX),
							 errmsg("the statement is too deeply nested to fingerprint")));
			}
			break;
		default:
			{
				/* a utility command: the same text fingerprint it gets when run */
				fingerprint = pfg_identify(0, true, query, rs->stmt_location,
										   rs->stmt_len, NULL, NULL, &own);
			}
			break;
	}

	error_context_stack = cb.previous;
	return fingerprint;
}
