/*-------------------------------------------------------------------------
 * fingerprint.h
 *	  perfguard's stable statement fingerprint and normalized text.
 *
 * IDENTIFICATION	  src/fingerprint.h
 *-------------------------------------------------------------------------
 */
#ifndef PFG_FINGERPRINT_H
#define PFG_FINGERPRINT_H

extern uint64 pfg_fingerprint(const char *query, int query_len,
							  char **normalized, int *normalized_len);
extern int	pfg_cursor_query_offset(const char *query, int query_len);

#endif							/* PFG_FINGERPRINT_H */
