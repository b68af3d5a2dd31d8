/*-------------------------------------------------------------------------
 * report.c
 *	  What the budget and regression reports are built on: the statistics
 *	  of the current database summed per fingerprint, and the two
 *	  statistical tests that decide latency regressions.
 *
 * The reports themselves (perfguard.violations, perfguard.regressions,
 * ...) are SQL functions in the extension script; they compare these
 * rows with the rows of perfguard.budgets and of stored baselines.
 *
 * IDENTIFICATION	  src/report.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"

#include "compat.h"
#include "dumpfile.h"
#include "histogram.h"
#include "perfguard.h"
#include "stats.h"

#define PFG_STATEMENTS_COLS	31		/* 1.1; 1.0 declared the first 27 */
#define PFG_STATEMENTS_COLS_1_0	27

/* The columns of perfguard.statements_internal(), as the C code builds them. */
static const Oid statements_types[PFG_STATEMENTS_COLS] = {
	INT8OID,					/* fingerprint */
	TEXTOID,					/* query */
	INT8OID,					/* calls */
	FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID,	/* total .. stddev */
	FLOAT8OID, FLOAT8OID, FLOAT8OID,	/* p50, p95, p99 */
	INT8OID,					/* rows */
	FLOAT8OID,					/* rows_per_call */
	INT8OID,					/* max_rows */
	INT8OID,					/* shared_blks */
	FLOAT8OID,					/* blocks_per_call */
	INT8OID,					/* max_blocks */
	INT8OID,					/* xacts */
	FLOAT8OID,					/* calls_per_xact */
	INT8OID,					/* max_calls_per_xact */
	INT8OID,					/* plan_shape */
	INT8OID, INT8OID, INT8OID,	/* seq_scans, n_plus_one, row_by_row_dml */
	TIMESTAMPTZOID,				/* last_exec_at */
	INT8ARRAYOID,				/* latency_hist */
	BOOLOID,					/* own */
	INT8OID, FLOAT8OID, FLOAT8OID,	/* failed_calls, failed_exec_time,
									 * failed_max_exec_time */
	JSONBOID					/* failed_by_sqlstate */
};

PG_FUNCTION_INFO_V1(perfguard_statements);
PG_FUNCTION_INFO_V1(perfguard_statements_1_1);
PG_FUNCTION_INFO_V1(perfguard_welch_test);
PG_FUNCTION_INFO_V1(perfguard_exceedance_test);
PG_FUNCTION_INFO_V1(perfguard_shift_test);

/* One fingerprint's statistics, summed over users and nesting levels. */
typedef struct PfgSum
{
	uint64		fingerprint;	/* hash key */
	int64		calls;
	double		total_time;
	double		min_time;
	double		max_time;
	double		mean_time;
	double		sum_var_time;
	int64		rows;
	int64		blocks;			/* shared hit + read */
	int64		max_rows;
	int64		max_blocks;
	int64		xacts;
	int64		max_xact_calls;
	uint64		plan_shape;
	TimestampTz plan_shape_at;	/* last execution of the entry it came from */
	int64		seq_scans;
	int64		n_plus_one;
	int64		row_by_row;
	TimestampTz last_exec;
	char	   *text;			/* a text the caller may see, or NULL; as
								 * kept, in encoding, until shown */
	int			text_len;
	int			encoding;
	bool		own;			/* perfguard's own work (fingerprint.c) */
	int64		failed_calls;
	double		failed_time;
	double		failed_max_time;
	int64		failed_by[PFG_FAIL_KINDS];
	double		cancel_min_time;
	double		cancel_max_time;
	uint64		hist[PFG_HIST_BUCKETS];
} PfgSum;

