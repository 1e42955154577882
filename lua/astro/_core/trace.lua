--- The debug trace of requests and responses (--verbosity debug, ASTRO_DEBUG): where its lines
-- go, and the redaction of secrets in what it shows.
local output = require("astro.output")

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

--- Hides secrets in text meant for a trace: JSON fields and form fields that hold tokens,
-- and any literal secret passed in.
---@param text string
---@param secrets? string[]
function M.redact(text, secrets)
  if not text or text == "" then return text end
  for _, s in ipairs(secrets or {}) do
    if s and #s >= 4 then
      local i = 1
      repeat
        local a, b = text:find(s, i, true)
        if a then text = text:sub(1, a - 1) .. "<redacted>" .. text:sub(b + 1); i = a + 10 end
      until not a
    end
  end
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
    sink(string.format("< failed %s %s: %s", req.method or "GET", req.url, tostring(err)))
  end
end

--- Traces a free-form line (e.g. a retry about to wait).
function M.note(line)
  if M.sink then M.sink(line) end
end

return M
