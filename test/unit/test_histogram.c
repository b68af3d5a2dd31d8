/*-------------------------------------------------------------------------
 * test_histogram.c
 *	  Unit test of src/histogram.c: bucket layout, the stated error bound
 *	  of percentiles (1/16 relative at 8 us and above, 0.5 us below), that
 *	  the bound is reached exactly, and count overflow.
 *
 * Built by "make unittest" and linked against src/histogram.o.  Prints TAP.
 *
 * IDENTIFICATION	  test/unit/test_histogram.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "histogram.h"

static int	ntests = 0;
static int	nfailed = 0;

static void
check(bool ok, const char *what)
{
	ntests++;
	if (!ok)
		nfailed++;
	printf("%s %d - %s\n", ok ? "ok" : "not ok", ntests, what);
}

/* a deterministic generator (xorshift64*), so runs are repeatable */
static uint64 rng_state = UINT64CONST(0x9E3779B97F4A7C15);

static double
rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (double) ((rng_state * UINT64CONST(2685821657736338717)) >> 11) / (double) (UINT64CONST(1) << 53);
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x < y) ? -1 : (x > y) ? 1 : 0;
}

/*
 * The stated error of an estimate of true value v (ms): at most v/16 for
 * v >= 8 us, at most 0.5 us below.  Returns the error as a share of the
 * bound, so that <= 1 means within it.
 */
static double
error_share(double estimate, double v)
{
	double		bound = (v >= 0.008) ? v / 16.0 : 0.0005;

	return fabs(estimate - v) / bound;
}

/*
 * check_distribution
 *		Fill a histogram with n samples, then compare every percentile in a
 *		list with the exact nearest-rank percentile of the sorted samples.
 *		Returns the largest error share seen.
 */
static double
check_distribution(const char *name, double *samples, int n)
{
	static const double fractions[] = {0.0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0};
	PfgHistogram hist;
	double		worst = 0.0;
	char		what[200];
	bool		ok = true;

	memset(&hist, 0, sizeof(hist));
	for (int i = 0; i < n; i++)
		pfg_hist_add_bucket(&hist, pfg_hist_bucket(samples[i]));
	qsort(samples, n, sizeof(double), cmp_double);

	for (int f = 0; f < (int) lengthof(fractions); f++)
	{
		int			rank = (int) ceil(fractions[f] * n);
		double		exact;
		double		est = pfg_hist_percentile(&hist, fractions[f]);
		double		share;

		if (rank < 1)
			rank = 1;
		exact = samples[rank - 1];
		share = error_share(est, exact);
		if (share > worst)
			worst = share;
		if (share > 1.0 + 1e-9)
		{
			ok = false;
			printf("# %s p%.1f: estimate %.6f ms, exact %.6f ms\n",
				   name, fractions[f] * 100, est, exact);
		}
	}
	snprintf(what, sizeof(what), "%s: every percentile within the stated bound", name);
	check(ok, what);
	return worst;
}

int
main(void)
{
	static double samples[200000];
	int			n;
	bool		ok;
	double		worst;
	PfgHistogram hist;

	/* layout: buckets tile [0, 2^35 us) without gaps or overlaps */
	ok = pfg_hist_bucket_lower(0) == 0.0;
	for (int b = 0; b + 1 < PFG_HIST_BUCKETS; b++)
		if (pfg_hist_bucket_upper(b) != pfg_hist_bucket_lower(b + 1) ||
			pfg_hist_bucket_lower(b) >= pfg_hist_bucket_upper(b))
			ok = false;
	check(ok, "buckets are contiguous and increasing");

	ok = true;
	for (int b = 0; b < PFG_HIST_BUCKETS; b++)
	{
		double		lo = pfg_hist_bucket_lower(b);
		double		hi = pfg_hist_bucket_upper(b);

		if (pfg_hist_bucket(lo) != b ||
			pfg_hist_bucket(hi - 0.0005) != b ||
			(b + 1 < PFG_HIST_BUCKETS && pfg_hist_bucket(hi) != b + 1))
		{
			ok = false;
			printf("# bucket %d [%.3f, %.3f) ms misplaces its edges\n", b, lo, hi);
		}
	}
	check(ok, "each bucket holds its lower edge and not its upper edge");

	/* every bucket at 8 us and above is at most 1/8 as wide as its lower edge */
	ok = true;
	for (int b = PFG_HIST_SUB; b < PFG_HIST_BUCKETS; b++)
		if ((pfg_hist_bucket_upper(b) - pfg_hist_bucket_lower(b)) * 8.0 >
			pfg_hist_bucket_lower(b) * (1.0 + 1e-12))
			ok = false;
	check(ok, "bucket width is at most 1/8 of its lower edge from 8 us on");

	check(pfg_hist_bucket(0.0) == 0 && pfg_hist_bucket(-1.0) == 0 &&
		  pfg_hist_bucket(NAN) == 0, "zero, negative and NaN durations go to bucket 0");
	check(pfg_hist_bucket(1e12) == PFG_HIST_BUCKETS - 1 &&
		  pfg_hist_bucket(INFINITY) == PFG_HIST_BUCKETS - 1,
		  "durations beyond the range go to the last bucket");

	memset(&hist, 0, sizeof(hist));
	check(pfg_hist_percentile(&hist, 0.5) < 0, "an empty histogram has no percentile");

	/* log-uniform over 1 us .. 100 s: every bucket size is exercised */
	n = 200000;
	for (int i = 0; i < n; i++)
		samples[i] = pow(10.0, -3.0 + 8.0 * rnd());
	worst = check_distribution("log-uniform 1 us .. 100 s", samples, n);

	/* uniform 0 .. 20 us: the exact buckets and the first octaves */
	for (int i = 0; i < n; i++)
		samples[i] = 0.020 * rnd();
	check_distribution("uniform 0 .. 20 us", samples, n);

	/* bimodal like the end-to-end test: 90 short, 10 long */
	n = 100;
	for (int i = 0; i < n; i++)
		samples[i] = (i < 90) ? 1.0 + 0.01 * i : 200.0 + i;
	check_distribution("bimodal 90 short / 10 long", samples, n);

	/* a single value */
	n = 1;
	samples[0] = 123.456;
	check_distribution("one sample", samples, n);

	/* the bound is exact: a sample on a lower edge (8 + 8k us) is off by 1/16 */
	n = 1;
	samples[0] = pfg_hist_bucket_lower(PFG_HIST_SUB * 10);
	worst = check_distribution("a sample on a bucket's lower edge", samples, n);
	check(fabs(worst - 1.0) < 1e-9, "the stated bound (1/16) is reached exactly on a lower edge");

	/* overflow: halving keeps the distribution's shape */
	memset(&hist, 0, sizeof(hist));
	hist.counts[100] = PG_UINT32_MAX;
	hist.counts[200] = PG_UINT32_MAX / 3;
	hist.counts[50] = 1;
	pfg_hist_add_bucket(&hist, 100);
	check(hist.counts[100] == PG_UINT32_MAX / 2 + 2 &&
		  hist.counts[200] == PG_UINT32_MAX / 6 + 1 &&
		  hist.counts[50] == 1,
		  "a full bucket halves every bucket, keeping non-empty ones non-empty");
	check(pfg_hist_percentile(&hist, 0.5) ==
		  (pfg_hist_bucket_lower(100) + pfg_hist_bucket_upper(100)) / 2.0,
		  "the median stays in the dominant bucket after halving");

	printf("1..%d\n", ntests);
	printf("# histogram: %d passed, %d failed\n", ntests - nfailed, nfailed);
	return nfailed == 0 ? 0 : 1;
}
