/*
 * The YAML loader of include/astro/yaml_load.h: an event-stream precheck of the limits, then
 * libyaml's document loader, then a walk that pushes the Lua tree, aliases expanded within
 * the node limit.
 */
#include <string.h>

#include <lauxlib.h>
#include <yaml.h>

#include "astro/binding.h"
#include "astro/yaml_load.h"

#define LOAD_TYPE "astro.yaml.Load"

/* Records the parser's error as a "not valid YAML" failure located in buf. */
static int fail_parser(astro_err *e, const yaml_parser_t *p, const char *buf,
                       const char *name) {
    if (p->error == YAML_MEMORY_ERROR)
        return astro_err_set(e, "memory", "%s: not enough memory to parse the file", name);
    size_t line = p->problem_mark.line + 1, col = p->problem_mark.column + 1;
    if (p->error == YAML_READER_ERROR) {  /* only a byte offset is known */
        line = 1;
        col = 1;
        for (size_t i = 0; i < p->problem_offset; i++) {
            if (buf[i] == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
    }
    return astro_err_set(e, "yaml",
                         "%s:%zu: not valid YAML (%s, column %zu); fix or move the file and try "
                         "again", name, line, p->problem ? p->problem : "syntax error", col);
}

/* Records a limit or shape failure at a 0-based mark. */
static int fail_shape(astro_err *e, const char *name, yaml_mark_t mark, const char *what) {
    return astro_err_set(e, "yaml", "%s:%zu: not an astro config file (%s, column %zu)", name,
                         mark.line + 1, what, mark.column + 1);
}

/* Scans the event stream once, cheaply, before any tree is built: syntax errors, more than
 * one document, too many nodes or too deep nesting fail here. Returns 0 or -1. */
static int stream_precheck(astro_err *e, const char *buf, size_t len, const char *name) {
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p))
        return astro_err_set(e, "memory", "%s: not enough memory to parse the file", name);
    yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
    int depth = 0, docs = 0, nodes = 0, rc = 0;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            rc = fail_parser(e, &p, buf, name);
            break;
        }
        yaml_event_type_t t = ev.type;
        yaml_mark_t mark = ev.start_mark;
        yaml_event_delete(&ev);
        if (t == YAML_STREAM_END_EVENT) break;
        if (t == YAML_DOCUMENT_START_EVENT && ++docs > 1) {
            rc = fail_shape(e, name, mark, "more than one YAML document");
            break;
        }
        if (t == YAML_SEQUENCE_START_EVENT || t == YAML_MAPPING_START_EVENT) {
            if (++depth > ASTRO_YAML_MAX_DEPTH) {
                rc = fail_shape(e, name, mark, "nested deeper than 64 levels");
                break;
            }
        } else if (t == YAML_SEQUENCE_END_EVENT || t == YAML_MAPPING_END_EVENT) {
            depth--;
        }
        if ((t == YAML_SCALAR_EVENT || t == YAML_ALIAS_EVENT || t == YAML_SEQUENCE_START_EVENT ||
             t == YAML_MAPPING_START_EVENT) && ++nodes > ASTRO_YAML_MAX_NODES) {
            rc = fail_shape(e, name, mark, "more than 100000 nodes");
            break;
        }
    }
    yaml_parser_delete(&p);
    return rc;
}

/* Parses buf into d (not loaded) after the precheck. Returns 0 or -1. */
static int doc_parse(astro_yaml_doc *d, const char *buf, size_t len, const char *name,
                     astro_err *e) {
    if (buf == NULL) buf = "";
    if (stream_precheck(e, buf, len, name) != 0) return -1;
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p))
        return astro_err_set(e, "memory", "%s: not enough memory to parse the file", name);
    yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
    int rc = 0;
    if (yaml_parser_load(&p, &d->doc)) d->loaded = 1;
    else rc = fail_parser(e, &p, buf, name);
    yaml_parser_delete(&p);
    return rc;
}

