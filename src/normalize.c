/*-------------------------------------------------------------------------
 * normalize.c
 *	  A statement's normalized text, and the fingerprint of statements that
 *	  have no analyzed tree (utility commands), from a scanner of perfguard's
 *	  own that never raises an error and never sends a message.
 *
 * The core lexer cannot be used here: it raises an ERROR on text that it
 * would have accepted under other settings (standard_conforming_strings,
 * backslash_quote can change between the parse of a multi-statement string
 * and the execution of its second statement), and it sends the NOTICEs of
 * identifier truncation again.  This scanner knows just enough of SQL's
 * lexical rules to find tokens: white space and comments (block comments
 * nested), quoted identifiers, string constants in all their forms (E, B,
 * X, N and U& prefixes, dollar quotes, adjacent strings continued across a
 * newline), numbers, $n parameters, operators and punctuation.  Text it cannot make
 * sense of (an unterminated string) ends at the end of the statement.
 *
 * Normalized text: the statement as it was written, each constant replaced
 * by $n (numbered after the highest parameter the text already uses, whose
 * own numbers are kept), a list made only of constants after IN ( or
 * ARRAY[ shown as its first placeholder and a comment, and anything after
 * the last token (a semicolon, a trailing comment) left out.
 *
 * Text fingerprint: 64-bit FNV-1a (defined byte by byte, so the same on
 * every platform) of the canonical tokens: comments and white space
 * dropped, unquoted words lower-cased, each constant (with a unary minus)
 * and each $n one placeholder, constant lists collapsed, trailing
 * semicolons dropped.
 *
 * Everything is allocated in the caller's memory context.
 *
 * IDENTIFICATION	  src/normalize.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "parser/parser.h"		/* standard_conforming_strings */

#include "normalize.h"

#define FNV64_OFFSET	UINT64CONST(0xcbf29ce484222325)
#define FNV64_PRIME		UINT64CONST(0x100000001b3)

typedef enum PfgTokKind
{
	TOK_WORD,					/* unquoted identifier or keyword */
	TOK_QIDENT,					/* quoted identifier */
	TOK_CONST,					/* string, number, bit string */
	TOK_PARAM,					/* $n */
	TOK_OP,						/* operator, or :: */
	TOK_PUNCT					/* ( ) [ ] , ; . : */
} PfgTokKind;

typedef struct PfgTok
{
	PfgTokKind	kind;
	int			start;			/* byte offset */
	int			end;			/* one past the last byte */
	int			param;			/* the n of $n */
} PfgTok;

static inline bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
		c == '\v';
}

static inline bool
is_ident_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
		c >= 0x80;
}

static inline bool
is_ident_cont(unsigned char c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9') || c == '$';
}

static inline bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static inline bool
is_op_char(char c)
{
	return strchr("+-*/<>=~!@#%^&|`?", c) != NULL && c != '\0';
}

/*
 * skip_blank
 *		Skip white space and comments from q[i]; returns the new offset.
 *		*newline is set when the skipped space held a newline (adjacent
 *		string constants continue only across one).
 */
static int
skip_blank(const char *q, int len, int i, bool *newline)
{
	*newline = false;
	while (i < len)
	{
		if (is_space(q[i]))
		{
			if (q[i] == '\n' || q[i] == '\r')
				*newline = true;
			i++;
		}
		else if (q[i] == '-' && i + 1 < len && q[i + 1] == '-')
		{
			while (i < len && q[i] != '\n' && q[i] != '\r')
				i++;
		}
		else if (q[i] == '/' && i + 1 < len && q[i + 1] == '*')
		{
			int			depth = 1;

			i += 2;
			while (i < len && depth > 0)
			{
				if (q[i] == '/' && i + 1 < len && q[i + 1] == '*')
					depth++, i += 2;
				else if (q[i] == '*' && i + 1 < len && q[i + 1] == '/')
					depth--, i += 2;
				else
					i++;
			}
		}
		else
			break;
	}
	return i;
}

/*
 * skip_quoted
 *		q[i] is an opening quote character; return the offset just past the
 *		closing one (a doubled quote is part of the text; a backslash escapes
 *		the next byte when backslashes is true), or len if there is none.
 */
static int
skip_quoted(const char *q, int len, int i, char quote, bool backslashes)
{
	i++;
	while (i < len)
	{
		if (backslashes && q[i] == '\\' && i + 1 < len)
			i += 2;
		else if (q[i] == quote)
		{
			if (i + 1 < len && q[i + 1] == quote)
				i += 2;
			else
				return i + 1;
		}
		else
			i++;
	}
	return len;
}