/* Add one entry's counters to a sum (Chan et al.'s merge of variances). */
static void
sum_add(PfgSum *s, const PfgCounters *c, const PfgHistogram *hist)
{
	int64		cancels = c->failed_by[PFG_FAIL_CANCELED];

	if (c->failed_calls > 0)
	{
		s->failed_max_time = (s->failed_calls == 0) ? c->failed_max_time :
			Max(s->failed_max_time, c->failed_max_time);
		s->failed_calls += c->failed_calls;
		s->failed_time += c->failed_time;
	}
	if (cancels > 0)
	{
		bool		first = (s->failed_by[PFG_FAIL_CANCELED] == 0);

		s->cancel_min_time = first ? c->cancel_min_time :
			Min(s->cancel_min_time, c->cancel_min_time);
		s->cancel_max_time = first ? c->cancel_max_time :
			Max(s->cancel_max_time, c->cancel_max_time);
	}
	for (int k = 0; k < PFG_FAIL_KINDS; k++)
		s->failed_by[k] += c->failed_by[k];
	if (c->calls == 0)
		;						/* only failed executions */
	else if (s->calls == 0)
	{
		s->min_time = c->min_time;
		s->max_time = c->max_time;
		s->mean_time = c->mean_time;
		s->sum_var_time = c->sum_var_time;
	}
	else
	{
		double		n = (double) (s->calls + c->calls);
		double		delta = c->mean_time - s->mean_time;

		s->sum_var_time += c->sum_var_time +
			delta * delta * (double) s->calls * (double) c->calls / n;
		s->mean_time += delta * (double) c->calls / n;
		s->min_time = Min(s->min_time, c->min_time);
		s->max_time = Max(s->max_time, c->max_time);
	}
	s->calls += c->calls;
	s->total_time += c->total_time;
	s->rows += c->rows;
	s->blocks += c->shared_blks_hit + c->shared_blks_read;
	s->max_rows = Max(s->max_rows, c->max_rows);
	s->max_blocks = Max(s->max_blocks, c->max_blocks);
	s->xacts += c->xacts;
	s->max_xact_calls = Max(s->max_xact_calls, c->max_xact_calls);
	if (c->plan_shape != 0 &&
		(s->plan_shape == 0 || c->last_exec > s->plan_shape_at))
	{
		s->plan_shape = c->plan_shape;
		s->plan_shape_at = c->last_exec;
	}
	s->seq_scans += c->seq_scans;
	s->n_plus_one += c->n_plus_one;
	s->row_by_row += c->row_by_row;
	s->last_exec = Max(s->last_exec, c->last_exec);
	for (int i = 0; i < PFG_HIST_BUCKETS; i++)
		s->hist[i] += hist->counts[i];
}

/* The histogram as bigint[] of (bucket, count) pairs, empty buckets left out. */
static Datum
hist_array(const uint64 *hist)
{
	Datum	   *elems = palloc(sizeof(Datum) * 2 * PFG_HIST_BUCKETS);
	int			n = 0;

	for (int i = 0; i < PFG_HIST_BUCKETS; i++)
	{
		if (hist[i] == 0)
			continue;
		elems[n++] = Int64GetDatum(i);
		elems[n++] = Int64GetDatum((int64) hist[i]);
	}
	return PointerGetDatum(construct_array(elems, n, INT8OID, 8, FLOAT8PASSBYVAL,
										   TYPALIGN_DOUBLE));
}

/* Fill counts from a bigint[] of (bucket, count) pairs; false if malformed. */
static bool
hist_from_array(ArrayType *arr, uint64 *counts)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	memset(counts, 0, sizeof(uint64) * PFG_HIST_BUCKETS);
	if (ARR_NDIM(arr) > 1 || ARR_ELEMTYPE(arr) != INT8OID)
		return false;
	deconstruct_array(arr, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, &nulls, &n);
	if (n % 2 != 0)
		return false;
	for (int i = 0; i < n; i += 2)
	{
		int64		bucket;
		int64		count;

		if (nulls[i] || nulls[i + 1])
			return false;
		bucket = DatumGetInt64(elems[i]);
		count = DatumGetInt64(elems[i + 1]);
		if (bucket < 0 || bucket >= PFG_HIST_BUCKETS || count < 0)
			return false;
		counts[bucket] += (uint64) count;
	}
	return true;
}

