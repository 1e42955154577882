--- The environment user code runs in (plugins and `astro run` scripts). It is no sandbox:
-- user code has `io` and `os` and runs with the user's rights. What it gives is hygiene: each
-- chunk gets its own global table, with the standard library (copies of its tables, so changes
-- stay local), the public `astro` API, and nothing else. Reading or writing an undeclared
-- global raises an error naming it. Only Lua source is loaded, never precompiled bytecode.
-- There is no `debug`, no `package`, and `require` serves only the public modules and the
-- plugin's own files.
--
-- What it guarantees: user code cannot change what the stock commands do through what they
-- share. The public modules are read-only views (astro._core.readonly), and so are the
-- metatables of values user code did not make (errors, clients, files, ...); the settings
-- (astro.bulk.rates, astro.bulk.concurrency, astro.http.policy.*) may be changed, except while
-- a plugin's top-level code runs (it runs for every command); process-wide state (default
-- files, the random seed, the collector's mode, finalizers) cannot be changed then either.
local host = require("astro.core.host")
local readonly = require("astro._core.readonly")
local sys = require("astro.core.sys")

local M = {}

-- Words after "astro." that are folders of private or CLI code, never public modules.
local NOT_PUBLIC = { cli = true, commands = true, core = true }

--- Tells whether user code may require a module: the public modules are `astro` and the
-- files at the top of lua/astro/ (`astro.<word>`), except those whose name starts with `_`;
-- `astro.core.*` (C), `astro._core.*`, `astro.cli*` and `astro.commands.*` are not. The rule
-- is the layout's (docs/architecture.md): no list to keep by hand.
---@param name string
---@return boolean
function M.is_public(name)
  if name == "astro" then return true end
  local word = name:match("^astro%.([%a][%w_]*)$")
  if word == nil or NOT_PUBLIC[word] then return false end
  if package.loaded[name] ~= nil or package.preload[name] ~= nil then return true end
  -- A module of the development folder (ASTRO_LUA_DIR, honoured by a development build only:
  -- host.lua_dir is nil otherwise) that is not embedded yet.
  local dir = host.lua_dir
  local st = dir and sys.stat(dir .. "/astro/" .. word .. ".lua")
  return st ~= nil and st.type == "file"
end

--- How many plugins' top-level code is running (astro._core.plugins loads them through
-- M.while_loading): while it is above 0, no user code may change a setting or process-wide state.
M.loading = 0

--- Calls fn(...) as the loading of a plugin: its top-level code and the reading of what it
-- returned. Returns what fn returns; an error raised in fn is raised again after the count is
-- restored.
function M.while_loading(fn, ...)
  M.loading = M.loading + 1
  local res = table.pack(pcall(fn, ...))
  M.loading = M.loading - 1
  if not res[1] then error(res[2], 0) end
  return table.unpack(res, 2, res.n)
end

-- Why something cannot be changed while plugins load, and the message naming it.
local LOADING_REASON = "cannot be changed while plugins load: a plugin's top-level code runs for every " ..
  "command; change it in your command's run"
local function _while_loading(what) return what .. " " .. LOADING_REASON end

-- Tells whether field k of table t is a setting user code may write: astro.bulk.rates (and
-- its fields) and astro.bulk.concurrency, and the fields of astro.http.policy (at any depth).
-- Told by the tables themselves, not by the path a view was first read by.
local function _is_setting(t, k)
  local pacer = require("astro._core.pacer").settings
  local mt = getmetatable(t) -- astro.bulk is a table whose fields go to the pacer's settings
  if t == pacer or (type(mt) == "table" and mt.__newindex == pacer) then
    return k == "rates" or k == "concurrency"
  end
  local policy = require("astro._core.policy") -- astro.http.policy
  if t == pacer.rates or t == policy then return true end
  for _, v in pairs(policy) do
    if v == t then return true end
  end
  return false
end

-- The views of the public modules (and of everything reachable from them), one per table.
local view = readonly.viewer({
  writable = function(_, t, k)
    if not _is_setting(t, k) then return nil end
    if M.loading > 0 then return nil, LOADING_REASON end
    return true
  end,
})