/*
 * dollar_tag_len
 *		If a dollar-quote delimiter ($$ or $tag$) starts at q[i], its length,
 *		else 0.
 */
static int
dollar_tag_len(const char *q, int len, int i)
{
	int			j = i + 1;

	if (j < len && q[j] == '$')
		return 2;
	if (j >= len || !is_ident_start((unsigned char) q[j]))
		return 0;
	while (j < len && is_ident_start((unsigned char) q[j]))
		j++;
	while (j < len && (is_ident_start((unsigned char) q[j]) || is_digit(q[j])))
		j++;
	return (j < len && q[j] == '$') ? j - i + 1 : 0;
}

/*
 * skip_string
 *		A string constant starts at q[i] with its opening quote (after any
 *		prefix); return the offset past it, adjacent strings included.
 */
static int
skip_string(const char *q, int len, int i, bool escapes)
{
	for (;;)
	{
		int			j;
		bool		newline;
		int			start = i;

		i = skip_quoted(q, len, i, '\'', escapes);
		/* unterminated with backslash escapes: the core read it without */
		if (i == len && escapes)
			i = skip_quoted(q, len, start, '\'', false);
		j = skip_blank(q, len, i, &newline);
		if (!newline || j >= len || q[j] != '\'')
			return i;
		i = j;
	}
}

/*
 * next_token
 *		Scan the token at or after q[*pos]; false at the end of the text.
 */
static bool
next_token(const char *q, int len, int *pos, PfgTok *t)
{
	bool		newline;
	int			i = skip_blank(q, len, *pos, &newline);
	unsigned char c;

	if (i >= len)
	{
		*pos = len;
		return false;
	}
	c = (unsigned char) q[i];
	t->start = i;
	t->param = 0;

	if (is_ident_start(c))
	{
		char		lc = (char) (c | 0x20);

		/* E'..', B'..', X'..', N'..' */
		if (i + 1 < len && q[i + 1] == '\'' &&
			(lc == 'e' || lc == 'b' || lc == 'x' || lc == 'n'))
		{
			t->kind = TOK_CONST;
			t->end = skip_string(q, len, i + 1,
								 lc == 'e' || (lc == 'n' && !standard_conforming_strings));
		}
		/* U&'..' and U&".." */
		else if (lc == 'u' && i + 2 < len && q[i + 1] == '&' &&
				 (q[i + 2] == '\'' || q[i + 2] == '"'))
		{
			t->kind = (q[i + 2] == '\'') ? TOK_CONST : TOK_QIDENT;
			t->end = (q[i + 2] == '\'') ?
				skip_string(q, len, i + 2, false) :
				skip_quoted(q, len, i + 2, '"', false);
		}
		else
		{
			int			j = i + 1;

			while (j < len && is_ident_cont((unsigned char) q[j]))
				j++;
			t->kind = TOK_WORD;
			t->end = j;
		}
	}
	else if (c == '"')
	{
		t->kind = TOK_QIDENT;
		t->end = skip_quoted(q, len, i, '"', false);
	}
	else if (c == '\'')
	{
		t->kind = TOK_CONST;
		t->end = skip_string(q, len, i, !standard_conforming_strings);
	}
	else if (c == '$' && i + 1 < len && is_digit(q[i + 1]))
	{
		int			j = i + 1;
		int64		n = 0;

		while (j < len && is_digit(q[j]))
		{
			if (n < PG_INT32_MAX / 10)
				n = n * 10 + (q[j] - '0');
			j++;
		}
		t->kind = TOK_PARAM;
		t->param = (int) n;
		t->end = j;
	}
	else if (c == '$' && dollar_tag_len(q, len, i) > 0)
	{
		int			tag = dollar_tag_len(q, len, i);
		int			j = i + tag;

		t->kind = TOK_CONST;
		t->end = len;
		for (; j + tag <= len; j++)
		{
			if (q[j] == '$' && memcmp(q + j, q + i, tag) == 0)
			{
				t->end = j + tag;
				break;
			}
		}
	}
	else if (is_digit(c) || (c == '.' && i + 1 < len && is_digit(q[i + 1])))
	{
		int			j = i;

		/* digits, letters (0x1F, 1e5, 1_000) and a fraction; 1..10 stops */
		while (j < len)
		{
			if (is_digit(q[j]) || q[j] == '_' ||
				((q[j] | 0x20) >= 'a' && (q[j] | 0x20) <= 'z'))
			{
				/* an exponent's sign belongs to the number */
				if ((q[j] | 0x20) == 'e' && j + 2 < len &&
					(q[j + 1] == '+' || q[j + 1] == '-') && is_digit(q[j + 2]))
					j += 2;
				else
					j++;
			}
			else if (q[j] == '.' && !(j + 1 < len && q[j + 1] == '.'))
				j++;
			else
				break;
		}
		t->kind = TOK_CONST;
		t->end = j;
	}
	else if (c == ':' && i + 1 < len && (q[i + 1] == ':' || q[i + 1] == '='))
	{
		t->kind = TOK_OP;
		t->end = i + 2;
	}
	else if (is_op_char((char) c))
	{
		int			j = i + 1;

		while (j < len && is_op_char(q[j]) &&
			   !(q[j] == '-' && j + 1 < len && q[j + 1] == '-') &&
			   !(q[j] == '/' && j + 1 < len && q[j + 1] == '*'))
			j++;
		t->kind = TOK_OP;
		t->end = j;
	}
	else
	{
		/* ( ) [ ] , ; . : and anything else, one byte at a time */
		t->kind = TOK_PUNCT;
		t->end = i + 1;
	}
	*pos = t->end;
	return true;
}

