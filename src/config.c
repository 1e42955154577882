/*
 * "astro.core.config": the astro CLI's YAML config file (~/.astro/config.yaml), read into a
 * Lua tree and updated in place with libyaml's document API, so that every untouched key keeps
 * its order and scalar style (comments are lost: libyaml cannot keep them).
 *
 * An update takes the same flock on "<file>.lock" as Astronomer's astro CLI (and, when <file>
 * is a symbolic link, on "<target>.lock" beside the file it leads to, which every writer of
 * that file takes whatever name it reached it by), re-reads the file under the lock, applies
 * the changes, writes a temporary file ("<target>.astro-tmp-XXXXXX") beside the target and
 * renames it over the target (mode 0600), so a writer killed at any point leaves the old file
 * or the new one; the temporary file such a writer leaves is removed by the next update (under
 * the lock), and its lock dies with it. Every resource of a read or an update lives in a Job
 * userdata whose __gc releases it, so a Lua error never leaks; normal paths release it at once.
 *
 * Hostile input is bounded: ASTRO_YAML_MAX_BYTES of file, ASTRO_YAML_MAX_NODES nodes (counted
 * per alias expansion, which defeats "billion laughs") and ASTRO_YAML_MAX_DEPTH levels.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <yaml.h>

#include "astro/atomic_file.h"
#include "astro/binding.h"
#include "astro/buf.h"
#include "astro/core.h"
#include "astro/env.h"
#include "astro/yaml_load.h"

#define JOB_TYPE "astro.config.Job"
#define DEFAULT_LOCK_TIMEOUT 10.0

typedef astro_buf Buf;

typedef struct {          /* one key of a change path */
    const char *s;
    size_t len;
} Seg;

typedef struct {          /* one key of a copied change: bytes off..off+len of Job.text */
    size_t off, len;
} KeyRef;

enum { CHANGE_DELETE, CHANGE_PLAIN, CHANGE_STRING };

typedef struct {          /* one change, copied out of Lua before anything is locked */
    size_t key0;           /* its first key in Job.keys */
    int nkeys;
    int kind;              /* CHANGE_DELETE, CHANGE_PLAIN (boolean, number) or CHANGE_STRING */
    size_t voff, vlen;     /* its value's text in Job.text */
} Change;

/* Everything a read or an update holds. */
typedef struct {
    Buf text;              /* the keys and values of the changes */
    Buf keys;              /* KeyRef[]: the keys of every change, in order */
    Buf changes;           /* Change[] */
    Buf in;                /* the file's bytes */
    Buf out;               /* the emitted document */
    astro_yaml_doc doc;    /* the file's document, edited by an update */
    int *refs;             /* refs[i]: edges pointing at node i+1 (an over-estimate is safe) */
    size_t nrefs;
    astro_file_locks lock; /* an update's locks, and the file it replaces */
    astro_err err;         /* the recorded failure */
} Job;

/* ---------------------------------------------------------------- job */

/* Frees everything the job holds and closes the lock; safe to call twice. */
static void job_release(Job *j) {
    Buf *bufs[] = {&j->text, &j->keys, &j->changes, &j->in, &j->out};
    for (size_t k = 0; k < sizeof bufs / sizeof bufs[0]; k++) {
        astro_buf_free(bufs[k]);
        memset(bufs[k], 0, sizeof *bufs[k]);
    }
    astro_yaml_doc_free(&j->doc);
    free(j->refs);
    j->refs = NULL;
    j->nrefs = 0;
    astro_file_unlock(&j->lock);
}

static int job_gc(lua_State *L) {
    job_release((Job *)luaL_checkudata(L, 1, JOB_TYPE));
    return 0;
}

/* Pushes a new empty Job userdata and returns it. */
static Job *job_new(lua_State *L) {
    Job *j = astro_udata_new(L, sizeof(Job), JOB_TYPE, job_gc);
    j->lock = (astro_file_locks)ASTRO_FILE_LOCK_INIT;
    j->err.code = "io";
    return j;
}

/* Releases the job (and the lock) and returns nil, message, code to Lua. */
static int job_push_failure(lua_State *L, Job *j) {
    job_release(j);
    return astro_err_push(L, &j->err);
}

/* ---------------------------------------------------------------- scalars */

