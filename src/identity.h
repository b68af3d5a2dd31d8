/*-------------------------------------------------------------------------
 * identity.h
 *	  The fingerprints of the statements this backend has analyzed.
 *
 * IDENTIFICATION	  src/identity.h
 *-------------------------------------------------------------------------
 */
#ifndef PFG_IDENTITY_H
#define PFG_IDENTITY_H

#include "nodes/parsenodes.h"

extern void pfg_ident_analyzed(Query *query);
extern bool pfg_ident_lookup(uint64 queryid, uint64 *fingerprint, bool *own);
extern uint64 pfg_identify(uint64 queryid, bool utility, const char *source,
						   int location, int len, char **norm, int *norm_len,
						   bool *own);
extern uint64 pfg_fingerprint_sql(const char *query);

#endif							/* PFG_IDENTITY_H */
