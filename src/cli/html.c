/*-------------------------------------------------------------------------
 * html.c
 *	  The HTML format of perfguard report and perfguard check: one
 *	  self-contained page (inline CSS, SVG drawn here from the latency
 *	  histograms; no script, no font or image fetched from anywhere),
 *	  readable on a phone and printable.
 *
 * Everything taken from the server (texts, plans, names, numbers) is
 * escaped (xml_text(), xml_escape(): &, <, >, quotes, and characters that
 * are not valid UTF-8 or are control characters become U+FFFD).  Every
 * number is formatted as the text format formats it, so that the two
 * reports say the same.  The page is built in a PfgBuf and written once.
 *
 * The histogram buckets are those of the server (docs/functions.md,
 * Percentiles): 0-7 us one each, then 8 per power of two up to 2^35 us;
 * the client knows their bounds (bucket_lower()).
 *
 * IDENTIFICATION	  src/cli/html.c
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define HIST_SUB_BITS	3
#define HIST_SUB		(1 << HIST_SUB_BITS)
#define HIST_MAX_EXP	34

/* plot geometry, in SVG user units (the SVG scales to its box) */
#define SVG_W		640.0
#define SVG_H		210.0
#define PLOT_X0		44.0
#define PLOT_X1		628.0
#define PLOT_Y0		44.0
#define PLOT_Y1		176.0

/*
 * bucket_lower, bucket_upper
 *		Bounds of a bucket in milliseconds (src/histogram.c).
 */
static double
bucket_lower(int bucket)
{
	int			e;
	unsigned long long sub;

	if (bucket < HIST_SUB)
		return bucket / 1000.0;
	e = bucket / HIST_SUB + HIST_SUB_BITS - 1;
	sub = bucket % HIST_SUB;
	return (double) ((HIST_SUB + sub) << (e - HIST_SUB_BITS)) / 1000.0;
}

static double
bucket_upper(int bucket)
{
	if (bucket < HIST_SUB)
		return (bucket + 1) / 1000.0;
	if (bucket >= PFG_HIST_NBUCKETS - 1)
		return (double) (1ULL << (HIST_MAX_EXP + 1)) / 1000.0;
	return bucket_lower(bucket + 1);
}

/*
 * hist_parse
 *		A histogram from the server's text: a bigint[] of (bucket, count)
 *		pairs ("{40,2,41,3}") or a document's latency_histogram
 *		("[[40, 2], [41, 3]]").  NULL or empty: not present.
 */
void
hist_parse(PfgHist *h, const char *text)
{
	const char *p = text;
	long long	v[2];
	int			n = 0;

	memset(h, 0, sizeof(*h));
	if (text == NULL)
		return;
	while (*p)
	{
		char	   *end;
		long long	x;

		if (!(*p >= '0' && *p <= '9'))
		{
			p++;
			continue;
		}
		x = strtoll(p, &end, 10);
		p = end;
		v[n++] = x;
		if (n == 2)
		{
			if (v[0] >= 0 && v[0] < PFG_HIST_NBUCKETS && v[1] > 0)
			{
				h->counts[v[0]] += (double) v[1];
				h->total += (double) v[1];
			}
			n = 0;
		}
	}
	h->present = h->total > 0;
}

/*
 * html_text
 *		s as HTML element text; NULL is "-".
 */
void
html_text(PfgBuf *out, const char *s)
{
	xml_text(out, s ? s : "-");
}

/* s as an HTML attribute value (without the quotes) */
void
html_attr(PfgBuf *out, const char *s)
{
	xml_escape(out, s ? s : "");
}

