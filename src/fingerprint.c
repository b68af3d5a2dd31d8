/*-------------------------------------------------------------------------
 * fingerprint.c
 *	  The stable fingerprint of a statement and its normalized text.
 *
 * The core queryid is computed from the analyzed parse tree and so depends
 * on OIDs: the same statement has another queryid in another database, or
 * after its tables are dropped and created again.  perfguard's fingerprint
 * is computed from the statement's tokens instead, as the core lexer sees
 * them, so it is the same wherever the same statement runs:
 *
 *	- comments and white space are dropped (the lexer skips them);
 *	- keywords and unquoted identifiers are case-folded (the lexer does it);
 *	- every constant and every $n parameter becomes one placeholder, and a
 *	  minus sign in front of a constant is part of the constant;
 *	- a list made only of constants inside IN (...) or ARRAY[...] counts as
 *	  one constant, whatever its length;
 *	- trailing semicolons are dropped.
 *
 * The canonical token stream is hashed with 64-bit FNV-1a, which is defined
 * byte by byte and therefore gives the same value on every platform.
 *
 * The normalized text keeps the statement as it was written, with each
 * constant replaced by $n (numbered after the highest parameter the text
 * already uses, whose own numbers are kept); a collapsed list shows its first placeholder followed by
 * a comment that says more values were there.
 *
 * This work is done only when a statement is new to the statistics table
 * or about to get an event, never on every execution.  The lexer's work
 * happens in a memory context of its own, deleted before returning; only
 * the normalized text is allocated in the caller's context.
 *
 * IDENTIFICATION	  src/fingerprint.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/keywords.h"
#include "lib/stringinfo.h"
#include "parser/gramparse.h"	/* scanner.h and the token codes of gram.h */
#include "utils/memutils.h"

#include "fingerprint.h"

#define FNV64_OFFSET	UINT64CONST(0xcbf29ce484222325)
#define FNV64_PRIME		UINT64CONST(0x100000001b3)

/* One lexed token. */
typedef struct PfgToken
{
	int			code;			/* token code from gram.h, or a character */
	int			location;		/* byte offset in the query */
	int			length;			/* byte length in the query */
	const char *canon;			/* canonical spelling; NULL for a constant */
	bool		operand;		/* can end an operand (for unary minus) */
} PfgToken;

/*
 * is_constant_code
 *		True for the tokens that fingerprinting turns into a placeholder.
 */
static inline bool
is_constant_code(int code)
{
	switch (code)
	{
		case ICONST:
		case FCONST:
		case SCONST:
		case USCONST:
		case BCONST:
		case XCONST:
		case PARAM:
			return true;
		default:
			return false;
	}
}

/*
 * fixed_spelling
 *		The spelling of a multi-character operator token, or NULL.
 */
static const char *
fixed_spelling(int code)
{
	switch (code)
	{
		case TYPECAST:
			return "::";
		case DOT_DOT:
			return "..";
		case COLON_EQUALS:
			return ":=";
		case EQUALS_GREATER:
			return "=>";
		case LESS_EQUALS:
			return "<=";
		case GREATER_EQUALS:
			return ">=";
		case NOT_EQUALS:
			return "<>";
		default:
			return NULL;
	}
}

/*
 * lex_query
 *		Lex query[0 .. query_len) into an array of tokens, palloc'd in the
 *		current memory context.  *max_param receives the highest $n used.
 */
