/*-------------------------------------------------------------------------
 * perfguard.h
 *	  Declarations shared across perfguard's source files.
 *
 * IDENTIFICATION	  src/perfguard.h
 *-------------------------------------------------------------------------
 */
#ifndef PERFGUARD_H
#define PERFGUARD_H

/* Version of the shared library; docs/changelog.md tracks it. */
#define PERFGUARD_VERSION "1.1.0"

/* hooks.c */
extern void pfg_hooks_init(void);

/* api.c */
extern bool pfg_may_read_constants(void);

#endif							/* PERFGUARD_H */