/*
 * perfguard_statements
 *		One row per fingerprint of the current database: the statistics of
 *		all its entries (users, nesting levels) summed.  The text is shown
 *		under the visibility rule of perfguard.stats: when the caller may
 *		see none of the entries' texts, the query column is NULL.  Texts are
 *		copied under the table's lock and shown after it is released, with
 *		bytes that are not valid in this database's encoding escaped
 *		(pfg_text_to_server).
 */
static Datum
statements_rows(FunctionCallInfo fcinfo, int ncols)
{
	bool		showtext = PG_GETARG_BOOL(0);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			userid = GetUserId();
	/* who may read constants may read the texts too */
	bool		read_all = has_privs_of_role(userid, ROLE_PG_READ_ALL_STATS) ||
		pfg_may_read_constants();
	HASHCTL		info;
	HTAB	   *sums;
	HASH_SEQ_STATUS hs;
	PfgEntry   *entry;
	PfgSum	   *s;

	pfg_check_loaded();
	pfg_init_materialized_srf(fcinfo);
	pfg_check_result_type(fcinfo, rsinfo->setDesc, statements_types, ncols);

	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(uint64);
	info.entrysize = sizeof(PfgSum);
	info.hcxt = CurrentMemoryContext;
	sums = hash_create("perfguard statements", 256, &info,
					   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	LWLockAcquire(pfg_shared->lock, LW_SHARED);
	hash_seq_init(&hs, pfg_stats_hash());
	while ((entry = hash_seq_search(&hs)) != NULL)
	{
		PfgCounters c;
		PfgHistogram hist;
		bool		found;

		if (entry->key.dbid != MyDatabaseId)
			continue;
		SpinLockAcquire(&entry->mutex);
		c = entry->counters;
		memcpy(&hist, &entry->hist, sizeof(PfgHistogram));
		SpinLockRelease(&entry->mutex);
		if (c.calls == 0 &&
			(ncols == PFG_STATEMENTS_COLS_1_0 || c.failed_calls == 0))
			continue;

		s = hash_search(sums, &entry->fingerprint, HASH_ENTER, &found);
		if (!found)
			memset((char *) s + sizeof(uint64), 0, sizeof(PfgSum) - sizeof(uint64));
		sum_add(s, &c, &hist);
		s->own |= entry->own;
		if (showtext && s->text == NULL &&
			(read_all || entry->key.userid == userid))
		{
			s->text = palloc(entry->text_len + 1);
			memcpy(s->text, entry->text, entry->text_len);
			s->text[entry->text_len] = '\0';
			s->text_len = entry->text_len;
			s->encoding = entry->encoding;
		}
	}
	LWLockRelease(pfg_shared->lock);

	hash_seq_init(&hs, sums);
	while ((s = hash_seq_search(&hs)) != NULL)
	{
		Datum		values[PFG_STATEMENTS_COLS];
		bool		nulls[PFG_STATEMENTS_COLS];
		int			i = 0;
		PfgCounters bounds;

		memset(nulls, 0, sizeof(nulls));
		values[i++] = Int64GetDatum((int64) s->fingerprint);
		if (s->text)
			values[i++] = CStringGetTextDatum(pfg_text_to_server(s->text, s->text_len,
																 s->encoding, false));
		else
			nulls[i++] = true;
		values[i++] = Int64GetDatum(s->calls);
		values[i++] = Float8GetDatum(s->total_time);
		if (s->calls > 0)
		{
			values[i++] = Float8GetDatum(s->min_time);
			values[i++] = Float8GetDatum(s->max_time);
			values[i++] = Float8GetDatum(s->mean_time);
		}
		else
		{
			/* only failed executions: no completed one to describe */
			nulls[i++] = true;
			nulls[i++] = true;
			nulls[i++] = true;
		}
		values[i++] = Float8GetDatum(s->calls > 1 ?
									 sqrt(s->sum_var_time / s->calls) : 0.0);
		/* what the histogram holds: completed and cancelled executions */
		memset(&bounds, 0, sizeof(bounds));
		bounds.calls = s->calls;
		bounds.min_time = s->min_time;
		bounds.max_time = s->max_time;
		bounds.failed_by[PFG_FAIL_CANCELED] = s->failed_by[PFG_FAIL_CANCELED];
		bounds.cancel_min_time = s->cancel_min_time;
		bounds.cancel_max_time = s->cancel_max_time;
		if (s->calls > 0 || s->failed_by[PFG_FAIL_CANCELED] > 0)
		{
			double		lo;
			double		hi;

			pfg_hist_bounds(&bounds, &lo, &hi);
			values[i++] = Float8GetDatum(pfg_hist_percentile_within(s->hist, 0.50, lo, hi));
			values[i++] = Float8GetDatum(pfg_hist_percentile_within(s->hist, 0.95, lo, hi));
			values[i++] = Float8GetDatum(pfg_hist_percentile_within(s->hist, 0.99, lo, hi));
		}
		else
		{
			nulls[i++] = true;
			nulls[i++] = true;
			nulls[i++] = true;
		}
		values[i++] = Int64GetDatum(s->rows);
		if (s->calls > 0)
			values[i++] = Float8GetDatum((double) s->rows / s->calls);
		else
			nulls[i++] = true;
		values[i++] = Int64GetDatum(s->max_rows);
		values[i++] = Int64GetDatum(s->blocks);
		if (s->calls > 0)
			values[i++] = Float8GetDatum((double) s->blocks / s->calls);
		else
			nulls[i++] = true;
		values[i++] = Int64GetDatum(s->max_blocks);
		values[i++] = Int64GetDatum(s->xacts);
		if (s->xacts > 0)
			values[i++] = Float8GetDatum((double) s->calls / s->xacts);
		else
			nulls[i++] = true;
		values[i++] = Int64GetDatum(s->max_xact_calls);
		if (s->plan_shape != 0)
			values[i++] = Int64GetDatum((int64) s->plan_shape);
		else
			nulls[i++] = true;
		values[i++] = Int64GetDatum(s->seq_scans);
		values[i++] = Int64GetDatum(s->n_plus_one);
		values[i++] = Int64GetDatum(s->row_by_row);
		values[i++] = TimestampTzGetDatum(s->last_exec);
		values[i++] = hist_array(s->hist);
		values[i++] = BoolGetDatum(s->own);
		if (ncols > PFG_STATEMENTS_COLS_1_0)
		{
			values[i++] = Int64GetDatum(s->failed_calls);
			values[i++] = Float8GetDatum(s->failed_time);
			if (s->failed_calls > 0)
				values[i++] = Float8GetDatum(s->failed_max_time);
			else
				nulls[i++] = true;
			values[i++] = pfg_failed_by_jsonb(s->failed_by);
		}
		Assert(i == ncols);

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	hash_destroy(sums);

	return (Datum) 0;
}

/* perfguard.statements_internal() as 1.0 declared it: completed calls only */
Datum
perfguard_statements(PG_FUNCTION_ARGS)
{
	return statements_rows(fcinfo, PFG_STATEMENTS_COLS_1_0);
}

/* perfguard.statements_internal() of 1.1: with the failed executions */
Datum
perfguard_statements_1_1(PG_FUNCTION_ARGS)
{
	return statements_rows(fcinfo, PFG_STATEMENTS_COLS);
}

/*
 * Regularized incomplete beta function I_x(a, b), by its continued
 * fraction evaluated with the modified Lentz method; the symmetry
 * I_x(a, b) = 1 - I_(1-x)(b, a) keeps the fraction in its fast-converging
 * range.
 */
static double
beta_fraction(double a, double b, double x)
{
	const double tiny = 1e-300;
	double		c = 1.0;
	double		d = 1.0 - (a + b) * x / (a + 1.0);
	double		f;

	if (fabs(d) < tiny)
		d = tiny;
	d = 1.0 / d;
	f = d;
	for (int m = 1; m <= 300; m++)
	{
		double		num;
		double		delta;

		/* even step */
		num = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
		d = 1.0 + num * d;
		d = (fabs(d) < tiny) ? 1.0 / tiny : 1.0 / d;
		c = 1.0 + num / c;
		if (fabs(c) < tiny)
			c = tiny;
		f *= d * c;
		/* odd step */
		num = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1));
		d = 1.0 + num * d;
		d = (fabs(d) < tiny) ? 1.0 / tiny : 1.0 / d;
		c = 1.0 + num / c;
		if (fabs(c) < tiny)
			c = tiny;
		delta = d * c;
		f *= delta;
		if (fabs(delta - 1.0) < 1e-14)
			break;
	}
	return f;
}

