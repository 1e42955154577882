/*
 * The environment: every variable the tool reads is listed, with one kind and one meaning, in
 * the table of src/env.c, the only file of src/ that calls getenv. C code reads them through
 * the two functions below; Lua code through "astro.core.env" (include/astro/core.h).
 *
 * A name that is not in the table is a programming error: both functions then answer as if
 * the variable were not set (NULL, 0), so the mistake shows up as a variable that never works
 * (and env.list() in a spec tells which names there are), never as a crash.
 */
#ifndef ASTRO_ENV_H
#define ASTRO_ENV_H

/* Returns the value of the listed variable name when it is set and not empty, else NULL
 * (NULL too for a name not in the table). The pointer is getenv's: do not keep it across a
 * change of the environment. */
const char *astro_env_value(const char *name);

/* Returns 1 when the listed flag variable name is set to anything but "", "0" or "false"
 * (in any case), else 0 (0 too for a name not in the table or not of kind flag). The one
 * definition of a flag's on and off. */
int astro_env_flag(const char *name);

#endif
