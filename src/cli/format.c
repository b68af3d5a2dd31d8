/*-------------------------------------------------------------------------
 * format.c
 *	  Output helpers of the perfguard client: durations with units,
 *	  numbers, one-line query texts, JSON, XML and markdown escaping, and
 *	  tables aligned for a terminal or written as markdown.
 *
 * Output is UTF-8 (the client asks the server for client_encoding UTF8).
 * Bytes that are not valid UTF-8 are written as U+FFFD, so that JSON and
 * XML output stay well-formed whatever a query text holds.
 *
 * IDENTIFICATION	  src/cli/format.c
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* type OIDs of the result columns json_value() tells apart */
#define BOOLOID		16
#define INT8OID		20
#define INT2OID		21
#define INT4OID		23
#define OIDOID		26
#define JSONOID		114
#define FLOAT4OID	700
#define FLOAT8OID	701
#define NUMERICOID	1700
#define JSONBOID	3802

#define REPLACEMENT_CHAR "\xEF\xBF\xBD"	/* U+FFFD */
#define ELLIPSIS		 "\xE2\x80\xA6" /* U+2026 */

/*
 * utf8_char
 *		Length of the valid UTF-8 character at s (1-4), or 0 if the bytes
 *		there are not one (a stray continuation byte, an overlong form, a
 *		surrogate, a truncated sequence); *cp gets the code point.
 */