static const char *const css =
":root{--fg:#1a202c;--muted:#4a5568;--line:#e2e8f0;--bg:#fff;--card:#f7fafc;"
"--cur:#2b6cb0;--base:#c05621;--p50:#2f855a;--p95:#b7791f;--p99:#c53030;--bad:#c53030;--good:#2f855a}\n"
"*{box-sizing:border-box}\n"
"body{margin:0 auto;max-width:1200px;padding:16px;font:15px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;color:var(--fg);background:var(--bg)}\n"
"h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.2em;margin:1.6em 0 .5em;border-bottom:2px solid var(--line);padding-bottom:.2em}\n"
"h3{font-size:1em;margin:0 0 .4em;word-break:break-all}\n"
".meta{color:var(--muted);margin:.2em 0}\n"
".verdict{font-size:1.15em;font-weight:600;padding:.5em .8em;border-radius:6px;margin:.6em 0}\n"
".verdict.ok{background:#f0fff4;color:var(--good);border:1px solid #9ae6b4}\n"
".verdict.failed{background:#fff5f5;color:var(--bad);border:1px solid #feb2b2}\n"
".scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}\n"
"table{border-collapse:collapse;width:100%;font-size:.92em}\n"
"th,td{padding:.35em .6em;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}\n"
"th{background:var(--card);white-space:nowrap}\n"
"td.num,th.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}\n"
"td.fp{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em;white-space:nowrap}\n"
"td.q,pre,code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.88em}\n"
"td.q{min-width:16em;word-break:break-word}\n"
"pre{white-space:pre-wrap;word-break:break-word;background:var(--card);border:1px solid var(--line);border-radius:4px;padding:.6em;margin:.4em 0}\n"
".flag{display:inline-block;padding:0 .4em;border-radius:3px;background:#fefcbf;color:#744210;font-size:.85em;margin-right:.2em}\n"
".stmt{border:1px solid var(--line);border-radius:6px;padding:12px;margin:12px 0;background:var(--bg);break-inside:avoid;page-break-inside:avoid}\n"
".stmt dl{display:flex;flex-wrap:wrap;gap:.2em 1.2em;margin:.4em 0}\n"
".stmt dt{color:var(--muted);font-size:.85em}.stmt dd{margin:0 0 0 .3em;font-weight:600;font-variant-numeric:tabular-nums}\n"
".stmt dl div{display:flex;align-items:baseline}\n"
"figure{margin:.4em 0}svg{width:100%;height:auto;max-width:760px;display:block}\n"
"figcaption{color:var(--muted);font-size:.85em}\n"
".legend span{display:inline-block;width:.9em;height:.9em;vertical-align:middle;margin:0 .3em 0 .8em;border-radius:2px}\n"
".bad{color:var(--bad);font-weight:600}.good{color:var(--good);font-weight:600}\n"
"details{margin:.4em 0}summary{cursor:pointer;color:var(--cur)}\n"
".advice code{background:var(--card);padding:0 .2em}\n"
"footer{color:var(--muted);font-size:.85em;margin-top:2em;border-top:1px solid var(--line);padding-top:.5em}\n"
"@media (max-width:600px){body{padding:8px;font-size:14px}th,td{padding:.3em .4em}.stmt{padding:8px}td.q{min-width:12em}}\n"
"@media print{body{max-width:none;padding:0;font-size:10pt}.scroll{overflow:visible}"
"a{color:inherit;text-decoration:none}summary{color:inherit}.stmt{border-color:#999}"
"*{-webkit-print-color-adjust:exact;print-color-adjust:exact}h2{break-after:avoid}}\n";

/*
 * html_begin
 *		The start of the page, up to and including <body> and the title.
 */
void
html_begin(PfgBuf *out, const char *title)
{
	buf_puts(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
			 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
			 "<meta name=\"generator\" content=\"perfguard " PFG_CLIENT_VERSION "\">\n<title>");
	html_text(out, title);
	buf_puts(out, "</title>\n<style>\n");
	buf_puts(out, css);
	buf_puts(out, "</style>\n</head>\n<body>\n<header>\n<h1>");
	html_text(out, title);
	buf_puts(out, "</h1>\n");
}

/*
 * html_meta_line
 *		The line under the title: database, server, when.
 */
void
html_meta_line(PfgBuf *out)
{
	PGresult   *res = pfg_query("SELECT pg_catalog.current_database(),"
								" pg_catalog.current_setting('server_version'),"
								" (SELECT i.version FROM perfguard.info() i),"
								" pg_catalog.to_char(pg_catalog.now(), 'YYYY-MM-DD HH24:MI:SS TZ')",
								0, NULL);

	buf_puts(out, "<p class=\"meta\">database <b>");
	html_text(out, PQgetvalue(res, 0, 0));
	buf_puts(out, "</b> &middot; PostgreSQL ");
	html_text(out, PQgetvalue(res, 0, 1));
	buf_puts(out, " &middot; perfguard ");
	html_text(out, PQgetisnull(res, 0, 2) ? NULL : PQgetvalue(res, 0, 2));
	buf_puts(out, " &middot; <time>");
	html_text(out, PQgetvalue(res, 0, 3));
	buf_puts(out, "</time></p>\n");
	PQclear(res);
}

void
html_end(PfgBuf *out)
{
	buf_puts(out, "<footer>Made by perfguard " PFG_CLIENT_VERSION
			 ". Latencies are from histograms with buckets 1/8 of a power of two wide: a percentile is within 1/16 of the true value.</footer>\n"
			 "</body>\n</html>\n");
}

