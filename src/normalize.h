/*-------------------------------------------------------------------------
 * normalize.h
 *	  Normalized statement texts and text fingerprints, from a scanner
 *	  that never raises an error.
 *
 * IDENTIFICATION	  src/normalize.h
 *-------------------------------------------------------------------------
 */
#ifndef PFG_NORMALIZE_H
#define PFG_NORMALIZE_H

extern char *pfg_normalize(const char *q, int len, int *out_len,
						   uint64 *fingerprint);
extern uint64 pfg_text_fingerprint(const char *q, int len);
extern int	pfg_cursor_query_offset(const char *q, int len);

#endif							/* PFG_NORMALIZE_H */
