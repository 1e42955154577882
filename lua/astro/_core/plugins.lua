--- Plugins: Lua files (name.lua) or folders (name/init.lua) in the plugins folder of the astro
-- config home (`$ASTRO_HOME/.astro/plugins`, else `~/.astro/plugins`), loaded in sorted order.
-- A plugin returns a command table like the stock commands' (or a list of them), with
-- `command = "organization user offboard"` saying where it goes, and `wrap = true` to wrap
-- an existing command (its run gets the wrapped run as a third argument).
--
-- What is loaded must be the user's alone, as ssh's StrictModes asks of authorized_keys:
-- * a plugin file (name.lua, init.lua, any file a folder plugin requires) is read through one
--   descriptor (sys.read_file: a link is followed, a FIFO or device is refused without
--   waiting) and judged by the fstat of that descriptor, so what is judged is what is loaded,
--   whatever a link points to before or after: a regular file of the user (or root), not
--   writable by group or others;
-- * every folder on the real path of that file (links resolved: the folder a plugin link
--   points into included), from the file's own folder up to the user's home (HOME), or to /
--   when the file is not under it, belongs to the user (or root) and is not writable by group
--   or others, except a root-owned folder with the sticky bit (/tmp), where no one may rename
--   or remove another's entries. That covers a folder plugin's subfolders, the plugins folder,
--   and ~/.astro ($ASTRO_HOME/.astro) itself;
-- * the plugins folder and a folder plugin's folder follow the same rule (checked first, by
--   path, for a message that names them).
-- Anything else is refused with the reason and the chmod that fixes it.
local core_config = require("astro.core.config")
local env = require("astro.core.env")
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

-- What makes st (a sys.stat) unsafe to load code from, as the end of a sentence whose subject
-- is path ("belongs to user id 7, not to you (0)", "is writable by others (mode 777); run:
-- chmod go-w <path>"), or nil. A root-owned folder with the sticky bit may be writable by all
-- when sticky_ok (the folders above a plugin, such as /tmp).
local function _unsafe(path, st, sticky_ok)
  if sticky_ok and st.type == "directory" and st.uid == 0 and st.mode & 512 ~= 0 then return nil end
  local problem = config.permission_problem(st, true)
  if problem == "owner" then
    return string.format("belongs to user id %d, not to you (%d)", st.uid, sys.geteuid())
  elseif problem then
    return string.format("is writable by %s (mode %03o); run: chmod go-w %s",
      problem == "others" and "others" or "its group", st.mode & 511, path)
  end
  return nil
end

--- Checks that a file or folder is safe to load code from: owned by the user (or root) and
-- not writable by group or others. Returns true or nil, reason.
---@param path string
function M.check_safe(path)
  local st, err = sys.stat(path)
  if not st then return nil, err end
  local why = _unsafe(path, st)
  if why then return nil, path .. " is refused: it " .. why end
  return true
end

-- The folder of a real path ("/" for a file at the root).
local function _parent(real)
  local up = real:match("^(.*)/[^/]*$")
  if up == nil or up == "" then return "/" end
  return up
end

--- Checks every folder from real_dir (a real path: no link in it) up to the user's home, or
-- to / when real_dir is not under it, by the folder rule of this file's comment. subject is
-- the file or folder they hold, named in the message. Returns true or nil, reason.
---@param real_dir string
---@param subject string
function M.check_folders(real_dir, subject)
  local home = env.get("HOME")
  local hst = home and sys.stat(home)
  local dir = real_dir
  for _ = 1, 4096 do
    local st, err = sys.stat(dir, false)
    if not st then return nil, subject .. " is refused: " .. tostring(err) end
    local why = _unsafe(dir, st, true)
    if why then return nil, subject .. " is refused: its folder " .. dir .. " " .. why end
    if dir == "/" or (hst and st.dev == hst.dev and st.ino == hst.ino) then return true end
    dir = _parent(dir)
  end
  return nil, subject .. " is refused: its path is too deep"
end

--- Reads a plugin file for loading, by the rules of this file's comment: one descriptor, judged
-- by its own fstat, and the folders of its real path. Returns the text, or nil, reason.
---@param path string
function M.read_checked(path)
  local text, st, real = sys.read_file(path)
  if not text then return nil, st end
  local why = _unsafe(path, st)
  if why then return nil, path .. " is refused: it " .. why end
  local ok, ferr = M.check_folders(_parent(real), path)
  if not ok then return nil, ferr end
  return text
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
      if st and st.type ~= "directory" and n:match("%.lua$") then   -- a FIFO too: refused when read
        out[#out + 1] = { name = n:gsub("%.lua$", ""), path = full }
      elseif st and st.type == "directory" then
        local init = full .. "/init.lua"
        local ist = sys.stat(init)
        if ist and ist.type ~= "directory" then out[#out + 1] = { name = n, path = init, dir = full } end
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
  -- Loaded only when there is a plugin to load.
  local userenv, checks = require("astro._core.userenv"), require("astro._core.plugin_checks")
  local penv = userenv.new_env({ name = "plugin " .. entry.path, dir = entry.dir, read = M.read_checked })
  local fn, err = userenv.loadfile(entry.path, penv, M.read_checked)
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
  if ok then   -- the real folders above: ~/.astro and up
    local real, rerr = sys.realpath(dir)
    if real then ok, why = M.check_folders(_parent(real), dir) else ok, why = nil, rerr end
  end
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
