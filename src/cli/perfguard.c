/*-------------------------------------------------------------------------
 * perfguard.c
 *	  The perfguard command-line client: options, connection, the check
 *	  that the extension is there, and the dispatch to a command.
 *
 *	  perfguard [OPTION]... COMMAND [ARGUMENT]... [OPTION]...
 *
 * Connection options follow psql (-d -h -p -U -w -W, the PG* environment
 * variables through libpq); each command has options of its own.  All
 * options are read in one getopt_long() pass, so that they may come before
 * or after the command, and an option the command does not take is a
 * usage error.  Exit codes: 0 fine, 1 check found a problem, 2 usage,
 * connection or server error.
 *
 * IDENTIFICATION	  src/cli/perfguard.c
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"

/* option identifiers beyond the short-option characters */
enum
{
	OPT_FORMAT = 1000,
	OPT_BASELINE,
	OPT_BASELINE_FILE,
	OPT_TOP,
	OPT_SORT,
	OPT_NAME,
	OPT_REPLACE,
	OPT_CURRENT,
	OPT_IF_EXISTS,
	OPT_KIND,
	OPT_SINCE,
	OPT_LIMIT,
	OPT_ALL_DATABASES,
	OPT_EVENTS
};

/* bits of the command options, to check each against the command */
#define F_FORMAT		(1 << 0)
#define F_BASELINE		(1 << 1)
#define F_BASELINE_FILE (1 << 2)
#define F_TOP			(1 << 3)
#define F_SORT			(1 << 4)
#define F_OUTPUT		(1 << 5)
#define F_NAME			(1 << 6)
#define F_REPLACE		(1 << 7)
#define F_CURRENT		(1 << 8)
#define F_IF_EXISTS		(1 << 9)
#define F_KIND			(1 << 10)
#define F_SINCE			(1 << 11)
#define F_LIMIT			(1 << 12)
#define F_ALL_DATABASES (1 << 13)
#define F_VERBOSE		(1 << 14)
#define F_EVENTS		(1 << 15)

static const struct option long_options[] = {
	{"dbname", required_argument, NULL, 'd'},
	{"host", required_argument, NULL, 'h'},
	{"port", required_argument, NULL, 'p'},
	{"username", required_argument, NULL, 'U'},
	{"no-password", no_argument, NULL, 'w'},
	{"password", no_argument, NULL, 'W'},
	{"format", required_argument, NULL, OPT_FORMAT},
	{"baseline", required_argument, NULL, OPT_BASELINE},
	{"baseline-file", required_argument, NULL, OPT_BASELINE_FILE},
	{"top", required_argument, NULL, OPT_TOP},
	{"sort", required_argument, NULL, OPT_SORT},
	{"output", required_argument, NULL, 'o'},
	{"name", required_argument, NULL, OPT_NAME},
	{"replace", no_argument, NULL, OPT_REPLACE},
	{"current", no_argument, NULL, OPT_CURRENT},
	{"if-exists", no_argument, NULL, OPT_IF_EXISTS},
	{"kind", required_argument, NULL, OPT_KIND},
	{"since", required_argument, NULL, OPT_SINCE},
	{"limit", required_argument, NULL, OPT_LIMIT},
	{"all-databases", no_argument, NULL, OPT_ALL_DATABASES},
	{"verbose", no_argument, NULL, 'v'},
	{"events", no_argument, NULL, OPT_EVENTS},
	{NULL, 0, NULL, 0}
};

/* the command options, by bit, as the user spells them */
static const struct
{
	int			flag;
	const char *spelling;
} option_names[] = {
	{F_FORMAT, "--format"},
	{F_BASELINE, "--baseline"},
	{F_BASELINE_FILE, "--baseline-file"},
	{F_TOP, "--top"},
	{F_SORT, "--sort"},
	{F_OUTPUT, "-o/--output"},
	{F_NAME, "--name"},
	{F_REPLACE, "--replace"},
	{F_CURRENT, "--current"},
	{F_IF_EXISTS, "--if-exists"},
	{F_KIND, "--kind"},
	{F_SINCE, "--since"},
	{F_LIMIT, "--limit"},
	{F_ALL_DATABASES, "--all-databases"},
	{F_VERBOSE, "-v/--verbose"},
	{F_EVENTS, "--events"},
};

