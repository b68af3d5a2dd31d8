/*-------------------------------------------------------------------------
 * commands.c
 *	  perfguard report, baseline (save, export, import, list, drop),
 *	  events and reset.
 *
 * Each command is one or two calls of perfguard's SQL API with the user's
 * values as parameters, and a writer per output format.  Errors of the
 * server end the program with code 2 (pfg_query()).
 *
 * IDENTIFICATION	  src/cli/commands.c
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define REPORT_SQL(col) \
	"SELECT s.fingerprint::text AS fingerprint, s.query, s.calls, s.total_exec_time," \
	" s.mean_exec_time, s.p95_exec_time, s.p99_exec_time, s.rows, s.rows_per_call," \
	" s.shared_blks, s.blocks_per_call, s.calls_per_xact, s.seq_scans, s.n_plus_one," \
	" s.row_by_row_dml" \
	" FROM perfguard.statements s WHERE NOT s.own" \
	" ORDER BY s." col " DESC NULLS LAST, s.fingerprint LIMIT $1::integer"
#define REPORT_COUNT_SQL \
	"SELECT count(*) FROM perfguard.statements s WHERE NOT s.own"

/* the event columns of every format; text adds the detail as key=value */
#define EVENTS_SQL(extra) \
	"SELECT e.event_id, e.event_time, e.kind, e.database, e.username," \
	" e.fingerprint::text AS fingerprint, e.query, e.duration_ms, e.plan_format," \
	" e.plan, e.detail" extra \
	" FROM perfguard.events e" \
	" WHERE ($1::text IS NULL OR e.kind = $1::text)" \
	" AND ($2::timestamptz IS NULL OR e.event_time >= $2::timestamptz)" \
	" AND ($3::boolean OR e.database = pg_catalog.current_database())" \
	" ORDER BY e.event_id DESC LIMIT $4::integer"
#define EVENTS_TEXT_COLUMNS \
	", (SELECT pg_catalog.string_agg(d.key || '=' || d.value, ' ' ORDER BY d.key)" \
	"   FROM pg_catalog.jsonb_each_text(e.detail) d) AS detail_text"

static char *
cell_duration(const char *ms)
{
	PfgBuf		b;

	buf_init(&b);
	format_duration_str(&b, ms);
	return b.data;
}

static char *
cell_number(const char *v)
{
	PfgBuf		b;

	buf_init(&b);
	format_number(&b, v);
	return b.data;
}

/* is a count column above zero? */
static bool
positive(const PGresult *res, int row, const char *column)
{
	const char *v = pfg_value(res, row, column);

	return v != NULL && strtoll(v, NULL, 10) > 0;
}

/*
 * report_flags
 *		What the detectors flagged about a statement: "seqscan", "N+1",
 *		"row-by-row", comma-separated.
 */
void
report_flags(PfgBuf *out, const PGresult *res, int row)
{
	size_t		start = out->len;

	if (positive(res, row, "seq_scans"))
		buf_puts(out, "seqscan");
	if (positive(res, row, "n_plus_one"))
		buf_printf(out, "%sN+1", out->len > start ? "," : "");
	if (positive(res, row, "row_by_row_dml"))
		buf_printf(out, "%srow-by-row", out->len > start ? "," : "");
}

/*
 * cmd_report
 *		perfguard report [--top N] [--sort KEY] [--format F]: the top
 *		statements of this database (perfguard.statements), without
 *		perfguard's own (queries of perfguard's views and functions,
 *		the view's column own), which budgets and baselines leave out too.
 */
