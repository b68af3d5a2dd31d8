/*-------------------------------------------------------------------------
 * seqscan.h
 *	  The sequential-scan detector.
 *
 * IDENTIFICATION	  src/seqscan.h
 *-------------------------------------------------------------------------
 */
#ifndef PFG_SEQSCAN_H
#define PFG_SEQSCAN_H

#include "nodes/execnodes.h"

#include "capture.h"

/* Flagged scans of one execution (more than this are counted, not kept). */
#define PFG_SEQSCAN_KEEP	8

typedef struct PfgSeqScanHits
{
	int			count;
	SeqScanState *node[PFG_SEQSCAN_KEEP];
	double		table_rows[PFG_SEQSCAN_KEEP];
} PfgSeqScanHits;

extern int	pfg_seqscan_find(QueryDesc *queryDesc, PfgSeqScanHits *hits);
extern void pfg_seqscan_record(PfgDetect *d, PfgSeqScanHits *hits);

#endif							/* PFG_SEQSCAN_H */
