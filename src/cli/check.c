/*-------------------------------------------------------------------------
 * check.c
 *	  perfguard check: budget violations and, against a baseline (stored,
 *	  or a document in a file), regressions and new statements; written
 *	  as text, JSON, JUnit XML or markdown.  Exit code 1 when anything
 *	  failed.
 *
 * The server does the judging (perfguard.violations(), regressions(),
 * new_statements()); this file gathers the statements that were checked,
 * so that JUnit shows passing statements as passing testcases, and the
 * latest captured plan of each failing one.
 *
 * IDENTIFICATION	  src/cli/check.c
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* One fingerprint checked: run now, in the baseline, or both. */
typedef struct CheckStmt
{
	long long	fp;
	const char *fingerprint;	/* as text; points into a result */
	const char *query;
	const char *total_ms;		/* NULL when it did not run now */
	bool		current;		/* in perfguard.statements */
	bool		in_baseline;
	const char *plan;			/* latest captured plan, or NULL */
	const char *plan_kind;
	const char *plan_event;
} CheckStmt;

typedef struct Check
{
	const PfgOptions *opts;
	bool		with_baseline;
	PfgBuf		label;			/* baseline "x" / baseline file "y" */
	PGresult   *violations;
	PGresult   *regressions;	/* NULL without a baseline */
	PGresult   *news;			/* NULL without a baseline */
	PGresult   *baseline_stmts; /* NULL without a baseline */
	PGresult   *current;
	PGresult   *plans;			/* NULL when nothing failed */
	CheckStmt  *stmts;
	int			nstmts;
	int			ncurrent;		/* statements run now */
	int			ncompared;		/* baseline statements run now */
} Check;

#define VIOLATIONS_SQL \
	"SELECT v.fingerprint::text AS fingerprint, v.query, v.limit_name, v.limit_value," \
	" v.measured, v.calls, v.budget, v.severity, v.message" \
	" FROM perfguard.violations() v ORDER BY v.fingerprint, v.limit_name"

/*
 * Everything about the baseline in one statement, so that the baseline, a
 * name or a whole document, is sent once and (a document) parsed once:
 * part 1 is perfguard.regressions(), part 2 perfguard.new_statements(),
 * part 3 the baseline's own statements (fingerprint, query, and for the
 * HTML format its histogram, percentiles and calls), all three
 * of the same $1 of type text (a name) or jsonb (a document); "doc" is the
 * baseline document as an expression of b.baseline.  pfg_result_part()
 * splits the rows into the three results, with the columns and the order
 * each had as a statement of its own.  The parts run in this order, so the
 * first error about the baseline is still the one regressions() raises.
 */
#define BASELINE_SQL(type, doc) \
	"WITH b AS MATERIALIZED (SELECT $1::" type " AS baseline)" \
	" SELECT 1 AS part, r.fingerprint AS sort_fp, 0::bigint AS sort_n," \
	" r.fingerprint::text AS fingerprint, r.query, r.kind, r.baseline_value," \
	" r.current_value, r.baseline_calls, r.current_calls, r.test, r.confidence, r.message," \
	" NULL::bigint AS calls, NULL::double precision AS mean_exec_time," \
	" NULL::text AS latency_histogram, NULL::text AS base_p50, NULL::text AS base_p95," \
	" NULL::text AS base_p99, NULL::text AS base_calls" \
	" FROM b, perfguard.regressions(b.baseline) r" \
	" UNION ALL" \
	" SELECT 2, n.fingerprint, 0, n.fingerprint::text, n.query, NULL, NULL, NULL, NULL," \
	" NULL, NULL, NULL, NULL, n.calls, n.mean_exec_time, NULL, NULL, NULL, NULL, NULL" \
	" FROM b, perfguard.new_statements(b.baseline) n" \
	" UNION ALL" \
	" SELECT 3, NULL, s.n, s.value->>'fingerprint', s.value->>'query', NULL, NULL, NULL," \
	" NULL, NULL, NULL, NULL, NULL, NULL, NULL," \
	" (s.value->'latency_histogram')::text, s.value->>'p50_ms', s.value->>'p95_ms'," \
	" s.value->>'p99_ms', s.value->>'calls'" \
	" FROM b, pg_catalog.jsonb_array_elements((" doc ")->'statements')" \
	"   WITH ORDINALITY s(value, n)" \
	" ORDER BY part, sort_fp, kind, sort_n"

static const char *const regression_columns[] = {
	"fingerprint", "query", "kind", "baseline_value", "current_value",
	"baseline_calls", "current_calls", "test", "confidence", "message", NULL
};
static const char *const new_statement_columns[] = {
	"fingerprint", "query", "calls", "mean_exec_time", NULL
};
static const char *const baseline_statement_columns[] = {
	"fingerprint", "query", "latency_histogram", "base_p50", "base_p95", "base_p99",
	"base_calls", NULL
};

/*
 * The statements checked: those violations() and the baselines judge,
 * i.e. the rows of perfguard.statements but perfguard's own (its column
 * own, judged on the text even where the caller may not see it).
 */
#define CURRENT_SQL \
	"SELECT s.fingerprint::text AS fingerprint, s.query, s.calls, s.total_exec_time" \
	" FROM perfguard.statements s" \
	" WHERE NOT s.own ORDER BY s.fingerprint"
