/*-------------------------------------------------------------------------
 * guc.h
 *	  perfguard's configuration parameters.
 *
 * IDENTIFICATION	  src/guc.h
 *-------------------------------------------------------------------------
 */
#ifndef PFG_GUC_H
#define PFG_GUC_H

typedef enum PfgTrackLevel
{
	PFG_TRACK_NONE,				/* track no statements */
	PFG_TRACK_TOP,				/* only top-level statements */
	PFG_TRACK_ALL				/* all statements, including nested ones */
} PfgTrackLevel;

/* sizing: read once, at server start */
extern int	pfg_max_queries;
extern int	pfg_query_text_length;

/* behaviour */
extern int	pfg_track;
extern bool pfg_save;
extern bool pfg_track_utility;

extern void pfg_define_gucs(void);

#endif							/* PFG_GUC_H */