static PfgToken *
lex_query(const char *query, int query_len, int *ntokens, int *max_param)
{
	char	   *buf = pnstrdup(query, query_len);
	core_yyscan_t yyscanner;
	core_yy_extra_type yyextra;
	core_YYSTYPE yylval;
	YYLTYPE		yylloc;
	PfgToken   *tokens;
	int			n = 0;
	int			cap = 64;

	tokens = palloc(cap * sizeof(PfgToken));
	*max_param = 0;

	yyscanner = scanner_init(buf, &yyextra, &ScanKeywords, ScanKeywordTokens);
	/* The statement was lexed once already; don't repeat its warnings. */
	yyextra.escape_string_warning = false;

	for (;;)
	{
		int			code = core_yylex(&yylval, &yylloc, yyscanner);
		PfgToken   *t;
		const char *fixed;

		if (code == 0)
			break;
		if (n == cap)
		{
			cap *= 2;
			tokens = repalloc(tokens, cap * sizeof(PfgToken));
		}
		t = &tokens[n++];
		t->code = code;
		t->location = yylloc;
		/* The lexer NUL-terminates the current token inside its buffer. */
		t->length = strlen(yyextra.scanbuf + yylloc);
		t->operand = false;

		if (is_constant_code(code))
		{
			t->canon = NULL;
			t->operand = true;
			if (code == PARAM && yylval.ival > *max_param)
				*max_param = yylval.ival;
		}
		else if (code == IDENT || code == UIDENT || code == Op)
		{
			t->canon = pstrdup(yylval.str);
			t->operand = (code != Op);
		}
		else if ((fixed = fixed_spelling(code)) != NULL)
			t->canon = fixed;
		else if (code < 256)
		{
			char	   *c = palloc(2);

			c[0] = (char) code;
			c[1] = '\0';
			t->canon = c;
			t->operand = (code == ')' || code == ']');
		}
		else
		{
			/* a keyword: the lexer hands back its lower-case spelling */
			int			kwnum = ScanKeywordLookup(yylval.keyword, &ScanKeywords);

			t->canon = yylval.keyword;
			t->operand = (kwnum >= 0 &&
						  ScanKeywordCategories[kwnum] != RESERVED_KEYWORD) ||
				strcmp(yylval.keyword, "null") == 0 ||
				strcmp(yylval.keyword, "true") == 0 ||
				strcmp(yylval.keyword, "false") == 0 ||
				strcmp(yylval.keyword, "end") == 0;
		}
	}
	scanner_finish(yyscanner);

	/* trailing semicolons are not part of the statement */
	while (n > 0 && tokens[n - 1].code == ';')
		n--;

	*ntokens = n;
	return tokens;
}

/*
 * constant_at
 *		If a constant, with an optional unary minus in front and an optional
 *		"::type" cast behind, starts at tokens[i], return the index just past
 *		it; otherwise return -1.
 */
static int
constant_at(const PfgToken *tokens, int ntokens, int i)
{
	if (i < ntokens && tokens[i].code == '-' &&
		(i == 0 || !tokens[i - 1].operand) &&
		i + 1 < ntokens && is_constant_code(tokens[i + 1].code))
		i++;
	if (i >= ntokens || !is_constant_code(tokens[i].code))
		return -1;
	i++;
	if (i + 1 < ntokens && tokens[i].code == TYPECAST &&
		tokens[i + 1].canon != NULL && tokens[i + 1].code != Op &&
		tokens[i + 1].code >= 256)
		i += 2;
	return i;
}

/*
 * constant_list_at
 *		If tokens[i] opens a list made only of constants -- "(" after IN, or
 *		"[" after ARRAY -- return the index of its closing bracket, else -1.
 */
static int
constant_list_at(const PfgToken *tokens, int ntokens, int i)
{
	int			close;
	int			j;

	if (i == 0 || i >= ntokens)
		return -1;
	if (tokens[i].code == '(' && strcmp(tokens[i - 1].canon ? tokens[i - 1].canon : "", "in") == 0)
		close = ')';
	else if (tokens[i].code == '[' && strcmp(tokens[i - 1].canon ? tokens[i - 1].canon : "", "array") == 0)
		close = ']';
	else
		return -1;

	j = i + 1;
	for (;;)
	{
		j = constant_at(tokens, ntokens, j);
		if (j < 0 || j >= ntokens)
			return -1;
		if (tokens[j].code == close)
			return j;
		if (tokens[j].code != ',')
			return -1;
		j++;
	}
}

static inline uint64
fnv_bytes(uint64 h, const char *s, size_t len)
{
	for (size_t k = 0; k < len; k++)
	{
		h ^= (unsigned char) s[k];
		h *= FNV64_PRIME;
	}
	return h;
}

static inline uint64
fnv_token(uint64 h, const char *canon)
{
	h = fnv_bytes(h, canon, strlen(canon));
	/* a separator, so that "a b" and "ab" differ */
	return fnv_bytes(h, "\x1f", 1);
}

