--- The secrets of this process (the credential in use, a refresh token, a token just minted),
-- kept so that every text meant for a person or a log can be cleaned of them: the debug trace,
-- the API's error messages (a server may echo the token it was sent), `Error:` lines and
-- reports. Secrets are registered as they become known; redact() replaces every occurrence
-- with <redacted>.
local M = {}

local known = {}   -- secret -> true
local list = {}    -- longest first, so a token is replaced whole before any part of it

-- The shortest text treated as a secret: shorter ones would redact ordinary words.
local MIN_LENGTH = 8

local function _add(s)
  if type(s) ~= "string" or #s < MIN_LENGTH or known[s] then return end
  known[s] = true
  list[#list + 1] = s
  table.sort(list, function(a, b) return #a > #b end)
end

--- Registers a secret: a bearer value ("Bearer <token>") registers the token too, and a JWT
-- each of its parts (a server may echo only the payload or the signature).
---@param s string|nil
function M.add(s)
  if type(s) ~= "string" then return end
  _add(s)
  local token = s:match("^[Bb]earer%s+(.+)$") or s
  _add(token)
  local a, b, c = token:match("^([%w_-]+)%.([%w_-]+)%.([%w_-]+)$")
  if a then
    -- The header of a JWT is the same for many tokens ({"alg":...}): not a secret by itself.
    _add(b)
    _add(c)
  end
end

-- Replaces every plain occurrence of s in text with "<redacted>".
local function _replace(text, s)
  local out, i = {}, 1
  while true do
    local a, b = text:find(s, i, true)
    if not a then break end
    out[#out + 1] = text:sub(i, a - 1)
    out[#out + 1] = "<redacted>"
    i = b + 1
  end
  if i == 1 then return text end
  out[#out + 1] = text:sub(i)
  return table.concat(out)
end

--- text with every registered secret (and the extra ones given) replaced by <redacted>.
---@param text any non-strings are returned as they are
---@param extra? string[]
function M.redact(text, extra)
  if type(text) ~= "string" or text == "" then return text end
  for _, s in ipairs(extra or {}) do
    if type(s) == "string" and #s >= 4 then text = _replace(text, s) end
  end
  for _, s in ipairs(list) do text = _replace(text, s) end
  return text
end

return M