static double
incomplete_beta(double a, double b, double x)
{
	double		front;

	if (x <= 0.0)
		return 0.0;
	if (x >= 1.0)
		return 1.0;
	front = exp(lgamma(a + b) - lgamma(a) - lgamma(b) +
				a * log(x) + b * log1p(-x));
	if (x < (a + 1.0) / (a + b + 2.0))
		return front * beta_fraction(a, b, x) / a;
	return 1.0 - front * beta_fraction(b, a, 1.0 - x) / b;
}

/* P(T > t) for Student's t with df degrees of freedom. */
static double
student_upper_tail(double t, double df)
{
	double		tail = 0.5 * incomplete_beta(df / 2.0, 0.5, df / (df + t * t));

	return t >= 0 ? tail : 1.0 - tail;
}

/*
 * perfguard_welch_test
 *		One-sided Welch's t-test of "the second sample's mean is larger":
 *		returns the p-value, from the two samples' sizes, means and standard
 *		deviations.  The degrees of freedom are Welch-Satterthwaite's.
 */
Datum
perfguard_welch_test(PG_FUNCTION_ARGS)
{
	double		n1 = (double) PG_GETARG_INT64(0);
	double		m1 = PG_GETARG_FLOAT8(1);
	double		s1 = PG_GETARG_FLOAT8(2);
	double		n2 = (double) PG_GETARG_INT64(3);
	double		m2 = PG_GETARG_FLOAT8(4);
	double		s2 = PG_GETARG_FLOAT8(5);
	double		v1;
	double		v2;
	double		se;
	double		df;

	if (n1 < 2 || n2 < 2 || isnan(m1) || isnan(m2) || isnan(s1) || isnan(s2) ||
		s1 < 0 || s2 < 0)
		PG_RETURN_NULL();
	v1 = s1 * s1 / n1;
	v2 = s2 * s2 / n2;
	se = sqrt(v1 + v2);
	if (se == 0.0)
		PG_RETURN_FLOAT8(m2 > m1 ? 0.0 : 1.0);
	df = (v1 + v2) * (v1 + v2) /
		(v1 * v1 / (n1 - 1.0) + v2 * v2 / (n2 - 1.0));
	PG_RETURN_FLOAT8(student_upper_tail((m2 - m1) / se, df));
}

