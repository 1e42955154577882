/*
 * The YAML editor of include/astro/yaml_edit.h: the change list, the edits of libyaml's
 * document (with a count of the edges pointing at each node, to tell a node an alias shares)
 * and the emitter.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "astro/yaml_edit.h"

typedef struct {          /* one key of a change: bytes off..off+len of the list's text */
    size_t off, len;
} KeyRef;

typedef struct {          /* one change */
    size_t key0;           /* its first key in the list's keys */
    int nkeys;
    int kind;              /* ASTRO_YAML_DELETE, _PLAIN (boolean, number) or _STRING */
    size_t voff, vlen;     /* its value's text in the list's text */
} Change;

/* What an edit works with. */
typedef struct {
    astro_yaml_doc *d;
    const astro_yaml_changes *cs;
    int *refs;             /* refs[i]: edges pointing at node i+1 (an over-estimate is safe) */
    size_t nrefs;
    astro_err *e;
} Editor;

/* ---------------------------------------------------------------- the change list */

/* Appends len bytes to c->text and stores their offset in *off. Returns 0 or -1. */
static int text_add(astro_yaml_changes *c, const char *s, size_t len, size_t *off) {
    *off = c->text.len;
    return len == 0 || astro_buf_add(&c->text, s, len) ? 0 : -1;
}

int astro_yaml_changes_key(astro_yaml_changes *c, const char *s, size_t len) {
    KeyRef r = {0, len};
    if (text_add(c, s, len, &r.off) != 0) return -1;
    if (!astro_buf_add(&c->keys, &r, sizeof r)) return -1;
    return 0;
}

int astro_yaml_changes_end(astro_yaml_changes *c, int kind, const char *value, size_t len) {
    size_t nkeys = c->keys.len / sizeof(KeyRef);
    Change ch = {c->key_mark, (int)(nkeys - c->key_mark), kind, 0, 0};
    if (kind != ASTRO_YAML_DELETE) {
        ch.vlen = len;
        if (text_add(c, value, len, &ch.voff) != 0) return -1;
    }
    if (!astro_buf_add(&c->list, &ch, sizeof ch)) return -1;
    c->key_mark = nkeys;
    return 0;
}

void astro_yaml_changes_free(astro_yaml_changes *c) {
    astro_buf_free(&c->text);
    astro_buf_free(&c->keys);
    astro_buf_free(&c->list);
    c->key_mark = 0;
}

/* ---------------------------------------------------------------- scalars */

