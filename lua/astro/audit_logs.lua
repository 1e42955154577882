--- astro.audit_logs: the audit logs of an organization, as the gzip file
-- `astro organization audit-logs export` writes.
--
--   local path, bytes = assert(astro.audit_logs.export({ days = 7 }))
--   local gz = assert(astro.audit_logs.fetch({ organization = "Acme Data Platform", days = 30 }))
--
-- The API answers NDJSON (one JSON event per line), gzip-compressed in production. What is
-- kept is gzip whatever the transfer: a body that starts with the gzip magic bytes (1f 8b) is
-- kept as it is, anything else (libcurl decodes a Content-Encoding: gzip answer, a server may
-- answer plain) is gzip-compressed first.
--
-- Built on the public API (require("astro")), the client's raw sending (the answer is not
-- JSON), astro.core.gzip and astro.core.sys (the file is written into a temporary file created
-- exclusively beside the target, then renamed over it).
local astro = require("astro")
local errors = require("astro.errors")
local client_mod = require("astro._core.client")
local gzip = require("astro.core.gzip")
local sys = require("astro.core.sys")

local M = {}

--- The days back an export may start from (the astro CLI's help: minimum 1, maximum 90).
M.MIN_DAYS, M.MAX_DAYS, M.DEFAULT_DAYS = 1, 90, 1
--- The longest answer accepted, in bytes (the NDJSON as received): 1 GiB.
M.MAX_BODY = 1024 * 1024 * 1024
--- The least time the request is given, in seconds (astro.http.policy.timeout when longer, or
-- none when that is 0): a server may take long to gather 90 days of events.
M.MIN_TIMEOUT = 600
--- The mode of the file written: audit logs say who did what, for the owner's eyes only.
M.FILE_MODE = 384 -- 0600

--- Checks a number of days: an integer from 1 to 90 (nil gives the default, 1). Returns it or
-- nil, a usage error.
---@param days any
function M.check_days(days)
  if days == nil then return M.DEFAULT_DAYS end
  local n = type(days) == "number" and math.tointeger(days) or nil
  if not n or n < M.MIN_DAYS or n > M.MAX_DAYS then
    return nil, errors.usage(string.format("--include must be a number of days from %d to %d, not %s",
      M.MIN_DAYS, M.MAX_DAYS, tostring(days)))
  end
  return n
end

-- Local time `secs` minus `days` calendar days (the same wall-clock time; mktime settles a
-- daylight-saving change), keeping the fraction of a second.
local function _days_before(secs, days)
  local whole = math.floor(secs)
  local t = os.date("*t", whole)
  t.day, t.isdst = t.day - days, nil
  return os.time(t) + (secs - whole)
end

-- The local UTC offset at `whole` seconds as RFC 3339 wants it: "Z" or "+hh:mm".
local function _offset(whole)
  local z = os.date("%z", whole)
  if z == "+0000" or z == "-0000" or not z:match("^[+-]%d%d%d%d$") then return "Z" end
  return z:sub(1, 3) .. ":" .. z:sub(4, 5)
end

--- The startDate of an export of `days` days: now (sys.time(), or `now` seconds) minus that
-- many calendar days in local time, as RFC 3339 with up to nine digits of fraction (trailing
-- zeros dropped) and the local offset, e.g. "2026-12-05T08:04:53.123456789+01:00".
---@param days integer
---@param now? number
function M.start_date(days, now)
  local t = _days_before(now or sys.time(), days)
  local whole = math.floor(t)
  local ns = math.floor((t - whole) * 1e9 + 0.5)
  if ns >= 1000000000 then ns = 999999999 end
  local frac = ns > 0 and ("." .. string.format("%09d", ns):gsub("0+$", "")) or ""
  return os.date("%Y-%m-%dT%H:%M:%S", whole) .. frac .. _offset(whole)
end

--- The file name the astro CLI gives an export: "<organization name lower-cased, spaces
-- removed>-logs-<days>-day[s]-<YYYYMMDD, local today>.ndjson.gz". A "/" or a control
-- character of the name becomes "_", so the name is always one file in the current folder.
---@param org_name string
---@param days integer
---@param now? number
function M.default_file_name(org_name, days, now)
  local name = tostring(org_name or ""):lower():gsub(" ", ""):gsub("[%c/]", "_")
  return string.format("%s-logs-%d-%s-%s.ndjson.gz", name, days, days > 1 and "days" or "day",
    os.date("%Y%m%d", math.floor(now or sys.time())))
end

--- The organization of an export: opts.organization_id as it is; opts.organization, a name,
-- matched exactly against the organizations the credential sees ("invalid organization name"
-- when none has it); else the current organization, its name looked up only when opts.name
-- is true ("" when the list does not hold it). Returns id, name or nil, err.
---@param opts? {organization?: string, organization_id?: string, name?: boolean}
function M.organization(opts)
  opts = opts or {}
  if opts.organization_id and opts.organization_id ~= "" then
    return opts.organization_id, opts.organization or ""
  end
  local wanted = opts.organization ~= nil and opts.organization ~= "" and opts.organization or nil
  local id, err
  if not wanted then
    id, err = astro.organizations.current_id()
    if not id then return nil, err end
    if not opts.name then return id, nil end
    -- Looked up already (--organization, ASTRO_ORGANIZATION): its name is known.
    local c = astro.client()
    if c and c.organization == id and type(c.organization_name) == "string" then return id, c.organization_name end
  end
  local orgs
  orgs, err = astro.organizations.list()
  if not orgs then return nil, err end
  local found
  for _, o in ipairs(orgs) do
    if wanted and o.name == wanted then found = o end
    if not wanted and o.id == id then found = o end
  end
  if wanted then
    if not found then return nil, errors.new("invalid organization name", { code = "not_found" }) end
    return found.id, found.name
  end
  return id, found and type(found.name) == "string" and found.name or ""
end

-- GET /organizations/{id}/audit-logs?startDate=...: the body as received, or nil, err.
local function _get(org_id, start)
  local c, err = astro.client()
  if not c then return nil, err end
  local timeout = astro.http.policy.timeout
  if timeout ~= 0 then timeout = math.max(timeout, M.MIN_TIMEOUT) end
  local req = client_mod.build(c, "GET", "/organizations/" .. client_mod.escape_path(org_id) .. "/audit-logs",
    { query = { startDate = start }, timeout = timeout })
  req.max_body = M.MAX_BODY
  local res
  res, err = client_mod.send(c, req)
  if not res then return nil, err end
  if res.status ~= 200 and res.status ~= 204 then
    local _, derr = client_mod.decode_response(res)
    return nil, derr
  end
  -- A web page (a proxy's or a portal's sign-in page) is not audit logs: never saved as them.
  local ctype = res.headers and res.headers["content-type"] or ""
  if ctype:lower():find("^%s*text/html") then
    return nil, errors.new(string.format("the API answered %d with a %s body instead of audit logs", res.status,
      ctype), { status = res.status, requestId = res.headers["x-request-id"], code = "api" })
  end
  return res.body or ""
end

--- The audit logs of an organization since `days` days ago, gzip-compressed (the bytes of
-- the file an export writes). opts.organization: the organization's name (default: the
-- current organization), or opts.organization_id; opts.days (1-90, default 1). Returns the
-- gzip bytes and { organization_id, start_date, gzipped = whether the API's bytes were
-- already gzip }, or nil, err.
---@param opts? {organization?: string, organization_id?: string, days?: integer}
function M.fetch(opts)
  opts = opts or {}
  local days, err = M.check_days(opts.days)
  if not days then return nil, err end
  local id
  id, err = M.organization({ organization = opts.organization, organization_id = opts.organization_id })
  if not id then return nil, err end
  local start = M.start_date(days)
  local body
  body, err = _get(id, start)
  if not body then return nil, err end
  local gzipped = gzip.is_gzip(body)
  return gzipped and body or gzip.compress(body), { organization_id = id, start_date = start, gzipped = gzipped }