/*
 * scan
 *		All the tokens of q[0 .. len), trailing semicolons left out, in a
 *		palloc'd array.  *max_param receives the highest $n.
 */
static PfgTok *
scan(const char *q, int len, int *ntoks, int *max_param)
{
	int			cap = 64;
	int			n = 0;
	int			pos = 0;
	PfgTok	   *toks = palloc(cap * sizeof(PfgTok));

	*max_param = 0;
	for (;;)
	{
		if (n == cap)
		{
			cap *= 2;
			toks = repalloc(toks, cap * sizeof(PfgTok));
		}
		if (!next_token(q, len, &pos, &toks[n]))
			break;
		if (toks[n].kind == TOK_PARAM && toks[n].param > *max_param)
			*max_param = toks[n].param;
		n++;
	}
	while (n > 0 && toks[n - 1].kind == TOK_PUNCT && q[toks[n - 1].start] == ';')
		n--;
	*ntoks = n;
	return toks;
}

static inline bool
tok_is(const char *q, const PfgTok *t, const char *s)
{
	int			l = strlen(s);

	return t->end - t->start == l && pg_strncasecmp(q + t->start, s, l) == 0;
}

/* Can the token end an operand (so that a following minus is binary)? */
static inline bool
tok_operand(const char *q, const PfgTok *t)
{
	switch (t->kind)
	{
		case TOK_WORD:
		case TOK_QIDENT:
		case TOK_CONST:
		case TOK_PARAM:
			return true;
		case TOK_PUNCT:
			return q[t->start] == ')' || q[t->start] == ']';
		default:
			return false;
	}
}

/*
 * constant_at
 *		If a constant or parameter, with an optional unary minus in front
 *		and an optional "::name" cast behind, starts at toks[i], the index
 *		just past it, else -1.
 */
static int
constant_at(const char *q, const PfgTok *toks, int n, int i)
{
	if (i + 1 < n && tok_is(q, &toks[i], "-") &&
		(i == 0 || !tok_operand(q, &toks[i - 1])) &&
		(toks[i + 1].kind == TOK_CONST || toks[i + 1].kind == TOK_PARAM))
		i++;
	if (i >= n || (toks[i].kind != TOK_CONST && toks[i].kind != TOK_PARAM))
		return -1;
	i++;
	if (i + 1 < n && tok_is(q, &toks[i], "::") &&
		(toks[i + 1].kind == TOK_WORD || toks[i + 1].kind == TOK_QIDENT))
		i += 2;
	return i;
}

/*
 * constant_list_at
 *		If toks[i] opens a list made only of constants -- "(" after IN, or
 *		"[" after ARRAY -- the index of its closing bracket, else -1.
 */