/* A command: its name, positional arguments, options and formats. */
typedef struct PfgCommand
{
	const char *name;			/* "check", or "baseline save" */
	int			min_args;		/* after the command word(s) */
	int			max_args;
	const char *args_usage;
	int			options;		/* F_* bits it accepts */
	const char *formats;		/* letters t j u m of the formats it has */
	int			(*run) (const PfgOptions *opts);
} PfgCommand;

static const PfgCommand commands[] = {
	{"check", 0, 0, "", F_FORMAT | F_BASELINE | F_BASELINE_FILE | F_VERBOSE | F_OUTPUT, "tjumh", cmd_check},
	{"report", 0, 0, "", F_FORMAT | F_TOP | F_SORT | F_OUTPUT, "tjumh", cmd_report},
	{"baseline save", 1, 1, " NAME", F_REPLACE, "t", cmd_baseline},
	{"baseline export", 0, 1, " NAME", F_OUTPUT | F_CURRENT, "t", cmd_baseline},
	{"baseline import", 1, 1, " FILE", F_NAME | F_REPLACE, "t", cmd_baseline},
	{"baseline list", 0, 0, "", F_FORMAT, "tjm", cmd_baseline},
	{"baseline drop", 1, 1, " NAME", F_IF_EXISTS, "t", cmd_baseline},
	{"events", 0, 0, "", F_FORMAT | F_KIND | F_SINCE | F_LIMIT | F_ALL_DATABASES | F_VERBOSE, "tjm", cmd_events},
	{"reset", 0, 0, "", F_EVENTS, "t", cmd_reset},
};

static void
usage(void)
{
	out_printf("%s checks query performance against the budgets and baselines of the\n"
			   "perfguard PostgreSQL extension, and reports what it measured.\n\n",
			   PFG_PROGNAME);
	out_printf("Usage:\n");
	out_printf("  %s [OPTION]... COMMAND [ARGUMENT]... [OPTION]...\n\n", PFG_PROGNAME);
	out_printf("Commands:\n"
			   "  check                   budget violations and, with a baseline, regressions\n"
			   "                          (exit 1 when there is any)\n"
			   "  report                  the top statements with their latencies and flags\n"
			   "  baseline save NAME      store the current statistics as baseline NAME\n"
			   "  baseline export NAME    write baseline NAME as a JSON document\n"
			   "  baseline export --current  write the current statistics, without storing them\n"
			   "  baseline import FILE    store the baseline document in FILE (\"-\": stdin)\n"
			   "  baseline list           the stored baselines\n"
			   "  baseline drop NAME      remove baseline NAME\n"
			   "  events                  recent events: slow plans, sequential scans, N+1, ...\n"
			   "  reset                   forget the statistics of every statement\n");
	out_printf("\nCommand options:\n"
			   "  --format=FORMAT         text (default), json, junit, markdown or html\n"
			   "                          (check and report: all five; baseline list, events:\n"
			   "                          text, json, markdown)\n"
			   "  --baseline=NAME         check: compare with the stored baseline NAME\n"
			   "  --baseline-file=FILE    check: compare with the baseline document in FILE\n"
			   "  -v, --verbose           check: show captured plans; events: show plans in full\n"
			   "  --top=N                 report: show N statements (default 20)\n"
			   "  --sort=KEY              report: order by total (default), mean, p95 or calls\n"
			   "  -o, --output=FILE       baseline export, report, check: write to FILE, not\n"
			   "                          standard output (whole or not at all)\n"
			   "  --current               baseline export: the current statistics\n"
			   "  --name=NAME             baseline import: store under NAME, not the file's name\n"
			   "  --replace               baseline save, import: replace a baseline of that name\n"
			   "  --if-exists             baseline drop: no error if there is no such baseline\n"
			   "  --kind=KIND             events: only of KIND (slow_plan, seq_scan, n_plus_one,\n"
			   "                          row_by_row_dml, failed)\n"
			   "  --since=TIME            events: since a timestamp, or an interval ago (\"1 hour\")\n"
			   "  --limit=N               events: show the latest N (default 50)\n"
			   "  --all-databases         events: of every database, not only the current one\n"
			   "  --events                reset: forget the events too\n");
	out_printf("\nConnection options:\n"
			   "  -d, --dbname=DBNAME     database name, or a connection string or URI\n"
			   "  -h, --host=HOSTNAME     database server host or socket directory\n"
			   "  -p, --port=PORT         database server port\n"
			   "  -U, --username=USERNAME database user name\n"
			   "  -w, --no-password       never prompt for password\n"
			   "  -W, --password          force password prompt\n");
	out_printf("\nOther options:\n"
			   "  -V, --version           output version information, then exit\n"
			   "  -?, --help              show this help, then exit\n");
	out_printf("\nThe environment variables PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD,\n"
			   "PGSERVICE and the others of libpq are used as by psql.\n");
	out_printf("\nExit status: 0 fine, 1 check found violations or regressions,\n"
			   "2 usage, connection or server error.\n");
}

