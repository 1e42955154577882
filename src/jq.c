/*
 * jq filters through libjq, for Lua as "astro.core.jq". Contract in include/astro/jq.h.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jq.h>
#include <lauxlib.h>

#include "astro/binding.h"
#include "astro/core.h"
#include "astro/jq.h"

#ifndef JQ_SONAME
#define JQ_SONAME "libjq.so.1"
#endif


/* The libjq functions this module calls, opened with dlopen when the module is first required:
 * a run that filters nothing never maps libjq and oniguruma (1.35 M instructions of start-up
 * when linked). */
#define JQ_SYMBOLS(X) \
    X(jq_init) X(jq_set_error_cb) X(jq_compile_args) X(jq_start) X(jq_next) X(jq_teardown) \
    X(jq_halted) X(jq_get_exit_code) X(jq_get_error_message) \
    X(jv_invalid) X(jv_invalid_get_msg) X(jv_invalid_has_msg) X(jv_get_kind) X(jv_copy) X(jv_free) \
    X(jv_array) X(jv_array_append) X(jv_array_get) X(jv_array_length) X(jv_object) X(jv_object_set) \
    X(jv_string) X(jv_string_value) X(jv_string_length_bytes) X(jv_number_value) X(jv_dump_string) \
    X(jv_parse_sized) X(jv_parser_new) X(jv_parser_free) X(jv_parser_next) X(jv_parser_set_buf)

#define JQ_LIB_FIELD(name) __typeof__(name) *name;
/* Pointers to the functions of JQ_SYMBOLS, each typed as jq.h declares it. */
typedef struct {
    JQ_SYMBOLS(JQ_LIB_FIELD)
} jq_lib;

/* The one copy of the library's function table: process-wide, filled once by jq_lib_load and
 * never changed after (no per-call state). */
static jq_lib lib;
#define J(name) (lib.name)

/* Opens libjq and resolves JQ_SYMBOLS into lib, once. Returns NULL, or the reason it failed
 * (libjq missing or without a function this module needs). */
