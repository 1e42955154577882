--- The debug trace of requests and responses (--verbosity debug, ASTRO_DEBUG): where its lines
-- go, and the redaction of secrets in what it shows.
local output = require("astro.output")
local secrets = require("astro._core.secrets")

local M = {}

local LINES = { lines = true }

--- The sink of trace lines: a function(line), or nil when tracing is off.
M.sink = nil

--- Sends trace lines to a stream (nil turns the trace off), shown through output.printable with
-- their lines kept: a response body can hold anything.
---@param stream? file*
function M.to(stream)
  M.sink = stream and function(line) stream:write(output.printable(line, LINES), "\n") end or nil
end

local SECRET_FIELDS = { "access_token", "refresh_token", "id_token", "token", "client_secret" }

--- Hides secrets in text meant for a trace: every secret this process knows
-- (astro._core.secrets: the credential, refresh tokens, tokens just minted) and any literal
-- one passed in, wherever a server echoed it, then JSON and form fields that hold tokens.
---@param text string
---@param extra? string[]
function M.redact(text, extra)
  if not text or text == "" then return text end
  text = secrets.redact(text, extra)
  for _, f in ipairs(SECRET_FIELDS) do
    text = text:gsub('("' .. f .. '"%s*:%s*")[^"]*"', '%1<redacted>"')
    text = text:gsub("([?&]?" .. f .. "=)[^&%s]*", "%1<redacted>")
  end
  return text
end

--- Traces a request about to be sent (its Authorization header redacted, and its value in
-- the body too).
function M.request(req)
  local sink = M.sink
  if not sink then return end
  sink(string.format("> %s %s", req.method or "GET", req.url))
  local secrets = {}
  for name, value in pairs(req.headers or {}) do
    if type(name) == "number" then name, value = value[1], value[2] end
    if name:lower() == "authorization" then
      secrets[#secrets + 1] = value
      value = "<redacted>"
    end
    sink(string.format("> %s: %s", name, value))
  end
  if req.body and req.body ~= "" then sink("> " .. M.redact(req.body, secrets)) end
end

--- Traces the outcome of a request: the response (its body redacted and cut at 2 KiB), or the
-- transport failure.
function M.response(req, res, err)
  local sink = M.sink
  if not sink then return end
  if res then
    sink(string.format("< %d %s %s (%.0f ms)", res.status, req.method or "GET", req.url, (res.time or 0) * 1000))
    local body = M.redact(res.body or "")
    if #body > 2048 then body = body:sub(1, 2048) .. "... (" .. #res.body .. " bytes)" end
    if body ~= "" then sink("< " .. body) end
  else
    sink(string.format("< failed %s %s: %s", req.method or "GET", req.url, M.redact(tostring(err))))
  end
end

--- Traces a free-form line (e.g. a retry about to wait).
function M.note(line)
  if M.sink then M.sink(line) end
end

return M