static int
utf8_char(const unsigned char *s, unsigned int *cp)
{
	unsigned int c = s[0];
	int			len,
				i;
	unsigned int min;

	if (c < 0x80)
	{
		*cp = c;
		return 1;
	}
	if ((c & 0xE0) == 0xC0)
		len = 2, c &= 0x1F, min = 0x80;
	else if ((c & 0xF0) == 0xE0)
		len = 3, c &= 0x0F, min = 0x800;
	else if ((c & 0xF8) == 0xF0)
		len = 4, c &= 0x07, min = 0x10000;
	else
		return 0;
	for (i = 1; i < len; i++)
	{
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return len;
}

/*
 * display_width
 *		Terminal columns of a UTF-8 string: one per character.
 */
int
display_width(const char *s)
{
	int			w = 0;

	for (; *s; s++)
		if (((unsigned char) *s & 0xC0) != 0x80)
			w++;
	return w;
}

/*
 * scaled
 *		Three significant digits of x, in a unit where x < 1000; returns
 *		false when x rounds to 1000 or more (the next unit should be used).
 */
static bool
scaled(PfgBuf *out, double x, const char *unit)
{
	if (x < 9.995)
		buf_printf(out, "%.2f %s", x, unit);
	else if (x < 99.95)
		buf_printf(out, "%.1f %s", x, unit);
	else if (x < 999.5)
		buf_printf(out, "%.0f %s", x, unit);
	else
		return false;
	return true;
}

/*
 * format_duration
 *		A duration given in milliseconds, with three significant digits
 *		and a unit: "812 µs", "12.3 ms", "4.20 s" (and "1234 s" above).
 */
void
format_duration(PfgBuf *out, double ms)
{
	if (isnan(ms) || ms < 0)
	{
		buf_puts(out, "-");
		return;
	}
	if (scaled(out, ms * 1000.0, "\xC2\xB5s"))	/* µs */
		return;
	if (scaled(out, ms, "ms"))
		return;
	if (scaled(out, ms / 1000.0, "s"))
		return;
	buf_printf(out, "%.0f s", ms / 1000.0);
}

/*
 * format_duration_str
 *		format_duration() of a column value (NULL: "-").
 */
void
format_duration_str(PfgBuf *out, const char *ms)
{
	if (ms == NULL)
		buf_puts(out, "-");
	else
		format_duration(out, strtod(ms, NULL));
}

/*
 * format_number
 *		A column value for a person: integers as they are, fractions with
 *		three significant digits and no trailing zeros; NULL is "-".
 */
void
format_number(PfgBuf *out, const char *value)
{
	double		x;
	PfgBuf		tmp;
	char	   *end;

	if (value == NULL)
	{
		buf_puts(out, "-");
		return;
	}
	if (strspn(value, "-0123456789") == strlen(value))
	{
		buf_puts(out, value);
		return;
	}
	x = strtod(value, &end);
	if (*end != '\0' || isnan(x) || isinf(x))
	{
		buf_puts(out, value);
		return;
	}
	/* "%.0f" of a large value has as many digits as it needs: no fixed buffer */
	buf_init(&tmp);
	if (fabs(x) >= 99.95)
		buf_printf(&tmp, "%.0f", x);
	else if (fabs(x) >= 9.995)
		buf_printf(&tmp, "%.1f", x);
	else if (fabs(x) >= 0.9995 || x == 0)
		buf_printf(&tmp, "%.2f", x);
	else
		buf_printf(&tmp, "%.3g", x);
	if (strchr(tmp.data, '.') && !strchr(tmp.data, 'e'))
	{
		while (tmp.data[tmp.len - 1] == '0')
			tmp.data[--tmp.len] = '\0';
		if (tmp.data[tmp.len - 1] == '.')
			tmp.data[--tmp.len] = '\0';
	}
	buf_puts(out, tmp.data);
	buf_free(&tmp);
}

/*
 * short_time
 *		A timestamp as the server writes it, without fractions of a second:
 *		"2026-11-23 14:40:01.123456+00" is "2026-11-23 14:40:01+00".
 */
void
short_time(PfgBuf *out, const char *timestamp)
{
	const char *dot;

	if (timestamp == NULL)
	{
		buf_puts(out, "-");
		return;
	}
	dot = strchr(timestamp, '.');
	if (dot == NULL)
	{
		buf_puts(out, timestamp);
		return;
	}
	buf_putn(out, timestamp, dot - timestamp);
	dot++;
	while (*dot >= '0' && *dot <= '9')
		dot++;
	buf_puts(out, dot);
}

/*
 * one_line
 *		A text on one line: runs of white space and control characters
 *		become one space, leading and trailing ones go, invalid UTF-8 is
 *		U+FFFD, and the result is cut to maxwidth characters, the last of
 *		them "…" (maxwidth <= 0: uncut).  NULL is written as "-".
 */
void
one_line(PfgBuf *out, const char *s, int maxwidth)
{
	const unsigned char *p = (const unsigned char *) s;
	PfgBuf		line;
	bool		space = false;

	if (s == NULL)
	{
		buf_puts(out, "-");
		return;
	}
	buf_init(&line);
	while (*p)
	{
		unsigned int cp;
		int			n;

		if (*p <= ' ' || *p == 0x7F)
		{
			space = (line.len > 0);
			p++;
			continue;
		}
		if (space)
			buf_putc(&line, ' ');
		space = false;
		n = utf8_char(p, &cp);
		if (n == 0)
		{
			buf_puts(&line, REPLACEMENT_CHAR);
			n = 1;
		}
		else
			buf_putn(&line, (const char *) p, n);
		p += n;
	}
	if (maxwidth > 0 && display_width(line.data) > maxwidth)
	{
		const char *q = line.data;
		int			chars = 0;
		size_t		len;

		while (*q && chars < maxwidth - 1)
		{
			q++;
			while (((unsigned char) *q & 0xC0) == 0x80)
				q++;
			chars++;
		}
		len = q - line.data;
		while (len > 0 && line.data[len - 1] == ' ')
			len--;
		buf_putn(out, line.data, len);
		buf_puts(out, ELLIPSIS);
	}
	else
		buf_puts(out, line.data);
	buf_free(&line);
}

/*
 * json_string
 *		s as a JSON string, quoted and escaped; NULL gives null.
 */
void
json_string(PfgBuf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *) s;

	if (s == NULL)
	{
		buf_puts(out, "null");
		return;
	}
	buf_putc(out, '"');
	while (*p)
	{
		unsigned int cp;
		int			n;

		switch (*p)
		{
			case '"':
				buf_puts(out, "\\\"");
				break;
			case '\\':
				buf_puts(out, "\\\\");
				break;
			case '\n':
				buf_puts(out, "\\n");
				break;
			case '\r':
				buf_puts(out, "\\r");
				break;
			case '\t':
				buf_puts(out, "\\t");
				break;
			case '\b':
				buf_puts(out, "\\b");
				break;
			case '\f':
				buf_puts(out, "\\f");
				break;
			default:
				if (*p < 0x20)
				{
					buf_printf(out, "\\u%04x", *p);
					break;
				}
				n = utf8_char(p, &cp);
				if (n == 0)
					buf_puts(out, "\\ufffd");
				else
				{
					buf_putn(out, (const char *) p, n);
					p += n - 1;
				}
				break;
		}
		p++;
	}
	buf_putc(out, '"');
}