int
cmd_report(const PfgOptions *opts)
{
	static const char *headers[] = {"fingerprint", "calls", "total", "mean", "p95", "p99",
	"rows/call", "blks/call", "flags", "query"};
	PGresult   *res,
			   *count;
	const char *sql;
	const char *sort_desc;
	char		top[16];
	const char *params[1];
	long		total_statements;
	int			r;

	if (strcmp(opts->sort, "mean") == 0)
		sql = REPORT_SQL("mean_exec_time"), sort_desc = "mean time";
	else if (strcmp(opts->sort, "p95") == 0)
		sql = REPORT_SQL("p95_exec_time"), sort_desc = "p95 time";
	else if (strcmp(opts->sort, "calls") == 0)
		sql = REPORT_SQL("calls"), sort_desc = "calls";
	else
		sql = REPORT_SQL("total_exec_time"), sort_desc = "total time";
	snprintf(top, sizeof(top), "%d", opts->top);
	params[0] = top;
	res = pfg_query(sql, 1, params);
	count = pfg_query(REPORT_COUNT_SQL, 0, NULL);
	total_statements = strtol(PQgetvalue(count, 0, 0), NULL, 10);
	PQclear(count);

	if (opts->format == PFG_FORMAT_JSON)
	{
		PfgBuf		out;

		buf_init(&out);
		buf_puts(&out, "{\n  \"database\": ");
		json_string(&out, PQdb(pfg_conn));
		buf_puts(&out, ",\n  \"sort\": ");
		json_string(&out, opts->sort);
		buf_printf(&out, ",\n  \"statements_total\": %ld,\n  \"statements\": [", total_statements);
		for (r = 0; r < PQntuples(res); r++)
		{
			buf_puts(&out, r ? ",\n    " : "\n    ");
			json_row(&out, res, r, true);
		}
		buf_puts(&out, r ? "\n  ]\n}\n" : "]\n}\n");
		out_puts(out.data);
		buf_free(&out);
	}
	else if (opts->format == PFG_FORMAT_HTML)
		html_report(opts, res, total_statements, sort_desc);
	else if (opts->format == PFG_FORMAT_JUNIT)
	{
		PfgBuf		out;
		double		sum = 0;

		buf_init(&out);
		for (r = 0; r < PQntuples(res); r++)
		{
			const char *t = pfg_value(res, r, "total_exec_time");

			sum += t ? strtod(t, NULL) / 1000.0 : 0;
		}
		buf_puts(&out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
		buf_printf(&out, "<testsuites name=\"perfguard\" tests=\"%d\" failures=\"0\" errors=\"0\" time=\"%.6f\">\n",
				   PQntuples(res), sum);
		buf_printf(&out, "  <testsuite name=\"perfguard.report\" tests=\"%d\" failures=\"0\" errors=\"0\" time=\"%.6f\">\n",
				   PQntuples(res), sum);
		for (r = 0; r < PQntuples(res); r++)
		{
			PfgBuf		name,
						stats;
			const char *t = pfg_value(res, r, "total_exec_time");

			buf_init(&name);
			buf_init(&stats);
			buf_printf(&name, "fingerprint %s: ", pfg_value(res, r, "fingerprint"));
			one_line(&name, pfg_value(res, r, "query") ? pfg_value(res, r, "query") : "<insufficient privilege>", 100);
			buf_printf(&stats, "calls %s, mean ", pfg_value(res, r, "calls"));
			format_duration_str(&stats, pfg_value(res, r, "mean_exec_time"));
			buf_puts(&stats, ", p95 ");
			format_duration_str(&stats, pfg_value(res, r, "p95_exec_time"));
			buf_puts(&stats, ", p99 ");
			format_duration_str(&stats, pfg_value(res, r, "p99_exec_time"));
			buf_puts(&stats, ", rows/call ");
			format_number(&stats, pfg_value(res, r, "rows_per_call"));
			buf_puts(&stats, ", blocks/call ");
			format_number(&stats, pfg_value(res, r, "blocks_per_call"));
			buf_puts(&stats, ", flags ");
			report_flags(&stats, res, r);
			if (stats.data[stats.len - 1] == ' ')
				buf_puts(&stats, "none");
			buf_puts(&out, "    <testcase classname=\"perfguard.statements\" name=\"");
			xml_escape(&out, name.data);
			buf_printf(&out, "\" time=\"%.6f\">\n      <system-out>",
					   t ? strtod(t, NULL) / 1000.0 : 0.0);
			xml_text(&out, stats.data);
			buf_puts(&out, "</system-out>\n    </testcase>\n");
			buf_free(&name);
			buf_free(&stats);
		}
		buf_puts(&out, "  </testsuite>\n</testsuites>\n");
		out_puts(out.data);
		buf_free(&out);
	}
	else
	{
		PfgTable	t;
		bool		md = (opts->format == PFG_FORMAT_MARKDOWN);

		if (md)
			out_printf("**perfguard report:** top %d of %ld statements in database `%s`, by %s\n\n",
					   PQntuples(res), total_statements, PQdb(pfg_conn), sort_desc);
		else
			out_printf("Top %d of %ld statements in database \"%s\", by %s:\n\n",
					   PQntuples(res), total_statements, PQdb(pfg_conn), sort_desc);
		table_init(&t, 10, headers, "lrrrrrrrll");
		for (r = 0; r < PQntuples(res); r++)
		{
			char	   *cells[10];
			PfgBuf		b;

			cells[0] = cell_text(pfg_value(res, r, "fingerprint"), opts->format, 0);
			cells[1] = cell_text(pfg_value(res, r, "calls"), opts->format, 0);
			cells[2] = cell_duration(pfg_value(res, r, "total_exec_time"));
			cells[3] = cell_duration(pfg_value(res, r, "mean_exec_time"));
			cells[4] = cell_duration(pfg_value(res, r, "p95_exec_time"));
			cells[5] = cell_duration(pfg_value(res, r, "p99_exec_time"));
			cells[6] = cell_number(pfg_value(res, r, "rows_per_call"));
			cells[7] = cell_number(pfg_value(res, r, "blocks_per_call"));
			buf_init(&b);
			report_flags(&b, res, r);
			cells[8] = b.data;
			cells[9] = cell_query(pfg_value(res, r, "query"), opts->format);
			table_add_row(&t, cells);
		}
		if (md)
			table_print_markdown(&t);
		else
			table_print_text(&t, "");
		table_free(&t);
	}
	PQclear(res);
	return PFG_EXIT_OK;
}

/*
 * write_file
 *		Write text to path (pfg_write_file(): all of it or nothing), or to
 *		standard output for NULL or "-".
 */
static void
write_file(const char *path, const char *text)
{
	if (path == NULL || strcmp(path, "-") == 0)
		out_puts(text);
	else
		pfg_write_file(path, text);
}

static int
baseline_list(const PfgOptions *opts)
{
	static const char *headers[] = {"name", "statements", "captured", "database", "server", "perfguard", "imported"};
	PGresult   *res;
	int			r;

	res = pfg_query("SELECT b.name, b.statements, b.captured_at, b.database,"
					" b.server_version_num, b.perfguard_version, b.imported_at"
					" FROM perfguard.baselines b ORDER BY b.name", 0, NULL);
	if (opts->format == PFG_FORMAT_JSON)
	{
		PfgBuf		out;

		buf_init(&out);
		buf_puts(&out, "[");
		for (r = 0; r < PQntuples(res); r++)
		{
			buf_puts(&out, r ? ",\n  " : "\n  ");
			json_row(&out, res, r, true);
		}
		buf_puts(&out, r ? "\n]\n" : "]\n");
		out_puts(out.data);
		buf_free(&out);
	}
	else if (PQntuples(res) == 0 && opts->format == PFG_FORMAT_TEXT)
		out_printf("No baselines.\n");
	else
	{
		PfgTable	t;

		table_init(&t, 7, headers, "lrlllll");
		for (r = 0; r < PQntuples(res); r++)
		{
			char	   *cells[7];
			PfgBuf		b;

			cells[0] = cell_text(pfg_value(res, r, "name"), opts->format, 0);
			cells[1] = cell_text(pfg_value(res, r, "statements"), opts->format, 0);
			buf_init(&b);
			short_time(&b, pfg_value(res, r, "captured_at"));
			cells[2] = b.data;
			cells[3] = cell_text(pfg_value(res, r, "database"), opts->format, 0);
			cells[4] = cell_text(pfg_value(res, r, "server_version_num"), opts->format, 0);
			cells[5] = cell_text(pfg_value(res, r, "perfguard_version"), opts->format, 0);
			buf_init(&b);
			short_time(&b, pfg_value(res, r, "imported_at"));
			cells[6] = b.data;
			table_add_row(&t, cells);
		}
		if (opts->format == PFG_FORMAT_MARKDOWN)
			table_print_markdown(&t);
		else
			table_print_text(&t, "");
		table_free(&t);
	}
	PQclear(res);
	return PFG_EXIT_OK;
}

/*
 * cmd_baseline
 *		perfguard baseline save NAME [--replace] | export (NAME | --current)
 *		[-o FILE] | import FILE [--name NAME] [--replace] | list | drop NAME
 *		[--if-exists].
 */
int
cmd_baseline(const PfgOptions *opts)
{
	const char *sub = opts->command + strlen("baseline ");
	const char *params[3];
	PGresult   *res;

	if (strcmp(sub, "list") == 0)
		return baseline_list(opts);

	if (strcmp(sub, "save") == 0)
	{
		params[0] = opts->args[0];
		params[1] = opts->replace ? "true" : "false";
		res = pfg_query_hinted("SELECT perfguard.baseline_capture($1::text, $2::boolean)",
							   2, params, pfg_hints_baseline_name);
		out_printf("Baseline \"%s\" saved: %s statements.\n", opts->args[0], PQgetvalue(res, 0, 0));
		PQclear(res);
	}
	else if (strcmp(sub, "export") == 0)
	{
		params[0] = opts->current ? NULL : opts->args[0];
		res = pfg_query_hinted("SELECT pg_catalog.jsonb_pretty(perfguard.baseline_export($1::text))",
							   1, params, pfg_hints_baseline_name);
		if (PQgetisnull(res, 0, 0))
			pfg_fatal("the server returned no baseline document");
		{
			PfgBuf		doc;

			buf_init(&doc);
			buf_printf(&doc, "%s\n", PQgetvalue(res, 0, 0));
			write_file(opts->output, doc.data);
			buf_free(&doc);
		}
		if (opts->output && strcmp(opts->output, "-") != 0)
		{
			if (opts->current)
				out_printf("Current statistics exported to \"%s\".\n", opts->output);
			else
				out_printf("Baseline \"%s\" exported to \"%s\".\n", opts->args[0], opts->output);
		}
		PQclear(res);
	}
	else if (strcmp(sub, "import") == 0)
	{
		char	   *doc = pfg_read_file(opts->args[0]);
		char	   *name;

		params[0] = doc;
		params[1] = opts->name;
		params[2] = opts->replace ? "true" : "false";
		res = pfg_query_hinted("SELECT perfguard.baseline_import($1::jsonb, $2::text, $3::boolean)",
							   3, params, pfg_hints_baseline_import);
		free(doc);
		if (PQgetisnull(res, 0, 0))
			pfg_fatal("the server returned no baseline name");
		name = pfg_strdup(PQgetvalue(res, 0, 0));
		PQclear(res);
		params[0] = name;
		res = pfg_query("SELECT b.statements FROM perfguard.baselines b WHERE b.name = $1::text",
						1, params);
		if (PQntuples(res) == 1)
			out_printf("Baseline \"%s\" imported: %s statements.\n", name, PQgetvalue(res, 0, 0));
		else
			out_printf("Baseline \"%s\" imported.\n", name);
		PQclear(res);
		free(name);
	}
	else						/* drop */
	{
		params[0] = opts->args[0];
		params[1] = opts->if_exists ? "true" : "false";
		res = pfg_query_hinted("SELECT perfguard.baseline_drop($1::text, $2::boolean)",
							   2, params, pfg_hints_baseline_name);
		if (strcmp(PQgetvalue(res, 0, 0), "t") == 0)
			out_printf("Baseline \"%s\" dropped.\n", opts->args[0]);
		else
			out_printf("Baseline \"%s\" does not exist, skipping.\n", opts->args[0]);
		PQclear(res);
	}
	return PFG_EXIT_OK;
}

/*
 * since_time
 *		The --since value as a timestamp the server has read: a timestamp
 *		as it is, an interval as that long before now.  malloc'd.
 */
static char *
since_time(const char *since)
{
	const char *params[1] = {since};
	PGresult   *res;
	char	   *ts;

	res = pfg_query_quiet("SELECT $1::timestamptz", 1, params);
	if (res == NULL)
		res = pfg_query_quiet("SELECT pg_catalog.now() - $1::interval", 1, params);
	if (res == NULL)
	{
		pfg_error("invalid value \"%s\" for option --since", since);
		pfg_hint("Give a timestamp (\"2026-01-31 12:00\") or an interval before now (\"1 hour\").");
		pfg_exit(PFG_EXIT_ERROR);
	}
	ts = pfg_strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return ts;
}

static void
print_event_text(const PGresult *res, int r, bool verbose)
{
	PfgBuf		b;
	const char *plan = pfg_value(res, r, "plan");
	const char *detail = pfg_value(res, r, "detail_text");

	buf_init(&b);
	buf_printf(&b, "event %s  ", pfg_value(res, r, "event_id"));
	short_time(&b, pfg_value(res, r, "event_time"));
	buf_printf(&b, "  %s  database %s  user %s  ", pfg_value(res, r, "kind"),
			   pfg_value(res, r, "database") ? pfg_value(res, r, "database") : "-",
			   pfg_value(res, r, "username") ? pfg_value(res, r, "username") : "-");
	format_duration_str(&b, pfg_value(res, r, "duration_ms"));
	buf_printf(&b, "\n  fingerprint %s: ", pfg_value(res, r, "fingerprint"));
	one_line(&b, pfg_value(res, r, "query") ? pfg_value(res, r, "query") : "<insufficient privilege>",
			 verbose ? 0 : 200);
	if (detail && detail[0])
	{
		buf_puts(&b, "\n  ");
		one_line(&b, detail, verbose ? 0 : 400);
	}
	if (plan && verbose)
	{
		const char *line = plan;

		buf_printf(&b, "\n  plan (%s):", pfg_value(res, r, "plan_format"));
		while (*line)
		{
			const char *nl = strchr(line, '\n');
			size_t		len = nl ? (size_t) (nl - line) : strlen(line);

			buf_puts(&b, "\n    ");
			buf_putn(&b, line, len);
			line += len + (nl ? 1 : 0);
		}
	}
	else if (plan)
	{
		const char *nl = strchr(plan, '\n');
		int			lines = 1;
		const char *p;

		for (p = plan; *p; p++)
			lines += (*p == '\n' && p[1] != '\0');
		buf_puts(&b, "\n  plan: ");
		if (nl)
		{
			char	   *first = pfg_malloc(nl - plan + 1);

			memcpy(first, plan, nl - plan);
			first[nl - plan] = '\0';
			one_line(&b, first, 100);
			free(first);
		}
		else
			one_line(&b, plan, 100);
		if (lines > 1)
			buf_printf(&b, " (%d more lines; --verbose shows them)", lines - 1);
	}
	out_printf("%s\n\n", b.data);
	buf_free(&b);
}

/*
 * cmd_events
 *		perfguard events [--kind K] [--since T] [--limit N]
 *		[--all-databases] [--verbose] [--format F]: the latest events,
 *		oldest first.
 */
int
cmd_events(const PfgOptions *opts)
{
	static const char *headers[] = {"event", "time", "kind", "database", "duration", "fingerprint", "query", "detail"};
	const char *params[4];
	char		limit[16];
	char	   *since = NULL;
	PGresult   *res;
	int			r;

	if (opts->since)
		since = since_time(opts->since);
	snprintf(limit, sizeof(limit), "%d", opts->limit);
	params[0] = opts->kind;
	params[1] = since;
	params[2] = opts->all_databases ? "true" : "false";
	params[3] = limit;
	res = pfg_query(opts->format == PFG_FORMAT_JSON ? EVENTS_SQL("") :
					EVENTS_SQL(EVENTS_TEXT_COLUMNS), 4, params);

	if (opts->format == PFG_FORMAT_JSON)
	{
		PfgBuf		out;

		buf_init(&out);
		buf_puts(&out, "[");
		for (r = PQntuples(res) - 1; r >= 0; r--)
		{
			buf_puts(&out, r < PQntuples(res) - 1 ? ",\n  " : "\n  ");
			json_row(&out, res, r, true);
		}
		buf_puts(&out, PQntuples(res) ? "\n]\n" : "]\n");
		out_puts(out.data);
		buf_free(&out);
	}
	else if (opts->format == PFG_FORMAT_MARKDOWN)
	{
		PfgTable	t;

		table_init(&t, 8, headers, "rlllrlll");
		for (r = PQntuples(res) - 1; r >= 0; r--)
		{
			char	   *cells[8];
			PfgBuf		b;

			cells[0] = cell_text(pfg_value(res, r, "event_id"), opts->format, 0);
			buf_init(&b);
			short_time(&b, pfg_value(res, r, "event_time"));
			cells[1] = b.data;
			cells[2] = cell_text(pfg_value(res, r, "kind"), opts->format, 0);
			cells[3] = cell_text(pfg_value(res, r, "database"), opts->format, 0);
			cells[4] = cell_duration(pfg_value(res, r, "duration_ms"));
			cells[5] = cell_text(pfg_value(res, r, "fingerprint"), opts->format, 0);
			cells[6] = cell_query(pfg_value(res, r, "query"), opts->format);
			cells[7] = cell_text(pfg_value(res, r, "detail_text"), opts->format, 0);
			table_add_row(&t, cells);
		}
		table_print_markdown(&t);
		table_free(&t);
		for (r = PQntuples(res) - 1; opts->verbose && r >= 0; r--)
		{
			PfgBuf		b;

			if (pfg_value(res, r, "plan") == NULL)
				continue;
			buf_init(&b);
			buf_printf(&b, "Plan of event %s", pfg_value(res, r, "event_id"));
			md_details_code(b.data, pfg_value(res, r, "plan"));
			buf_free(&b);
		}
	}
	else if (PQntuples(res) == 0)
		out_printf("No events.\n");
	else
		for (r = PQntuples(res) - 1; r >= 0; r--)
			print_event_text(res, r, opts->verbose);

	PQclear(res);
	free(since);
	return PFG_EXIT_OK;
}

/*
 * cmd_reset
 *		perfguard reset [--events]: forget every statement's statistics
 *		(and the events), and say how much was removed.
 */
int
cmd_reset(const PfgOptions *opts)
{
	PGresult   *res;

	res = pfg_query("SELECT perfguard.reset()", 0, NULL);
	out_printf("Statistics reset: %s entries removed.\n", PQgetvalue(res, 0, 0));
	PQclear(res);
	if (opts->events)
	{
		res = pfg_query("SELECT perfguard.reset_events()", 0, NULL);
		out_printf("Events reset: %s events removed.\n", PQgetvalue(res, 0, 0));
		PQclear(res);
	}
	return PFG_EXIT_OK;
}