/*
 * usage_error
 *		Print a usage error and the hint to --help; exit 2.
 */
static void PFG_PRINTF(1, 2) PFG_NORETURN
usage_error(const char *fmt,...)
{
	PfgBuf		text;
	va_list		ap;

	buf_init(&text);
	va_start(ap, fmt);
	buf_vprintf(&text, fmt, ap);
	va_end(ap);
	pfg_error("%s", text.data);
	pfg_hint("Try \"%s --help\" for more information.", PFG_PROGNAME);
	pfg_exit(PFG_EXIT_ERROR);
}

/*
 * parse_count
 *		A positive integer option value, or a usage error.
 */
static int
parse_count(const char *value, const char *option)
{
	char	   *end;
	long		n;

	errno = 0;
	n = strtol(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || n < 1 || n > INT_MAX)
		usage_error("invalid value \"%s\" for option %s: a positive integer is required",
					value, option);
	return (int) n;
}

static PfgFormat
parse_format(const char *value, char *letter)
{
	if (strcmp(value, "text") == 0)
		return *letter = 't', PFG_FORMAT_TEXT;
	if (strcmp(value, "json") == 0)
		return *letter = 'j', PFG_FORMAT_JSON;
	if (strcmp(value, "junit") == 0)
		return *letter = 'u', PFG_FORMAT_JUNIT;
	if (strcmp(value, "markdown") == 0)
		return *letter = 'm', PFG_FORMAT_MARKDOWN;
	if (strcmp(value, "html") == 0)
		return *letter = 'h', PFG_FORMAT_HTML;
	usage_error("invalid value \"%s\" for option --format: text, json, junit, markdown or html",
				value);
}

/*
 * prompt_password
 *		Read a password of any length from the terminal without echo; NULL
 *		when there is no terminal.  The result is malloc'd; the caller
 *		clears it with forget_password().  The password is read byte by
 *		byte with read(), so that no stdio buffer keeps a copy, and a
 *		buffer that grows is cleared before it is freed.
 */