/* Returns 1 when s is strictly valid UTF-8 (no overlongs, surrogates or values past
 * U+10FFFF), which the YAML reader requires of the file it reads back. */
static int utf8_valid(const char *s, size_t len) {
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        unsigned c = *p;
        size_t width = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3
                     : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (width == 0 || (size_t)(end - p) < width) return 0;
        unsigned v = width == 1 ? c : width == 2 ? (c & 0x1F) : width == 3 ? (c & 0x0F)
                   : (c & 0x07);
        for (size_t k = 1; k < width; k++) {
            if ((p[k] & 0xC0) != 0x80) return 0;
            v = (v << 6) | (p[k] & 0x3F);
        }
        if ((width == 2 && v < 0x80) || (width == 3 && v < 0x800) || (width == 4 && v < 0x10000) ||
            (v >= 0xD800 && v <= 0xDFFF) || v > 0x10FFFF)
            return 0;
        p += width;
    }
    return 1;
}

/* Returns 1 when s would be read as a YAML 1.1/1.2 boolean or null. */
static int looks_bool_or_null(const char *s, size_t len) {
    static const char *const words[] = {"true", "false", "yes", "no", "on", "off", "y", "n",
                                        "null", "~", NULL};
    for (int i = 0; words[i] != NULL; i++)
        if (strlen(words[i]) == len && strncasecmp(s, words[i], len) == 0) return 1;
    return 0;
}

/* Returns 1 when s might be read as a number (int, float, hex, octal, binary, base 60, .inf,
 * .nan, or a date); errs on the side of quoting. Full timestamps (with 'T') stay plain. */
static int looks_numeric(const char *s, size_t len) {
    size_t i = (s[0] == '+' || s[0] == '-') ? 1 : 0;
    const char *r = s + i;
    size_t n = len - i;
    if (n == 0) return 0;
    if (n == 4 && (strncasecmp(r, ".inf", 4) == 0 || strncasecmp(r, ".nan", 4) == 0)) return 1;
    int digit0 = r[0] >= '0' && r[0] <= '9';
    if (!digit0 && !(r[0] == '.' && n > 1 && r[1] >= '0' && r[1] <= '9')) return 0;
    for (size_t k = 0; k < n; k++)
        if (r[k] == '\0' || strchr("0123456789abcdefABCDEFxXoO_.:+-", r[k]) == NULL) return 0;
    return 1;
}

/* Returns 1 when s, written as a plain scalar, would not read back as the same string. */
static int scalar_needs_quotes(const char *s, size_t len) {
    if (len == 0) return 1;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) return 1;
        if (c == ':' && (i + 1 == len || s[i + 1] == ' ')) return 1;
        if (c == '#' && i > 0 && s[i - 1] == ' ') return 1;
    }
    if (s[0] == ' ' || s[len - 1] == ' ') return 1;
    if (strchr("-?:,[]{}#&*!|>'\"%@`", s[0]) != NULL) return 1;
    return looks_bool_or_null(s, len) || looks_numeric(s, len);
}

/* Formats a Lua number as YAML text into buf (at least 64 bytes): integers as is, floats in
 * their shortest round-trip form with a ".0" when integral, inf/nan as .inf/-.inf/.nan. */
static void number_format(lua_State *L, int idx, char *buf, size_t size) {
    if (lua_isinteger(L, idx)) {
        snprintf(buf, size, "%lld", (long long)lua_tointeger(L, idx));
        return;
    }
    double v = (double)lua_tonumber(L, idx);
    if (isnan(v)) {
        snprintf(buf, size, ".nan");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, size, v > 0 ? ".inf" : "-.inf");
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    if (strpbrk(buf, ".en") == NULL) strncat(buf, ".0", size - strlen(buf) - 1);
}

/* ---------------------------------------------------------------- document edits */

/* Makes refs cover node index idx (1-based), new entries zero. Returns 0 or -1. */
static int refs_reserve(Job *j, int idx) {
    if ((size_t)idx <= j->nrefs) return 0;
    size_t n = j->nrefs * 2 > (size_t)idx ? j->nrefs * 2 : (size_t)idx + 16;
    int *p = realloc(j->refs, n * sizeof *p);
    if (p == NULL) return astro_err_set(&j->err, "memory", "not enough memory");
    memset(p + j->nrefs, 0, (n - j->nrefs) * sizeof *p);
    j->refs = p;
    j->nrefs = n;
    return 0;
}