static const char *jq_lib_load(void) {
    static int state;               /* 0: not tried, 1: loaded, -1: failed */
    static char why[256];
    if (state == 1) return NULL;
    if (state == -1) return why;
    void *h = dlopen(JQ_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        const char *e = dlerror();
        snprintf(why, sizeof why, "jq filters need libjq (%s, Debian's libjq1): %s", JQ_SONAME,
                 e ? e : "it cannot be opened");
        state = -1;
        return why;
    }
    jq_lib got;
#define JQ_LIB_RESOLVE(name) \
    *(void **)(&got.name) = dlsym(h, #name); \
    if (got.name == NULL) { \
        snprintf(why, sizeof why, "%s lacks the function %s", JQ_SONAME, #name); \
        state = -1; \
        return why; \
    }
    JQ_SYMBOLS(JQ_LIB_RESOLVE)
#undef JQ_LIB_RESOLVE
    lib = got;
    state = 1;
    return NULL;
}

/* Tells whether x is a value (jq.h's jv_is_valid, through lib). */
static int valid(jv x) { return J(jv_get_kind)(x) != JV_KIND_INVALID; }

#define JQ_MT "astro.jq.Filter"

/* What every filter is compiled after, on lines of its own: no environment (it holds the API
 * token) and no input but the value given. PRELUDE_LINES is how many lines it takes. */
#define PRELUDE \
    "def env: {}; def input: error(\"input is not available\"); " \
    "def inputs: error(\"inputs is not available\"); {} as $ENV |\n"
#define PRELUDE_LINES 1

/* A compiled filter, and what a run that raised half-way left behind (freed by the next run
 * or by __gc): the parser of its input and the output being turned into a Lua string. */
typedef struct {
    jq_state *jq;
    jv errors;          /* the messages jq reported while compiling (an array), or invalid */
    jv_parser *parser;
    jv pending;         /* invalid when none */
} jq_box;

/* Frees what an interrupted run left in box (parser, pending output). */
static void box_clear_run(jq_box *box) {
    if (box->parser != NULL) {
        J(jv_parser_free)(box->parser);
        box->parser = NULL;
    }
    J(jv_free)(box->pending);
    box->pending = J(jv_invalid)();
}

/* __gc of a filter: tears down the jq state and frees every jv the box holds. */
static int jq_box_gc(lua_State *L) {
    jq_box *box = luaL_checkudata(L, 1, JQ_MT);
    box_clear_run(box);
    J(jv_free)(box->errors);
    box->errors = J(jv_invalid)();
    if (box->jq != NULL) J(jq_teardown)(&box->jq);
    return 0;
}

/* jq's error callback while compiling: appends msg (a string, or any value) to box->errors. */
static void on_compile_error(void *data, jv msg) {
    jq_box *box = data;
    if (J(jv_get_kind)(msg) != JV_KIND_STRING) msg = J(jv_dump_string)(msg, 0);
    if (!valid(box->errors)) box->errors = J(jv_array)();
    box->errors = J(jv_array_append)(box->errors, msg);
}

/* Adds one message of jq's to b, on one line: the line number a "line N" names is made the
 * filter's own (PRELUDE_LINES fewer), newlines become spaces, trailing space is dropped. */
static void add_compile_message(luaL_Buffer *b, const char *m) {
    static const char at[] = "at <top-level>, line ";
    size_t len = strlen(m);
    while (len > 0 && (m[len - 1] == '\n' || m[len - 1] == ' ')) len--;
    for (size_t i = 0; i < len; i++) {
        if (strncmp(m + i, at, sizeof at - 1) == 0) {
            char *end;
            long line = strtol(m + i + sizeof at - 1, &end, 10);
            if (end != m + i + sizeof at - 1 && line > PRELUDE_LINES) {
                luaL_addstring(b, at);
                lua_pushfstring(b->L, "%d", (int)(line - PRELUDE_LINES));
                luaL_addvalue(b);
                i = (size_t)(end - m) - 1;
                continue;
            }
        }
        luaL_addchar(b, m[i] == '\n' ? ' ' : m[i]);
    }
}

/* Pushes the messages of box->errors on one line joined by "; " (jq's closing "N compile
 * errors" count left out when other messages say more), and frees them. */
static void push_compile_errors(lua_State *L, jq_box *box) {
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    int n = valid(box->errors) ? J(jv_array_length)(J(jv_copy)(box->errors)) : 0;
    int added = 0;
    for (int i = 0; i < n; i++) {
        jv m = J(jv_array_get)(J(jv_copy)(box->errors), i);
        const char *text = J(jv_string_value)(m);
        int count_line = strstr(text, " compile error") != NULL && strncmp(text, "jq: ", 4) == 0 &&
                         text[4] >= '0' && text[4] <= '9';
        if (!(count_line && added > 0)) {
            if (added++ > 0) luaL_addstring(&b, "; ");
            add_compile_message(&b, text);
        }
        J(jv_free)(m);
    }
    if (added == 0) luaL_addstring(&b, "jq: the filter does not compile");
    J(jv_free)(box->errors);
    box->errors = J(jv_invalid)();
    luaL_pushresult(&b);
}

/* jq.compile(expr [, vars]) -> filter | nil, message. */
static int jq_compile_lua(lua_State *L) {
    size_t len;
    const char *expr = luaL_checklstring(L, 1, &len);
    if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TTABLE);
    if (len > (size_t)1 << 20) return luaL_error(L, "jq.compile: the filter is longer than 1 MiB");
    if (strlen(expr) != len) {
        lua_pushnil(L);
        lua_pushliteral(L, "jq: the filter holds a NUL byte");
        return 2;
    }
    const char *missing = jq_lib_load();
    if (missing != NULL) {
        lua_pushnil(L);
        lua_pushfstring(L, "jq: %s", missing);
        lua_pushliteral(L, "library");
        return 3;
    }
    jq_box *box = astro_udata_new(L, sizeof *box, JQ_MT, jq_box_gc);
    box->errors = J(jv_invalid)();
    box->pending = J(jv_invalid)();
    box->jq = J(jq_init)();
    if (box->jq == NULL) return luaL_error(L, "jq.compile: out of memory");
    J(jq_set_error_cb)(box->jq, on_compile_error, box);
    jv args = J(jv_object)();
    if (lua_istable(L, 2)) {
        lua_pushnil(L);
        while (lua_next(L, 2) != 0) {
            if (lua_type(L, -2) != LUA_TSTRING) {
                J(jv_free)(args);
                return luaL_error(L, "jq.compile: variable names must be strings");
            }
            const char *name = lua_tostring(L, -2);
            jv v = J(jv_invalid)();
            size_t vlen;
            const char *text = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &vlen) : NULL;
            if (text != NULL && vlen <= 0x7fffffff) v = J(jv_parse_sized)(text, (int)vlen);
            if (!valid(v)) {
                J(jv_free)(v);
                J(jv_free)(args);
                return luaL_error(L, "jq.compile: $%s must be JSON text", name);
            }
            args = J(jv_object_set)(args, J(jv_string)(name), v);
            lua_pop(L, 1);
        }
    }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, PRELUDE);
    /* A filter of blanks only is jq's identity. */
    size_t blank = strspn(expr, " \t\r\n");
    if (blank == len) luaL_addchar(&b, '.');
    else luaL_addlstring(&b, expr, len);
    luaL_pushresult(&b);
    int ok = J(jq_compile_args)(box->jq, lua_tostring(L, -1), args); /* takes args */
    lua_pop(L, 1);
    J(jq_set_error_cb)(box->jq, NULL, NULL);
    if (!ok) {
        lua_pushnil(L);
        push_compile_errors(L, box);
        return 2;
    }
    J(jv_free)(box->errors);
    box->errors = J(jv_invalid)();
    return 1;
}

/* Pushes the message of an invalid jv (consumed) as "jq: <message>"; a value that is not a
 * string is shown as JSON. */