static char *
prompt_password(void)
{
	FILE	   *tty = fopen("/dev/tty", "r+");
	struct termios saved,
				noecho;
	bool		restore = false;
	bool		oom = false;
	char	   *pw;
	size_t		len = 0,
				cap = 128;
	char		c = 0;

	if (tty == NULL)
		return NULL;
	/* echo off before the prompt: TCSAFLUSH drops what was typed before */
	if (tcgetattr(fileno(tty), &saved) == 0)
	{
		noecho = saved;
		noecho.c_lflag &= ~ECHO;
		restore = (tcsetattr(fileno(tty), TCSAFLUSH, &noecho) == 0);
	}
	fputs("Password: ", tty);
	fflush(tty);
	pw = malloc(cap);
	while (pw != NULL)
	{
		ssize_t		n = read(fileno(tty), &c, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || c == '\n')
			break;
		if (len + 1 == cap)
		{
			/* not realloc(), which could leave a copy behind */
			char	   *bigger = malloc(cap * 2);

			if (bigger != NULL)
				memcpy(bigger, pw, len);
			pfg_clear_secret(pw, cap);
			free(pw);
			pw = bigger;
			cap *= 2;
			if (pw == NULL)
				break;
		}
		pw[len++] = c;
	}
	pfg_clear_secret(&c, sizeof(c));
	oom = (pw == NULL);
	if (pw != NULL)
		pw[len] = '\0';
	/* the terminal gets its echo back, even when the program ends here */
	if (restore)
		tcsetattr(fileno(tty), TCSAFLUSH, &saved);
	fputs("\n", tty);
	fclose(tty);
	if (oom)
		pfg_fatal("out of memory");
	return pw;
}

/*
 * forget_password
 *		Clear a password from memory (pfg_clear_secret(): not a store the
 *		compiler may drop) and free it.  libpq has its own copy for the
 *		connection, which PQfinish() clears.
 */
static void
forget_password(char **password)
{
	if (*password == NULL)
		return;
	pfg_clear_secret(*password, strlen(*password));
	free(*password);
	*password = NULL;
}

/*
 * connect_db
 *		Connect as libpq's conventions say (psql's order: the expanded
 *		--dbname wins over -h -p -U), asking for a password when the
 *		server wants one and -w was not given.  Sets pfg_conn; exits 2 if
 *		the connection fails.  A password read from the terminal is
 *		cleared as soon as the connection is made or has failed, on every
 *		path.
 */
static void
connect_db(const PfgOptions *opts)
{
	const char *keywords[8];
	const char *values[8];
	char	   *password = NULL;
	bool		again;
	PGconn	   *conn;

	if (opts->force_password)
		password = prompt_password();
	do
	{
		int			i = 0;

		keywords[i] = "host";
		values[i++] = opts->host;
		keywords[i] = "port";
		values[i++] = opts->port;
		keywords[i] = "user";
		values[i++] = opts->username;
		keywords[i] = "password";
		values[i++] = password;
		keywords[i] = "dbname";
		values[i++] = opts->dbname;
		keywords[i] = "fallback_application_name";
		values[i++] = PFG_PROGNAME;
		/* JSON, XML and the µ of durations are written in UTF-8 */
		keywords[i] = "client_encoding";
		values[i++] = "UTF8";
		keywords[i] = NULL;
		values[i] = NULL;

		conn = PQconnectdbParams(keywords, values, 1);
		if (conn == NULL)
		{
			forget_password(&password);
			pfg_fatal("could not connect to database: out of memory");
		}
		again = false;
		if (PQstatus(conn) == CONNECTION_BAD && PQconnectionNeedsPassword(conn) &&
			password == NULL && !opts->no_password)
		{
			password = prompt_password();
			if (password != NULL)
			{
				PQfinish(conn);
				conn = NULL;
				again = true;
			}
		}
	} while (again);
	forget_password(&password);
	pfg_conn = conn;
	if (PQstatus(conn) == CONNECTION_BAD)
		pfg_fatal("%s", PQerrorMessage(conn));
}

/*
 * check_extension
 *		The perfguard extension must be installed in the database, in a
 *		version no older than this client knows.  Exits 2 otherwise.
 */