/* a duration for a label: "1.05 ms" */
static void
dur(PfgBuf *out, double ms)
{
	format_duration(out, ms);
}

/* a round decade for an axis: "1 µs", "100 ms", "10 s" */
static void
decade_label(PfgBuf *out, int k)
{
	static const char *const units[] = {"\xC2\xB5s", "ms", "s"};
	int			u = (k + 3) / 3;	/* 10^-3 ms = 1 us */
	int			p = (k + 3) % 3;

	if (k + 3 < 0)
	{
		buf_printf(out, "1e%d ms", k);
		return;
	}
	if (u > 2)
	{
		p += (u - 2) * 3;
		u = 2;
	}
	buf_printf(out, "%.0f %s", pow(10, p), units[u]);
}

typedef struct Axis
{
	double		lmin;
	double		lmax;
} Axis;

static double
xpos(const Axis *a, double ms)
{
	double		l = log10(ms > 0.0005 ? ms : 0.0005);

	if (l < a->lmin)
		l = a->lmin;
	if (l > a->lmax)
		l = a->lmax;
	return PLOT_X0 + (l - a->lmin) / (a->lmax - a->lmin) * (PLOT_X1 - PLOT_X0);
}

/* widen [lo, hi] (in ms) by the non-empty buckets of h */
static void
hist_range(const PfgHist *h, double *lo, double *hi)
{
	int			b;

	if (h == NULL || !h->present)
		return;
	for (b = 0; b < PFG_HIST_NBUCKETS; b++)
	{
		if (h->counts[b] <= 0)
			continue;
		if (bucket_lower(b) < *lo)
			*lo = bucket_lower(b);
		if (bucket_upper(b) > *hi)
			*hi = bucket_upper(b);
	}
}

/* the bars of one histogram, as fractions of its calls */
static void
hist_bars(PfgBuf *out, const Axis *a, const PfgHist *h, double ymax,
		  const char *cls)
{
	int			b;

	buf_printf(out, "<g class=\"%s\">", cls);
	for (b = 0; b < PFG_HIST_NBUCKETS; b++)
	{
		double		frac,
					x0,
					x1,
					y;

		if (h->counts[b] <= 0)
			continue;
		frac = h->counts[b] / h->total;
		x0 = xpos(a, bucket_lower(b));
		x1 = xpos(a, bucket_upper(b));
		y = PLOT_Y1 - frac / ymax * (PLOT_Y1 - PLOT_Y0);
		buf_printf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"><title>",
				   x0, y, x1 - x0 > 0.6 ? x1 - x0 - 0.3 : 0.3, PLOT_Y1 - y);
		dur(out, bucket_lower(b));
		buf_puts(out, " \xE2\x80\x93 ");	/* – */
		dur(out, bucket_upper(b));
		buf_printf(out, ": %.0f calls (%.1f%%)</title></rect>", h->counts[b], frac * 100.0);
	}
	buf_puts(out, "</g>\n");
}

/*
 * html_svg_histogram
 *		One <svg>: the latency histogram cur (bars: share of calls per
 *		bucket, on a logarithmic time axis) with its p50, p95 and p99
 *		marked (cur_p, ms; negative: not marked), and, when base is given,
 *		the baseline's histogram overlaid as outlines with its p95 dashed.
 *		label names the statement for screen readers.
 */
