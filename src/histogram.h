/*-------------------------------------------------------------------------
 * histogram.h
 *	  Latency histogram with a bounded relative error.
 *
 * Bucket scheme (log-linear, in whole microseconds u = floor(ms * 1000)):
 *	- buckets 0 .. 7 hold u = 0 .. 7 exactly;
 *	- above that, every power of two [2^e, 2^(e+1)) with e = 3 .. 34 is cut
 *	  into PFG_HIST_SUB = 8 buckets of equal width 2^(e-3);
 *	- anything of 2^35 us (about 9.5 hours) or more lands in the last bucket.
 * A percentile is reported as the midpoint of the bucket that holds the
 * sample of that rank, so it is within 1/16 (6.25%) of the true value for
 * samples of 8 us or more, and within 0.5 us below that.  The bound is
 * exact: a sample on a bucket's lower edge is off by exactly 1/16.
 *
 * Counts are 32 bits wide; when one would overflow, every bucket is halved,
 * which keeps the shape of the distribution and so the percentiles.
 *
 * IDENTIFICATION	  src/histogram.h
 *-------------------------------------------------------------------------
 */
#ifndef PFG_HISTOGRAM_H
#define PFG_HISTOGRAM_H

#include "port/pg_bitutils.h"

#define PFG_HIST_SUB_BITS	3
#define PFG_HIST_SUB		(1 << PFG_HIST_SUB_BITS)
#define PFG_HIST_MAX_EXP	34
#define PFG_HIST_BUCKETS	(PFG_HIST_SUB * (PFG_HIST_MAX_EXP - PFG_HIST_SUB_BITS + 2))

typedef struct PfgHistogram
{
	uint32		counts[PFG_HIST_BUCKETS];
} PfgHistogram;

/*
 * pfg_hist_bucket
 *		The bucket that holds a duration of ms milliseconds.
 */
static inline int
pfg_hist_bucket(double ms)
{
	uint64		u;
	int			e;

	if (!(ms > 0.0))			/* also catches NaN */
		return 0;
	if (ms >= (double) (UINT64CONST(1) << (PFG_HIST_MAX_EXP + 1)) / 1000.0)
		return PFG_HIST_BUCKETS - 1;
	u = (uint64) (ms * 1000.0);
	if (u < PFG_HIST_SUB)
		return (int) u;
	e = pg_leftmost_one_pos64(u);
	return PFG_HIST_SUB * (e - PFG_HIST_SUB_BITS + 1) +
		(int) ((u >> (e - PFG_HIST_SUB_BITS)) & (PFG_HIST_SUB - 1));
}

extern void pfg_hist_add_bucket(PfgHistogram *hist, int bucket);
extern double pfg_hist_bucket_lower(int bucket);
extern double pfg_hist_bucket_upper(int bucket);
extern double pfg_hist_percentile(const PfgHistogram *hist, double fraction);
extern int	pfg_hist_rank_bucket(const uint64 *counts, double fraction);
extern double pfg_hist_percentile_counts(const uint64 *counts, double fraction);
extern double pfg_hist_percentile_within(const uint64 *counts, double fraction,
										 double lo, double hi);

#endif							/* PFG_HISTOGRAM_H */