static yaml_node_t *node_at(Job *j, int idx) {
    return yaml_document_get_node(&j->doc.doc, idx);
}

/* Counts the edges pointing at every node (the document's own reference to the root too). */
static int refs_init(Job *j) {
    int count = (int)(j->doc.doc.nodes.top - j->doc.doc.nodes.start);
    if (refs_reserve(j, count) != 0) return -1;
    j->refs[0]++;
    for (int i = 1; i <= count; i++) {
        const yaml_node_t *n = node_at(j, i);
        if (n->type == YAML_MAPPING_NODE) {
            for (const yaml_node_pair_t *p = n->data.mapping.pairs.start;
                 p < n->data.mapping.pairs.top; p++) {
                j->refs[p->key - 1]++;
                j->refs[p->value - 1]++;
            }
        } else if (n->type == YAML_SEQUENCE_NODE) {
            for (const yaml_node_item_t *it = n->data.sequence.items.start;
                 it < n->data.sequence.items.top; it++)
                j->refs[*it - 1]++;
        }
    }
    return 0;
}

/* Makes the document's root a mapping: an empty or null document becomes {}. */
static int doc_prepare_root(Job *j) {
    const yaml_node_t *root = yaml_document_get_root_node(&j->doc.doc);
    if (root != NULL && root->type == YAML_MAPPING_NODE) return 0;
    yaml_document_delete(&j->doc.doc);
    j->doc.loaded = 0;
    if (!yaml_document_initialize(&j->doc.doc, NULL, NULL, NULL, 1, 1))
        return astro_err_set(&j->err, "memory", "not enough memory");
    j->doc.loaded = 1;
    if (!yaml_document_add_mapping(&j->doc.doc, NULL, YAML_BLOCK_MAPPING_STYLE))
        return astro_err_set(&j->err, "memory", "not enough memory");
    return 0;
}

/* Adds a scalar node (default tag); returns its index or 0 (failure recorded). */
static int node_add_scalar(Job *j, const yaml_char_t *tag, const char *s, size_t len,
                           yaml_scalar_style_t style) {
    int idx = yaml_document_add_scalar(&j->doc.doc, tag, (const yaml_char_t *)s, (int)len, style);
    if (idx == 0 || refs_reserve(j, idx) != 0) {
        astro_err_set(&j->err, "memory", "not enough memory");
        return 0;
    }
    return idx;
}

/* Adds a string scalar for a key or value: plain when it reads back unchanged, else quoted. */
static int node_add_string(Job *j, const char *s, size_t len) {
    return node_add_scalar(j, NULL, s, len, scalar_needs_quotes(s, len)
                                                ? YAML_DOUBLE_QUOTED_SCALAR_STYLE
                                                : YAML_PLAIN_SCALAR_STYLE);
}

/* Adds an empty mapping node; returns its index or 0. */
static int node_add_mapping(Job *j, const yaml_char_t *tag, yaml_mapping_style_t style) {
    int idx = yaml_document_add_mapping(&j->doc.doc, tag, style);
    if (idx == 0 || refs_reserve(j, idx) != 0) {
        astro_err_set(&j->err, "memory", "not enough memory");
        return 0;
    }
    return idx;
}

/* Appends key: value to mapping map. */
static int map_append(Job *j, int map, int key, int value) {
    if (!yaml_document_append_mapping_pair(&j->doc.doc, map, key, value))
        return astro_err_set(&j->err, "memory", "not enough memory");
    j->refs[key - 1]++;
    j->refs[value - 1]++;
    return 0;
}

/* Points pair i of mapping map at node value. */
static void map_set_value(Job *j, int map, size_t i, int value) {
    yaml_node_pair_t *p = node_at(j, map)->data.mapping.pairs.start + i;
    j->refs[p->value - 1]--;
    p->value = value;
    j->refs[value - 1]++;
}

