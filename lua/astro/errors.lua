--- Errors as values. Every expected failure in astro is returned as `nil, err` where err is an
-- astro.errors value: a table with `message` (what the user sees after "Error: ") and, when
-- known, `status` (HTTP status), `requestId` (the API's request id), `code` (a short kind:
-- "usage", "transport", "timeout", "interrupted", "api", "auth", "config", ...), `exit` (the
-- process exit status to use, default 1; 2 for code "usage"). A usage error is printed with a
-- second line, "Run '<command> --help' for usage.", unless its `hint` is false. tostring(err)
-- gives the message.
local M = {}

local Error = {}
Error.__index = Error
Error.__name = "astro.Error"
Error.__tostring = function(e) return e.message end

--- Makes an error value.
---@param message string
---@param fields? table extra fields (status, requestId, code, exit, ...)
---@return table
function M.new(message, fields)
  if type(message) ~= "string" then error("errors.new expects a message string", 2) end
  local e = { message = message }
  for k, v in pairs(fields or {}) do e[k] = v end
  return setmetatable(e, Error)
end

--- A usage error (exit status 2): bad flags or flag values, unknown command, wrong number of
-- arguments. Printed as "Error: <message>" and a line naming the command's --help.
function M.usage(message) return M.new(message, { code = "usage", exit = 2 }) end

--- Tells whether v is an astro error value.
function M.is(v) return getmetatable(v) == Error end

--- Turns anything returned as an error (string, error value, nil) into an error value.
function M.wrap(v)
  if M.is(v) then return v end
  if v == nil then return M.new("unknown error") end
  return M.new(tostring(v))
end

return M