void
html_svg_histogram(PfgBuf *out, const char *label, const PfgHist *cur,
				   const double cur_p[3], const PfgHist *base,
				   const double base_p[3])
{
	static const char *const pname[] = {"p50", "p95", "p99"};
	static const char *const pcolor[] = {"#2f855a", "#b7791f", "#c53030"};
	double		lo = 1e300,
				hi = 0,
				ymax = 0;
	Axis		a;
	int			b,
				k,
				i;
	bool		with_base = (base != NULL && base->present);

	hist_range(cur, &lo, &hi);
	if (with_base)
		hist_range(base, &lo, &hi);
	for (i = 0; i < 3; i++)
	{
		if (cur_p && cur_p[i] > 0)
		{
			lo = fmin(lo, cur_p[i]);
			hi = fmax(hi, cur_p[i]);
		}
	}
	if (hi <= 0)
	{
		lo = 0.001;
		hi = 1;
	}
	a.lmin = log10(fmax(lo, 0.0005));
	a.lmax = log10(fmax(hi, 0.001));
	if (a.lmax - a.lmin < 1.0)
	{
		double		mid = (a.lmax + a.lmin) / 2;

		a.lmin = mid - 0.5;
		a.lmax = mid + 0.5;
	}
	else
	{
		double		pad = (a.lmax - a.lmin) * 0.04;

		a.lmin -= pad;
		a.lmax += pad;
	}
	for (b = 0; b < PFG_HIST_NBUCKETS; b++)
	{
		if (cur && cur->present && cur->counts[b] / cur->total > ymax)
			ymax = cur->counts[b] / cur->total;
		if (with_base && base->counts[b] / base->total > ymax)
			ymax = base->counts[b] / base->total;
	}
	if (ymax <= 0)
		ymax = 1;

	buf_printf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"",
			   SVG_W, SVG_H);
	html_attr(out, label);
	buf_puts(out, "\" font-family=\"system-ui, sans-serif\" font-size=\"11\">\n<title>");
	html_text(out, label);
	buf_puts(out, "</title>\n");
	buf_puts(out, "<style>.cur rect{fill:#2b6cb0;fill-opacity:.75}"
			 ".base rect{fill:#c05621;fill-opacity:.12;stroke:#c05621;stroke-width:1}"
			 ".grid{stroke:#e2e8f0;stroke-width:1}.axis{stroke:#4a5568;stroke-width:1}"
			 "text{fill:#4a5568}</style>\n");

	/* grid and axis: decades */
	for (k = (int) ceil(a.lmin); k <= (int) floor(a.lmax); k++)
	{
		double		x = xpos(&a, pow(10, k));

		buf_printf(out, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>",
				   x, PLOT_Y0 - 4, x, PLOT_Y1);
		buf_printf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", x, PLOT_Y1 + 15);
		decade_label(out, k);
		buf_puts(out, "</text>\n");
	}
	buf_printf(out, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
			   PLOT_X0, PLOT_Y1, PLOT_X1, PLOT_Y1);
	buf_printf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.0f%%</text>"
			   "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">0</text>\n",
			   PLOT_X0 - 4, PLOT_Y0 + 4, ymax * 100.0, PLOT_X0 - 4, PLOT_Y1);
	buf_printf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">execution time (log scale); bars: share of calls</text>\n",
			   (PLOT_X0 + PLOT_X1) / 2, SVG_H - 6);

	if (with_base)
		hist_bars(out, &a, base, ymax, "base");
	if (cur && cur->present)
		hist_bars(out, &a, cur, ymax, "cur");

	/* the percentiles: a line each, labels in rows so they do not collide */
	for (i = 0; i < 3; i++)
	{
		double		x;

		if (cur_p == NULL || !(cur_p[i] > 0))
			continue;
		x = xpos(&a, cur_p[i]);
		buf_printf(out, "<g class=\"mark %s\"><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>",
				   pname[i], x, PLOT_Y0 - 2 - 12.0 * (2 - i), x, PLOT_Y1, pcolor[i]);
		buf_printf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" style=\"fill:%s\" font-weight=\"600\">%s ",
				   x + (x > PLOT_X1 - 90 ? -3 : 3), PLOT_Y0 - 4 - 12.0 * (2 - i),
				   x > PLOT_X1 - 90 ? "end" : "start", pcolor[i], pname[i]);
		dur(out, cur_p[i]);
		buf_puts(out, "</text></g>\n");
	}
	if (with_base && base_p && base_p[1] > 0)
	{
		double		x = xpos(&a, base_p[1]);

		buf_printf(out, "<g class=\"mark base-p95\"><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#c05621\" stroke-width=\"2\" stroke-dasharray=\"5 3\"/>",
				   x, PLOT_Y0 + 6, x, PLOT_Y1);
		buf_printf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" style=\"fill:#c05621\">baseline p95 ",
				   x + (x > PLOT_X1 - 120 ? -3 : 3), PLOT_Y0 + 16,
				   x > PLOT_X1 - 120 ? "end" : "start");
		dur(out, base_p[1]);
		buf_puts(out, "</text></g>\n");
	}
	buf_puts(out, "</svg>\n");
}

/*
 * html_query_cell
 *		A table cell with the query on one line cut to 100 characters, the
 *		whole text as its tooltip.
 */
void
html_query_cell(PfgBuf *out, const char *query)
{
	PfgBuf		line;
	const char *q = query ? query : "<insufficient privilege>";

	buf_init(&line);
	one_line(&line, q, 100);
	buf_puts(out, "<td class=\"q\" title=\"");
	html_attr(out, q);
	buf_puts(out, "\">");
	html_text(out, line.data);
	buf_puts(out, "</td>");
	buf_free(&line);
}

