--- Email addresses given on the command line: normalised (trimmed, lower-cased) and checked
-- before any request is sent, so a typo never reaches the API.
local errors = require("astro.errors")

local M = {}

M.MAX_LENGTH = 254

--- Makes text safe to show in a message: control characters escaped, long text cut.
function M.printable(s)
  s = s:gsub("[%c\127]", function(c) return string.format("\\x%02x", c:byte()) end)
  if #s > 80 then s = s:sub(1, 77) .. "..." end
  return s
end

local function _invalid(s, why)
  return nil, errors.new(string.format('invalid email address "%s": %s', M.printable(s), why),
    { code = "email" })
end

--- Normalises and checks an email address. Returns the address lower-cased, or nil, err.
---@param s string
---@return string|nil
---@return table|nil err
function M.normalize(s)
  if type(s) ~= "string" then return _invalid(tostring(s), "not text") end
  local e = s:match("^%s*(.-)%s*$")
  if e:find("[%c\127]") then return _invalid(s, "it contains control characters") end
  if e:find("[\128-\255]") then return _invalid(s, "only ASCII addresses are supported") end
  if e:find("%s") then return _invalid(s, "it contains spaces") end
  if #e > M.MAX_LENGTH then return _invalid(s, "longer than " .. M.MAX_LENGTH .. " characters") end
  local localpart, domain = e:match("^([^@]+)@([^@]+)$")
  if not localpart then return _invalid(s, "expected one @ between a name and a domain, like name@example.com") end
  if #localpart > 64 then return _invalid(s, "the part before @ is longer than 64 characters") end
  if not localpart:match("^[%w.!#$%%&'*+/=?^_`{|}~-]+$") or localpart:find("^%.") or
     localpart:find("%.$") or localpart:find("%.%.") then
    return _invalid(s, "the part before @ has characters an address cannot have")
  end
  if not domain:find(".", 1, true) then return _invalid(s, "the domain after @ has no dot") end
  for label in (domain .. "."):gmatch("([^.]*)%.") do
    if label == "" or #label > 63 or not label:match("^[%w-]+$") or label:find("^%-") or label:find("%-$") then
      return _invalid(s, "the domain after @ is not a valid domain name")
    end
  end
  return e:lower()
end

return M
