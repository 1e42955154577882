-- Builds unsigned JWT-shaped tokens for specs: jwt.make(claims) -> "header.payload.sig".
local json = require("astro.json")

local M = {}

local ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

--- base64url without padding.
function M.b64url(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local chars = 2 + (b and 1 or 0) + (c and 1 or 0)
    for k = 1, chars do
      local idx = (n >> (18 - 6 * (k - 1))) & 63
      out[#out + 1] = ALPHABET:sub(idx + 1, idx + 1)
    end
  end
  return table.concat(out)
end

--- A JWT with the given claims and a fake signature.
function M.make(claims)
  return M.b64url('{"alg":"none","typ":"JWT"}') .. "." .. M.b64url(json.encode(claims)) .. ".c2lnbmF0dXJl"
end

return M