/* Removes pair i of mapping map, keeping the order of the others. */
static void map_remove(Job *j, int map, size_t i) {
    yaml_node_t *m = node_at(j, map);
    yaml_node_pair_t *p = m->data.mapping.pairs.start + i;
    j->refs[p->key - 1]--;
    j->refs[p->value - 1]--;
    memmove(p, p + 1, (size_t)(m->data.mapping.pairs.top - p - 1) * sizeof *p);
    m->data.mapping.pairs.top--;
}

/* Returns the index of the pair whose key is seg in mapping map, or -1. */
static long map_find(Job *j, int map, Seg seg) {
    const yaml_node_t *m = node_at(j, map);
    for (const yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
         p++) {
        const yaml_node_t *k = node_at(j, p->key);
        if (k->type == YAML_SCALAR_NODE && k->data.scalar.length == seg.len &&
            memcmp(k->data.scalar.value, seg.s, seg.len) == 0)
            return (long)(p - m->data.mapping.pairs.start);
    }
    return -1;
}

/* Appends a new key (text seg) with value to mapping map; an empty flow mapping ("{}") turns
 * block so the file does not grow one long line. */
static int map_append_new(Job *j, int map, Seg seg, int value) {
    yaml_node_t *m = node_at(j, map);
    if (m->data.mapping.pairs.top == m->data.mapping.pairs.start)
        m->data.mapping.style = YAML_BLOCK_MAPPING_STYLE;
    int key = node_add_string(j, seg.s, seg.len);
    return key == 0 ? -1 : map_append(j, map, key, value);
}

/* Returns a node usable in a copied mapping: a copy of a scalar, the same collection. */
static int node_copy_scalar(Job *j, int idx) {
    const yaml_node_t *n = node_at(j, idx);
    if (n->type != YAML_SCALAR_NODE) return idx;
    return node_add_scalar(j, n->tag, (const char *)n->data.scalar.value, n->data.scalar.length,
                           n->data.scalar.style);
}

/* Replaces the mapping at pair i of parent, which an alias shares, by a private copy so an
 * edit does not show up at the other places. Returns the copy's index or 0. */
static int map_unshare(Job *j, int parent, size_t i) {
    int orig = node_at(j, parent)->data.mapping.pairs.start[i].value;
    const yaml_node_t *o = node_at(j, orig);
    int copy = node_add_mapping(j, o->tag, o->data.mapping.style);
    if (copy == 0) return 0;
    size_t n = (size_t)(node_at(j, orig)->data.mapping.pairs.top -
                        node_at(j, orig)->data.mapping.pairs.start);
    for (size_t k = 0; k < n; k++) {
        yaml_node_pair_t p = node_at(j, orig)->data.mapping.pairs.start[k];
        int key = node_copy_scalar(j, p.key);
        int value = key ? node_copy_scalar(j, p.value) : 0;
        if (value == 0 || map_append(j, copy, key, value) != 0) return 0;
    }
    map_set_value(j, parent, i, copy);
    return copy;
}

/* Writes segs joined by "." into out (truncated to size). */
static void segs_join(char *out, size_t size, const Seg *segs, int n) {
    size_t len = 0;
    out[0] = '\0';
    for (int k = 0; k < n && len + 1 < size; k++) {
        int w = snprintf(out + len, size - len, "%s%.*s", k ? "." : "", (int)segs[k].len,
                         segs[k].s);
        if (w < 0) break;
        len += (size_t)w;
    }
}

/* Adds the scalar node for the value of change c: its text plain (a boolean or a number),
 * or a string quoted when it needs to be. Returns its index or 0. */
static int node_add_value(Job *j, const Change *c) {
    const char *v = j->text.data + c->voff;
    if (c->kind == CHANGE_PLAIN)
        return node_add_scalar(j, NULL, v, c->vlen, YAML_PLAIN_SCALAR_STYLE);
    return node_add_string(j, v, c->vlen);
}

/* Finds or makes the mapping under key seg of map for a set (nil-valued changes never create
 * anything: *map becomes 0). Returns 0 or -1; fails with "path" when a non-null non-mapping
 * is in the way. */