/* a <td> of text, with a class ("num", "fp") or none */
void
html_cell(PfgBuf *out, const char *cls, const char *text)
{
	if (cls)
		buf_printf(out, "<td class=\"%s\">", cls);
	else
		buf_puts(out, "<td>");
	html_text(out, text);
	buf_puts(out, "</td>");
}

/*
 * html_plan
 *		A captured plan, folded: <details> with what it is in the summary.
 */
void
html_plan(PfgBuf *out, const char *plan, const char *kind, const char *event_id)
{
	if (plan == NULL)
		return;
	buf_puts(out, "<details class=\"plan\"><summary>Captured plan (");
	html_text(out, kind);
	buf_puts(out, " event ");
	html_text(out, event_id);
	buf_puts(out, ")</summary><pre>");
	html_text(out, plan);
	buf_puts(out, "</pre></details>\n");
}

/*
 * html_violations
 *		The budget violations as a table (columns of the text format).
 */
void
html_violations(PfgBuf *out, const PGresult *res)
{
	int			r;

	buf_printf(out, "<section id=\"violations\">\n<h2>Budget violations (%d)</h2>\n", PQntuples(res));
	if (PQntuples(res) == 0)
	{
		buf_puts(out, "<p class=\"good\">None: every statement is within its budget.</p>\n</section>\n");
		return;
	}
	buf_puts(out, "<div class=\"scroll\"><table class=\"violations\">\n<thead><tr><th>fingerprint</th><th>limit</th>"
			 "<th class=\"num\">measured</th><th class=\"num\">allowed</th><th class=\"num\">calls</th>"
			 "<th>budget</th><th>severity</th><th>message</th><th>query</th></tr></thead>\n<tbody>\n");
	for (r = 0; r < PQntuples(res); r++)
	{
		const char *limit = pfg_value(res, r, "limit_name");
		PfgBuf		b;

		buf_printf(out, "<tr data-fingerprint=\"");
		html_attr(out, pfg_value(res, r, "fingerprint"));
		buf_puts(out, "\">");
		html_cell(out, "fp", pfg_value(res, r, "fingerprint"));
		html_cell(out, NULL, limit);
		buf_init(&b);
		format_measure(&b, limit, pfg_value(res, r, "measured"));
		html_cell(out, "num", b.data);
		buf_reset(&b);
		format_measure(&b, limit, pfg_value(res, r, "limit_value"));
		html_cell(out, "num", b.data);
		buf_free(&b);
		html_cell(out, "num", pfg_value(res, r, "calls"));
		html_cell(out, NULL, pfg_value(res, r, "budget"));
		html_cell(out, "bad", pfg_value(res, r, "severity"));
		html_cell(out, NULL, pfg_value(res, r, "message"));
		html_query_cell(out, pfg_value(res, r, "query"));
		buf_puts(out, "</tr>\n");
	}
	buf_puts(out, "</tbody></table></div>\n</section>\n");
}

/*
 * The N+1, row-by-row and sequential-scan events of this database, the
 * latest first, with what to do about each.
 */
#define HTML_EVENTS_SQL \
	"SELECT e.event_id, e.event_time, e.kind, e.fingerprint::text AS fingerprint, e.query," \
	" e.duration_ms, e.detail->>'relation' AS relation, e.detail->>'index_advice' AS index_advice," \
	" e.detail->>'existing_index' AS existing_index, e.detail->>'full_read' AS full_read," \
	" e.detail->>'filter' AS filter, e.detail->>'count' AS count, e.detail->>'scope' AS scope," \
	" e.detail->>'parent_query' AS parent_query, e.detail->>'parent_fingerprint' AS parent_fingerprint" \
	" FROM perfguard.events e" \
	" WHERE e.kind IN ('n_plus_one', 'row_by_row_dml', 'seq_scan')" \
	" AND e.database = pg_catalog.current_database()" \
	" ORDER BY e.event_id DESC LIMIT 50"