end

-- Checks that path can take the file, before anything is sent: not a folder or anything but a
-- regular file (a symbolic link is replaced, never followed), and a new file can be made
-- beside it. Returns the open temporary file and its name, or nil, err.
local function _prepare(path)
  local st = sys.stat(path, false)
  if st and st.type ~= "file" and st.type ~= "link" then
    return nil, errors.new(string.format("cannot write the audit logs to %s: it is a %s, not a file; give " ..
      "another path with --output-file", path, st.type == "directory" and "folder" or "special file"),
      { code = "io" })
  end
  local f, tmp = sys.create_temp(path, M.FILE_MODE)
  if not f then
    local why = tostring(tmp):match("%.astro%-tmp%-%x+: (.*)$") or tostring(tmp)
    return nil, errors.new(string.format("cannot write the audit logs to %s: %s; give a path you can write " ..
      "with --output-file", path, why), { code = "io" })
  end
  return f, tmp
end

--- Exports the audit logs of an organization to a gzip file (NDJSON inside). opts.path
-- (default: M.default_file_name in the current folder); opts.organization (a name) or
-- opts.organization_id, opts.days as for M.fetch. The path is checked before the logs are
-- asked for; the file is written into a new temporary file beside it (mode 0600, created
-- exclusively) and renamed over it only once whole, so a failure leaves what was there.
-- Returns the path and the number of bytes written, or nil, err.
---@param opts? {organization?: string, organization_id?: string, days?: integer, path?: string}
function M.export(opts)
  opts = opts or {}
  local days, err = M.check_days(opts.days)
  if not days then return nil, err end
  local path = opts.path ~= nil and opts.path ~= "" and opts.path or nil
  local f, tmp
  if path then
    f, tmp = _prepare(path)
    if not f then return nil, tmp end
  end
  local id, name = M.organization({ organization = opts.organization, organization_id = opts.organization_id,
    name = path == nil })
  if id and not path then
    path = M.default_file_name(name, days)
    f, tmp = _prepare(path)
    if not f then return nil, tmp end
  end
  local function fail(e)
    if f then f:close() end
    if tmp then os.remove(tmp) end
    return nil, e
  end
  if not id then return fail(name) end
  local body
  body, err = _get(id, M.start_date(days))
  if not body then return fail(err) end
  if not gzip.is_gzip(body) then body = gzip.compress(body) end
  local ok, werr = f:write(body)
  if ok then ok, werr = f:close() end
  f = nil
  if ok then ok, werr = os.rename(tmp, path) end
  if not ok then
    return fail(errors.new("cannot write the audit logs to " .. path .. ": " .. tostring(werr), { code = "io" }))
  end
  return path, #body
end

return M