static int change_descend(Job *j, int *map, const Seg *segs, int k, int n, int is_delete,
                          const char *name) {
    long i = map_find(j, *map, segs[k]);
    int child = i < 0 ? 0 : node_at(j, *map)->data.mapping.pairs.start[i].value;
    const yaml_node_t *c = child ? node_at(j, child) : NULL;
    if (c != NULL && c->type == YAML_MAPPING_NODE) {
        if (j->refs[child - 1] > 1) child = map_unshare(j, *map, (size_t)i);
        *map = child;
        return child ? 0 : -1;
    }
    if (is_delete) {
        *map = 0;
        return 0;
    }
    if (c != NULL && !astro_yaml_node_is_null(c)) {
        char full[1024], prefix[1024];
        segs_join(full, sizeof full, segs, n);
        segs_join(prefix, sizeof prefix, segs, k + 1);
        return astro_err_set(&j->err, "path", "%s: cannot set %s: %s is not a mapping", name, full, prefix);
    }
    int fresh = node_add_mapping(j, NULL, YAML_BLOCK_MAPPING_STYLE);
    if (fresh == 0) return -1;
    if (i >= 0) {
        map_set_value(j, *map, (size_t)i, fresh);
    } else {
        if (map_append_new(j, *map, segs[k], fresh) != 0) return -1;
    }
    *map = fresh;
    return 0;
}

/* Applies change c (key path segs[0..n), n >= 1) to j->doc. Returns 0 or -1. */
static int change_apply(Job *j, const Change *c, const Seg *segs, int n, const char *name) {
    int is_delete = c->kind == CHANGE_DELETE;
    int map = 1;
    for (int k = 0; k < n - 1; k++) {
        if (change_descend(j, &map, segs, k, n, is_delete, name) != 0) return -1;
        if (map == 0) return 0;       /* nothing to delete */
    }
    long i = map_find(j, map, segs[n - 1]);
    if (is_delete) {
        if (i >= 0) map_remove(j, map, (size_t)i);
        return 0;
    }
    int value = node_add_value(j, c);
    if (value == 0) return -1;
    if (i >= 0) {
        map_set_value(j, map, (size_t)i, value);
        return 0;
    }
    return map_append_new(j, map, segs[n - 1], value);
}

/* Applies every copied change, in order, to j->doc. Returns 0 or -1. */
static int changes_apply(Job *j, const char *name) {
    const Change *changes = (const Change *)(void *)j->changes.data;
    const KeyRef *keys = (const KeyRef *)(void *)j->keys.data;
    size_t n = j->changes.len / sizeof(Change);
    for (size_t i = 0; i < n; i++) {
        const Change *c = &changes[i];
        Seg segs[ASTRO_YAML_MAX_DEPTH];
        for (int k = 0; k < c->nkeys; k++) {
            const KeyRef *r = &keys[c->key0 + (size_t)k];
            segs[k] = (Seg){j->text.data + r->off, r->len};
        }
        if (change_apply(j, c, segs, c->nkeys, name) != 0) return -1;
    }
    return 0;
}

/* Emitter output callback: appends to a Buf. */
static int out_write(void *data, unsigned char *bytes, size_t size) {
    return astro_buf_add((Buf *)data, bytes, size);
}

/* Emits j->doc into j->out (UTF-8, LF, 2-space indent, no line folding). The emitter consumes
 * the document whether or not it succeeds. Returns 0 or -1. */
static int doc_emit(Job *j, const char *name) {
    yaml_emitter_t e;
    if (!yaml_emitter_initialize(&e)) return astro_err_set(&j->err, "memory", "not enough memory");
    yaml_emitter_set_output(&e, out_write, &j->out);
    yaml_emitter_set_encoding(&e, YAML_UTF8_ENCODING);
    yaml_emitter_set_unicode(&e, 1);
    yaml_emitter_set_width(&e, -1);
    yaml_emitter_set_indent(&e, 2);
    yaml_emitter_set_break(&e, YAML_LN_BREAK);
    int ok = yaml_emitter_open(&e);
    if (ok) {
        ok = yaml_emitter_dump(&e, &j->doc.doc);
        j->doc.loaded = 0;
    }
    if (ok) ok = yaml_emitter_close(&e);
    if (ok) ok = yaml_emitter_flush(&e);
    const char *problem = e.problem ? e.problem : "out of memory";
    int rc = ok ? 0 : astro_err_set(&j->err, "io", "cannot write %s: YAML emitter failed (%s)", name, problem);
    yaml_emitter_delete(&e);
    return rc;
}

