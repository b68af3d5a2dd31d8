/*-------------------------------------------------------------------------
 * compat.h
 *	  The one place where perfguard looks at PG_VERSION_NUM.
 *
 * perfguard targets PostgreSQL 15.  Every difference between server major
 * versions that the code has to care about is hidden behind a macro here,
 * so that the rest of src/ reads as plain PostgreSQL 15 code.
 *
 * IDENTIFICATION	  src/compat.h
 *-------------------------------------------------------------------------
 */
#ifndef PFG_COMPAT_H
#define PFG_COMPAT_H

#if PG_VERSION_NUM < 150000
#error "perfguard requires PostgreSQL 15 or later"
#endif

/* PostgreSQL 16 renamed SetSingleFuncCall to InitMaterializedSRF. */
#if PG_VERSION_NUM >= 160000
#define pfg_init_materialized_srf(fcinfo) InitMaterializedSRF((fcinfo), 0)
#else
#define pfg_init_materialized_srf(fcinfo) SetSingleFuncCall((fcinfo), 0)
#endif

/* PostgreSQL 16 moved the query jumbling declarations to nodes/queryjumblefuncs.h. */
#if PG_VERSION_NUM >= 160000
#define PFG_QUERYJUMBLE_HEADER "nodes/queryjumble.h"
#else
#define PFG_QUERYJUMBLE_HEADER "utils/queryjumble.h"
#endif

#endif							/* PFG_COMPAT_H */