#define PLANS_SQL \
	"SELECT DISTINCT ON (e.fingerprint) e.fingerprint::text AS fingerprint," \
	" e.event_id, e.kind, e.plan FROM perfguard.events e" \
	" WHERE e.plan IS NOT NULL AND e.database = pg_catalog.current_database()" \
	" AND e.fingerprint = ANY ($1::bigint[])" \
	" AND e.event_time >= (SELECT pg_catalog.min(s.first_exec_at) FROM perfguard.stats s" \
	"   WHERE s.fingerprint = e.fingerprint AND s.dbid = e.dbid)" \
	" ORDER BY e.fingerprint, e.event_id DESC"

static int
stmt_cmp(const void *a, const void *b)
{
	long long	x = ((const CheckStmt *) a)->fp;
	long long	y = ((const CheckStmt *) b)->fp;

	return x < y ? -1 : x > y;
}

/*
 * collect
 *		Add the fingerprints (and texts) of a result to the list.
 */
static void
collect(Check *ck, int *cap, const PGresult *res, bool current, bool baseline)
{
	int			fcol = pfg_column(res, "fingerprint");
	int			qcol = pfg_column(res, "query");
	int			tcol = current ? pfg_column(res, "total_exec_time") : -1;
	int			r;

	for (r = 0; r < PQntuples(res); r++)
	{
		CheckStmt  *s;

		if (PQgetisnull(res, r, fcol))
			continue;
		if (ck->nstmts == *cap)
		{
			CheckStmt  *bigger;

			*cap = *cap ? *cap * 2 : 64;
			bigger = realloc(ck->stmts, sizeof(CheckStmt) * *cap);
			if (bigger == NULL)
				pfg_fatal("out of memory");
			ck->stmts = bigger;
		}
		s = &ck->stmts[ck->nstmts++];
		memset(s, 0, sizeof(*s));
		s->fingerprint = PQgetvalue(res, r, fcol);
		s->fp = strtoll(s->fingerprint, NULL, 10);
		s->query = PQgetisnull(res, r, qcol) ? NULL : PQgetvalue(res, r, qcol);
		if (tcol >= 0 && !PQgetisnull(res, r, tcol))
			s->total_ms = PQgetvalue(res, r, tcol);
		s->current = current;
		s->in_baseline = baseline;
	}
}

/*
 * gather_statements
 *		The sorted, distinct fingerprints of every statement checked: those
 *		run now, those of the baseline, and any a report names.
 */
static void
gather_statements(Check *ck)
{
	int			cap = 0;
	int			i,
				n = 0;

	collect(ck, &cap, ck->current, true, false);
	if (ck->baseline_stmts)
		collect(ck, &cap, ck->baseline_stmts, false, true);
	collect(ck, &cap, ck->violations, false, false);
	if (ck->regressions)
		collect(ck, &cap, ck->regressions, false, false);
	if (ck->nstmts > 0)
		qsort(ck->stmts, ck->nstmts, sizeof(CheckStmt), stmt_cmp);

	/* merge duplicates; the text and time of the current run win */
	for (i = 0; i < ck->nstmts; i++)
	{
		CheckStmt  *s = &ck->stmts[i];

		if (n > 0 && ck->stmts[n - 1].fp == s->fp)
		{
			CheckStmt  *m = &ck->stmts[n - 1];

			if (s->current || m->query == NULL)
				m->query = s->query ? s->query : m->query;
			if (s->current)
				m->total_ms = s->total_ms;
			m->current |= s->current;
			m->in_baseline |= s->in_baseline;
		}
		else
			ck->stmts[n++] = *s;
	}
	ck->nstmts = n;
	for (i = 0; i < n; i++)
	{
		ck->ncurrent += ck->stmts[i].current;
		ck->ncompared += ck->stmts[i].current && ck->stmts[i].in_baseline;
	}
}

static CheckStmt *
find_stmt(const Check *ck, const char *fingerprint)
{
	CheckStmt	key;

	if (ck->nstmts == 0)
		return NULL;
	key.fp = strtoll(fingerprint, NULL, 10);
	return bsearch(&key, ck->stmts, ck->nstmts, sizeof(CheckStmt), stmt_cmp);
}

/*
 * fetch_plans
 *		The latest captured plan of each failing statement, from the events
 *		of this database since its statistics began (an older plan may be
 *		of another index, or of a table since changed).
 */
static void
fetch_plans(Check *ck)
{
	PfgBuf		arr;
	const char *params[1];
	int			r,
				n = 0;
	PGresult   *lists[2] = {ck->violations, ck->regressions};
	int			l;

	buf_init(&arr);
	buf_putc(&arr, '{');
	for (l = 0; l < 2; l++)
	{
		if (lists[l] == NULL)
			continue;
		for (r = 0; r < PQntuples(lists[l]); r++)
		{
			const char *fp = pfg_value(lists[l], r, "fingerprint");

			if (fp == NULL)
				continue;
			buf_printf(&arr, "%s%s", n++ ? "," : "", fp);
		}
	}
	buf_putc(&arr, '}');
	if (n > 0)
	{
		params[0] = arr.data;
		ck->plans = pfg_query(PLANS_SQL, 1, params);
		for (r = 0; r < PQntuples(ck->plans); r++)
		{
			CheckStmt  *s = find_stmt(ck, pfg_value(ck->plans, r, "fingerprint"));

			if (s == NULL)
				continue;
			s->plan = pfg_value(ck->plans, r, "plan");
			s->plan_kind = pfg_value(ck->plans, r, "kind");
			s->plan_event = pfg_value(ck->plans, r, "event_id");
		}
	}
	buf_free(&arr);
}