/* ---------------------------------------------------------------- Lua arguments */

/* Splits a dotted path into segs. Returns NULL or a problem text. */
static const char *segs_split(const char *s, size_t len, Seg *segs, int *n) {
    *n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '.') continue;
        if (i == start) return "empty key in the path";
        if (*n == ASTRO_YAML_MAX_DEPTH) return "path has more than 64 keys";
        segs[(*n)++] = (Seg){s + start, i - start};
        start = i + 1;
    }
    return NULL;
}

/* Appends len bytes to j->text and stores their offset in *off. Returns 0 or -1 (memory,
 * recorded). */
static int text_add(Job *j, const char *s, size_t len, size_t *off) {
    *off = j->text.len;
    if (len > 0 && !astro_buf_add(&j->text, s, len))
        return astro_err_set(&j->err, "memory", "not enough memory");
    return 0;
}

/* Copies key s[0..len) as the next key of the change being copied. Returns 0 or -1. */
static int key_copy(Job *j, const char *s, size_t len) {
    KeyRef r = {0, len};
    if (text_add(j, s, len, &r.off) != 0) return -1;
    if (!astro_buf_add(&j->keys, &r, sizeof r)) return astro_err_set(&j->err, "memory", "not enough memory");
    return 0;
}

/* Checks the key path at Lua index pi (dotted string or array of strings) and copies its keys
 * into the job, counting them in *n. Each Lua value is read once, and checked and copied
 * while it is on the stack. Returns 0 (with *problem set when the path is misused: nothing
 * usable was copied) or -1 (memory, recorded). */
static int path_copy(lua_State *L, Job *j, int pi, int *n, const char **problem) {
    size_t len;
    *n = 0;
    *problem = NULL;
    if (lua_type(L, pi) == LUA_TSTRING) {
        Seg segs[ASTRO_YAML_MAX_DEPTH];
        const char *s = lua_tolstring(L, pi, &len);
        *problem = segs_split(s, len, segs, n);
        if (*problem == NULL && !utf8_valid(s, len)) *problem = "path is not valid UTF-8";
        for (int k = 0; *problem == NULL && k < *n; k++)
            if (key_copy(j, segs[k].s, segs[k].len) != 0) return -1;
        return 0;
    }
    if (lua_type(L, pi) != LUA_TTABLE) {
        *problem = "path must be a string or an array of strings";
        return 0;
    }
    lua_Unsigned count = lua_rawlen(L, pi);
    if (count == 0) *problem = "path is empty";
    else if (count > ASTRO_YAML_MAX_DEPTH) *problem = "path has more than 64 keys";
    for (int k = 0; *problem == NULL && k < (int)count; k++) {
        int t = lua_rawgeti(L, pi, k + 1);                       /* [key] */
        const char *s = t == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
        if (s == NULL) *problem = "path must be a string or an array of strings";
        else if (len == 0) *problem = "empty key in the path";
        else if (!utf8_valid(s, len)) *problem = "path is not valid UTF-8";
        else if (key_copy(j, s, len) != 0) return -1;
        lua_pop(L, 1);
    }
    if (*problem == NULL) *n = (int)count;
    return 0;
}

/* Checks the change at Lua index ci (changes[i] of the argument at idx) and appends its copy
 * to j->changes; raises on misuse. Returns 0 or -1 (memory, recorded). */
