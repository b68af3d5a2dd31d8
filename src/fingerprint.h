/*-------------------------------------------------------------------------
 * fingerprint.h
 *	  perfguard's stable fingerprint of an analyzed statement.
 *
 * IDENTIFICATION	  src/fingerprint.h
 *-------------------------------------------------------------------------
 */
#ifndef PFG_FINGERPRINT_H
#define PFG_FINGERPRINT_H

#include "nodes/parsenodes.h"

extern bool pfg_fingerprint_query(Query *query, uint64 *fingerprint,
								  bool *own);

#endif							/* PFG_FINGERPRINT_H */