static int
constant_list_at(const char *q, const PfgTok *toks, int n, int i)
{
	const char *close;
	int			j;

	if (i == 0 || i >= n || toks[i - 1].kind != TOK_WORD)
		return -1;
	if (tok_is(q, &toks[i], "(") && tok_is(q, &toks[i - 1], "in"))
		close = ")";
	else if (tok_is(q, &toks[i], "[") && tok_is(q, &toks[i - 1], "array"))
		close = "]";
	else
		return -1;

	j = i + 1;
	for (;;)
	{
		j = constant_at(q, toks, n, j);
		if (j < 0 || j >= n)
			return -1;
		if (tok_is(q, &toks[j], close))
			return j;
		if (!tok_is(q, &toks[j], ","))
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

/* Hash one canonical token and a separator, so that "a b" and "ab" differ. */
static uint64
fnv_token(uint64 h, const char *s, size_t len, bool fold)
{
	for (size_t k = 0; k < len; k++)
	{
		unsigned char c = (unsigned char) s[k];

		if (fold && c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		h ^= c;
		h *= FNV64_PRIME;
	}
	return fnv_bytes(h, "\x1f", 1);
}

/*
 * pfg_normalize
 *		The normalized text of q[0 .. len) (palloc'd, NUL-terminated), with
 *		its length in *out_len; and, when fingerprint is not NULL, the text
 *		fingerprint in *fingerprint.
 */
char *
pfg_normalize(const char *q, int len, int *out_len, uint64 *fingerprint)
{
	int			ntoks;
	int			max_param;
	PfgTok	   *toks = scan(q, len, &ntoks, &max_param);
	StringInfoData out;
	int			copied = 0;
	int			next_param = max_param + 1;
	uint64		h = FNV64_OFFSET;
	int			i = 0;

	initStringInfo(&out);
	while (i < ntoks)
	{
		int			close;
		int			past;

		if ((close = constant_list_at(q, toks, ntoks, i)) >= 0)
		{
			const PfgTok *first = &toks[i + 1];

			/* "(" or "[", one placeholder, the closing bracket */
			h = fnv_token(h, q + toks[i].start, 1, false);
			h = fnv_token(h, "?", 1, false);
			h = fnv_token(h, q + toks[close].start, 1, false);
			appendBinaryStringInfo(&out, q + copied, first->start - copied);
			if (first->kind == TOK_PARAM)
				appendBinaryStringInfo(&out, q + first->start,
									   first->end - first->start);
			else
				appendStringInfo(&out, "$%d", next_param++);
			appendStringInfoString(&out, " /*, ... */");
			copied = toks[close].start;
			i = close + 1;
		}
		else if ((past = constant_at(q, toks, ntoks, i)) >= 0)
		{
			/* the constant and its sign; a cast behind it stays visible */
			int			last = (toks[i].kind == TOK_OP) ? i + 1 : i;

			h = fnv_token(h, "?", 1, false);
			if (toks[last].kind != TOK_PARAM)
			{
				appendBinaryStringInfo(&out, q + copied, toks[i].start - copied);
				appendStringInfo(&out, "$%d", next_param++);
				copied = toks[last].end;
			}
			i = last + 1;
		}
		else
		{
			h = fnv_token(h, q + toks[i].start, toks[i].end - toks[i].start,
						  toks[i].kind == TOK_WORD);
			i++;
		}
	}
	if (ntoks > 0 && toks[ntoks - 1].end > copied)
		appendBinaryStringInfo(&out, q + copied, toks[ntoks - 1].end - copied);
	pfree(toks);

	if (fingerprint)
		*fingerprint = h;
	*out_len = out.len;
	return out.data;
}

/*
 * pfg_text_fingerprint
 *		The text fingerprint of q[0 .. len).
 */
uint64
pfg_text_fingerprint(const char *q, int len)
{
	uint64		h;
	int			out_len;

	pfree(pfg_normalize(q, len, &out_len, &h));
	return h;
}

/*
 * pfg_cursor_query_offset
 *		Where the query of a DECLARE ... CURSOR ... FOR query statement
 *		starts: the byte offset, in q[0 .. len), of the first token after
 *		the word FOR; -1 if there is none.  The cursor's name and options
 *		come before FOR and cannot contain it unquoted.
 */
int
pfg_cursor_query_offset(const char *q, int len)
{
	int			pos = 0;
	bool		seen_for = false;
	PfgTok		t;

	while (next_token(q, len, &pos, &t))
	{
		if (seen_for)
			return t.start;
		seen_for = (t.kind == TOK_WORD && tok_is(q, &t, "for"));
	}
	return -1;
}