/* is this measure a duration (milliseconds)? */
static bool
is_duration(const char *what)
{
	size_t		n = what ? strlen(what) : 0;

	return (n > 3 && strcmp(what + n - 3, "_ms") == 0) ||
		strncmp(what ? what : "", "latency", 7) == 0;
}

void
format_measure(PfgBuf *out, const char *what, const char *value)
{
	if (is_duration(what))
		format_duration_str(out, value);
	else
		format_number(out, value);
}

/*
 * format_change
 *		The change from the baseline's value to the current one, as a
 *		percentage; empty when it has no meaning (a plan hash, a zero).
 */
void
format_change(PfgBuf *out, const char *kind, const char *before, const char *after)
{
	double		b,
				a;

	if (before == NULL || after == NULL || strcmp(kind, "plan_shape") == 0)
		return;
	b = strtod(before, NULL);
	a = strtod(after, NULL);
	if (b <= 0)
		return;
	buf_printf(out, "%+.0f%%", (a / b - 1.0) * 100.0);
}

static int
nrows(const PGresult *res)
{
	return res ? PQntuples(res) : 0;
}

/* "2 budget violations" */
static void
count_phrase(PfgBuf *out, int n, const char *one, const char *many)
{
	if (n == 0)
		buf_printf(out, "no %s", many);
	else
		buf_printf(out, "%d %s", n, n == 1 ? one : many);
}

/*
 * summary
 *		One sentence: what failed (or that nothing did) and what was
 *		checked.
 */
static void
summary(const Check *ck, PfgBuf *out)
{
	count_phrase(out, nrows(ck->violations), "budget violation", "budget violations");
	if (ck->with_baseline)
	{
		buf_puts(out, ", ");
		count_phrase(out, nrows(ck->regressions), "regression", "regressions");
		buf_printf(out, " against %s", ck->label.data);
	}
	buf_printf(out, " (%d statement%s checked", ck->ncurrent, ck->ncurrent == 1 ? "" : "s");
	if (ck->with_baseline)
		buf_printf(out, ", %d compared, %d new", ck->ncompared, nrows(ck->news));
	buf_puts(out, ")");
}

static bool
failed(const Check *ck)
{
	return nrows(ck->violations) > 0 || nrows(ck->regressions) > 0;
}

static char *
cell_measure(const char *what, const char *value)
{
	PfgBuf		b;

	buf_init(&b);
	format_measure(&b, what, value);
	return b.data;
}

/*
 * print_tables
 *		The violations, regressions and new statements as tables (text or
 *		markdown).
 */
static void
print_tables(const Check *ck, PfgFormat format)
{
	bool		md = (format == PFG_FORMAT_MARKDOWN);
	PGresult   *res;
	PfgTable	t;
	int			r;

	res = ck->violations;
	if (PQntuples(res) > 0)
	{
		static const char *headers[] = {"fingerprint", "limit", "measured", "allowed", "calls", "budget", "query"};

		out_printf(md ? "\n#### Budget violations (%d)\n\n" : "Budget violations: %d\n", PQntuples(res));
		table_init(&t, 7, headers, "llrrrll");
		for (r = 0; r < PQntuples(res); r++)
		{
			const char *limit = pfg_value(res, r, "limit_name");
			char	   *cells[7];

			cells[0] = cell_text(pfg_value(res, r, "fingerprint"), format, 0);
			cells[1] = cell_text(limit, format, 0);
			cells[2] = cell_measure(limit, pfg_value(res, r, "measured"));
			cells[3] = cell_measure(limit, pfg_value(res, r, "limit_value"));
			cells[4] = cell_text(pfg_value(res, r, "calls"), format, 0);
			cells[5] = cell_text(pfg_value(res, r, "budget"), format, 0);
			cells[6] = cell_query(pfg_value(res, r, "query"), format);
			table_add_row(&t, cells);
		}
		if (md)
			table_print_markdown(&t);
		else
			table_print_text(&t, "  ");
		table_free(&t);
	}
	else if (!md)
		out_printf("Budget violations: none\n");

	if (!ck->with_baseline)
		return;
	res = ck->regressions;
	if (PQntuples(res) > 0)
	{
		static const char *headers[] = {"fingerprint", "kind", "baseline", "current", "change", "calls", "query"};

		out_printf(md ? "\n#### Regressions against %s (%d)\n\n" : "\nRegressions against %s: %d\n",
				   ck->label.data, PQntuples(res));
		table_init(&t, 7, headers, "llrrrrl");
		for (r = 0; r < PQntuples(res); r++)
		{
			const char *kind = pfg_value(res, r, "kind");
			char	   *cells[7];
			PfgBuf		b;

			cells[0] = cell_text(pfg_value(res, r, "fingerprint"), format, 0);
			cells[1] = cell_text(kind, format, 0);
			cells[2] = cell_measure(kind, pfg_value(res, r, "baseline_value"));
			cells[3] = cell_measure(kind, pfg_value(res, r, "current_value"));
			buf_init(&b);
			format_change(&b, kind, pfg_value(res, r, "baseline_value"),
						  pfg_value(res, r, "current_value"));
			cells[4] = b.data;
			buf_init(&b);
			buf_printf(&b, "%s / %s",
					   pfg_value(res, r, "baseline_calls") ? pfg_value(res, r, "baseline_calls") : "-",
					   pfg_value(res, r, "current_calls") ? pfg_value(res, r, "current_calls") : "-");
			cells[5] = b.data;
			cells[6] = cell_query(pfg_value(res, r, "query"), format);
			table_add_row(&t, cells);
		}
		if (md)
			table_print_markdown(&t);
		else
			table_print_text(&t, "  ");
		table_free(&t);
	}
	else if (!md)
		out_printf("\nRegressions against %s: none\n", ck->label.data);

	res = ck->news;
	if (PQntuples(res) > 0)
	{
		static const char *headers[] = {"fingerprint", "calls", "mean", "query"};

		if (md)
			out_printf("\n<details><summary>New statements, not in the baseline (%d)</summary>\n\n",
					   PQntuples(res));
		else
			out_printf("\nNew statements, not in the baseline: %d\n", PQntuples(res));
		table_init(&t, 4, headers, "lrrl");
		for (r = 0; r < PQntuples(res); r++)
		{
			char	   *cells[4];

			cells[0] = cell_text(pfg_value(res, r, "fingerprint"), format, 0);
			cells[1] = cell_text(pfg_value(res, r, "calls"), format, 0);
			cells[2] = cell_measure("mean_ms", pfg_value(res, r, "mean_exec_time"));
			cells[3] = cell_query(pfg_value(res, r, "query"), format);
			table_add_row(&t, cells);
		}
		if (md)
		{
			table_print_markdown(&t);
			out_printf("\n</details>\n");
		}
		else
			table_print_text(&t, "  ");
		table_free(&t);
	}
	else if (!md)
		out_printf("\nNew statements, not in the baseline: none\n");
}