int astro_yaml_node_is_null(const yaml_node_t *n) {
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return 0;
    const char *v = (const char *)n->data.scalar.value;
    return v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
           strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

typedef struct {
    yaml_document_t *doc;
    astro_err *e;
    const char *name;
    int nodes;             /* nodes pushed so far, aliases expanded */
} Walk;

static int walk_push(lua_State *L, Walk *w, int index, int depth);

/* Pushes a mapping node as a table; a non-string or repeated key fails. */
static int walk_mapping(lua_State *L, Walk *w, const yaml_node_t *n, int depth) {
    const yaml_node_pair_t *start = n->data.mapping.pairs.start;
    const yaml_node_pair_t *top = n->data.mapping.pairs.top;
    lua_createtable(L, 0, (int)(top - start));
    for (const yaml_node_pair_t *pair = start; pair < top; pair++) {
        const yaml_node_t *key = yaml_document_get_node(w->doc, pair->key);
        if (key->type != YAML_SCALAR_NODE)
            return fail_shape(w->e, w->name, key->start_mark, "a mapping key is not a string");
        lua_pushlstring(L, (const char *)key->data.scalar.value, key->data.scalar.length);
        lua_pushvalue(L, -1);
        if (lua_rawget(L, -3) != LUA_TNIL) {
            return astro_err_set(w->e, "yaml",
                                 "%s:%zu: not valid YAML (duplicate key \"%.60s\", column %zu); "
                                 "fix or move the file and try again",
                                 w->name, key->start_mark.line + 1,
                                 (const char *)key->data.scalar.value, key->start_mark.column + 1);
        }
        lua_pop(L, 1);
        if (walk_push(L, w, pair->value, depth + 1) != 0) return -1;
        lua_rawset(L, -3);
    }
    return 0;
}

/* Pushes the node at index (1-based) as a Lua value, expanding aliases within the limits.
 * On failure returns -1 with the failure recorded; the caller resets the stack. */
static int walk_push(lua_State *L, Walk *w, int index, int depth) {
    const yaml_node_t *n = yaml_document_get_node(w->doc, index);
    if (++w->nodes > ASTRO_YAML_MAX_NODES)
        return astro_err_set(w->e, "yaml",
                             "%s: not an astro config file (more than 100000 nodes once aliases "
                             "are expanded)", w->name);
    if (n->type == YAML_SCALAR_NODE) {
        if (astro_yaml_node_is_null(n)) lua_pushliteral(L, "");
        else lua_pushlstring(L, (const char *)n->data.scalar.value, n->data.scalar.length);
        return 0;
    }
    if (depth > ASTRO_YAML_MAX_DEPTH)
        return fail_shape(w->e, w->name, n->start_mark, "nested deeper than 64 levels");
    luaL_checkstack(L, 4, "config file nested too deeply");
    if (n->type == YAML_MAPPING_NODE) return walk_mapping(L, w, n, depth);
    const yaml_node_item_t *start = n->data.sequence.items.start;
    const yaml_node_item_t *top = n->data.sequence.items.top;
    lua_createtable(L, (int)(top - start), 0);
    for (const yaml_node_item_t *item = start; item < top; item++) {
        if (walk_push(L, w, *item, depth + 1) != 0) return -1;
        lua_rawseti(L, -2, item - start + 1);
    }
    return 0;
}

void astro_yaml_doc_free(astro_yaml_doc *d) {
    if (d->loaded) yaml_document_delete(&d->doc);
    d->loaded = 0;
}

int astro_yaml_doc_load(lua_State *L, astro_yaml_doc *d, const char *buf, size_t len,
                        const char *name, astro_err *e) {
    if (len > ASTRO_YAML_MAX_BYTES)
        return astro_err_set(e, "yaml", "%s: not an astro config file (larger than %u MiB)", name,
                             ASTRO_YAML_MAX_BYTES >> 20);
    if (doc_parse(d, buf, len, name, e) != 0) return -1;
    const yaml_node_t *root = yaml_document_get_root_node(&d->doc);
    if (root == NULL || astro_yaml_node_is_null(root)) {
        lua_newtable(L);
        return 0;
    }
    if (root->type != YAML_MAPPING_NODE)
        return astro_err_set(e, "yaml", "%s: not an astro config file (top level is not a mapping)",
                             name);
    int top = lua_gettop(L);
    Walk w = {&d->doc, e, name, 0};
    if (walk_push(L, &w, 1, 1) != 0) {
        lua_settop(L, top);
        return -1;
    }
    return 0;
}

/* What astro_yaml_load holds while it runs: freed by its __gc if a Lua error comes first. */
typedef struct {
    astro_yaml_doc d;
    astro_err e;
} Load;

/* __gc: frees the document a load left when a Lua error cut it short. */
static int load_gc(lua_State *L) {
    astro_yaml_doc_free(&((Load *)luaL_checkudata(L, 1, LOAD_TYPE))->d);
    return 0;
}

int astro_yaml_load(lua_State *L, const char *buf, size_t len, const char *name) {
    Load *ld = astro_udata_new(L, sizeof *ld, LOAD_TYPE, load_gc);   /* [load] */
    int rc = astro_yaml_doc_load(L, &ld->d, buf, len, name, &ld->e);
    astro_yaml_doc_free(&ld->d);
    if (rc != 0) {
        astro_err_push(L, &ld->e);                               /* [load, nil, msg, code] */
        lua_rotate(L, -4, -1);
        lua_pop(L, 1);
        return 3;
    }
    lua_remove(L, -2);                                           /* [tree] */
    return 1;
}
