/*-------------------------------------------------------------------------
 * histogram.c
 *	  Latency histogram: bucket bounds, updates and percentiles.
 *
 * The bucket scheme and its error bound are described in histogram.h and
 * docs/architecture.md; test/unit/test_histogram.c checks the bound.  This
 * file uses no backend services, so the unit test links it as it is.
 *
 * Callers serialize access: perfguard updates an entry's histogram under
 * that entry's spinlock, and reads a copy taken under it.
 *
 * IDENTIFICATION	  src/histogram.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "histogram.h"

/*
 * pfg_hist_add_bucket
 *		Count one sample in the given bucket.  If that count would overflow,
 *		halve every bucket first (rounding up, so that no bucket that held
 *		samples becomes empty).
 */
void
pfg_hist_add_bucket(PfgHistogram *hist, int bucket)
{
	if (unlikely(hist->counts[bucket] == PG_UINT32_MAX))
	{
		for (int i = 0; i < PFG_HIST_BUCKETS; i++)
			hist->counts[i] = hist->counts[i] / 2 + (hist->counts[i] & 1);
	}
	hist->counts[bucket]++;
}

/*
 * pfg_hist_bucket_lower
 *		Lower bound, in milliseconds, of a bucket (inclusive).
 */
double
pfg_hist_bucket_lower(int bucket)
{
	int			e;
	uint64		sub;

	if (bucket < PFG_HIST_SUB)
		return bucket / 1000.0;
	e = bucket / PFG_HIST_SUB + PFG_HIST_SUB_BITS - 1;
	sub = bucket % PFG_HIST_SUB;
	return (double) ((PFG_HIST_SUB + sub) << (e - PFG_HIST_SUB_BITS)) / 1000.0;
}

/*
 * pfg_hist_bucket_upper
 *		Upper bound, in milliseconds, of a bucket (exclusive).  The last
 *		bucket also holds everything above its nominal upper bound.
 */
double
pfg_hist_bucket_upper(int bucket)
{
	if (bucket < PFG_HIST_SUB)
		return (bucket + 1) / 1000.0;
	if (bucket == PFG_HIST_BUCKETS - 1)
		return (double) (UINT64CONST(1) << (PFG_HIST_MAX_EXP + 1)) / 1000.0;
	return pfg_hist_bucket_lower(bucket + 1);
}

/*
 * pfg_hist_percentile
 *		The nearest-rank percentile: the midpoint of the bucket that holds
 *		the ceil(fraction * N)-th smallest sample, in milliseconds.  Returns
 *		-1 for an empty histogram.  fraction is in [0, 1].
 */
double
pfg_hist_percentile(const PfgHistogram *hist, double fraction)
{
	uint64		counts[PFG_HIST_BUCKETS];

	for (int i = 0; i < PFG_HIST_BUCKETS; i++)
		counts[i] = hist->counts[i];
	return pfg_hist_percentile_counts(counts, fraction);
}

/*
 * pfg_hist_rank_bucket
 *		The bucket that holds the ceil(fraction * N)-th smallest sample of
 *		PFG_HIST_BUCKETS counts, or -1 when they are all zero.
 */
int
pfg_hist_rank_bucket(const uint64 *counts, double fraction)
{
	uint64		total = 0;
	uint64		rank;
	uint64		seen = 0;

	for (int i = 0; i < PFG_HIST_BUCKETS; i++)
		total += counts[i];
	if (total == 0)
		return -1;

	rank = (uint64) ceil(fraction * (double) total);
	if (rank < 1)
		rank = 1;
	if (rank > total)
		rank = total;

	for (int i = 0; i < PFG_HIST_BUCKETS; i++)
	{
		seen += counts[i];
		if (seen >= rank)
			return i;
	}
	return -1;					/* not reached */
}

/*
 * pfg_hist_percentile_counts
 *		As pfg_hist_percentile, for counts summed over several histograms.
 */
double
pfg_hist_percentile_counts(const uint64 *counts, double fraction)
{
	int			i = pfg_hist_rank_bucket(counts, fraction);

	if (i < 0)
		return -1.0;
	return (pfg_hist_bucket_lower(i) + pfg_hist_bucket_upper(i)) / 2.0;
}

/*
 * pfg_hist_percentile_within
 *		As pfg_hist_percentile_counts, kept inside the observed [lo, hi]
 *		(the minimum and maximum, which can only bring it closer to the
 *		true value).
 */
double
pfg_hist_percentile_within(const uint64 *counts, double fraction,
						   double lo, double hi)
{
	double		v = pfg_hist_percentile_counts(counts, fraction);

	v = Max(v, lo);
	return Min(v, hi);
}