static int change_copy(lua_State *L, Job *j, int idx, lua_Integer i, int ci) {
    Change c = {j->keys.len / sizeof(KeyRef), 0, CHANGE_DELETE, 0, 0};
    const char *problem;
    lua_pushliteral(L, "path");
    lua_rawget(L, ci);                                           /* [path] */
    if (path_copy(L, j, lua_gettop(L), &c.nkeys, &problem) != 0) return -1;
    if (problem != NULL)
        luaL_argerror(L, idx, lua_pushfstring(L, "changes[%I].path: %s", i, problem));
    lua_pushliteral(L, "value");
    int t = lua_rawget(L, ci);                                   /* [path, value] */
    char num[64];
    const char *text = NULL;
    size_t len = 0;
    if (t == LUA_TSTRING) {
        text = lua_tolstring(L, -1, &len);
        if (!utf8_valid(text, len))
            luaL_argerror(L, idx, lua_pushfstring(L, "changes[%I].value is not valid UTF-8", i));
        c.kind = CHANGE_STRING;
    } else if (t == LUA_TBOOLEAN) {
        text = lua_toboolean(L, -1) ? "true" : "false";
        c.kind = CHANGE_PLAIN;
    } else if (t == LUA_TNUMBER) {
        number_format(L, -1, num, sizeof num);
        text = num;
        c.kind = CHANGE_PLAIN;
    } else if (t != LUA_TNIL) {
        luaL_argerror(L, idx, lua_pushfstring(L, "changes[%I].value: a %s cannot be stored", i,
                                              lua_typename(L, t)));
    }
    if (text != NULL) {
        if (c.kind == CHANGE_PLAIN) len = strlen(text);
        c.vlen = len;
        if (text_add(j, text, len, &c.voff) != 0) return -1;
    }
    lua_pop(L, 2);
    if (!astro_buf_add(&j->changes, &c, sizeof c))
        return astro_err_set(&j->err, "memory", "not enough memory");
    return 0;
}

/* Checks the changes array at idx and copies it into the job (keys and values in C memory,
 * which the job owns), before anything is locked: the update applies this copy and never
 * reads the table again, so a finalizer that changes it meanwhile cannot reach the update.
 * Raises on misuse. Returns 0 or -1 (memory, recorded). */
static int changes_copy(lua_State *L, Job *j, int idx) {
    luaL_checktype(L, idx, LUA_TTABLE);
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
    lua_pushliteral(L, "path");
    if (n == 0 && lua_rawget(L, idx) != LUA_TNIL)
        luaL_argerror(L, idx, "expected an array of changes, got a single change");
    lua_pop(L, 1);                                           /* "path" or changes.path */
    for (lua_Integer i = 1; i <= n; i++) {
        if (lua_rawgeti(L, idx, i) != LUA_TTABLE)                /* [change] */
            luaL_argerror(L, idx, lua_pushfstring(L, "changes[%I] is not a table", i));
        if (change_copy(L, j, idx, i, lua_gettop(L)) != 0) return -1;
        lua_pop(L, 1);
    }
    return 0;
}