static void
check_extension(void)
{
	PGresult   *res;
	const char *version;
	int			major,
				minor = 0;

	/*
	 * The comment marks the query as perfguard's own for the server
	 * ("perfguard." in its text), which leaves such statements out of
	 * budgets and baselines, when this session is tracked.
	 */
	res = pfg_query("SELECT extversion /* perfguard.client */"
					" FROM pg_catalog.pg_extension WHERE extname = 'perfguard'",
					0, NULL);
	if (PQntuples(res) == 0)
	{
		PQclear(res);
		pfg_error("the perfguard extension is not installed in database \"%s\"",
				  PQdb(pfg_conn));
		pfg_hint("Run CREATE EXTENSION perfguard; in that database, on a server with perfguard in shared_preload_libraries.");
		pfg_exit(PFG_EXIT_ERROR);
	}
	version = PQgetvalue(res, 0, 0);
	if (sscanf(version, "%d.%d", &major, &minor) < 1 ||
		major < PFG_MIN_EXT_MAJOR ||
		(major == PFG_MIN_EXT_MAJOR && minor < PFG_MIN_EXT_MINOR))
	{
		pfg_error("the perfguard extension in database \"%s\" is version %s, older than %d.%d, which this client needs",
				  PQdb(pfg_conn), version, PFG_MIN_EXT_MAJOR, PFG_MIN_EXT_MINOR);
		pfg_hint("Run ALTER EXTENSION perfguard UPDATE; in that database.");
		PQclear(res);
		pfg_exit(PFG_EXIT_ERROR);
	}
	PQclear(res);
}

/*
 * untrack_self
 *		Keep this session's own queries out of perfguard's statistics, so
 *		that a report or a baseline shows the application, not the client.
 *		Only superusers may set perfguard.track; for others the queries are
 *		tracked like any.  (The SET itself is the one statement that stays.)
 */
static void
untrack_self(void)
{
	const char *su = PQparameterStatus(pfg_conn, "is_superuser");
	PGresult   *res;

	if (su == NULL || strcmp(su, "on") != 0)
		return;
	res = pfg_query("SET perfguard.track = none", 0, NULL);
	PQclear(res);
}

/* is the argument one of the help or version options? */
static bool
is_arg(const char *arg, const char *a, const char *b)
{
	return strcmp(arg, a) == 0 || strcmp(arg, b) == 0;
}