int astro_utf8_valid(const char *s, size_t len) {
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

/* ---------------------------------------------------------------- document edits */

/* Makes refs cover node index idx (1-based), new entries zero. Returns 0 or -1. */
static int refs_reserve(Editor *ed, int idx) {
    if ((size_t)idx <= ed->nrefs) return 0;
    size_t n = ed->nrefs * 2 > (size_t)idx ? ed->nrefs * 2 : (size_t)idx + 16;
    int *p = realloc(ed->refs, n * sizeof *p);
    if (p == NULL) return astro_err_set(ed->e, "memory", "not enough memory");
    memset(p + ed->nrefs, 0, (n - ed->nrefs) * sizeof *p);
    ed->refs = p;
    ed->nrefs = n;
    return 0;
}

static yaml_node_t *node_at(Editor *ed, int idx) {
    return yaml_document_get_node(&ed->d->doc, idx);
}

/* Counts the edges pointing at every node (the document's own reference to the root too). */
static int refs_init(Editor *ed) {
    int count = (int)(ed->d->doc.nodes.top - ed->d->doc.nodes.start);
    if (refs_reserve(ed, count) != 0) return -1;
    ed->refs[0]++;
    for (int i = 1; i <= count; i++) {
        const yaml_node_t *n = node_at(ed, i);
        if (n->type == YAML_MAPPING_NODE) {
            for (const yaml_node_pair_t *p = n->data.mapping.pairs.start;
                 p < n->data.mapping.pairs.top; p++) {
                ed->refs[p->key - 1]++;
                ed->refs[p->value - 1]++;
            }
        } else if (n->type == YAML_SEQUENCE_NODE) {
            for (const yaml_node_item_t *it = n->data.sequence.items.start;
                 it < n->data.sequence.items.top; it++)
                ed->refs[*it - 1]++;
        }
    }
    return 0;
}

/* Makes the document's root a mapping: an empty or null document becomes {}. */
static int doc_prepare_root(Editor *ed) {
    const yaml_node_t *root = yaml_document_get_root_node(&ed->d->doc);
    if (root != NULL && root->type == YAML_MAPPING_NODE) return 0;
    yaml_document_delete(&ed->d->doc);
    ed->d->loaded = 0;
    if (!yaml_document_initialize(&ed->d->doc, NULL, NULL, NULL, 1, 1))
        return astro_err_set(ed->e, "memory", "not enough memory");
    ed->d->loaded = 1;
    if (!yaml_document_add_mapping(&ed->d->doc, NULL, YAML_BLOCK_MAPPING_STYLE))
        return astro_err_set(ed->e, "memory", "not enough memory");
    return 0;
}

/* Adds a scalar node (default tag); returns its index or 0 (failure recorded). */
static int node_add_scalar(Editor *ed, const yaml_char_t *tag, const char *s, size_t len,
                           yaml_scalar_style_t style) {
    int idx = yaml_document_add_scalar(&ed->d->doc, tag, (const yaml_char_t *)s, (int)len, style);
    if (idx == 0 || refs_reserve(ed, idx) != 0) {
        astro_err_set(ed->e, "memory", "not enough memory");
        return 0;
    }
    return idx;
}

/* Adds a string scalar for a key or value: plain when it reads back unchanged, else quoted. */
static int node_add_string(Editor *ed, const char *s, size_t len) {
    return node_add_scalar(ed, NULL, s, len, scalar_needs_quotes(s, len)
                                                ? YAML_DOUBLE_QUOTED_SCALAR_STYLE
                                                : YAML_PLAIN_SCALAR_STYLE);
}

/* Adds an empty mapping node; returns its index or 0. */
static int node_add_mapping(Editor *ed, const yaml_char_t *tag, yaml_mapping_style_t style) {
    int idx = yaml_document_add_mapping(&ed->d->doc, tag, style);
    if (idx == 0 || refs_reserve(ed, idx) != 0) {
        astro_err_set(ed->e, "memory", "not enough memory");
        return 0;
    }
    return idx;
}

/* Appends key: value to mapping map. */
static int map_append(Editor *ed, int map, int key, int value) {
    if (!yaml_document_append_mapping_pair(&ed->d->doc, map, key, value))
        return astro_err_set(ed->e, "memory", "not enough memory");
    ed->refs[key - 1]++;
    ed->refs[value - 1]++;
    return 0;
}

/* Points pair i of mapping map at node value. */
static void map_set_value(Editor *ed, int map, size_t i, int value) {
    yaml_node_pair_t *p = node_at(ed, map)->data.mapping.pairs.start + i;
    ed->refs[p->value - 1]--;
    p->value = value;
    ed->refs[value - 1]++;
}

/* Removes pair i of mapping map, keeping the order of the others. */
static void map_remove(Editor *ed, int map, size_t i) {
    yaml_node_t *m = node_at(ed, map);
    yaml_node_pair_t *p = m->data.mapping.pairs.start + i;
    ed->refs[p->key - 1]--;
    ed->refs[p->value - 1]--;
    memmove(p, p + 1, (size_t)(m->data.mapping.pairs.top - p - 1) * sizeof *p);
    m->data.mapping.pairs.top--;
}

/* Returns the index of the pair whose key is seg in mapping map, or -1. */
static long map_find(Editor *ed, int map, astro_yaml_key seg) {
    const yaml_node_t *m = node_at(ed, map);
    for (const yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
         p++) {
        const yaml_node_t *k = node_at(ed, p->key);
        if (k->type == YAML_SCALAR_NODE && k->data.scalar.length == seg.len &&
            memcmp(k->data.scalar.value, seg.s, seg.len) == 0)
            return (long)(p - m->data.mapping.pairs.start);
    }
    return -1;
}

/* Appends a new key (text seg) with value to mapping map; an empty flow mapping ("{}") turns
 * block so the file does not grow one long line. */
static int map_append_new(Editor *ed, int map, astro_yaml_key seg, int value) {
    yaml_node_t *m = node_at(ed, map);
    if (m->data.mapping.pairs.top == m->data.mapping.pairs.start)
        m->data.mapping.style = YAML_BLOCK_MAPPING_STYLE;
    int key = node_add_string(ed, seg.s, seg.len);
    return key == 0 ? -1 : map_append(ed, map, key, value);
}

/* Returns a node usable in a copied mapping: a copy of a scalar, the same collection. */
static int node_copy_scalar(Editor *ed, int idx) {
    const yaml_node_t *n = node_at(ed, idx);
    if (n->type != YAML_SCALAR_NODE) return idx;
    return node_add_scalar(ed, n->tag, (const char *)n->data.scalar.value, n->data.scalar.length,
                           n->data.scalar.style);
}

/* Replaces the mapping at pair i of parent, which an alias shares, by a private copy so an
 * edit does not show up at the other places. Returns the copy's index or 0. */
static int map_unshare(Editor *ed, int parent, size_t i) {
    int orig = node_at(ed, parent)->data.mapping.pairs.start[i].value;
    const yaml_node_t *o = node_at(ed, orig);
    int copy = node_add_mapping(ed, o->tag, o->data.mapping.style);
    if (copy == 0) return 0;
    size_t n = (size_t)(node_at(ed, orig)->data.mapping.pairs.top -
                        node_at(ed, orig)->data.mapping.pairs.start);
    for (size_t k = 0; k < n; k++) {
        yaml_node_pair_t p = node_at(ed, orig)->data.mapping.pairs.start[k];
        int key = node_copy_scalar(ed, p.key);
        int value = key ? node_copy_scalar(ed, p.value) : 0;
        if (value == 0 || map_append(ed, copy, key, value) != 0) return 0;
    }
    map_set_value(ed, parent, i, copy);
    return copy;
}

/* Writes segs joined by "." into out (truncated to size). */
static void segs_join(char *out, size_t size, const astro_yaml_key *segs, int n) {
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
static int node_add_value(Editor *ed, const Change *c) {
    const char *v = ed->cs->text.data + c->voff;
    if (c->kind == ASTRO_YAML_PLAIN)
        return node_add_scalar(ed, NULL, v, c->vlen, YAML_PLAIN_SCALAR_STYLE);
    return node_add_string(ed, v, c->vlen);
}

/* Finds or makes the mapping under key seg of map for a set (nil-valued changes never create
 * anything: *map becomes 0). Returns 0 or -1; fails with "path" when a non-null non-mapping
 * is in the way. */
static int change_descend(Editor *ed, int *map, const astro_yaml_key *segs, int k, int n,
                          int is_delete, const char *name) {
    long i = map_find(ed, *map, segs[k]);
    int child = i < 0 ? 0 : node_at(ed, *map)->data.mapping.pairs.start[i].value;
    const yaml_node_t *c = child ? node_at(ed, child) : NULL;
    if (c != NULL && c->type == YAML_MAPPING_NODE) {
        if (ed->refs[child - 1] > 1) child = map_unshare(ed, *map, (size_t)i);
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
        return astro_err_set(ed->e, "path", "%s: cannot set %s: %s is not a mapping", name, full,
                             prefix);
    }
    int fresh = node_add_mapping(ed, NULL, YAML_BLOCK_MAPPING_STYLE);
    if (fresh == 0) return -1;
    if (i >= 0) {
        map_set_value(ed, *map, (size_t)i, fresh);
    } else {
        if (map_append_new(ed, *map, segs[k], fresh) != 0) return -1;
    }
    *map = fresh;
    return 0;
}

/* Applies change c (key path segs[0..n), n >= 1) to the document. Returns 0 or -1. */
static int change_apply(Editor *ed, const Change *c, const astro_yaml_key *segs, int n,
                        const char *name) {
    int is_delete = c->kind == ASTRO_YAML_DELETE;
    int map = 1;
    for (int k = 0; k < n - 1; k++) {
        if (change_descend(ed, &map, segs, k, n, is_delete, name) != 0) return -1;
        if (map == 0) return 0;       /* nothing to delete */
    }
    long i = map_find(ed, map, segs[n - 1]);
    if (is_delete) {
        if (i >= 0) map_remove(ed, map, (size_t)i);
        return 0;
    }
    int value = node_add_value(ed, c);
    if (value == 0) return -1;
    if (i >= 0) {
        map_set_value(ed, map, (size_t)i, value);
        return 0;
    }
    return map_append_new(ed, map, segs[n - 1], value);
}

/* Applies every change of ed->cs, in order, to the document. Returns 0 or -1. */
static int changes_apply(Editor *ed, const char *name) {
    const Change *changes = (const Change *)(void *)ed->cs->list.data;
    const KeyRef *keys = (const KeyRef *)(void *)ed->cs->keys.data;
    size_t n = ed->cs->list.len / sizeof(Change);
    for (size_t i = 0; i < n; i++) {
        const Change *c = &changes[i];
        astro_yaml_key segs[ASTRO_YAML_MAX_DEPTH];
        for (int k = 0; k < c->nkeys; k++) {
            const KeyRef *r = &keys[c->key0 + (size_t)k];
            segs[k] = (astro_yaml_key){ed->cs->text.data + r->off, r->len};
        }
        if (change_apply(ed, c, segs, c->nkeys, name) != 0) return -1;
    }
    return 0;
}

int astro_yaml_edit(astro_yaml_doc *d, const astro_yaml_changes *cs, const char *name,
                    astro_err *e) {
    Editor ed = {d, cs, NULL, 0, e};
    int rc = doc_prepare_root(&ed) != 0 || refs_init(&ed) != 0 || changes_apply(&ed, name) != 0
                 ? -1 : 0;
    free(ed.refs);
    return rc;
}

/* ---------------------------------------------------------------- the emitter */

/* Emitter output callback: appends to an astro_buf. */
static int out_write(void *data, unsigned char *bytes, size_t size) {
    return astro_buf_add((astro_buf *)data, bytes, size);
}

int astro_yaml_emit(astro_yaml_doc *d, astro_buf *out, const char *name, astro_err *e) {
    yaml_emitter_t em;
    if (!yaml_emitter_initialize(&em)) return astro_err_set(e, "memory", "not enough memory");
    yaml_emitter_set_output(&em, out_write, out);
    yaml_emitter_set_encoding(&em, YAML_UTF8_ENCODING);
    yaml_emitter_set_unicode(&em, 1);
    yaml_emitter_set_width(&em, -1);
    yaml_emitter_set_indent(&em, 2);
    yaml_emitter_set_break(&em, YAML_LN_BREAK);
    int ok = yaml_emitter_open(&em);
    if (ok) {
        ok = yaml_emitter_dump(&em, &d->doc);
        d->loaded = 0;
    }
    if (ok) ok = yaml_emitter_close(&em);
    if (ok) ok = yaml_emitter_flush(&em);
    const char *problem = em.problem ? em.problem : "out of memory";
    int rc = ok ? 0 : astro_err_set(e, "io", "cannot write %s: YAML emitter failed (%s)", name,
                                    problem);
    yaml_emitter_delete(&em);
    return rc;
}