/* Reads opts.lock_timeout from the options table at idx (default 10 s); raises on misuse. */
static double opt_lock_timeout(lua_State *L, int idx) {
    double timeout = DEFAULT_LOCK_TIMEOUT;
    if (lua_isnoneornil(L, idx)) return timeout;
    luaL_checktype(L, idx, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {                              /* [key, value] */
        if (lua_type(L, -2) != LUA_TSTRING || strcmp(lua_tostring(L, -2), "lock_timeout") != 0)
            luaL_argerror(L, idx, lua_pushfstring(L, "unknown option '%s'",
                                                  luaL_tolstring(L, -2, NULL)));
        int isnum;
        timeout = (double)lua_tonumberx(L, -1, &isnum);
        if (!isnum || lua_type(L, -1) != LUA_TNUMBER || !(timeout >= 0) || timeout > 1e6)
            luaL_argerror(L, idx, "lock_timeout must be a number of seconds >= 0");
        lua_pop(L, 1);
    }
    return timeout;
}

/* ---------------------------------------------------------------- module functions */

/* config.path() -> "$ASTRO_HOME/.astro/config.yaml" or "$HOME/.astro/config.yaml", or nil,
 * message, "env" when neither is set. */
static int config_path(lua_State *L) {
    const char *home = astro_env_value("ASTRO_HOME");
    if (home == NULL) home = astro_env_value("HOME");
    if (home == NULL) {
        luaL_pushfail(L);
        lua_pushliteral(L, "cannot find the config file: set HOME or ASTRO_HOME");
        lua_pushliteral(L, "env");
        return 3;
    }
    size_t len = strlen(home);
    while (len > 0 && home[len - 1] == '/') len--;               /* "/x/" -> "/x", "/" -> "" */
    lua_pushlstring(L, home, len);
    lua_pushliteral(L, "/.astro/config.yaml");
    lua_concat(L, 2);
    return 1;
}

/* config.read(path) -> tree, exists | nil, message, code. A missing file is {}, false. */
static int config_read(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    lua_settop(L, 1);
    Job *j = job_new(L);                                         /* [path, job] */
    int found = astro_file_read(path, path, &j->in, ASTRO_YAML_MAX_BYTES, &j->err);
    if (found < 0 || astro_yaml_doc_load(L, &j->doc, j->in.data, j->in.len, path, &j->err) != 0)
        return job_push_failure(L, j);
    job_release(j);                                              /* [path, job, tree] */
    lua_pushboolean(L, found);
    return 2;
}

/* Refuses the emitted document j->out when config.read would refuse the file it makes (more
 * than ASTRO_YAML_MAX_BYTES, or past the node or depth limits, aliases expanded): loads it
 * as read loads a file. Returns 0 or -1 (recorded: code "yaml", or "memory"). */
static int output_check(lua_State *L, Job *j, const char *path) {
    if (j->out.len > ASTRO_YAML_MAX_BYTES)
        return astro_err_set(&j->err, "yaml", "%s: not updated: the changes would make it "
                             "unreadable (larger than %u MiB)", path, ASTRO_YAML_MAX_BYTES >> 20);
    if (astro_yaml_doc_load(L, &j->doc, j->out.data, j->out.len, "changed file", &j->err) == 0) {
        lua_pop(L, 1);                                           /* the tree only validated */
        return 0;
    }
    char why[sizeof j->err.msg];
    memcpy(why, j->err.msg, sizeof why);
    return astro_err_set(&j->err, j->err.code,
                         "%s: not updated: the changes would make it unreadable (%s)", path, why);
}

/* The locked part of config.update: applies the job's copied changes to the file at path.
 * Returns 0 or -1. */
static int update_locked(lua_State *L, Job *j, const char *path, double timeout) {
    if (astro_file_lock(&j->lock, path, timeout, &j->err) != 0) return -1;
    astro_file_remove_stale_temps(j->lock.target);
    if (astro_file_read(j->lock.target, path, &j->in, ASTRO_YAML_MAX_BYTES, &j->err) < 0 ||
        astro_yaml_doc_load(L, &j->doc, j->in.data, j->in.len, path, &j->err) != 0)
        return -1;
    lua_pop(L, 1);                                               /* the tree only validated */
    if (doc_prepare_root(j) != 0 || refs_init(j) != 0 || changes_apply(j, path) != 0 ||
        doc_emit(j, path) != 0 || output_check(L, j, path) != 0)
        return -1;
    return astro_file_replace(j->lock.target, j->out.data, j->out.len, &j->err);
}

/* Protected body of config.update: [job (light userdata), path, timeout] -> [0 or -1]. */
static int update_protected(lua_State *L) {
    Job *j = (Job *)lua_touserdata(L, 1);
    const char *path = lua_tostring(L, 2);
    double timeout = (double)lua_tonumber(L, 3);
    lua_pushinteger(L, update_locked(L, j, path, timeout));
    return 1;
}

/* config.update(path, changes [, opts]) -> true | nil, message, code. */
static int config_update(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    luaL_argcheck(L, path[0] != '\0', 1, "empty path");
    luaL_checktype(L, 2, LUA_TTABLE);
    double timeout = opt_lock_timeout(L, 3);
    lua_settop(L, 3);
    Job *j = job_new(L);                                         /* [path, changes, opts, job] */
    if (changes_copy(L, j, 2) != 0) return job_push_failure(L, j);
    /* A Lua error under the lock (out of memory while the file is loaded) releases the lock at
     * once instead of when the job is collected. */
    lua_pushcfunction(L, update_protected);
    lua_pushlightuserdata(L, j);
    lua_pushvalue(L, 1);
    lua_pushnumber(L, (lua_Number)timeout);
    if (lua_pcall(L, 3, 1, 0) != LUA_OK) {
        job_release(j);
        return lua_error(L);
    }
    if (lua_tointeger(L, -1) != 0) return job_push_failure(L, j);
    job_release(j);
    lua_pushboolean(L, 1);
    return 1;
}

static const luaL_Reg config_funcs[] = {
    {"path", config_path},
    {"read", config_read},
    {"update", config_update},
    {NULL, NULL}
};

int luaopen_astro_core_config(lua_State *L) {
    luaL_newlib(L, config_funcs);
    return 1;
}