-- Requires a public module for user code (the name is checked by the caller): its read-only view.
local function _require_public(name)
  return view(require(name), name)
end

-- The metatables user code set itself (through setmetatable): getmetatable gives them as they are.
local own_metatables = setmetatable({}, { __mode = "k" })

-- getmetatable for user code: a metatable it did not set itself (an error's, a client's, a
-- file's, ...) is shared with the stock commands, so it gets a read-only view of it.
local function _getmetatable(v)
  local mt = getmetatable(v)
  if type(mt) ~= "table" or own_metatables[mt] then return mt end
  local name = rawget(mt, "__name")
  return view(mt, "getmetatable(" .. (type(name) == "string" and name or type(v)) .. ")")
end

-- setmetatable for user code: no finalizer (__gc) while plugins load, as it would run in
-- whatever command runs when the value is collected.
local function _setmetatable(t, mt)
  if type(mt) == "table" then
    if M.loading > 0 and rawget(mt, "__gc") ~= nil then
      error("a __gc metamethod cannot be set while plugins load: it would run in whatever command " ..
        "runs when the value is collected", 2)
    end
    own_metatables[mt] = true
  end
  return setmetatable(t, mt)
end

-- rawset for user code: refused on the views of the API.
local function _rawset(t, k, v)
  if readonly.is_view(t) then
    error(readonly.path(tostring(t), k) .. " " .. readonly.READ_ONLY, readonly.blame_level())
  end
  return rawset(t, k, v)
end

-- collectgarbage for user code: the collector's mode and state are the process's, not to be
-- changed while plugins load.
local GC_SETTINGS = { stop = true, restart = true, incremental = true, generational = true,
                      setpause = true, setstepmul = true }
local function _collectgarbage(opt, ...)
  if M.loading > 0 and GC_SETTINGS[opt] then error(_while_loading('collectgarbage("' .. opt .. '")'), 2) end
  return collectgarbage(opt, ...)
end

-- A function of the standard library that changes process-wide state when given arguments
-- (io.input, io.output, math.randomseed): refused while plugins load.
local function _not_while_loading(fn, name, always)
  return function(...)
    if M.loading > 0 and (always or select("#", ...) > 0) then error(_while_loading(name), 2) end
    return fn(...)
  end
end

local BASE = {
  "assert", "error", "ipairs", "next", "pairs", "pcall", "xpcall", "print", "select",
  "tonumber", "tostring", "type", "rawequal", "rawlen", "rawget", "rawset", "setmetatable",
  "getmetatable", "collectgarbage", "_VERSION",
}
local LIBS = { "string", "table", "math", "utf8", "coroutine", "io", "os" }
local REMOVED = { os = { exit = true, setlocale = true } }

local function _copy(t, drop)
  local c = {}
  for k, v in pairs(t) do
    if not (drop and drop[k]) then c[k] = v end
  end
  return c
end

local protected = false

-- Hides the string metatable from user code, so no script can change string methods for
-- everyone (getmetatable("") returns false).
local function _protect_string_metatable()
  if protected then return end
  local mt = getmetatable("")
  if mt then mt.__metatable = false end
  protected = true
end

local BOM = "\239\187\191"

--- Compiles Lua source text as text only, with the given environment, as loadfile would the
-- same bytes: a UTF-8 BOM and a first line starting with `#` (a shebang) are skipped, line
-- numbers kept. chunkname is load's ("@path" names a file); name is shown when bytecode is
-- refused. Returns the chunk or nil, message.
---@param text string
---@param chunkname string
---@param name string
---@param env table
function M.load_source(text, chunkname, name, env)
  if text:sub(1, #BOM) == BOM then text = text:sub(#BOM + 1) end
  if text:sub(1, 1) == "#" then
    local nl = text:find("\n", 1, true)
    text = nl and text:sub(nl) or ""
  end
  if text:byte(1) == 27 then
    return nil, name .. ": precompiled Lua (bytecode) is refused; use the source file"
  end
  return load(text, chunkname, "t", env)
end

--- Loads a Lua source file as text only, with the given environment. Without read, the file
-- is read once, whole, so a pipe or FIFO (/dev/stdin, <(...)) works as a regular file does
-- (an `astro run` script: the user's own file, named on the command line). With read (plugin
-- code: astro._core.plugins' checked read), the text is read(path), which returns the text or
-- nil, reason. Returns the chunk or nil, message (naming the file; bytecode refused with a
-- clear reason).
---@param path string
---@param env table
---@param read? fun(path: string): string|nil, string|nil
function M.loadfile(path, env, read)
  local text
  if read then
    local why
    text, why = read(path)
    if not text then return nil, why end
  else
    local f, ferr = io.open(path, "rb")
    if not f then return nil, ferr end
    local rerr
    text, rerr = f:read("a")
    f:close()
    if not text then return nil, "cannot read " .. path .. ": " .. tostring(rerr) end
  end
  return M.load_source(text, "@" .. path, path, env)
end

--- Makes a fresh environment for user code.
---@param opts {name: string, dir?: string, read?: fun(path: string): string|nil, string|nil}
--   name: shown in messages; dir: a folder whose Lua files `require` may load (a folder
--   plugin); read(path): the checked read of every file loaded from dir (text or nil, reason).
---@return table env
function M.new_env(opts)
  _protect_string_metatable()
  local allowed = {}
  for _, k in ipairs(BASE) do allowed[k] = _G[k] end
  for _, lib in ipairs(LIBS) do allowed[lib] = _copy(_G[lib], REMOVED[lib]) end
  allowed.os.exit = function()
    error("os.exit is not available here: return an exit status instead (e.g. return 3)", 2)
  end
  allowed.getmetatable, allowed.setmetatable, allowed.rawset = _getmetatable, _setmetatable, _rawset
  allowed.collectgarbage = _collectgarbage
  allowed.io.input = _not_while_loading(io.input, "io.input")
  allowed.io.output = _not_while_loading(io.output, "io.output")
  allowed.math.randomseed = _not_while_loading(math.randomseed, "math.randomseed", true)
  allowed.astro = _require_public("astro")
  local env = {}
  local loaded = {}
  allowed.load = function(chunk, chunkname, _, e)
    return load(chunk, chunkname, "t", e or env)
  end
  allowed.loadfile = function(path, _, e)
    return M.loadfile(path, e or env)
  end
  allowed.dofile = function(path)
    local fn, err = M.loadfile(path, env)
    if not fn then error(err, 2) end
    return fn()
  end
  allowed.require = function(name)
    if type(name) ~= "string" then error("require expects a module name", 2) end
    if M.is_public(name) then return _require_public(name) end
    if loaded[name] ~= nil then return loaded[name] end
    if opts.dir and name:match("^[%w_]+[%w_.]*$") then
      local path = opts.dir .. "/" .. name:gsub("%.", "/") .. ".lua"
      local st = sys.stat(path)
      -- With a checked read, anything there is read through it (a FIFO is refused, not waited on).
      if st and (st.type == "file" or (opts.read and st.type ~= "directory")) then
        local fn, err = M.loadfile(path, env, opts.read)
        if not fn then error(err, 2) end
        local v = fn(name)
        if v == nil then v = true end
        loaded[name] = v
        return v
      end
    end
    error(string.format("module '%s' is not available to %s (it may use astro and its public modules, " ..
      "and files of its own folder)", name, opts.name), 2)
  end
  allowed._G = env
  return setmetatable(env, {
    __index = function(_, k)
      local v = allowed[k]
      if v == nil then
        error(string.format("undeclared global '%s' (in %s; declare it with local)", tostring(k), opts.name), 2)
      end
      return v
    end,
    __newindex = function(_, k)
      error(string.format("assignment to undeclared global '%s' (in %s; declare it with local)",
        tostring(k), opts.name), 2)
    end,
    __metatable = false,
  })
end

return M