/*
 * check_fraction
 *		The percentile argument of the histogram tests: strictly between 0
 *		and 1 (NaN refused).
 */
static void
check_fraction(double fraction)
{
	if (!(fraction > 0.0 && fraction < 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("fraction must be between 0 and 1, exclusive")));
}

/*
 * read_histograms
 *		The two histogram arguments of the histogram tests, as counts per
 *		bucket; an error if either is not (bucket, count) pairs.
 */
static void
read_histograms(ArrayType *base_arr, ArrayType *cur_arr, uint64 *base, uint64 *cur)
{
	if (!hist_from_array(base_arr, base) || !hist_from_array(cur_arr, cur))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a latency histogram must be an array of (bucket, count) pairs"),
				 errdetail("Buckets are 0 to %d; counts are not negative.",
						   PFG_HIST_BUCKETS - 1)));
}

/*
 * perfguard_exceedance_test
 *		Are more of the second sample's calls slower than the first
 *		sample's percentile (0.95: its p95) than of the first sample's own?
 *		Both samples are latency histograms as bigint[] (bucket, count)
 *		pairs.  The threshold is the upper edge of the first sample's
 *		percentile bucket; the shares of calls above it are compared with a
 *		one-sided two-proportion z-test, whose p-value is returned.
 */
Datum
perfguard_exceedance_test(PG_FUNCTION_ARGS)
{
	ArrayType  *base_arr = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *cur_arr = PG_GETARG_ARRAYTYPE_P(1);
	double		fraction = PG_GETARG_FLOAT8(2);
	uint64		base[PFG_HIST_BUCKETS];
	uint64		cur[PFG_HIST_BUCKETS];
	double		n1 = 0,
				n2 = 0,
				k1 = 0,
				k2 = 0;
	double		p;
	double		se;
	int			edge;

	check_fraction(fraction);
	read_histograms(base_arr, cur_arr, base, cur);

	edge = pfg_hist_rank_bucket(base, fraction);
	if (edge < 0)
		PG_RETURN_NULL();
	for (int i = 0; i < PFG_HIST_BUCKETS; i++)
	{
		n1 += base[i];
		n2 += cur[i];
		if (i > edge)
		{
			k1 += base[i];
			k2 += cur[i];
		}
	}
	if (n2 == 0)
		PG_RETURN_NULL();
	p = (k1 + k2) / (n1 + n2);
	se = sqrt(p * (1.0 - p) * (1.0 / n1 + 1.0 / n2));
	if (se == 0.0)
		PG_RETURN_FLOAT8(k2 / n2 > k1 / n1 ? 0.0 : 1.0);
	PG_RETURN_FLOAT8(0.5 * erfc((k2 / n2 - k1 / n1) / se / M_SQRT2));
}