static void push_invalid_message(lua_State *L, jq_box *box, jv invalid) {
    jv msg = J(jv_invalid_get_msg)(invalid);
    if (J(jv_get_kind)(msg) != JV_KIND_STRING) msg = J(jv_dump_string)(msg, 0);
    box->pending = msg;
    lua_pushfstring(L, "jq: %s", J(jv_string_value)(box->pending));
    J(jv_free)(box->pending);
    box->pending = J(jv_invalid)();
}

/* Runs box's filter on value (consumed), appending outputs to the list at stack index list
 * from *count on. Returns 1, or 0 with an error message pushed. */
static int run_one(lua_State *L, jq_box *box, jv value, int list, lua_Integer *count, int flags, int raw) {
    J(jq_start)(box->jq, value, 0);
    for (;;) {
        jv out = J(jq_next)(box->jq);
        if (!valid(out)) {
            if (J(jq_halted)(box->jq)) {
                J(jv_free)(out);
                jv code = J(jq_get_exit_code)(box->jq);
                int failed = valid(code) &&
                    !(J(jv_get_kind)(code) == JV_KIND_NUMBER && J(jv_number_value)(code) == 0);
                J(jv_free)(code);
                if (!failed) return 1;
                jv msg = J(jq_get_error_message)(box->jq);
                if (J(jv_get_kind)(msg) != JV_KIND_STRING) msg = J(jv_dump_string)(msg, 0);
                box->pending = msg;
                const char *text = J(jv_string_value)(box->pending);
                size_t tl = strlen(text);
                while (tl > 0 && text[tl - 1] == '\n') tl--;
                lua_pushliteral(L, "jq: halt_error: ");
                lua_pushlstring(L, text, tl);
                lua_concat(L, 2);
                J(jv_free)(box->pending);
                box->pending = J(jv_invalid)();
                return 0;
            }
            if (J(jv_invalid_has_msg)(J(jv_copy)(out))) {
                push_invalid_message(L, box, out);
                return 0;
            }
            J(jv_free)(out);
            return 1;
        }
        if (raw && J(jv_get_kind)(out) == JV_KIND_STRING) box->pending = out;
        else box->pending = J(jv_dump_string)(out, flags);
        lua_pushlstring(L, J(jv_string_value)(box->pending), (size_t)J(jv_string_length_bytes)(J(jv_copy)(box->pending)));
        J(jv_free)(box->pending);
        box->pending = J(jv_invalid)();
        lua_rawseti(L, list, ++*count);
        if (astro_interrupted()) {
            lua_pushliteral(L, "jq: interrupted");
            return 0;
        }
    }
}

/* filter:run(text [, flags]) -> outputs | nil, message. */
static int jq_run_lua(lua_State *L) {
    jq_box *box = luaL_checkudata(L, 1, JQ_MT);
    size_t len;
    const char *text = luaL_checklstring(L, 2, &len);
    const char *f = luaL_optstring(L, 3, "");
    if (box->jq == NULL) return luaL_error(L, "jq: the filter was freed");
    if (len > (size_t)0x7fffffff) return luaL_error(L, "jq: an input longer than 2 GiB");
    int flags = strchr(f, 'p') ? JV_PRINT_INDENT_FLAGS(2) : 0;
    int raw = strchr(f, 'r') != NULL;
    box_clear_run(box);
    lua_newtable(L);
    int list = lua_gettop(L);
    lua_Integer count = 0;
    box->parser = J(jv_parser_new)(0);
    J(jv_parser_set_buf)(box->parser, text, (int)len, 0);
    int any = 0;
    for (;;) {
        jv value = J(jv_parser_next)(box->parser);
        if (!valid(value)) {
            if (J(jv_invalid_has_msg)(J(jv_copy)(value))) {
                box_clear_run(box);
                lua_pushnil(L);
                jv msg = J(jv_invalid_get_msg)(value);
                box->pending = msg;
                lua_pushfstring(L, "jq: the input is not JSON: %s", J(jv_string_value)(box->pending));
                box_clear_run(box);
                return 2;
            }
            J(jv_free)(value);
            break;
        }
        any = 1;
        if (!run_one(L, box, value, list, &count, flags, raw)) {
            box_clear_run(box);
            lua_pushnil(L);
            lua_insert(L, -2);
            return 2;
        }
    }
    box_clear_run(box);
    if (!any) {
        lua_pushnil(L);
        lua_pushliteral(L, "jq: the input holds no JSON value");
        return 2;
    }
    return 1;
}

static const luaL_Reg filter_methods[] = {
    {"run", jq_run_lua},
    {NULL, NULL}
};

static const luaL_Reg jq_funcs[] = {
    {"compile", jq_compile_lua},
    {NULL, NULL}
};

int luaopen_astro_core_jq(lua_State *L) {
    /* The metatable exists before the first filter: give it its methods. */
    if (luaL_newmetatable(L, JQ_MT)) {
        lua_pushcfunction(L, jq_box_gc);
        lua_setfield(L, -2, "__gc");
    }
    luaL_newlib(L, filter_methods);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    return astro_module_new(L, jq_funcs);
}
