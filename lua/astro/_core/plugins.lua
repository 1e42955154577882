--- Plugins: Lua files (name.lua) or folders (name/init.lua) in the plugins folder of the astro
-- config home (`$ASTRO_HOME/.astro/plugins`, else `~/.astro/plugins`), loaded in sorted order.
-- A plugin returns a command table like the stock commands' (or a list of them), with
-- `command = "organization user offboard"` saying where it goes, and `wrap = true` to wrap
-- an existing command (its run gets the wrapped run as a third argument).
-- Files and folders must belong to the user (or root) and not be writable by group or
-- others, as ssh asks of its keys; anything else is refused with the reason.
local core_config = require("astro.core.config")
local sys = require("astro.core.sys")
local config = require("astro._core.config")

local M = {}

--- What the last load_all() found: { loaded = { {name, path, specs} }, failed = { {name, path, error} } }.
M.report = { loaded = {}, failed = {} }

--- The plugins folder, or nil when no config home is known.
function M.dir()
  local path = core_config.path()
  if not path then return nil end
  return (path:gsub("/[^/]*$", "")) .. "/plugins"
end

--- Checks that a file or folder is safe to load code from: owned by the user (or root) and
-- not writable by group or others. Returns true or nil, reason.
---@param path string
function M.check_safe(path)
  local st, err = sys.stat(path)
  if not st then return nil, err end
  local problem = config.permission_problem(st, true)
  if problem == "owner" then
    return nil, string.format("%s is refused: it belongs to user id %d, not to you (%d)", path, st.uid,
      sys.geteuid())
  elseif problem then
    return nil, string.format("%s is refused: it is writable by %s (mode %03o); run: chmod go-w %s", path,
      problem == "others" and "others" or "its group", st.mode & 511, path)
  end
  return true
end

-- The plugin entries of a folder, sorted: { name, path (the file to load), dir (a folder plugin) }.
local function _entries(dir)
  local names = sys.listdir(dir)
  if not names then return {} end
  local out = {}
  for _, n in ipairs(names) do
    if n:sub(1, 1) ~= "." then
      local full = dir .. "/" .. n
      local st = sys.stat(full)
      if st and st.type == "file" and n:match("%.lua$") then
        out[#out + 1] = { name = n:gsub("%.lua$", ""), path = full }
      elseif st and st.type == "directory" then
        local init = full .. "/init.lua"
        local ist = sys.stat(init)
        if ist and ist.type == "file" then out[#out + 1] = { name = n, path = init, dir = full } end
      end
    end
  end
  return out
end

-- Loads one plugin entry ({ name, path, dir? }). Returns a list of command tables or nil, message.
local function _load(entry)
  if entry.dir then
    local ok, why = M.check_safe(entry.dir)
    if not ok then return nil, why end
  end
  local ok, why = M.check_safe(entry.path)
  if not ok then return nil, why end
  -- Loaded only when there is a plugin to load.
  local userenv, checks = require("astro._core.userenv"), require("astro._core.plugin_checks")
  local env = userenv.new_env({ name = "plugin " .. entry.path, dir = entry.dir, check = M.check_safe })
  local fn, err = userenv.loadfile(entry.path, env)
  if not fn then return nil, err end
  -- Its top-level code, and the reading of what it returned, run as the loading of a plugin
  -- (no setting may change); what astro keeps is a plain copy of the command tables.
  return userenv.while_loading(function()
    local ran, result = xpcall(fn, function(e) return tostring(e) end, entry.name)
    if not ran then return nil, result end
    local specs = (type(result) == "table" and type(result[1]) == "table") and result or { result }
    local plain = {}
    for i = 1, math.max(#specs, 1) do
      local s = specs[i]
      local good, serr = checks.spec(s, entry.path)
      if not good then return nil, serr end
      plain[i] = checks.copy(s)
      plain[i].plugin_file = entry.path
    end
    return plain
  end)
end

--- Loads one plugin file (or a folder with init.lua) exactly as astro loads those of the plugins
-- folder: source only, the file (and folder) safety rules, its own environment, the command
-- table checks. For specs: returns the list of command tables, or nil and the message
-- `astro plugin list` would show.
---@param path string
---@return table[]|nil specs
---@return string|nil err
function M.load_file(path)
  if type(path) ~= "string" then error("load_file expects a path", 2) end
  local st = sys.stat(path)
  if st and st.type == "directory" then
    return _load({ name = path:match("([^/]+)/*$") or path, path = path .. "/init.lua", dir = path })
  end
  local dir, base = path:match("^(.*)/([^/]+)$")
  if base == "init.lua" then
    return _load({ name = dir:match("([^/]+)$") or dir, path = path, dir = dir })
  end
  return _load({ name = (base or path):gsub("%.lua$", ""), path = path })
end

--- Loads every plugin of the folder (default M.dir()). Returns the report (also kept in
-- M.report): loaded entries with their command tables, and failed ones with the reason.
---@param dir? string
function M.load_all(dir)
  dir = dir or M.dir()
  local report = { loaded = {}, failed = {}, dir = dir }
  M.report = report
  if not dir then return report end
  local st = sys.stat(dir)
  if not st or st.type ~= "directory" then return report end
  local ok, why = M.check_safe(dir)
  if not ok then
    report.failed[1] = { name = "(folder)", path = dir, error = why }
    return report
  end
  for _, e in ipairs(_entries(dir)) do
    local specs, err = _load(e)
    if specs then
      report.loaded[#report.loaded + 1] = { name = e.name, path = e.path, specs = specs }
    else
      report.failed[#report.failed + 1] = { name = e.name, path = e.path, error = err }
    end
  end
  return report
end

return M