void
html_events(PfgBuf *out)
{
	PGresult   *res = pfg_query(HTML_EVENTS_SQL, 0, NULL);
	int			r;

	buf_printf(out, "<section id=\"events\">\n<h2>N+1 patterns and sequential scans (%d)</h2>\n",
			   PQntuples(res));
	if (PQntuples(res) == 0)
	{
		buf_puts(out, "<p>No N+1, row-by-row or sequential-scan events in this database.</p>\n</section>\n");
		PQclear(res);
		return;
	}
	buf_puts(out, "<p class=\"meta\">The latest 50 at most, newest first (perfguard.events).</p>\n"
			 "<div class=\"scroll\"><table class=\"events\">\n<thead><tr><th class=\"num\">event</th><th>time</th>"
			 "<th>kind</th><th>fingerprint</th><th>statement</th><th>what</th><th>advice</th></tr></thead>\n<tbody>\n");
	for (r = 0; r < PQntuples(res); r++)
	{
		const char *kind = pfg_value(res, r, "kind");
		PfgBuf		b;

		buf_puts(out, "<tr data-kind=\"");
		html_attr(out, kind);
		buf_puts(out, "\">");
		html_cell(out, "num", pfg_value(res, r, "event_id"));
		buf_init(&b);
		short_time(&b, pfg_value(res, r, "event_time"));
		html_cell(out, NULL, b.data);
		html_cell(out, NULL, kind);
		html_cell(out, "fp", pfg_value(res, r, "fingerprint"));
		html_query_cell(out, pfg_value(res, r, "query"));
		buf_reset(&b);
		buf_puts(out, "<td>");
		if (strcmp(kind, "seq_scan") == 0)
		{
			buf_puts(out, "read <code>");
			html_text(out, pfg_value(res, r, "relation"));
			buf_puts(out, "</code> sequentially");
			if (pfg_value(res, r, "filter"))
			{
				buf_puts(out, ", filter <code>");
				html_text(out, pfg_value(res, r, "filter"));
				buf_puts(out, "</code>");
			}
			buf_puts(out, "</td><td class=\"advice\">");
			if (pfg_value(res, r, "index_advice"))
			{
				buf_puts(out, "<code>");
				html_text(out, pfg_value(res, r, "index_advice"));
				buf_puts(out, "</code>");
			}
			else if (pfg_value(res, r, "full_read") && strcmp(pfg_value(res, r, "full_read"), "true") == 0)
				buf_puts(out, "It reads the whole table by design (no filter): fetch fewer rows, or accept it.");
			else if (pfg_value(res, r, "existing_index"))
			{
				buf_puts(out, "An index exists (<code>");
				html_text(out, pfg_value(res, r, "existing_index"));
				buf_puts(out, "</code>) but was not used: check the filter's types and the statistics (ANALYZE).");
			}
			else
				buf_puts(out, "No index can be suggested for this filter.");
		}
		else
		{
			bool		nplus1 = strcmp(kind, "n_plus_one") == 0;

			buf_printf(out, "ran %s times in one %s",
					   pfg_value(res, r, "count") ? pfg_value(res, r, "count") : "?",
					   pfg_value(res, r, "scope") && strcmp(pfg_value(res, r, "scope"), "session") == 0 ?
					   "burst" : "transaction");
			if (pfg_value(res, r, "parent_query"))
			{
				buf_puts(out, ", after <code>");
				one_line(&b, pfg_value(res, r, "parent_query"), 100);
				html_text(out, b.data);
				buf_puts(out, "</code>");
			}
			else if (pfg_value(res, r, "parent_fingerprint"))
			{
				buf_puts(out, ", after statement ");
				html_text(out, pfg_value(res, r, "parent_fingerprint"));
			}
			buf_puts(out, "</td><td class=\"advice\">");
			buf_puts(out, nplus1 ?
					 "Fetch the rows in one query: join them to the query that drove the loop, or look them up together with <code>= ANY($1)</code>." :
					 "Write the rows in one statement: <code>INSERT ... SELECT</code>, a multi-row <code>VALUES</code>, or <code>UPDATE ... FROM</code>.");
		}
		buf_puts(out, "</td></tr>\n");
		buf_free(&b);
	}
	buf_puts(out, "</tbody></table></div>\n</section>\n");
	PQclear(res);
}

/*
 * The histogram and p50 of the statements of this database, and the
 * latest plan captured for each since its statistics began.
 */
#define HTML_HIST_SQL \
	"SELECT s.fingerprint::text AS fingerprint, s.latency_hist::text AS hist," \
	" s.p50_exec_time, s.p95_exec_time, s.p99_exec_time, s.calls" \
	" FROM perfguard.statements_internal(true) s" \
	" WHERE s.fingerprint = ANY ($1::bigint[])"