int
main(int argc, char **argv)
{
	PfgOptions	opts;
	const PfgCommand *cmd = NULL;
	int			given = 0;
	char		format_letter = 't';
	int			c,
				i;
	PfgBuf		cmdname;
	int			words;

	memset(&opts, 0, sizeof(opts));
	opts.format = PFG_FORMAT_TEXT;
	opts.top = 20;
	opts.limit = 50;
	opts.sort = "total";

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
	{
		if (is_arg(argv[i], "--help", "-?"))
		{
			usage();
			pfg_finish_output();
			exit(PFG_EXIT_OK);
		}
		if (is_arg(argv[i], "--version", "-V"))
		{
			out_puts(PFG_PROGNAME " (perfguard) " PFG_CLIENT_VERSION "\n");
			pfg_finish_output();
			exit(PFG_EXIT_OK);
		}
	}

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:h:p:U:wWo:v", long_options, NULL)) != -1)
	{
		switch (c)
		{
			case 'd':
				opts.dbname = optarg;
				break;
			case 'h':
				opts.host = optarg;
				break;
			case 'p':
				opts.port = optarg;
				break;
			case 'U':
				opts.username = optarg;
				break;
			case 'w':
				opts.no_password = true;
				break;
			case 'W':
				opts.force_password = true;
				break;
			case OPT_FORMAT:
				opts.format = parse_format(optarg, &format_letter);
				given |= F_FORMAT;
				break;
			case OPT_BASELINE:
				opts.baseline = optarg;
				given |= F_BASELINE;
				break;
			case OPT_BASELINE_FILE:
				opts.baseline_file = optarg;
				given |= F_BASELINE_FILE;
				break;
			case OPT_TOP:
				opts.top = parse_count(optarg, "--top");
				given |= F_TOP;
				break;
			case OPT_SORT:
				if (strcmp(optarg, "total") != 0 && strcmp(optarg, "mean") != 0 &&
					strcmp(optarg, "p95") != 0 && strcmp(optarg, "calls") != 0)
					usage_error("invalid value \"%s\" for option --sort: total, mean, p95 or calls",
								optarg);
				opts.sort = optarg;
				given |= F_SORT;
				break;
			case 'o':
				opts.output = optarg;
				given |= F_OUTPUT;
				break;
			case OPT_NAME:
				opts.name = optarg;
				given |= F_NAME;
				break;
			case OPT_REPLACE:
				opts.replace = true;
				given |= F_REPLACE;
				break;
			case OPT_CURRENT:
				opts.current = true;
				given |= F_CURRENT;
				break;
			case OPT_IF_EXISTS:
				opts.if_exists = true;
				given |= F_IF_EXISTS;
				break;
			case OPT_KIND:
				opts.kind = optarg;
				given |= F_KIND;
				break;
			case OPT_SINCE:
				opts.since = optarg;
				given |= F_SINCE;
				break;
			case OPT_LIMIT:
				opts.limit = parse_count(optarg, "--limit");
				given |= F_LIMIT;
				break;
			case OPT_ALL_DATABASES:
				opts.all_databases = true;
				given |= F_ALL_DATABASES;
				break;
			case 'v':
				opts.verbose = true;
				given |= F_VERBOSE;
				break;
			case OPT_EVENTS:
				opts.events = true;
				given |= F_EVENTS;
				break;
			case ':':
				usage_error("option %s requires an argument", argv[optind - 1]);
			default:
				if (optopt != 0 && optopt < 256)
					usage_error("invalid option -- '%c'", optopt);
				usage_error("unrecognized option \"%s\"", argv[optind - 1]);
		}
	}

	/* the command: one word, or two for baseline */
	if (optind >= argc)
		usage_error("no command given");
	words = strcmp(argv[optind], "baseline") == 0 ? 2 : 1;
	if (words == 2 && optind + 1 >= argc)
		usage_error("baseline needs a subcommand: save, export, import, list or drop");
	buf_init(&cmdname);
	buf_printf(&cmdname, "%s%s%s", argv[optind],
			   words == 2 ? " " : "", words == 2 ? argv[optind + 1] : "");
	for (i = 0; i < (int) (sizeof(commands) / sizeof(commands[0])); i++)
		if (strcmp(commands[i].name, cmdname.data) == 0)
			cmd = &commands[i];
	buf_free(&cmdname);
	if (cmd == NULL)
		usage_error(words == 2 ? "unknown baseline subcommand \"%s\"" : "unknown command \"%s\"",
					argv[optind + words - 1]);

	opts.command = cmd->name;
	opts.args = argv + optind + words;
	opts.nargs = argc - optind - words;
	if (opts.nargs < cmd->min_args)
		usage_error("%s needs an argument: %s%s", cmd->name, cmd->name, cmd->args_usage);
	if (opts.nargs > cmd->max_args)
		usage_error("too many arguments for %s (first extra is \"%s\")",
					cmd->name, opts.args[cmd->max_args]);
	for (i = 0; i < (int) (sizeof(option_names) / sizeof(option_names[0])); i++)
		if ((given & option_names[i].flag) && !(cmd->options & option_names[i].flag))
			usage_error("option %s cannot be used with %s",
						option_names[i].spelling, cmd->name);
	if ((given & F_FORMAT) && strchr(cmd->formats, format_letter) == NULL)
		usage_error("%s has no %s format", cmd->name,
					format_letter == 'j' ? "json" : format_letter == 'u' ? "junit" :
					format_letter == 'm' ? "markdown" : format_letter == 'h' ? "html" : "text");
	if (opts.baseline && opts.baseline_file)
		usage_error("options --baseline and --baseline-file cannot be used together");
	if (strcmp(cmd->name, "baseline export") == 0 &&
		(opts.nargs == 1) == opts.current)
		usage_error("baseline export needs either a NAME or --current");

	connect_db(&opts);
	untrack_self();
	check_extension();
	if (opts.output && cmd->run != cmd_baseline && strcmp(opts.output, "-") != 0)
	{
		/* report, check -o FILE: the whole output, then the file at once */
		PfgBuf		doc;

		buf_init(&doc);
		out_capture(&doc);
		c = cmd->run(&opts);
		out_capture(NULL);
		pfg_write_file(opts.output, doc.data);
		buf_free(&doc);
	}
	else
		c = cmd->run(&opts);
	pfg_finish_output();
	pfg_exit(c);
}