/*
 * json_value
 *		One column of a result row as a JSON value: numbers and booleans
 *		as themselves, json and jsonb as they are, the rest as strings.
 *		NULL, NaN and infinities (which JSON has not) give null.
 */
void
json_value(PfgBuf *out, const PGresult *res, int row, int col)
{
	const char *v;

	if (PQgetisnull(res, row, col))
	{
		buf_puts(out, "null");
		return;
	}
	v = PQgetvalue(res, row, col);
	switch (PQftype(res, col))
	{
		case BOOLOID:
			buf_puts(out, v[0] == 't' ? "true" : "false");
			break;
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case OIDOID:
			buf_puts(out, v);
			break;
		case FLOAT4OID:
		case FLOAT8OID:
		case NUMERICOID:
			if (strpbrk(v, "NnIi"))
				buf_puts(out, "null");
			else
				buf_puts(out, v);
			break;
		case JSONOID:
		case JSONBOID:
			buf_puts(out, v);
			break;
		default:
			json_string(out, v);
			break;
	}
}

/*
 * json_row
 *		A result row as a JSON object keyed by column name; with close
 *		false, the object is left open for the caller to add members.
 */
void
json_row(PfgBuf *out, const PGresult *res, int row, bool close)
{
	int			col;

	buf_putc(out, '{');
	for (col = 0; col < PQnfields(res); col++)
	{
		if (col > 0)
			buf_puts(out, ", ");
		json_string(out, PQfname(res, col));
		buf_puts(out, ": ");
		json_value(out, res, row, col);
	}
	if (close)
		buf_putc(out, '}');
}

/*
 * xml_escape_internal
 *		s escaped for XML: as an attribute value (line breaks and tabs as
 *		character references, which attribute normalization would turn
 *		into spaces), or as element text (line breaks as they are).
 *		Characters XML 1.0 does not allow (most control characters, invalid
 *		UTF-8) are written as U+FFFD.
 */
static void
xml_escape_internal(PfgBuf *out, const char *s, bool attribute)
{
	const unsigned char *p = (const unsigned char *) s;

	if (s == NULL)
		return;
	while (*p)
	{
		unsigned int cp;
		int			n;

		switch (*p)
		{
			case '&':
				buf_puts(out, "&amp;");
				break;
			case '<':
				buf_puts(out, "&lt;");
				break;
			case '>':
				buf_puts(out, "&gt;");
				break;
			case '"':
				buf_puts(out, "&quot;");
				break;
			case '\'':
				buf_puts(out, "&apos;");
				break;
			case '\n':
				buf_puts(out, attribute ? "&#10;" : "\n");
				break;
			case '\r':
				buf_puts(out, "&#13;");
				break;
			case '\t':
				buf_puts(out, attribute ? "&#9;" : "\t");
				break;
			default:
				n = utf8_char(p, &cp);
				if (n == 0 || cp < 0x20 || cp == 0xFFFE || cp == 0xFFFF)
				{
					buf_puts(out, REPLACEMENT_CHAR);
					n = 1;
				}
				else
					buf_putn(out, (const char *) p, n);
				p += n - 1;
				break;
		}
		p++;
	}
}