#define HTML_PLANS_SQL \
	"SELECT DISTINCT ON (e.fingerprint) e.fingerprint::text AS fingerprint," \
	" e.event_id, e.kind, e.plan FROM perfguard.events e" \
	" WHERE e.plan IS NOT NULL AND e.database = pg_catalog.current_database()" \
	" AND e.fingerprint = ANY ($1::bigint[])" \
	" AND e.event_time >= (SELECT pg_catalog.min(s.first_exec_at) FROM perfguard.stats s" \
	"   WHERE s.fingerprint = e.fingerprint AND s.dbid = e.dbid)" \
	" ORDER BY e.fingerprint, e.event_id DESC"
#define HTML_VIOLATIONS_SQL \
	"SELECT v.fingerprint::text AS fingerprint, v.query, v.limit_name, v.limit_value," \
	" v.measured, v.calls, v.budget, v.severity, v.message" \
	" FROM perfguard.violations() v ORDER BY v.fingerprint, v.limit_name"

/* the row of res whose fingerprint column is fp, or -1 */
static int
find_row(const PGresult *res, const char *fp)
{
	int			r;

	for (r = 0; res && fp && r < PQntuples(res); r++)
	{
		const char *v = pfg_value(res, r, "fingerprint");

		if (v && strcmp(v, fp) == 0)
			return r;
	}
	return -1;
}

/* a column as milliseconds, or -1 for NULL */
static double
ms_value(const PGresult *res, int row, const char *column)
{
	const char *v = row >= 0 ? pfg_value(res, row, column) : NULL;

	return v ? strtod(v, NULL) : -1;
}

/* one <dt>/<dd> pair */
static void
dl_item(PfgBuf *out, const char *term, const char *value)
{
	buf_puts(out, "<div><dt>");
	html_text(out, term);
	buf_puts(out, "</dt><dd>");
	html_text(out, value);
	buf_puts(out, "</dd></div>");
}

static void
dl_duration(PfgBuf *out, const char *term, const char *ms)
{
	PfgBuf		b;

	buf_init(&b);
	format_duration_str(&b, ms);
	dl_item(out, term, b.data);
	buf_free(&b);
}

/*
 * html_report
 *		perfguard report --format html: the table of the top statements
 *		(the text format's columns and numbers), then one section per
 *		statement with its latency histogram, p50/p95/p99 marked, and its
 *		latest captured plan; the budget violations; the N+1 and
 *		sequential-scan events.  Written to standard output (or -o).
 */
