--- The astro CLI beside this tool: a top-level command word this tool does not have (`astro
-- login`, `astro workspace list`, `astro deploy`, ...) is handed to Astronomer's astro CLI with
-- the same arguments, environment, standard streams and exit status (the process becomes that
-- CLI: astro.core.proc.exec), and `astro version` asks it its version.
--
-- Which CLI: ASTRO_CLI when set (a path; an error when it is not an executable file, or is this
-- binary), else the first `astro` of PATH that is an executable file and not this binary (the
-- device and inode of /proc/self/exe: a symbolic or hard link to this binary is skipped too).
-- PATH entries that are not absolute (empty, ".", "bin") are skipped, as Go's exec.LookPath
-- does: a command word never runs a program of the current folder.
--
-- Never itself: before the exec the tool sets ASTRO_LUA_PASSTHROUGH to the CLI's path. A run
-- that finds it set (a wrapper script standing in for the CLI that calls this binary again) hands
-- nothing over: it ends with an error naming that path, not a loop. Commands of this tool still
-- run there. `astro version` there does not ask the CLI its version either.
local env = require("astro.core.env")
local proc = require("astro.core.proc")
local sys = require("astro.core.sys")
local errors = require("astro.errors")

local M = {}

--- The exit status of a command word handed to no CLI (none found, or a loop refused).
M.EXIT = 1
--- The variable set for the CLI a command is handed to (its value: that CLI's path).
M.MARKER = "ASTRO_LUA_PASSTHROUGH"
--- Seconds `astro version` waits for the CLI's own version (the astro CLI may first spend up
-- to 3 s on its update check).
M.VERSION_TIMEOUT = 5
--- The top-level commands of the astro CLI (v1.45) that this tool does not have: with no CLI
-- found, such a word is never taken for a typo of one of this tool's commands (`login` is not
-- "plugin" mistyped).
M.ASTRO_CLI_COMMANDS = { login = true, logout = true, deploy = true, deployment = true, dev = true, workspace = true,
                         config = true, context = true, telemetry = true, registry = true, remote = true, dbt = true,
                         ide = true, user = true, team = true }

local SET_ASTRO_CLI = "set ASTRO_CLI to the astro CLI's path"

-- The stat of this binary (/proc/self/exe, followed), or nil where there is none.
local function _self()
  return sys.stat("/proc/self/exe")
end

-- Tells whether stat st is the file of this binary.
local function _is_self(st, self)
  return self ~= nil and st.dev == self.dev and st.ino == self.ino
end

-- The CLI ASTRO_CLI names: path, or nil, err when it cannot be used.
local function _from_variable(path, self)
  local function refuse(why)
    return nil, errors.new(string.format("ASTRO_CLI is set to %s, which %s: %s, or unset it to use the astro " ..
      "CLI on PATH", path, why, SET_ASTRO_CLI), { code = "config" })
  end
  local st = sys.stat(path)
  if not st then return refuse("does not exist") end
  if st.type ~= "file" then return refuse("is not a file") end
  if not proc.executable(path) then return refuse("is not executable") end
  if _is_self(st, self) then return refuse("is this tool itself") end
  return path
end

--- Finds the astro CLI: ASTRO_CLI, else the first astro on PATH that is not this binary.
-- Returns path, or nil, err: err.found_none is true when nothing was found (no ASTRO_CLI and
-- no astro on PATH); otherwise ASTRO_CLI is set to something unusable and err says what.
---@return string|nil path
---@return table|nil err
function M.find()
  local self = _self()
  local named = env.get("ASTRO_CLI")
  if named then return _from_variable(named, self) end
  for dir in ((env.get("PATH") or "") .. ":"):gmatch("([^:]*):") do
    if dir:sub(1, 1) == "/" then
      local path = (dir:sub(-1) == "/" and dir or dir .. "/") .. "astro"
      local st = sys.stat(path)
      if st and st.type == "file" and not _is_self(st, self) and proc.executable(path) then return path end
    end
  end
  return nil, errors.new("no astro CLI was found on PATH; install it, or " .. SET_ASTRO_CLI, { found_none = true })
end

