--- Read-only views of tables, for user code (plugins and `astro run` scripts): the public
-- modules it shares with the stock commands are seen through them, so that no plugin can change
-- what a stock command does by replacing a function or editing a table of the API.
--
-- A view is an empty table whose metatable reads through to the table it shows: reading a field
-- gives the value (a table as a view of it, named by its path; functions, strings and other
-- values as they are), `pairs`, `ipairs`, `#`, `table.concat` and `table.unpack` work as on the
-- table; writing a field raises an error naming it ("astro.invites.create is read-only: ...")
-- unless the viewer's `writable` rule lets that path be written, and then the write goes to the
-- table itself. `next`, `rawget` and `rawlen` see the empty view, not the table. A view's
-- metatable is protected (`getmetatable(view)` is false). A table has one view, made when it is
-- first read and kept (so walking a cycle of tables meets the same views again); its name is the
-- path it was first read by.
local M = {}

-- The table each view shows (weak keys: a view no longer used goes away).
local target_of = setmetatable({}, { __mode = "k" })

--- Tells whether v is a view made by this module.
---@param v any
---@return boolean
function M.is_view(v)
  return target_of[v] ~= nil
end

--- The path of field k under name: "astro.users" and "list" give "astro.users.list"; a key that
-- is not a word is shown in brackets ("astro.http.policy.retry_statuses[429]").
---@param name string
---@param k any
---@return string
function M.path(name, k)
  if type(k) == "string" and k:match("^[%a_][%w_]*$") then return name .. "." .. k end
  if type(k) == "string" then return string.format("%s[%q]", name, k) end
  return name .. "[" .. tostring(k) .. "]"
end

--- The level for error() that names the Lua code behind a refused write, called from the
-- function that refuses it: its caller, or that one's caller when the write came from a C
-- function (table.insert, rawset, ...), which has no file and line to show.
function M.blame_level()
  local info = debug.getinfo(3, "S")
  if info and info.what == "C" then return 3 end
  return 2
end

--- What a refused write says after the path.
M.READ_ONLY = "is read-only: the astro API is shared with the stock commands; keep values of your own " ..
  "in locals"

--- Makes a viewer: a function view(t, name) giving the read-only view of table t, named name
-- when it is made (once per table). opts.writable(path, t, k, v) is asked before a write:
-- true lets it go to the table; nil, reason refuses it with "<path> <reason>"; nil alone
-- refuses it as read-only.
---@param opts? {writable?: fun(path: string, t: table, k: any, v: any): boolean|nil, string|nil}
---@return fun(t: table, name: string): table
function M.viewer(opts)
  opts = opts or {}
  local writable = opts.writable
  local cache = setmetatable({}, { __mode = "k" }) -- table -> its view

  local view
  -- The value user code gets for v, the field k of the table named name: a table (not a view
  -- already) as its view, anything else as it is.
  local function wrap(v, name, k)
    if type(v) ~= "table" or target_of[v] ~= nil then return v end
    return view(v, M.path(name, k))
  end

  function view(t, name)
    local v = cache[t]
    if v ~= nil then return v end
    v = setmetatable({}, {
      __index = function(_, k) return wrap(t[k], name, k) end,
      __newindex = function(_, k, value)
        local path = M.path(name, k)
        local ok, why
        if writable then ok, why = writable(path, t, k, value) end
        if not ok then
          error(string.format("%s %s", path, why or M.READ_ONLY), M.blame_level())
        end
        t[k] = value
      end,
      __pairs = function()
        local function iter(_, k)
          local nk, nv = next(t, k)
          if nk == nil then return nil end
          return nk, wrap(nv, name, nk)
        end
        return iter, v, nil
      end,
      __len = function() return #t end,
      __tostring = function() return name end,
      __name = name,
      __metatable = false,
    })
    target_of[v] = t
    cache[t] = v
    return v
  end

  return view
end

return M