/*
 * fisher_upper_tail
 *		One-sided Fisher's exact test: with k1 of n1 baseline calls and k2 of
 *		n2 current calls over a threshold, the probability of k2 or more of
 *		the k1 + k2 calls over it falling among the current n2 when both
 *		runs draw from one distribution (the hypergeometric upper tail).
 *		Terms are summed from the shorter side, in log space, stopping once
 *		they no longer change the sum.
 */
static double
fisher_upper_tail(double k1, double n1, double k2, double n2)
{
	double		n = n1 + n2;
	double		k = k1 + k2;
	double		lo = Max(0.0, n2 - (n - k));
	double		hi = Min(k, n2);
	double		mode = floor((n2 + 1.0) * (k + 1.0) / (n + 2.0));
	bool		upper = (k2 > mode);
	double		x = upper ? k2 : k2 - 1.0;
	double		logc;
	double		term;
	double		sum = 0.0;

	if (k2 <= lo)
		return 1.0;
	if (k2 > hi)
		return 0.0;
	/* log of the hypergeometric probability of x */
	logc = lgamma(k + 1) - lgamma(x + 1) - lgamma(k - x + 1) +
		lgamma(n - k + 1) - lgamma(n2 - x + 1) - lgamma(n - k - n2 + x + 1) -
		(lgamma(n + 1) - lgamma(n2 + 1) - lgamma(n - n2 + 1));
	term = exp(logc);
	/* upper: P(X >= k2) summed upwards; else P(X <= k2 - 1) downwards */
	while (x >= lo && x <= hi)
	{
		sum += term;
		if (term == 0.0 || term < sum * 1e-17)
			break;
		if (upper)
		{
			term *= (k - x) * (n2 - x) / ((x + 1.0) * (n - k - n2 + x + 1.0));
			x += 1.0;
		}
		else
		{
			term *= x * (n - k - n2 + x) / ((k - x + 1.0) * (n2 - x + 1.0));
			x -= 1.0;
		}
	}
	if (!upper)
		sum = 1.0 - sum;
	return Min(1.0, Max(0.0, sum));
}