--- Hands a command line whose first command word this tool does not have to the astro CLI.
-- args: the whole command line after the program name, as typed (global flags before the word
-- included); unknown: the usage error of that word (astro.cli.parse.unknown_command: word,
-- suggestions). Returns only when nothing was handed over, with the error to report:
--   - a loop (ASTRO_LUA_PASSTHROUGH set): the word, the CLI that called back, what to do;
--   - no CLI found: `unknown` itself when it has suggestions (a typo of a command of this
--     tool) and is not a command of the astro CLI, else the word, that no astro CLI was found,
--     and how to set ASTRO_CLI;
--   - ASTRO_CLI unusable, or the exec failing: the word and why.
-- When a CLI is found, every unknown word goes to it, a typo of this tool's own commands too:
-- the astro CLI has its own suggestions, and most of this tool's commands.
---@param args string[]
---@param unknown table
---@return table err
function M.hand_over(args, unknown)
  local head = string.format('unknown command "%s" for "astro"', unknown.word)
  local from = env.get(M.MARKER)
  if from then
    return errors.new(string.format("%s: this tool was started again by the astro CLI it handed a command to " ..
      "(%s), which leads back here: set ASTRO_CLI to the path of the astro CLI itself", head, from), { exit = M.EXIT })
  end
  local path, err = M.find()
  if not path then
    if err.found_none and unknown.suggestions and not M.ASTRO_CLI_COMMANDS[unknown.word] then return unknown end
    if err.found_none then
      return errors.new(head .. ": this tool has no such command, and no astro CLI was found on PATH to hand " ..
        "it to; install the astro CLI, or set ASTRO_CLI to its path", { exit = M.EXIT })
    end
    return errors.new(head .. ": " .. err.message, { exit = M.EXIT })
  end
  local argv = { path }
  for i = 1, #args do argv[i + 1] = args[i] end
  local _, why = proc.exec(path, argv, { [M.MARKER] = path })
  return errors.new(string.format("%s: cannot run the astro CLI %s", head, why), { exit = M.EXIT })
end

--- Hands a completion request whose first command word this tool does not have (`astro
-- __complete deploy ...`) to the astro CLI's own `__complete` (cobra's, the same protocol), by
-- exec: the shell then gets that CLI's candidates. Returns only when nothing was handed over
-- (no CLI, ASTRO_CLI unusable, a run the CLI started, the exec failing): the caller then
-- offers nothing.
---@param words string[] the words after __complete, the one being completed last
function M.complete(words)
  if env.get(M.MARKER) then return end
  local path = M.find()
  if not path then return end
  local argv = { path, "__complete" }
  for i = 1, #words do argv[#argv + 1] = words[i] end
  proc.exec(path, argv, { [M.MARKER] = path })
end

--- The astro CLI beside this tool and its version, for `astro version`: { path, version =
-- the first non-empty line `<path> version` printed within M.VERSION_TIMEOUT seconds (nil
-- when none), problem = why there is no version (timed out, exit status, not asked) }, or
-- nil, err when none is found (M.find's error).
---@return table|nil info
---@return table|nil err
function M.describe()
  local path, err = M.find()
  if not path then return nil, err end
  local info = { path = path }
  if env.get(M.MARKER) then
    info.problem = "not asked: this run was started by an astro CLI"
    return info
  end
  local res, why = proc.run(path, { path, "version" }, { timeout = M.VERSION_TIMEOUT, env = { [M.MARKER] = path },
                                                          max = 4096 })
  if not res then
    info.problem = why
    return info
  end
  for line in (res.stdout .. "\n"):gmatch("([^\n]*)\n") do
    line = line:gsub("^%s+", ""):gsub("%s+$", "")
    if line ~= "" then
      info.version = line
      break
    end
  end
  if not info.version then
    if res.timed_out then
      info.problem = string.format("no answer to `version` within %d s", M.VERSION_TIMEOUT)
    elseif res.status ~= 0 then
      info.problem = res.status and string.format("`version` ended with exit status %d", res.status)
        or string.format("`version` ended by signal %d", res.signal or 0)
    else
      info.problem = "`version` printed nothing"
    end
  end
  return info
end

return M