/*
 * xml_escape
 *		s for an XML attribute value.
 */
void
xml_escape(PfgBuf *out, const char *s)
{
	xml_escape_internal(out, s, true);
}

/*
 * xml_text
 *		s for XML element text.
 */
void
xml_text(PfgBuf *out, const char *s)
{
	xml_escape_internal(out, s, false);
}

/*
 * md_escape
 *		s for a markdown table cell, on one line: markdown's punctuation is
 *		backslash-escaped, so that "<insufficient privilege>" or a "|" shows
 *		as it is.
 */
void
md_escape(PfgBuf *out, const char *s)
{
	PfgBuf		line;
	const char *p;

	buf_init(&line);
	one_line(&line, s, 0);
	for (p = line.data; *p; p++)
	{
		if (strchr("\\`*_[]<>|#~!", *p))
			buf_putc(out, '\\');
		buf_putc(out, *p);
	}
	buf_free(&line);
}

/*
 * md_code
 *		s as a markdown code span in a table cell, on one line and cut to
 *		100 characters: fenced by more backticks than any run inside it,
 *		with "|" escaped (GitHub and GitLab split cells on it even there).
 */
void
md_code(PfgBuf *out, const char *s)
{
	PfgBuf		line;
	const char *p;
	int			run = 0,
				longest = 0,
				i;

	buf_init(&line);
	one_line(&line, s, 100);
	for (p = line.data; *p; p++)
	{
		run = (*p == '`') ? run + 1 : 0;
		if (run > longest)
			longest = run;
	}
	for (i = 0; i <= longest; i++)
		buf_putc(out, '`');
	if (line.data[0] == '`' || (line.len > 0 && line.data[line.len - 1] == '`'))
		buf_putc(out, ' ');
	for (p = line.data; *p; p++)
	{
		if (*p == '|')
			buf_putc(out, '\\');
		buf_putc(out, *p);
	}
	if (line.data[0] == '`' || (line.len > 0 && line.data[line.len - 1] == '`'))
		buf_putc(out, ' ');
	for (i = 0; i <= longest; i++)
		buf_putc(out, '`');
	buf_free(&line);
}

/*
 * md_details_code
 *		A collapsed markdown block: summary (already markdown) and, when
 *		opened, text in a code fence longer than any run of backticks in it.
 */
void
md_details_code(const char *summary, const char *text)
{
	const char *p;
	int			run = 0,
				longest = 2,
				k;

	for (p = text; *p; p++)
	{
		run = (*p == '`') ? run + 1 : 0;
		if (run > longest)
			longest = run;
	}
	out_printf("\n<details><summary>%s</summary>\n\n", summary);
	for (k = 0; k <= longest; k++)
		out_putc('`');
	out_printf("\n%s%s", text, text[0] && text[strlen(text) - 1] == '\n' ? "" : "\n");
	for (k = 0; k <= longest; k++)
		out_putc('`');
	out_printf("\n\n</details>\n");
}

/*
 * table_init
 *		An empty table of ncols columns; headers and align (a string of 'l'
 *		and 'r', one per column) must outlive it.
 */
void
table_init(PfgTable *t, int ncols, const char **headers, const char *align)
{
	t->ncols = ncols;
	t->headers = headers;
	t->align = align;
	t->nrows = 0;
	t->maxrows = 16;
	t->cells = pfg_malloc(sizeof(char *) * t->maxrows * ncols);
}

/*
 * table_add_row
 *		Append a row; the table takes ownership of the ncols malloc'd
 *		strings in cells.
 */
