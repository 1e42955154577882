--- Credentials: which token a request carries, whether it has expired, and the refresh of an
-- expired login token (reference §6.5). Built on astro.core.auth (token resolution and JWT
-- decoding in C). Tokens never appear in a message returned from here.
local core = require("astro.core.auth")
local json = require("astro.json")
local errors = require("astro.errors")
local sys = require("astro.core.sys")
local config = require("astro._core.config")
local secrets = require("astro._core.secrets")
local transport = require("astro._core.transport")

local M = {}

--- Seconds before expiry at which a login token is already treated as expired.
M.REFRESH_MARGIN = 300

--- The claims of a JWT (signature not verified), or nil, message.
---@param token string with or without "Bearer "
function M.claims(token)
  local _, payload = core.jwt_decode(token)
  if not payload then return nil, "the token is not a valid JWT" end
  local claims = json.decode(payload)
  if type(claims) ~= "table" then return nil, "the token's claims are not a JSON object" end
  return claims
end

-- Days since 1970-01-01 of a civil date (proleptic Gregorian).
local function _days_from_civil(y, m, d)
  y = m <= 2 and y - 1 or y
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local doy = (153 * (m + (m > 2 and -3 or 9)) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end

--- Parses an RFC 3339 timestamp ("2026-08-14T16:51:53.123456789-04:00", "...Z") into epoch
-- seconds, or nil.
---@param s string
---@return number|nil
function M.parse_time(s)
  if type(s) ~= "string" then return nil end
  local y, mo, d, h, mi, sec, frac, rest = s:match(
    "^%s*(%d%d%d%d)-(%d%d)-(%d%d)[Tt ](%d%d):(%d%d):(%d%d)(%.?%d*)(.-)%s*$")
  if not y then return nil end
  local offset = 0
  if rest == "Z" or rest == "z" then
    offset = 0
  else
    local sign, oh, om = rest:match("^([+-])(%d%d):?(%d%d)$")
    if not sign then return nil end
    offset = (tonumber(oh) * 3600 + tonumber(om) * 60) * (sign == "+" and 1 or -1)
  end
  y, mo, d, h, mi, sec = tonumber(y), tonumber(mo), tonumber(d), tonumber(h), tonumber(mi), tonumber(sec)
  if mo < 1 or mo > 12 or d < 1 or d > 31 or h > 23 or mi > 59 or sec > 60 then return nil end
  local t = _days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset
  if frac ~= "" and frac ~= "." then t = t + tonumber("0" .. frac) end
  return t
end

--- Formats epoch seconds as RFC 3339 in UTC.
function M.format_time(t)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(t))
end

--- The Astro organization an API token belongs to: its `organizationId:<id>` permission.
function M.token_organization(claims)
  for _, p in ipairs(type(claims.permissions) == "table" and claims.permissions or {}) do
    if type(p) == "string" then
      local id = p:match("^organizationId:(.+)$")
      if id then return id end
    end
  end
  return nil
end

local function _auth_error(message)
  return errors.new(message, { code = "auth" })
end