/* the failing statements that have a captured plan */
static bool
has_plan(const CheckStmt *s)
{
	return s->plan != NULL;
}

static void
print_text(const Check *ck)
{
	PfgBuf		b;
	int			i;

	print_tables(ck, PFG_FORMAT_TEXT);
	if (ck->opts->verbose)
	{
		for (i = 0; i < ck->nstmts; i++)
		{
			const CheckStmt *s = &ck->stmts[i];

			if (!has_plan(s))
				continue;
			out_printf("\nPlan of %s (%s event %s):\n", s->fingerprint,
					   s->plan_kind, s->plan_event);
			out_printf("%s%s", s->plan,
					   s->plan[0] && s->plan[strlen(s->plan) - 1] == '\n' ? "" : "\n");
		}
	}
	buf_init(&b);
	summary(ck, &b);
	out_printf("\n%s: %s\n", failed(ck) ? "FAILED" : "OK", b.data);
	buf_free(&b);
}

static void
print_markdown(const Check *ck)
{
	PfgBuf		b,
				esc;
	int			i;

	buf_init(&b);
	if (failed(ck))
	{
		buf_puts(&b, "### perfguard: :x: ");
		if (nrows(ck->violations) > 0)
			count_phrase(&b, nrows(ck->violations), "budget violation", "budget violations");
		if (nrows(ck->violations) > 0 && nrows(ck->regressions) > 0)
			buf_puts(&b, ", ");
		if (nrows(ck->regressions) > 0)
			count_phrase(&b, nrows(ck->regressions), "regression", "regressions");
	}
	else
		buf_printf(&b, "### perfguard: :white_check_mark: no budget violations%s",
				   ck->with_baseline ? " or regressions" : "");
	out_printf("%s\n\n", b.data);
	buf_reset(&b);
	summary(ck, &b);
	buf_init(&esc);
	md_escape(&esc, b.data);
	out_printf("**%s:** %s.\n", failed(ck) ? "Failed" : "Passed", esc.data);
	buf_free(&esc);
	buf_free(&b);
	print_tables(ck, PFG_FORMAT_MARKDOWN);

	for (i = 0; i < ck->nstmts; i++)
	{
		const CheckStmt *s = &ck->stmts[i];

		if (!has_plan(s))
			continue;
		buf_init(&b);
		buf_printf(&b, "Plan of %s (%s event %s)", s->fingerprint,
				   s->plan_kind, s->plan_event);
		md_details_code(b.data, s->plan);
		buf_free(&b);
	}
}

/*
 * json_list
 *		A result as a JSON array of objects, each with the "plan" of its
 *		statement when with_plan.
 */
static void
json_list(const Check *ck, PfgBuf *out, const PGresult *res, bool with_plan)
{
	int			r;

	buf_putc(out, '[');
	for (r = 0; res && r < PQntuples(res); r++)
	{
		buf_puts(out, r ? ",\n    " : "\n    ");
		json_row(out, res, r, !with_plan);
		if (with_plan)
		{
			const char *fp = pfg_value(res, r, "fingerprint");
			CheckStmt  *s = fp ? find_stmt(ck, fp) : NULL;

			buf_puts(out, ", \"plan\": ");
			json_string(out, s ? s->plan : NULL);
			buf_putc(out, '}');
		}
	}
	buf_puts(out, r ? "\n  ]" : "]");
}

static void
print_json(const Check *ck)
{
	PfgBuf		out;

	buf_init(&out);
	buf_puts(&out, "{\n  \"violations\": ");
	json_list(ck, &out, ck->violations, true);
	buf_puts(&out, ",\n  \"regressions\": ");
	json_list(ck, &out, ck->regressions, true);
	buf_puts(&out, ",\n  \"new_statements\": ");
	json_list(ck, &out, ck->news, false);
	buf_puts(&out, ",\n  \"baseline\": ");
	json_string(&out, ck->opts->baseline);
	buf_puts(&out, ",\n  \"baseline_file\": ");
	json_string(&out, ck->opts->baseline_file);
	buf_printf(&out, ",\n  \"statements_checked\": %d", ck->ncurrent);
	if (ck->with_baseline)
		buf_printf(&out, ",\n  \"statements_compared\": %d", ck->ncompared);
	buf_printf(&out, ",\n  \"ok\": %s\n}\n", failed(ck) ? "false" : "true");
	out_puts(out.data);
	buf_free(&out);
}