void
html_report(const PfgOptions *opts, const PGresult *res, long total_statements,
			const char *sort_desc)
{
	static const char *const cols[] = {"calls", "total", "mean", "p95", "p99", "rows/call", "blks/call"};
	PfgBuf		out,
				arr,
				b;
	PGresult   *hists,
			   *plans,
			   *violations;
	const char *params[1];
	int			r,
				c;

	buf_init(&arr);
	buf_putc(&arr, '{');
	for (r = 0; r < PQntuples(res); r++)
		buf_printf(&arr, "%s%s", r ? "," : "", pfg_value(res, r, "fingerprint"));
	buf_putc(&arr, '}');
	params[0] = arr.data;
	hists = pfg_query(HTML_HIST_SQL, 1, params);
	plans = pfg_query(HTML_PLANS_SQL, 1, params);
	violations = pfg_query(HTML_VIOLATIONS_SQL, 0, NULL);

	buf_init(&out);
	buf_init(&b);
	buf_printf(&b, "perfguard report: %s", PQdb(pfg_conn));
	html_begin(&out, b.data);
	html_meta_line(&out);
	buf_printf(&out, "<p class=\"summary\">Top %d of %ld statements in database &ldquo;",
			   PQntuples(res), total_statements);
	html_text(&out, PQdb(pfg_conn));
	buf_puts(&out, "&rdquo;, by ");
	html_text(&out, sort_desc);
	buf_puts(&out, ".</p>\n</header>\n");

	/* the table: the text format's columns */
	buf_puts(&out, "<section id=\"statements\">\n<h2>Top statements</h2>\n"
			 "<div class=\"scroll\"><table class=\"stats\">\n<thead><tr><th>fingerprint</th>");
	for (c = 0; c < 7; c++)
		buf_printf(&out, "<th class=\"num\">%s</th>", cols[c]);
	buf_puts(&out, "<th>flags</th><th>query</th></tr></thead>\n<tbody>\n");
	for (r = 0; r < PQntuples(res); r++)
	{
		const char *fp = pfg_value(res, r, "fingerprint");

		buf_puts(&out, "<tr data-fingerprint=\"");
		html_attr(&out, fp);
		buf_puts(&out, "\"><td class=\"fp\"><a href=\"#s");
		html_attr(&out, fp);
		buf_puts(&out, "\">");
		html_text(&out, fp);
		buf_puts(&out, "</a></td>");
		html_cell(&out, "num calls", pfg_value(res, r, "calls"));
		buf_reset(&b);
		format_duration_str(&b, pfg_value(res, r, "total_exec_time"));
		html_cell(&out, "num total", b.data);
		buf_reset(&b);
		format_duration_str(&b, pfg_value(res, r, "mean_exec_time"));
		html_cell(&out, "num mean", b.data);
		buf_reset(&b);
		format_duration_str(&b, pfg_value(res, r, "p95_exec_time"));
		html_cell(&out, "num p95", b.data);
		buf_reset(&b);
		format_duration_str(&b, pfg_value(res, r, "p99_exec_time"));
		html_cell(&out, "num p99", b.data);
		buf_reset(&b);
		format_number(&b, pfg_value(res, r, "rows_per_call"));
		html_cell(&out, "num rows", b.data);
		buf_reset(&b);
		format_number(&b, pfg_value(res, r, "blocks_per_call"));
		html_cell(&out, "num blocks", b.data);
		buf_reset(&b);
		report_flags(&b, res, r);
		buf_puts(&out, "<td class=\"flags\">");
		if (b.len > 0)
		{
			buf_puts(&out, "<span class=\"flag\">");
			html_text(&out, b.data);
			buf_puts(&out, "</span>");
		}
		buf_puts(&out, "</td>");
		html_query_cell(&out, pfg_value(res, r, "query"));
		buf_puts(&out, "</tr>\n");
	}
	buf_puts(&out, "</tbody></table></div>\n</section>\n");

	/* one section per statement, with its plot */
	buf_puts(&out, "<section id=\"plots\">\n<h2>Latency of each statement</h2>\n");
	for (r = 0; r < PQntuples(res); r++)
	{
		const char *fp = pfg_value(res, r, "fingerprint");
		int			h = find_row(hists, fp);
		int			p = find_row(plans, fp);
		PfgHist		hist;
		double		pct[3];

		hist_parse(&hist, h >= 0 ? pfg_value(hists, h, "hist") : NULL);
		pct[0] = ms_value(hists, h, "p50_exec_time");
		pct[1] = ms_value(res, r, "p95_exec_time");
		pct[2] = ms_value(res, r, "p99_exec_time");
		buf_puts(&out, "<article class=\"stmt\" id=\"s");
		html_attr(&out, fp);
		buf_puts(&out, "\" data-fingerprint=\"");
		html_attr(&out, fp);
		buf_puts(&out, "\">\n<h3>fingerprint ");
		html_text(&out, fp);
		buf_puts(&out, "</h3>\n<pre class=\"query\">");
		html_text(&out, pfg_value(res, r, "query") ? pfg_value(res, r, "query") : "<insufficient privilege>");
		buf_puts(&out, "</pre>\n<dl>");
		dl_item(&out, "calls", pfg_value(res, r, "calls"));
		dl_duration(&out, "total", pfg_value(res, r, "total_exec_time"));
		dl_duration(&out, "mean", pfg_value(res, r, "mean_exec_time"));
		dl_duration(&out, "p50", h >= 0 ? pfg_value(hists, h, "p50_exec_time") : NULL);
		dl_duration(&out, "p95", pfg_value(res, r, "p95_exec_time"));
		dl_duration(&out, "p99", pfg_value(res, r, "p99_exec_time"));
		buf_reset(&b);
		report_flags(&b, res, r);
		if (b.len > 0)
			dl_item(&out, "flags", b.data);
		buf_puts(&out, "</dl>\n<figure>\n");
		buf_reset(&b);
		buf_printf(&b, "Latency histogram of statement %s", fp);
		html_svg_histogram(&out, b.data, &hist, pct, NULL, NULL);
		buf_puts(&out, "<figcaption>Share of calls per latency bucket; p50, p95 and p99 marked.</figcaption>\n</figure>\n");
		if (p >= 0)
			html_plan(&out, pfg_value(plans, p, "plan"), pfg_value(plans, p, "kind"),
					  pfg_value(plans, p, "event_id"));
		buf_puts(&out, "</article>\n");
	}
	if (PQntuples(res) == 0)
		buf_puts(&out, "<p>No statements yet.</p>\n");
	buf_puts(&out, "</section>\n");

	html_violations(&out, violations);
	html_events(&out);
	html_end(&out);
	out_puts(out.data);

	buf_free(&out);
	buf_free(&arr);
	buf_free(&b);
	PQclear(hists);
	PQclear(plans);
	PQclear(violations);
	(void) opts;
}
