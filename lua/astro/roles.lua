--- Organization roles: the three a user can be given from the command line, and their check.
-- Every command that takes a role validates it here before any request is sent.
local errors = require("astro.errors")

local M = {}

--- The roles accepted, in the astro CLI's order. ORGANIZATION_MEMBER is the default.
M.VALID = { "ORGANIZATION_MEMBER", "ORGANIZATION_BILLING_ADMIN", "ORGANIZATION_OWNER" }
M.DEFAULT = "ORGANIZATION_MEMBER"

--- The astro CLI's message for a role that is not one of M.VALID (its trailing space included).
M.INVALID_MESSAGE = "requested role is invalid. Possible values are ORGANIZATION_MEMBER, " ..
  "ORGANIZATION_BILLING_ADMIN and ORGANIZATION_OWNER "

local valid = {}
for _, r in ipairs(M.VALID) do valid[r] = true end

--- Tells whether role is one of the valid roles (exactly, case included).
---@param role any
---@return boolean
function M.is_valid(role) return valid[role] == true end

--- Checks a role. Returns the role, or nil and an error with the astro CLI's message. With
-- from_flag (the role came from a command-line flag such as --role), the error is a usage
-- error (exit 2); else (a file's row, a prompt's answer, a script's value) code "role".
---@param role any
---@param from_flag? boolean
---@return string|nil role
---@return table|nil err
function M.validate(role, from_flag)
  if valid[role] then return role end
  if from_flag then return nil, errors.usage(M.INVALID_MESSAGE) end
  return nil, errors.new(M.INVALID_MESSAGE, { code = "role" })
end

return M
