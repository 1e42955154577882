/*
 * "astro.core.config": the astro CLI's YAML config file (~/.astro/config.yaml).
 *   config.path()                        -> the file's path | nil, message, "env"
 *   config.read(path)                    -> tree, exists | nil, message, code
 *   config.update(path, changes [, opts]) -> true | nil, message, code
 * A read loads the file into a Lua tree (src/yaml_load.c). An update copies the changes out
 * of Lua, locks the file (src/atomic_file.c), re-reads it under the lock, edits libyaml's
 * document in place (src/yaml_edit.c: untouched keys keep their order and style), checks
 * that the result reads back within the limits, and replaces the file atomically.
 *
 * Every resource of a read or an update lives in a Job userdata whose __gc releases it, so a
 * Lua error never leaks; normal paths release it at once.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "astro/atomic_file.h"
#include "astro/binding.h"
#include "astro/buf.h"
#include "astro/core.h"
#include "astro/env.h"
#include "astro/err.h"
#include "astro/yaml_edit.h"
#include "astro/yaml_load.h"

#define JOB_TYPE "astro.config.Job"
#define DEFAULT_LOCK_TIMEOUT 10.0

/* Everything a read or an update holds. */
typedef struct {
    astro_yaml_changes changes;  /* an update's changes, copied out of Lua */
    astro_buf in;                /* the file's bytes */
    astro_buf out;               /* the emitted document */
    astro_yaml_doc doc;          /* the file's document, edited by an update */
    astro_file_locks lock;       /* an update's locks, and the file it replaces */
    astro_err err;               /* the recorded failure */
} Job;

/* ---------------------------------------------------------------- job */

/* Frees everything the job holds and closes the lock; safe to call twice. */
static void job_release(Job *j) {
    astro_yaml_changes_free(&j->changes);
    astro_buf_free(&j->in);
    astro_buf_free(&j->out);
    astro_yaml_doc_free(&j->doc);
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

/* ---------------------------------------------------------------- Lua arguments */

/* Splits a dotted path into segs. Returns NULL or a problem text. */
static const char *segs_split(const char *s, size_t len, astro_yaml_key *segs, int *n) {
    *n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '.') continue;
        if (i == start) return "empty key in the path";
        if (*n == ASTRO_YAML_MAX_DEPTH) return "path has more than 64 keys";
        segs[(*n)++] = (astro_yaml_key){s + start, i - start};
        start = i + 1;
    }
    return NULL;
}

/* Copies key s[0..len) as the next key of the change being copied. Returns 0 or -1 (memory,
 * recorded). */
static int key_copy(Job *j, const char *s, size_t len) {
    if (astro_yaml_changes_key(&j->changes, s, len) != 0)
        return astro_err_set(&j->err, "memory", "not enough memory");
    return 0;
}

/* Checks the key path at Lua index pi (dotted string or array of strings) and copies its keys
 * into the job. Each Lua value is read once, and checked and copied while it is on the
 * stack. Returns 0 (with *problem set when the path is misused: nothing usable was copied)
 * or -1 (memory, recorded). */
static int path_copy(lua_State *L, Job *j, int pi, const char **problem) {
    size_t len;
    *problem = NULL;
    if (lua_type(L, pi) == LUA_TSTRING) {
        astro_yaml_key segs[ASTRO_YAML_MAX_DEPTH];
        int n = 0;
        const char *s = lua_tolstring(L, pi, &len);
        *problem = segs_split(s, len, segs, &n);
        if (*problem == NULL && !astro_utf8_valid(s, len)) *problem = "path is not valid UTF-8";
        for (int k = 0; *problem == NULL && k < n; k++)
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
        else if (!astro_utf8_valid(s, len)) *problem = "path is not valid UTF-8";
        else if (key_copy(j, s, len) != 0) return -1;
        lua_pop(L, 1);
    }
    return 0;
}

/* Checks the change at Lua index ci (changes[i] of the argument at idx) and appends its copy
 * to j->changes; raises on misuse. Returns 0 or -1 (memory, recorded). */
static int change_copy(lua_State *L, Job *j, int idx, lua_Integer i, int ci) {
    int kind = ASTRO_YAML_DELETE;
    const char *problem;
    lua_pushliteral(L, "path");
    lua_rawget(L, ci);                                           /* [path] */
    if (path_copy(L, j, lua_gettop(L), &problem) != 0) return -1;
    if (problem != NULL)
        luaL_argerror(L, idx, lua_pushfstring(L, "changes[%I].path: %s", i, problem));
    lua_pushliteral(L, "value");
    int t = lua_rawget(L, ci);                                   /* [path, value] */
    char num[64];
    const char *text = NULL;
    size_t len = 0;
    if (t == LUA_TSTRING) {
        text = lua_tolstring(L, -1, &len);
        if (!astro_utf8_valid(text, len))
            luaL_argerror(L, idx, lua_pushfstring(L, "changes[%I].value is not valid UTF-8", i));
        kind = ASTRO_YAML_STRING;
    } else if (t == LUA_TBOOLEAN) {
        text = lua_toboolean(L, -1) ? "true" : "false";
        kind = ASTRO_YAML_PLAIN;
    } else if (t == LUA_TNUMBER) {
        number_format(L, -1, num, sizeof num);
        text = num;
        kind = ASTRO_YAML_PLAIN;
    } else if (t != LUA_TNIL) {
        luaL_argerror(L, idx, lua_pushfstring(L, "changes[%I].value: a %s cannot be stored", i,
                                              lua_typename(L, t)));
    }
    if (kind == ASTRO_YAML_PLAIN) len = strlen(text);
    int rc = astro_yaml_changes_end(&j->changes, kind, text, len);
    lua_pop(L, 2);
    return rc == 0 ? 0 : astro_err_set(&j->err, "memory", "not enough memory");
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
    if (astro_yaml_edit(&j->doc, &j->changes, path, &j->err) != 0 ||
        astro_yaml_emit(&j->doc, &j->out, path, &j->err) != 0 || output_check(L, j, path) != 0)
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
    {"path", config_path}, {"read", config_read}, {"update", config_update}, {NULL, NULL}
};

int luaopen_astro_core_config(lua_State *L) {
    return astro_module_new(L, config_funcs);
}
