/*
 * The environment variables the tool reads (include/astro/env.h), and "astro.core.env", their
 * Lua binding:
 *   env.get(name)    -> value | nil   (set and not empty; raises for a secret)
 *   env.flag(name)   -> boolean       (raises unless name is a flag)
 *   env.is_set(name) -> boolean       (set and not empty; any kind)
 *   env.list()       -> { {name=, kind=, meaning=}, ... } in table order
 * Every one raises for a name that is not in the table. This is the only file of src/ that
 * calls getenv.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <lauxlib.h>

#include "astro/binding.h"
#include "astro/core.h"
#include "astro/env.h"

/* How a variable is read. */
typedef enum {
    KIND_VALUE,            /* its text is used */
    KIND_SECRET,           /* its text is a credential: read by astro.core.auth only */
    KIND_FLAG,             /* on or off, as astro_env_flag reads it */
    KIND_PRESENCE          /* only whether it is set to something non-empty matters */
} env_kind;

static const char *const kind_names[] = {"value", "secret", "flag", "presence"};

typedef struct {
    const char *name;
    env_kind kind;
    const char *meaning;   /* one line, for docs and specs (env.list()) */
} env_var;

#define PROXY_NOTE "only named in error messages (libcurl reads it)"

/* Every variable the tool reads: one kind, one meaning each. */
static const env_var vars[] = {
    {"ASTRO_HOME", KIND_VALUE, "folder of .astro/config.yaml, instead of HOME"},
    {"HOME", KIND_VALUE, "the user's home: folder of .astro/config.yaml without ASTRO_HOME"},
    {"ASTRO_API_TOKEN", KIND_SECRET, "API token used instead of the context's (astro.core.auth)"},
    {"ASTRO_DOMAIN", KIND_VALUE, "domain used instead of the current context's"},
    {"ASTRO_ORGANIZATION", KIND_VALUE, "organization (name or id) a run works on instead of the context's; --organization wins"},
    {"ASTRO_DEBUG", KIND_FLAG, "Lua tracebacks of internal errors, and the request trace"},
    {"ASTRO_LUA_DIR", KIND_VALUE, "development builds only (-DASTRO_DEVELOPMENT=ON): Lua source folder, ahead of the embedded modules; ignored otherwise"},
    {"ASTRO_CLI", KIND_VALUE, "path of the astro CLI that commands this tool does not have are handed to, instead of the next astro on PATH"},
    {"PATH", KIND_VALUE, "folders searched for the astro CLI that commands this tool does not have are handed to"},
    {"ASTRO_LUA_PASSTHROUGH", KIND_VALUE, "set by this tool for the astro CLI it hands a command to (that CLI's path): a run that finds it set hands nothing over again"},
    {"NO_COLOR", KIND_PRESENCE, "set to anything non-empty: colour off"},
    {"TERM", KIND_VALUE, "terminal type: \"dumb\" turns colour off"},
    {"COLUMNS", KIND_VALUE, "width of the terminal in columns, instead of the one it reports"},
    {"GITHUB_ACTIONS", KIND_VALUE, "\"true\" in GitHub Actions: client identifier headers"},
    {"DEPLOY_ACTION", KIND_VALUE, "\"true\" in the deploy action: client identifier headers"},
    {"DEPLOY_ACTION_VERSION", KIND_VALUE, "deploy action's version: client identifier headers"},
    {"http_proxy", KIND_VALUE, "proxy of http:// URLs: " PROXY_NOTE},
    {"https_proxy", KIND_VALUE, "proxy of https:// URLs: " PROXY_NOTE},
    {"HTTPS_PROXY", KIND_VALUE, "proxy of https:// URLs: " PROXY_NOTE},
    {"all_proxy", KIND_VALUE, "proxy of any URL: " PROXY_NOTE},
    {"ALL_PROXY", KIND_VALUE, "proxy of any URL: " PROXY_NOTE},
    {"no_proxy", KIND_VALUE, "hosts reached without a proxy: " PROXY_NOTE},
    {"NO_PROXY", KIND_VALUE, "hosts reached without a proxy: " PROXY_NOTE},
};

#define NVARS ((int)(sizeof vars / sizeof vars[0]))

/* Returns the table entry for name, or NULL when the tool does not read that variable. */
static const env_var *var_find(const char *name) {
    for (int i = 0; i < NVARS; i++)
        if (strcmp(vars[i].name, name) == 0) return &vars[i];
    return NULL;
}

/* Returns getenv(v->name) when it is set and not empty, else NULL. */
static const char *var_value(const env_var *v) {
    const char *s = getenv(v->name);
    return s != NULL && s[0] != '\0' ? s : NULL;
}

/* Returns 1 when the text of a set flag means on. */
static int flag_on(const char *s) {
    return s != NULL && strcmp(s, "0") != 0 && strcasecmp(s, "false") != 0;
}

const char *astro_env_value(const char *name) {
    const env_var *v = var_find(name);
    return v != NULL ? var_value(v) : NULL;
}

int astro_env_flag(const char *name) {
    const env_var *v = var_find(name);
    return v != NULL && v->kind == KIND_FLAG && flag_on(var_value(v));
}

/* ---------------------------------------------------------------- "astro.core.env" */

/* Returns the table entry for the name at index 1; raises for a name not in the table. */
static const env_var *check_var(lua_State *L) {
    const char *name = luaL_checkstring(L, 1);
    const env_var *v = var_find(name);
    if (v == NULL)
        luaL_argerror(L, 1, lua_pushfstring(L, "%s is not an environment variable astro reads",
                                            name));
    return v;
}

/* env.get(name) -> value | nil; raises for a secret. */
static int env_get(lua_State *L) {
    const env_var *v = check_var(L);
    if (v->kind == KIND_SECRET)
        return luaL_argerror(L, 1, lua_pushfstring(L, "%s is read by astro.core.auth only",
                                                   v->name));
    const char *s = var_value(v);
    if (s == NULL) lua_pushnil(L);
    else lua_pushstring(L, s);
    return 1;
}

/* env.flag(name) -> boolean; raises unless name is a flag. */
static int env_flag(lua_State *L) {
    const env_var *v = check_var(L);
    if (v->kind != KIND_FLAG)
        return luaL_argerror(L, 1, lua_pushfstring(L, "%s is a %s, not a flag",
                                                   v->name, kind_names[v->kind]));
    lua_pushboolean(L, flag_on(var_value(v)));
    return 1;
}

/* env.is_set(name) -> boolean: set and not empty. */
static int env_is_set(lua_State *L) {
    lua_pushboolean(L, var_value(check_var(L)) != NULL);
    return 1;
}

/* env.list() -> { {name=, kind=, meaning=}, ... }, in table order. */
static int env_list(lua_State *L) {
    lua_createtable(L, NVARS, 0);
    for (int i = 0; i < NVARS; i++) {
        lua_createtable(L, 0, 3);
        lua_pushstring(L, vars[i].name);
        lua_setfield(L, -2, "name");
        lua_pushstring(L, kind_names[vars[i].kind]);
        lua_setfield(L, -2, "kind");
        lua_pushstring(L, vars[i].meaning);
        lua_setfield(L, -2, "meaning");
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static const luaL_Reg env_funcs[] = {
    {"get", env_get}, {"flag", env_flag}, {"is_set", env_is_set}, {"list", env_list},
    {NULL, NULL}
};

int luaopen_astro_core_env(lua_State *L) {
    return astro_module_new(L, env_funcs);
}