--- Checks the `domainUrl` an auth configuration names before the refresh token is posted to
-- it. For an Astro domain it must be https on that domain or one of its subdomains (whole
-- labels: auth.astronomer.io for astronomer.io); for the localhost context, the origin of the
-- context's API (local.core, which serves both). Returns the URL ending in "/", or nil, err.
---@param domain_url string
---@param domain string the context's domain
---@param api_base string the context's API base URL
function M.check_auth_url(domain_url, domain, api_base)
  local origin = transport.origin(domain_url)
  local url = domain_url:sub(-1) == "/" and domain_url or (domain_url .. "/")
  local why
  if not origin or domain_url:find("[?#%s%c]") then
    why = "it is not an http(s) URL"
  elseif domain == "localhost" then
    if origin ~= transport.origin(api_base) then why = "it is not the origin of local.core (" .. api_base .. ")" end
  else
    local base = config.astro_domain(domain)
    local host = origin:match("^https://([^:]+):%d+$")
    if not host then
      why = "it is not https"
    elseif not base or not (host == base or host:sub(-(#base + 1)) == "." .. base) then
      why = "it is not on " .. tostring(base or domain)
    end
  end
  if why then
    return nil, _auth_error(string.format(
      "cannot refresh your login token: the auth configuration names %s as the token endpoint, and %s; " ..
      "nothing was sent to it: run astro login again", domain_url:gsub("[%c]", "?"), why))
  end
  return url
end

-- What a token must look like to be saved and sent: header-safe characters only (no space,
-- quote or line break), and a sane length.
local function _token_shape(t)
  return type(t) == "string" and #t >= 8 and #t <= 16384 and t:match("^[%w%-._~+/=]+$") ~= nil
end

--- Refreshes an expired login token with the context's refresh token and saves the new one.
-- Returns the new "Bearer ..." header value or nil, err.
---@param cfg table astro.config Config
---@param ctx table the current context
function M.refresh(cfg, ctx)
  local refresh = ctx.refreshtoken
  if type(refresh) ~= "string" or refresh == "" then
    return nil, _auth_error(string.format(
      "your login to %s has expired and there is no refresh token: run astro login again, or set ASTRO_API_TOKEN",
      ctx.domain))
  end
  local res, err = transport.request({
    method = "GET", url = cfg:auth_config_url(ctx.domain),
    headers = { ["Content-Type"] = "application/json", ["X-Astro-Client-Identifier"] = "cli" },
  })
  if not res then return nil, _auth_error("cannot refresh your login token: " .. err.message) end
  local ac = res.status == 200 and json.decode(res.body)
  if type(ac) ~= "table" or type(ac.domainUrl) ~= "string" or type(ac.clientId) ~= "string" then
    return nil, _auth_error(string.format(
      "cannot refresh your login token: the auth configuration answered %d; run astro login again", res.status))
  end
  local function form(s) return (s:gsub("[^%w%-._~]", function(c) return string.format("%%%02X", c:byte()) end)) end
  local domain_url
  domain_url, err = M.check_auth_url(ac.domainUrl, ctx.domain, cfg:base_url(ctx.domain))
  if not domain_url then return nil, err end
  secrets.add(refresh)
  res, err = transport.request({
    method = "POST", url = domain_url .. "oauth/token", token_refresh = true,
    headers = { ["Content-Type"] = "application/x-www-form-urlencoded" },
    body = "client_id=" .. form(ac.clientId) .. "&grant_type=refresh_token&refresh_token=" .. form(refresh),
  })
  if not res then return nil, _auth_error("cannot refresh your login token: " .. err.message) end
  local tok = json.decode(res.body)
  if type(tok) ~= "table" or tok.error or type(tok.access_token) ~= "string" or tok.access_token == "" then
    local why = type(tok) == "table" and (tok.error_description or tok.error) or ("status " .. res.status)
    if type(why) ~= "string" then why = "status " .. res.status end
    return nil, _auth_error(string.format("your login has expired and could not be refreshed (%s): run astro login again",
      secrets.redact(why)))
  end
  if not _token_shape(tok.access_token) then
    return nil, _auth_error("your login could not be refreshed: the token endpoint answered a token that is not " ..
      "one (it was not saved): run astro login again")
  end
  secrets.add(tok.access_token)
  if tok.refresh_token ~= nil and tok.refresh_token ~= json.null and tok.refresh_token ~= "" then
    if not _token_shape(tok.refresh_token) then
      return nil, _auth_error("your login could not be refreshed: the token endpoint answered a refresh token " ..
        "that is not one (nothing was saved): run astro login again")
    end
    secrets.add(tok.refresh_token)
  end
  local expires_in = math.tointeger(tonumber(tok.expires_in))
  if expires_in == nil or expires_in < 0 or expires_in > 366 * 86400 then expires_in = 3600 end
  local header = "Bearer " .. tok.access_token
  local values = {
    token = header,
    expiresin = M.format_time(sys.time() + expires_in),
  }
  if type(tok.refresh_token) == "string" and tok.refresh_token ~= "" then
    values.refreshtoken = tok.refresh_token
  end
  local ok, werr = cfg:set_context(ctx.key, values)
  if not ok then return nil, werr end
  ctx.token, ctx.expiresin = values.token, values.expiresin
  return header
end

--- The credential for the current context: { header = "Bearer ...", source = "ASTRO_API_TOKEN"
-- | "config", organization = <from an API token's claims, or nil> }, or nil, err.
-- An expired login token is refreshed (and saved); an expired API token is an error.
---@param cfg table
---@param ctx table
function M.credential(cfg, ctx)
  local header, source = core.resolve(ctx.token)
  if not header then return nil, _auth_error(source) end
  secrets.add(header)
  secrets.add(ctx.token)
  secrets.add(ctx.refreshtoken)
  local now = sys.time()
  if source == "ASTRO_API_TOKEN" then
    local claims = M.claims(header)
    if not claims then
      return nil, _auth_error("API Token is invalid or malformed: ASTRO_API_TOKEN must hold an Astro API token (a JWT)")
    end
    if type(claims.exp) == "number" and claims.exp < now then
      return nil, _auth_error(string.format(
        "API Token is expired%s: create a new API token and set ASTRO_API_TOKEN to it",
        type(claims.apiTokenId) == "string" and (" (token " .. claims.apiTokenId .. ")") or ""))
    end
    return { header = header, source = source, organization = M.token_organization(claims), claims = claims }
  end
  local expires = M.parse_time(ctx.expiresin)
  if not expires then
    local claims = M.claims(header)
    expires = claims and type(claims.exp) == "number" and claims.exp or nil
  end
  if expires and now + M.REFRESH_MARGIN > expires then
    local fresh, err = M.refresh(cfg, ctx)
    if not fresh then return nil, err end
    header = fresh
  end
  return { header = header, source = source }
end

return M