/*
 * junit_testcase
 *		One testcase: a statement under one check (budgets or regressions),
 *		failing with every row of res that names it.
 */
static void
junit_testcase(PfgBuf *out, const CheckStmt *s, const char *classname,
			   const PGresult *res, const char *what_col, bool skipped)
{
	PfgBuf		name,
				messages,
				types,
				text;
	int			r,
				n = 0;

	buf_init(&name);
	buf_init(&messages);
	buf_init(&types);
	buf_init(&text);
	buf_printf(&name, "fingerprint %s: ", s->fingerprint);
	one_line(&name, s->query ? s->query : "<insufficient privilege>", 100);

	for (r = 0; res && r < PQntuples(res); r++)
	{
		const char *fp = pfg_value(res, r, "fingerprint");
		const char *what = pfg_value(res, r, what_col);
		const char *msg = pfg_value(res, r, "message");

		if (fp == NULL || strtoll(fp, NULL, 10) != s->fp)
			continue;
		if (n++ > 0)
		{
			buf_puts(&messages, "; ");
			buf_puts(&types, ",");
		}
		buf_puts(&messages, msg ? msg : (what ? what : ""));
		buf_puts(&types, what ? what : "");
		buf_printf(&text, "%s\n", msg ? msg : (what ? what : ""));
	}

	buf_puts(out, "    <testcase classname=\"");
	xml_escape(out, classname);
	buf_puts(out, "\" name=\"");
	xml_escape(out, name.data);
	buf_printf(out, "\" time=\"%.6f\"", s->total_ms ? strtod(s->total_ms, NULL) / 1000.0 : 0.0);
	if (n == 0 && !skipped)
		buf_puts(out, "/>\n");
	else if (n == 0)
		buf_puts(out, ">\n      <skipped message=\"not run in this run\"/>\n    </testcase>\n");
	else
	{
		buf_puts(out, ">\n      <failure message=\"");
		xml_escape(out, messages.data);
		buf_puts(out, "\" type=\"");
		xml_escape(out, types.data);
		buf_puts(out, "\">");
		/* text: the statement, what failed, and the plan */
		buf_reset(&name);
		buf_printf(&name, "%s\nfingerprint %s\n\n%s",
				   s->query ? s->query : "<insufficient privilege>",
				   s->fingerprint, text.data);
		if (s->plan)
			buf_printf(&name, "\nplan (%s event %s):\n%s\n", s->plan_kind,
					   s->plan_event, s->plan);
		xml_text(out, name.data);
		buf_puts(out, "</failure>\n    </testcase>\n");
	}
	buf_free(&name);
	buf_free(&messages);
	buf_free(&types);
	buf_free(&text);
}