void
table_add_row(PfgTable *t, char **cells)
{
	int			i;

	if (t->nrows == t->maxrows)
	{
		char	  **bigger;

		t->maxrows *= 2;
		bigger = realloc(t->cells, sizeof(char *) * t->maxrows * t->ncols);
		if (bigger == NULL)
			pfg_fatal("out of memory");
		t->cells = bigger;
	}
	for (i = 0; i < t->ncols; i++)
		t->cells[t->nrows * t->ncols + i] = cells[i];
	t->nrows++;
}

static void
print_padded(const char *s, int width, char align, bool last)
{
	int			pad = width - display_width(s);

	if (align == 'r')
		out_printf("%*s%s", pad, "", s);
	else if (last)
		out_puts(s);
	else
		out_printf("%s%*s", s, pad, "");
}

/*
 * table_print_text
 *		The table aligned for a terminal: a header, a rule, the rows, each
 *		line starting with indent, columns two spaces apart.
 */
void
table_print_text(const PfgTable *t, const char *indent)
{
	int		   *width = pfg_malloc(sizeof(int) * t->ncols);
	int			r,
				c,
				i;

	for (c = 0; c < t->ncols; c++)
	{
		width[c] = display_width(t->headers[c]);
		for (r = 0; r < t->nrows; r++)
		{
			int			w = display_width(t->cells[r * t->ncols + c]);

			if (w > width[c])
				width[c] = w;
		}
	}
	out_puts(indent);
	for (c = 0; c < t->ncols; c++)
	{
		print_padded(t->headers[c], width[c], t->align[c], c == t->ncols - 1);
		out_puts(c == t->ncols - 1 ? "\n" : "  ");
	}
	out_puts(indent);
	for (c = 0; c < t->ncols; c++)
	{
		for (i = 0; i < width[c]; i++)
			out_putc('-');
		out_puts(c == t->ncols - 1 ? "\n" : "  ");
	}
	for (r = 0; r < t->nrows; r++)
	{
		out_puts(indent);
		for (c = 0; c < t->ncols; c++)
		{
			print_padded(t->cells[r * t->ncols + c], width[c], t->align[c],
						 c == t->ncols - 1);
			out_puts(c == t->ncols - 1 ? "\n" : "  ");
		}
	}
	free(width);
}

/*
 * table_print_markdown
 *		The table as a markdown (GitHub/GitLab) table; cells must already
 *		be escaped with md_escape() or md_code().
 */
void
table_print_markdown(const PfgTable *t)
{
	int			r,
				c;

	for (c = 0; c < t->ncols; c++)
		out_printf("| %s ", t->headers[c]);
	out_printf("|\n");
	for (c = 0; c < t->ncols; c++)
		out_printf("|%s", t->align[c] == 'r' ? "---:" : "---");
	out_printf("|\n");
	for (r = 0; r < t->nrows; r++)
	{
		for (c = 0; c < t->ncols; c++)
			out_printf("| %s ", t->cells[r * t->ncols + c]);
		out_printf("|\n");
	}
}

void
table_free(PfgTable *t)
{
	int			i;

	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->nrows = 0;
}

/* A table cell: markdown-escaped, or on one line cut to maxwidth (0: no limit). */
char *
cell_text(const char *s, PfgFormat format, int maxwidth)
{
	PfgBuf		b;

	buf_init(&b);
	if (format == PFG_FORMAT_MARKDOWN)
		md_escape(&b, s ? s : "-");
	else
		one_line(&b, s, maxwidth);
	return b.data;
}

/* A table cell for a query text: code in markdown, else one line of 60. */
char *
cell_query(const char *query, PfgFormat format)
{
	PfgBuf		b;

	buf_init(&b);
	if (format == PFG_FORMAT_MARKDOWN)
		md_code(&b, query ? query : "<insufficient privilege>");
	else
		one_line(&b, query ? query : "<insufficient privilege>", 60);
	return b.data;
}
