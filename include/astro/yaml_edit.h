/*
 * The YAML editor behind config.update: applies a list of dotted-path changes to a document
 * that include/astro/yaml_load.h loaded, in place, so that every untouched key keeps its
 * order and scalar style (comments are lost: libyaml cannot keep them), and emits it.
 *
 * A change sets the key at the end of its path to a value, creating the mappings on the way
 * (a null on the way becomes a mapping; anything else there fails with code "path"), or
 * deletes it (a delete never creates anything). A mapping that an alias shares is copied
 * before it is changed, so the edit does not show up at the alias's other places. A new
 * string is written plain when it reads back as the same string, else double-quoted. Nothing
 * here reads or writes Lua.
 */
#ifndef ASTRO_YAML_EDIT_H
#define ASTRO_YAML_EDIT_H

#include <stddef.h>

#include "astro/buf.h"
#include "astro/err.h"
#include "astro/yaml_load.h"

/* One key of a path: len bytes at s. */
typedef struct astro_yaml_key {
    const char *s;
    size_t len;
} astro_yaml_key;

/* What a change does with the key at the end of its path. */
enum {
    ASTRO_YAML_DELETE,             /* removes it */
    ASTRO_YAML_PLAIN,              /* sets it to a plain scalar (the text of a boolean, a number) */
    ASTRO_YAML_STRING              /* sets it to a string, quoted when it needs to be */
};

/* A list of changes, keys and values copied in (their owners may go meanwhile). Zero it;
 * free it with astro_yaml_changes_free. */
typedef struct astro_yaml_changes {
    astro_buf text;                /* the bytes of every key and value */
    astro_buf keys;                /* where each key is in text, in order */
    astro_buf list;                /* the changes */
    size_t key_mark;               /* keys before the change being built */
} astro_yaml_changes;

/* Appends key s[0..len) to the path of the change being built. Returns 0, or -1 when memory
 * runs out. */
int astro_yaml_changes_key(astro_yaml_changes *c, const char *s, size_t len);

/* Ends the change being built (its path: the keys appended since the last one, at least
 * one and at most ASTRO_YAML_MAX_DEPTH, each valid UTF-8): kind and, unless it is
 * ASTRO_YAML_DELETE, the value's text value[0..len) (valid UTF-8). Returns 0, or -1 when
 * memory runs out. */
int astro_yaml_changes_end(astro_yaml_changes *c, int kind, const char *value, size_t len);

/* Frees the list and empties it. */
void astro_yaml_changes_free(astro_yaml_changes *c);

/* Applies every change of cs, in order, to the document d holds (an empty or null document
 * becomes a mapping first); name is used in messages. Returns 0 or -1 (e: "path", "memory");
 * d holds the document, changed or partly changed, either way. */
int astro_yaml_edit(astro_yaml_doc *d, const astro_yaml_changes *cs, const char *name,
                    astro_err *e);

/* Appends the document d holds to out as YAML (UTF-8, LF, 2-space indent, no line folding)
 * and gives it to the emitter, which frees it once its stream is open (d then holds no
 * document, whether or not the rest succeeds); free d on every path anyway. Returns 0 or -1 (e:
 * "io" when the emitter refuses the document, "memory"). */
int astro_yaml_emit(astro_yaml_doc *d, astro_buf *out, const char *name, astro_err *e);

/* Returns 1 when s[0..len) is strictly valid UTF-8 (no overlongs, surrogates or values past
 * U+10FFFF), as the YAML reader requires of the file it reads back; else 0. */
int astro_utf8_valid(const char *s, size_t len);

#endif