/*
 * perfguard_shift_test
 *		Is the current run more than "factor" times slower than the
 *		baseline at one of its percentiles?  Both runs are latency
 *		histograms as bigint[] (bucket, count) pairs.  The baseline's
 *		threshold is the upper edge of the bucket that holds its percentile;
 *		the current run's is the first bucket edge at or above factor times
 *		that.  If the current run were no more than factor times slower
 *		(its latency at most factor times the baseline's, call by call in
 *		distribution), no larger a share of its calls would reach its
 *		threshold than of the baseline's calls reach the baseline's; the
 *		one-sided Fisher's exact test of that gives the p-value.  Returns
 *		the thresholds, the counts over them and the p-value; NULL when a
 *		histogram is empty.
 */
Datum
perfguard_shift_test(PG_FUNCTION_ARGS)
{
	ArrayType  *base_arr;
	ArrayType  *cur_arr;
	double		fraction;
	double		factor;
	uint64		base[PFG_HIST_BUCKETS];
	uint64		cur[PFG_HIST_BUCKETS];
	double		n1 = 0,
				n2 = 0,
				k1 = 0,
				k2 = 0;
	double		base_edge;
	int			edge;
	int			cur_edge;
	TupleDesc	tupdesc;
	Datum		values[7];
	bool		nulls[7] = {0};

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		PG_RETURN_NULL();
	base_arr = PG_GETARG_ARRAYTYPE_P(0);
	cur_arr = PG_GETARG_ARRAYTYPE_P(1);
	fraction = PG_GETARG_FLOAT8(2);
	factor = PG_GETARG_FLOAT8(3);
	check_fraction(fraction);
	if (!(factor >= 1.0 && factor <= 1e6))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("factor must be from 1 to 1000000")));
	read_histograms(base_arr, cur_arr, base, cur);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	edge = pfg_hist_rank_bucket(base, fraction);
	for (int i = 0; i < PFG_HIST_BUCKETS; i++)
	{
		n1 += base[i];
		n2 += cur[i];
	}
	if (edge < 0 || n2 == 0)
		PG_RETURN_NULL();

	base_edge = pfg_hist_bucket_upper(edge);
	cur_edge = PFG_HIST_BUCKETS;	/* none: nothing can be over it */
	for (int i = edge + 1; i < PFG_HIST_BUCKETS; i++)
	{
		if (pfg_hist_bucket_lower(i) >= factor * base_edge * (1.0 - 1e-12))
		{
			cur_edge = i;
			break;
		}
	}
	for (int i = edge + 1; i < PFG_HIST_BUCKETS; i++)
		k1 += base[i];
	for (int i = cur_edge; i < PFG_HIST_BUCKETS; i++)
		k2 += cur[i];

	values[0] = Float8GetDatum(base_edge);
	values[1] = Int64GetDatum((int64) k1);
	values[2] = Int64GetDatum((int64) n1);
	if (cur_edge < PFG_HIST_BUCKETS)
		values[3] = Float8GetDatum(pfg_hist_bucket_lower(cur_edge));
	else
		nulls[3] = true;
	values[4] = Int64GetDatum((int64) k2);
	values[5] = Int64GetDatum((int64) n2);
	values[6] = Float8GetDatum(fisher_upper_tail(k1, n1, k2, n2));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
