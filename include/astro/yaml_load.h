/*
 * The YAML loader behind "astro.core.config": one YAML document, whose top level is a
 * mapping, into libyaml's document (kept for an edit, include/astro/yaml_edit.h) and into a
 * Lua tree. Hostile input fails fast, with code "yaml", past the limits below; the node
 * limit counts every alias expansion, which defeats "billion laughs".
 */
#ifndef ASTRO_YAML_LOAD_H
#define ASTRO_YAML_LOAD_H

#include <stddef.h>

#include <lua.h>
#include <yaml.h>

#include "astro/err.h"

/* Limits that make hostile input fail fast with a "yaml" error. */
#define ASTRO_YAML_MAX_BYTES (16u << 20)  /* input size */
#define ASTRO_YAML_MAX_NODES 100000       /* nodes, counted again for every alias expansion */
#define ASTRO_YAML_MAX_DEPTH 64           /* nested mappings/sequences */

/* A libyaml document and whether it holds one. Zero it; free it with astro_yaml_doc_free. */
typedef struct astro_yaml_doc {
    yaml_document_t doc;
    int loaded;
} astro_yaml_doc;

/* Frees the document d holds, if any; safe to call twice. */
void astro_yaml_doc_free(astro_yaml_doc *d);

/* Parses buf (len bytes; name is used in messages) into d, which holds no document, and
 * pushes its Lua tree: mappings become tables keyed by string, sequences arrays, scalars
 * strings ("" for a plain null); an empty or null document is {}. Returns 0, or -1 with the
 * failure in e (code "yaml" or "memory") and nothing pushed. d keeps the document for an
 * edit, and holds it after a failure too once it was parsed. May raise on Lua memory
 * errors: keep d where a finalizer frees it. */
int astro_yaml_doc_load(lua_State *L, astro_yaml_doc *d, const char *buf, size_t len,
                        const char *name, astro_err *e);

/* Returns 1 for a plain scalar that YAML reads as null: empty, "~" or null/Null/NULL. */
int astro_yaml_node_is_null(const yaml_node_t *n);

/* astro_yaml_doc_load on its own, for a fuzz target: returns the number of values pushed,
 * 1 (the tree) or 3 (nil, message, "yaml" | "memory"). May raise on Lua memory errors, so
 * call it in protected mode; nothing leaks either way. */
int astro_yaml_load(lua_State *L, const char *buf, size_t len, const char *name);

#endif