/*
 * pfg_fingerprint
 *		Compute the fingerprint of query[0 .. query_len).  When normalized is
 *		not NULL, also build the normalized text (palloc'd, NUL-terminated)
 *		and store its length in *normalized_len.
 *
 *		A text the lexer rejects (an unterminated quoted string, say) raises
 *		the lexer's own syntax error.
 */
uint64
pfg_fingerprint(const char *query, int query_len,
				char **normalized, int *normalized_len)
{
	PfgToken   *tokens;
	int			ntokens;
	int			max_param;
	uint64		h = FNV64_OFFSET;
	StringInfoData out;
	int			copied = 0;		/* query bytes already copied to out */
	int			next_param;
	int			i = 0;
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext cxt;

	/* the lexer's work is thrown away at the end; only the text is kept */
	cxt = AllocSetContextCreate(caller, "perfguard fingerprint",
								ALLOCSET_SMALL_SIZES);
	MemoryContextSwitchTo(cxt);
	tokens = lex_query(query, query_len, &ntokens, &max_param);
	next_param = max_param + 1;
	if (normalized)
		initStringInfo(&out);

	while (i < ntokens)
	{
		int			close;

		if ((close = constant_list_at(tokens, ntokens, i)) >= 0)
		{
			/* "(" or "[", one placeholder, the closing bracket */
			h = fnv_token(h, tokens[i].canon);
			h = fnv_token(h, "?");
			h = fnv_token(h, tokens[close].canon);
			if (normalized)
			{
				const PfgToken *first = &tokens[i + 1];

				appendBinaryStringInfo(&out, query + copied,
									   first->location - copied);
				if (first->code == PARAM)
					appendBinaryStringInfo(&out, query + first->location,
										   first->length);
				else
					appendStringInfo(&out, "$%d", next_param++);
				appendStringInfoString(&out, " /*, ... */");
				copied = tokens[close].location;
			}
			i = close + 1;
		}
		else if (constant_at(tokens, ntokens, i) >= 0)
		{
			/* the constant (and its sign), then any cast stays visible */
			int			last = (tokens[i].code == '-') ? i + 1 : i;

			h = fnv_token(h, "?");
			/* a parameter is already a placeholder: keep its number */
			if (normalized && tokens[last].code != PARAM)
			{
				appendBinaryStringInfo(&out, query + copied,
									   tokens[i].location - copied);
				appendStringInfo(&out, "$%d", next_param++);
				copied = tokens[last].location + tokens[last].length;
			}
			i = last + 1;
		}
		else
		{
			h = fnv_token(h, tokens[i].canon);
			i++;
		}
	}

	if (normalized)
	{
		int			stop = ntokens > 0 ?
			tokens[ntokens - 1].location + tokens[ntokens - 1].length : 0;

		if (stop > copied)
			appendBinaryStringInfo(&out, query + copied, stop - copied);
		*normalized = MemoryContextStrdup(caller, out.data);
		*normalized_len = out.len;
	}
	MemoryContextSwitchTo(caller);
	MemoryContextDelete(cxt);
	return h;
}

/*
 * pfg_cursor_query_offset
 *		Where the query of a DECLARE ... CURSOR ... FOR query statement
 *		starts: the byte offset, in query[0 .. query_len), of the first
 *		token after the keyword FOR; -1 if there is none.  The cursor's
 *		name and options come before FOR and cannot contain it unquoted.
 */
int
pfg_cursor_query_offset(const char *query, int query_len)
{
	char	   *buf = pnstrdup(query, query_len);
	core_yyscan_t yyscanner;
	core_yy_extra_type yyextra;
	core_YYSTYPE yylval;
	YYLTYPE		yylloc;
	bool		seen_for = false;
	int			offset = -1;

	yyscanner = scanner_init(buf, &yyextra, &ScanKeywords, ScanKeywordTokens);
	yyextra.escape_string_warning = false;
	for (;;)
	{
		int			code = core_yylex(&yylval, &yylloc, yyscanner);

		if (code == 0)
			break;
		if (seen_for)
		{
			offset = yylloc;
			break;
		}
		seen_for = (code == FOR);
	}
	scanner_finish(yyscanner);
	pfree(buf);
	return offset;
}