static void
print_junit(const Check *ck)
{
	PfgBuf		out,
				cases;
	int			i,
				tests = 0,
				failures = 0,
				skipped = 0;
	double		total = 0;

	buf_init(&cases);
	for (i = 0; i < ck->nstmts; i++)
	{
		const CheckStmt *s = &ck->stmts[i];
		size_t		before = cases.len;

		if (!s->current)
			continue;
		junit_testcase(&cases, s, "perfguard.budgets", ck->violations, "limit_name", false);
		tests++;
		failures += strstr(cases.data + before, "<failure") != NULL;
		if (s->total_ms)
			total += strtod(s->total_ms, NULL) / 1000.0;
	}
	for (i = 0; ck->with_baseline && i < ck->nstmts; i++)
	{
		const CheckStmt *s = &ck->stmts[i];
		size_t		before = cases.len;

		if (!s->in_baseline)
			continue;
		junit_testcase(&cases, s, "perfguard.regressions", ck->regressions, "kind",
					   !s->current);
		tests++;
		failures += strstr(cases.data + before, "<failure") != NULL;
		skipped += strstr(cases.data + before, "<skipped") != NULL;
	}

	buf_init(&out);
	buf_puts(&out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	buf_printf(&out, "<testsuites name=\"perfguard\" tests=\"%d\" failures=\"%d\" errors=\"0\" skipped=\"%d\" time=\"%.6f\">\n",
			   tests, failures, skipped, total);
	buf_printf(&out, "  <testsuite name=\"perfguard\" tests=\"%d\" failures=\"%d\" errors=\"0\" skipped=\"%d\" time=\"%.6f\">\n",
			   tests, failures, skipped, total);
	buf_puts(&out, "    <properties>\n      <property name=\"database\" value=\"");
	xml_escape(&out, PQdb(pfg_conn));
	buf_puts(&out, "\"/>\n");
	if (ck->with_baseline)
	{
		buf_puts(&out, "      <property name=\"baseline\" value=\"");
		xml_escape(&out, ck->opts->baseline ? ck->opts->baseline : ck->opts->baseline_file);
		buf_puts(&out, "\"/>\n");
	}
	buf_puts(&out, "    </properties>\n");
	out_puts(out.data);
	out_puts(cases.data);
	buf_reset(&out);
	buf_puts(&out, "    <system-out>");
	{
		PfgBuf		s;

		buf_init(&s);
		summary(ck, &s);
		xml_text(&out, s.data);
		buf_free(&s);
	}
	buf_puts(&out, "</system-out>\n  </testsuite>\n</testsuites>\n");
	out_puts(out.data);
	buf_free(&out);
	buf_free(&cases);
}

/* the rows of res that name statement s, as "what (test, confidence)" */
static int
verdict_items(PfgBuf *out, const CheckStmt *s, const PGresult *res,
			  const char *what_col, bool with_test)
{
	int			r,
				n = 0;

	for (r = 0; res && r < PQntuples(res); r++)
	{
		const char *fp = pfg_value(res, r, "fingerprint");

		if (fp == NULL || strtoll(fp, NULL, 10) != s->fp)
			continue;
		if (n++ > 0)
			buf_puts(out, "; ");
		buf_puts(out, pfg_value(res, r, what_col));
		if (with_test)
			buf_printf(out, " (%s test, confidence %s)",
					   pfg_value(res, r, "test") ? pfg_value(res, r, "test") : "-",
					   pfg_value(res, r, "confidence") ? pfg_value(res, r, "confidence") : "-");
	}
	return n;
}

/* a column of res at the row of s's fingerprint (find_row-like), or NULL */
static const char *
stmt_value(const PGresult *res, const CheckStmt *s, const char *column)
{
	int			r;

	for (r = 0; res && r < PQntuples(res); r++)
	{
		const char *fp = pfg_value(res, r, "fingerprint");

		if (fp && strtoll(fp, NULL, 10) == s->fp)
			return pfg_value(res, r, column);
	}
	return NULL;
}

static double
ms_of(const char *v)
{
	return v ? strtod(v, NULL) : -1;
}

/*
 * html_regressions
 *		The regressions and the new statements as tables.
 */
static void
html_regressions(const Check *ck, PfgBuf *out)
{
	PGresult   *res = ck->regressions;
	int			r;

	buf_printf(out, "<section id=\"regressions\">\n<h2>Regressions against ");
	html_text(out, ck->label.data);
	buf_printf(out, " (%d)</h2>\n", PQntuples(res));
	if (PQntuples(res) == 0)
		buf_puts(out, "<p class=\"good\">None.</p>\n");
	else
	{
		buf_puts(out, "<div class=\"scroll\"><table class=\"regressions\">\n<thead><tr><th>fingerprint</th><th>kind</th>"
				 "<th class=\"num\">baseline</th><th class=\"num\">current</th><th class=\"num\">change</th>"
				 "<th class=\"num\">calls</th><th>test</th><th class=\"num\">confidence</th><th>message</th>"
				 "<th>query</th></tr></thead>\n<tbody>\n");
		for (r = 0; r < PQntuples(res); r++)
		{
			const char *kind = pfg_value(res, r, "kind");
			PfgBuf		b;

			buf_puts(out, "<tr data-fingerprint=\"");
			html_attr(out, pfg_value(res, r, "fingerprint"));
			buf_puts(out, "\">");
			html_cell(out, "fp", pfg_value(res, r, "fingerprint"));
			html_cell(out, NULL, kind);
			buf_init(&b);
			format_measure(&b, kind, pfg_value(res, r, "baseline_value"));
			html_cell(out, "num", b.data);
			buf_reset(&b);
			format_measure(&b, kind, pfg_value(res, r, "current_value"));
			html_cell(out, "num", b.data);
			buf_reset(&b);
			format_change(&b, kind, pfg_value(res, r, "baseline_value"),
						  pfg_value(res, r, "current_value"));
			html_cell(out, "num", b.data);
			buf_reset(&b);
			buf_printf(&b, "%s / %s",
					   pfg_value(res, r, "baseline_calls") ? pfg_value(res, r, "baseline_calls") : "-",
					   pfg_value(res, r, "current_calls") ? pfg_value(res, r, "current_calls") : "-");
			html_cell(out, "num", b.data);
			buf_free(&b);
			html_cell(out, NULL, pfg_value(res, r, "test"));
			html_cell(out, "num", pfg_value(res, r, "confidence"));
			html_cell(out, NULL, pfg_value(res, r, "message"));
			html_query_cell(out, pfg_value(res, r, "query"));
			buf_puts(out, "</tr>\n");
		}
		buf_puts(out, "</tbody></table></div>\n");
	}
	buf_puts(out, "</section>\n");

	res = ck->news;
	buf_printf(out, "<section id=\"new\">\n<h2>New statements, not in the baseline (%d)</h2>\n",
			   PQntuples(res));
	if (PQntuples(res) > 0)
	{
		buf_puts(out, "<details><summary>Show them (information: they do not fail the check)</summary>\n"
				 "<div class=\"scroll\"><table class=\"new\">\n<thead><tr><th>fingerprint</th>"
				 "<th class=\"num\">calls</th><th class=\"num\">mean</th><th>query</th></tr></thead>\n<tbody>\n");
		for (r = 0; r < PQntuples(res); r++)
		{
			PfgBuf		b;

			buf_puts(out, "<tr>");
			html_cell(out, "fp", pfg_value(res, r, "fingerprint"));
			html_cell(out, "num", pfg_value(res, r, "calls"));
			buf_init(&b);
			format_duration_str(&b, pfg_value(res, r, "mean_exec_time"));
			html_cell(out, "num", b.data);
			buf_free(&b);
			html_query_cell(out, pfg_value(res, r, "query"));
			buf_puts(out, "</tr>\n");
		}
		buf_puts(out, "</tbody></table></div>\n</details>\n");
	}
	buf_puts(out, "</section>\n");
}

/*
 * print_html
 *		check --format html: the verdict, the violations, regressions and
 *		new statements, then one section per statement checked against the
 *		baseline (its histogram now over the baseline's, their p95s, the
 *		verdict and the test) and per statement that broke its budget, with
 *		its latest captured plan; the N+1 and sequential-scan events.
 */
static void
print_html(const Check *ck)
{
	PfgBuf		out,
				b,
				arr;
	PGresult   *hists = NULL;
	const char *params[1];
	int			i,
				n = 0;

	/* the histograms now of the statements that get a plot */
	buf_init(&arr);
	buf_putc(&arr, '{');
	for (i = 0; i < ck->nstmts; i++)
	{
		const CheckStmt *s = &ck->stmts[i];

		if (s->current && (s->in_baseline || stmt_value(ck->violations, s, "fingerprint")))
			buf_printf(&arr, "%s%s", n++ ? "," : "", s->fingerprint);
	}
	buf_putc(&arr, '}');
	params[0] = arr.data;
	hists = pfg_query("SELECT s.fingerprint::text AS fingerprint, s.latency_hist::text AS hist,"
					  " s.p50_exec_time, s.p95_exec_time, s.p99_exec_time, s.calls"
					  " FROM perfguard.statements_internal(true) s"
					  " WHERE s.fingerprint = ANY ($1::bigint[])", 1, params);

	buf_init(&out);
	buf_init(&b);
	buf_printf(&b, "perfguard check: %s", PQdb(pfg_conn));
	html_begin(&out, b.data);
	html_meta_line(&out);
	buf_reset(&b);
	summary(ck, &b);
	buf_printf(&out, "<p class=\"verdict %s\">%s: ", failed(ck) ? "failed" : "ok",
			   failed(ck) ? "FAILED" : "OK");
	html_text(&out, b.data);
	buf_puts(&out, "</p>\n</header>\n");

	html_violations(&out, ck->violations);
	if (ck->with_baseline)
		html_regressions(ck, &out);

	buf_puts(&out, "<section id=\"plots\">\n<h2>Statements checked</h2>\n");
	if (ck->with_baseline)
		buf_puts(&out, "<p class=\"legend\">Each statement run now and in the baseline:"
				 "<span style=\"background:#2b6cb0\"></span>now"
				 "<span style=\"background:#fbd3bd;border:1px solid #c05621\"></span>baseline"
				 " (share of each side's calls per latency bucket).</p>\n");
	for (i = 0; i < ck->nstmts; i++)
	{
		const CheckStmt *s = &ck->stmts[i];
		PfgHist		cur,
					base;
		double		cp[3],
					bp[3];
		bool		violated = stmt_value(ck->violations, s, "fingerprint") != NULL;
		bool		regressed;
		const char *base_calls = stmt_value(ck->baseline_stmts, s, "base_calls");
		const char *calls = stmt_value(hists, s, "calls");

		if (!s->current || !(s->in_baseline || violated))
			continue;
		hist_parse(&cur, stmt_value(hists, s, "hist"));
		cp[0] = ms_of(stmt_value(hists, s, "p50_exec_time"));
		cp[1] = ms_of(stmt_value(hists, s, "p95_exec_time"));
		cp[2] = ms_of(stmt_value(hists, s, "p99_exec_time"));
		hist_parse(&base, s->in_baseline ? stmt_value(ck->baseline_stmts, s, "latency_histogram") : NULL);
		bp[0] = ms_of(stmt_value(ck->baseline_stmts, s, "base_p50"));
		bp[1] = ms_of(stmt_value(ck->baseline_stmts, s, "base_p95"));
		bp[2] = ms_of(stmt_value(ck->baseline_stmts, s, "base_p99"));

		buf_puts(&out, "<article class=\"stmt\" id=\"s");
		html_attr(&out, s->fingerprint);
		buf_puts(&out, "\" data-fingerprint=\"");
		html_attr(&out, s->fingerprint);
		buf_puts(&out, "\">\n<h3>fingerprint ");
		html_text(&out, s->fingerprint);
		buf_puts(&out, "</h3>\n<pre class=\"query\">");
		html_text(&out, s->query ? s->query : "<insufficient privilege>");
		buf_puts(&out, "</pre>\n<p class=\"verdict-line\">");

		/* the verdict, and the test behind it */
		buf_reset(&b);
		regressed = ck->with_baseline && verdict_items(&b, s, ck->regressions, "kind", true) > 0;
		if (regressed)
		{
			buf_puts(&out, "<span class=\"bad\">Regressed:</span> ");
			html_text(&out, b.data);
			buf_puts(&out, ". ");
		}
		else if (s->in_baseline)
		{
			long long	nb = base_calls ? strtoll(base_calls, NULL, 10) : 0;
			long long	nc = calls ? strtoll(calls, NULL, 10) : 0;

			buf_puts(&out, "<span class=\"good\">No regression.</span> ");
			if (nb < 30 || nc < 30)
				buf_printf(&out, "Latency not compared: fewer than 30 calls on a side (baseline %lld, now %lld); "
						   "the exact kinds (rows, blocks and calls per transaction, plan shape, sequential scans, N+1) were. ",
						   nb, nc);
			else
				buf_puts(&out, "Latency: Welch&rsquo;s t-test on the mean and a z-test on the share of calls above the baseline&rsquo;s p95, "
						 "one-sided at 99% confidence, for a change of 20% or more; rows, blocks and calls per transaction, plan shape, "
						 "sequential scans and N+1 exactly. ");
		}
		buf_reset(&b);
		if (verdict_items(&b, s, ck->violations, "limit_name", false) > 0)
		{
			buf_puts(&out, "<span class=\"bad\">Over budget:</span> ");
			html_text(&out, b.data);
			buf_puts(&out, ".");
		}
		else
			buf_puts(&out, "Within budget.");
		buf_puts(&out, "</p>\n<dl>");
		{
			static const char *const names[] = {"p50", "p95", "p99"};
			int			k;

			buf_puts(&out, "<div><dt>calls</dt><dd>");
			html_text(&out, calls);
			if (s->in_baseline)
			{
				buf_puts(&out, " (baseline ");
				html_text(&out, base_calls);
				buf_puts(&out, ")");
			}
			buf_puts(&out, "</dd></div>");
			for (k = 0; k < 3; k++)
			{
				buf_printf(&out, "<div><dt>%s</dt><dd>", names[k]);
				buf_reset(&b);
				format_duration(&b, cp[k]);
				html_text(&out, b.data);
				if (s->in_baseline && bp[k] >= 0)
				{
					buf_reset(&b);
					format_duration(&b, bp[k]);
					buf_puts(&out, " (baseline ");
					html_text(&out, b.data);
					buf_puts(&out, ")");
				}
				buf_puts(&out, "</dd></div>");
			}
		}
		buf_puts(&out, "</dl>\n<figure>\n");
		buf_reset(&b);
		buf_printf(&b, "Latency histogram of statement %s%s", s->fingerprint,
				   base.present ? ", now over the baseline" : "");
		html_svg_histogram(&out, b.data, &cur, cp, s->in_baseline ? &base : NULL, bp);
		buf_puts(&out, "<figcaption>");
		if (s->in_baseline && !base.present)
			buf_puts(&out, "The baseline has no histogram for this statement. ");
		buf_puts(&out, "p50, p95 and p99 of now marked");
		if (base.present)
			buf_puts(&out, "; the baseline&rsquo;s p95 dashed");
		buf_puts(&out, ".</figcaption>\n</figure>\n");
		html_plan(&out, s->plan, s->plan_kind, s->plan_event);
		buf_puts(&out, "</article>\n");
	}
	buf_puts(&out, "</section>\n");
	html_events(&out);
	html_end(&out);
	out_puts(out.data);
	buf_free(&out);
	buf_free(&b);
	buf_free(&arr);
	PQclear(hists);
}

/*
 * cmd_check
 *		perfguard check [--baseline NAME | --baseline-file FILE]
 *		[--format F] [--verbose].  Returns 1 when anything failed.
 */
int
cmd_check(const PfgOptions *opts)
{
	Check		ck;
	char	   *doc = NULL;
	const char *params[1];
	bool		is_doc;

	memset(&ck, 0, sizeof(ck));
	ck.opts = opts;
	ck.with_baseline = (opts->baseline || opts->baseline_file);
	is_doc = (opts->baseline_file != NULL);
	buf_init(&ck.label);
	if (is_doc)
	{
		doc = pfg_read_file(opts->baseline_file);
		params[0] = doc;
		if (strcmp(opts->baseline_file, "-") == 0)
			buf_puts(&ck.label, "the baseline from standard input");
		else
			buf_printf(&ck.label, "baseline file \"%s\"", opts->baseline_file);
	}
	else if (opts->baseline)
	{
		params[0] = opts->baseline;
		buf_printf(&ck.label, "baseline \"%s\"", opts->baseline);
	}

	ck.violations = pfg_query(VIOLATIONS_SQL, 0, NULL);
	if (ck.with_baseline)
	{
		PGresult   *all;

		/* its first use tells whether the baseline is usable */
		if (is_doc)
			all = pfg_query_hinted(BASELINE_SQL("jsonb", "b.baseline"), 1, params,
								   pfg_hints_baseline_file);
		else
			all = pfg_query_hinted(BASELINE_SQL("text", "perfguard.baseline_export(b.baseline)"),
								   1, params, pfg_hints_baseline_name);
		ck.regressions = pfg_result_part(all, 1, regression_columns);
		ck.news = pfg_result_part(all, 2, new_statement_columns);
		ck.baseline_stmts = pfg_result_part(all, 3, baseline_statement_columns);
		PQclear(all);
	}
	ck.current = pfg_query(CURRENT_SQL, 0, NULL);
	gather_statements(&ck);
	if (opts->format != PFG_FORMAT_TEXT || opts->verbose)
		fetch_plans(&ck);

	switch (opts->format)
	{
		case PFG_FORMAT_TEXT:
			print_text(&ck);
			break;
		case PFG_FORMAT_JSON:
			print_json(&ck);
			break;
		case PFG_FORMAT_JUNIT:
			print_junit(&ck);
			break;
		case PFG_FORMAT_MARKDOWN:
			print_markdown(&ck);
			break;
		case PFG_FORMAT_HTML:
			print_html(&ck);
			break;
	}

	{
		int			code = failed(&ck) ? PFG_EXIT_FOUND : PFG_EXIT_OK;

		PQclear(ck.violations);
		PQclear(ck.regressions);
		PQclear(ck.news);
		PQclear(ck.baseline_stmts);
		PQclear(ck.current);
		PQclear(ck.plans);
		free(ck.stmts);
		buf_free(&ck.label);
		free(doc);
		return code;
	}
}
