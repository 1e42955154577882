-- `astro api`: one authenticated request to any Astro API v1 path of the current context, as
-- `gh api` does for GitHub: placeholders filled from the context, fields as a JSON body or a
-- query, pages followed, the answer filtered with jq. Public modules only: a plugin can write
-- the same command (docs/automation.md, "astro api").
local astro = require("astro")
local errors = require("astro.errors")
local json = require("astro.json")
local jq = require("astro.jq")
local output = require("astro.output")

local usage = errors.usage

-- Reason phrases of the statuses -i shows (others show the number alone).
local PHRASES = {
  [200] = "OK", [201] = "Created", [202] = "Accepted", [204] = "No Content", [400] = "Bad Request",
  [401] = "Unauthorized", [403] = "Forbidden", [404] = "Not Found", [405] = "Method Not Allowed",
  [409] = "Conflict", [422] = "Unprocessable Entity", [429] = "Too Many Requests",
  [500] = "Internal Server Error", [502] = "Bad Gateway", [503] = "Service Unavailable",
  [504] = "Gateway Timeout",
}

local METHODS = { GET = true, POST = true, PUT = true, PATCH = true, DELETE = true, HEAD = true, OPTIONS = true }

-- Reads stdin once for the whole command line (--input - and -F key=@- may not both take it).
local function _stdin_reader(ctx)
  local taken
  return function(what)
    if taken then return nil, usage(string.format("%s and %s both read standard input: only one may", taken, what)) end
    taken = what
    return ctx.stdin:read("a") or ""
  end
end

-- Reads a whole file for `what`, or nil, err.
local function _read_file(path, what)
  local f, msg = io.open(path, "rb")
  if not f then return nil, errors.new(string.format("cannot read %s: %s", what, msg)) end
  local data = f:read("a")
  f:close()
  if not data then return nil, errors.new("cannot read " .. what .. ": " .. path) end
  return data
end

-- The value of a -F field: true, false, null, a number, @file, @- (stdin), else the text.
local function _typed(value, key, stdin)
  if value == "true" then return true end
  if value == "false" then return false end
  if value == "null" then return json.null end
  if value:match("^%-?%d+$") then
    local n = math.tointeger(tonumber(value))
    if n then return n end
  end
  if value:match("^%-?%d+%.%d+$") or value:match("^%-?%d+%.?%d*[eE][+-]?%d+$") then return tonumber(value) end
  if value:sub(1, 1) == "@" then
    local path = value:sub(2)
    if path == "-" then return stdin("-F " .. key .. "=@-") end
    if path == "" then return nil, usage("-F " .. key .. "=@ names no file: use @FILE, or @- for standard input") end
    return _read_file(path, "the file of field " .. key)
  end
  return value
end

-- Splits a field key "a[b][]" into its name and its brackets { "b", "" }, or nil.
local function _key_parts(key)
  local name, rest = key:match("^([^%[%]]+)(.*)$")
  if not name then return nil end
  local parts = {}
  while rest ~= "" do
    local inner, after = rest:match("^%[([^%[%]]*)%](.*)$")
    if not inner then return nil end
    parts[#parts + 1] = inner
    rest = after
  end
  return name, parts
end

-- Sets a nested field of body as gh api does: a[b]=v in an object, a[]=v appended to a list;
-- after a[] a further key starts a new object when the last one already has it. Returns true,
-- or nil, err when a key is used both as a list and as an object or value.
local function _set_nested(body, key, value)
  local name, parts = _key_parts(key)
  if not name then return nil, usage(string.format("invalid field key %q: use name, name[key] or name[]", key)) end
  local path = { name }
  for _, p in ipairs(parts) do path[#path + 1] = p end
  local node = body
  local function clash() return nil, usage(string.format("field %s: %q is set as more than one kind of value",
    key, name)) end
  for i = 1, #path do
    local k, last = path[i], i == #path
    local next_k = path[i + 1]
    if k == "" then
      -- node is a list: append (last), or continue in its last object unless that has next_k.
      if last then
        node[#node + 1] = value
      else
        local tail = node[#node]
        if type(tail) ~= "table" or not json.is_object(tail) or (next_k ~= "" and tail[next_k] ~= nil) then
          tail = json.object()
          node[#node + 1] = tail
        end
        node = tail
      end
    elseif last then
      if value ~= nil and node[k] ~= nil and type(node[k]) == "table" then return clash() end
      if value == nil then
        if node[k] == nil then node[k] = json.array() end
      else
        node[k] = value
      end
    else
      local want_list = next_k == ""
      local child = node[k]
      if child == nil then
        child = want_list and json.array() or json.object()
        node[k] = child
      elseif type(child) ~= "table" or (json.is_object(child) == want_list) then
        return clash()
      end
      node = child
    end
  end
  return true
end

-- The fields of -f (strings) and -F (typed), in the order given: { key, value } pairs, or nil,
-- err. A -F key without "=" (name[]) is an empty list.
local function _fields(opts, stdin)
  local out = {}
  local function add(spec, typed)
    local key, value = spec:match("^([^=]*)=(.*)$")
    local flag = typed and "-F" or "-f"
    if not key then
      if typed and spec:match("%[%]$") then
        out[#out + 1] = { key = spec, value = nil }
        return true
      end
      return nil, usage(string.format("%s %q: a field is key=value", flag, spec))
    end
    if key == "" then return nil, usage(string.format("%s %q: the field has no key", flag, spec)) end
    if typed then
      local v, err = _typed(value, key, stdin)
      if v == nil then return nil, err end
      value = v
    end
    out[#out + 1] = { key = key, value = value }
    return true
  end
  for _, spec in ipairs(opts.raw_field) do
    local ok, err = add(spec, false)
    if not ok then return nil, err end
  end
  for _, spec in ipairs(opts.field) do
    local ok, err = add(spec, true)
    if not ok then return nil, err end
  end
  return out
end

-- A field value as query text.
local function _query_text(v)
  if v == json.null then return "null" end
  if type(v) == "boolean" then return v and "true" or "false" end
  return tostring(v)
end

-- Puts v under k in a query table: a key given again becomes a list of its values (sent as
-- the key repeated); list = true makes it a list from its first value.
local function _put(query, k, v, list)
  local prev = query[k]
  if prev == nil then query[k] = list and { v } or v
  elseif type(prev) == "table" then prev[#prev + 1] = v
  else query[k] = { prev, v } end
end

-- Adds fields to a query table: name[] repeats name, other keys are kept as typed.
local function _add_query(query, fields)
  for _, f in ipairs(fields) do
    if f.value ~= nil then
      _put(query, (f.key:gsub("%[%]$", "")), _query_text(f.value), f.key:match("%[%]$") ~= nil)
    end
  end
end

-- Percent-decodes a query component ("+" is a space).
local function _unescape(s)
  return (s:gsub("+", " "):gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

-- The headers of -H 'Name: value', or nil, err (Authorization and Host are refused).
local function _headers(list)
  local headers = {}
  for _, h in ipairs(list) do
    local name, value = h:match("^%s*([!#$%%&'*+%-.^_`|~%w]+)%s*:%s*(.-)%s*$")
    if not name then return nil, usage(string.format("-H %q: a header is 'Name: value'", h)) end
    local lower = name:lower()
    if lower == "authorization" then
      return nil, usage("-H cannot set Authorization: astro api sends the context's credential itself")
    end
    if lower == "host" then return nil, usage("-H cannot set Host: astro api sends only to the context's API") end
    if value:find("[%c]") then return nil, usage(string.format("-H %s: the value holds a control character", name)) end
    headers[name] = value
  end
  return headers
end

-- The path under the API base of a PATH argument: with or without its leading "/", or a full
-- URL under the client's own base. Splits off a query. Returns path, query table, or nil, err.
local function _path(arg, base_url)
  local p = arg
  if p:match("^%a[%w+.-]*://") then
    local base = base_url:gsub("/+$", "")
    if p:sub(1, #base) ~= base or not p:sub(#base + 1):match("^[/?]") and #p ~= #base then
      return nil, errors.new(string.format("astro api sends only to the API of the current context (%s); %s is not under it",
        base, output.printable(p)))
    end
    p = p:sub(#base + 1)
  end
  local query = {}
  local q = p:find("?", 1, true)
  if q then
    for pair in p:sub(q + 1):gmatch("[^&]+") do
      local k, v = pair:match("^([^=]*)=?(.*)$")
      _put(query, _unescape(k), _unescape(v))
    end
    p = p:sub(1, q - 1)
  end
  if p:find("#", 1, true) then return nil, errors.new("the path holds a fragment (#): leave it out") end
  p = "/" .. p:gsub("^/+", "")
  for seg in p:gmatch("[^/]+") do
    local s = seg:gsub("%%2[eE]", ".")
    if s == "." or s == ".." then
      return nil, errors.new("the path holds a \".\" or \"..\" segment: astro api reaches only paths under the API base")
    end
  end
  if p:find("[%c ]") then
    p = p:gsub("[%c ]", function(ch) return string.format("%%%02X", ch:byte()) end)
  end
  return p, query
end

-- Fills {organizationId} and {workspaceId} from the current context. Returns the path, or nil, err.
local function _fill(path)
  local failure
  local filled = path:gsub("{([%w_]+)}", function(name)
    if failure then return nil end
    if name == "organizationId" then
      local id, err = astro.organizations.current_id()
      if not id then failure = err return nil end
      return astro.escape_path(id)
    elseif name == "workspaceId" then
      local cur, err = astro.config.current_context()
      if not cur then failure = err return nil end
      local ws = cur.workspace
      if type(ws) ~= "string" or ws == "" then
        failure = errors.new("{workspaceId} needs a workspace, and the current context has none: set the context's " ..
          "workspace (astro workspace switch of the astro CLI) or write the workspace's id in the path",
          { code = "config" })
        return nil
      end
      return astro.escape_path(ws)
    end
    failure = usage(string.format("unknown placeholder {%s}: astro api fills {organizationId} and {workspaceId}", name))
  end)
  if failure then return nil, failure end
  return filled
end

-- Writers of the answer: JSON texts and raw strings, escaped on a terminal, byte for byte to a
-- file or a pipe; each text on its own line.
local function _writer(stream)
  local terminal = output.is_terminal(stream)
  local w = { terminal = terminal }
  -- Writes JSON text (pretty on a terminal) or any other body.
  function w.body(text, is_json)
    if text == "" then return end
    if terminal then
      if is_json then
        local pretty = jq.run(".", text, { pretty = true })
        if pretty then
          for _, t in ipairs(pretty) do stream:write(json.terminal_safe(t), "\n") end
          return
        end
      end
      text = output.printable(text, { lines = true })
    end
    stream:write(text)
    if text:sub(-1) ~= "\n" then stream:write("\n") end
  end
  -- Writes the outputs of a jq filter run with raw = true.
  function w.outputs(list)
    if terminal then
      for _, t in ipairs(list) do stream:write(output.printable(t, { lines = true }), "\n") end
    else
      if #list > 0 then stream:write(table.concat(list, "\n"), "\n") end
    end
  end
  -- Writes a status line and headers (sorted), then a blank line.
  function w.head(status, headers)
    local names = {}
    for k in pairs(headers) do names[#names + 1] = k end
    table.sort(names)
    local lines = { string.format("HTTP %d%s", status, PHRASES[status] and (" " .. PHRASES[status]) or "") }
    for _, k in ipairs(names) do lines[#lines + 1] = k .. ": " .. tostring(headers[k]) end
    local text = table.concat(lines, "\n")
    if terminal then text = output.printable(text, { lines = true }) end
    stream:write(text, "\n\n")
  end
  return w
end

-- Whether a response's content type is JSON.
local function _is_json(headers)
  return ((headers or {})["content-type"] or ""):lower():find("json", 1, true) ~= nil
end

-- --paginate: every page of an offset/limit/totalCount list, in order, streamed; or with
-- --slurp the items of all pages in one JSON array.
local function _paginate(ctx, path, query, headers, filter, opts, w)
  local size
  if query.limit ~= nil then
    size = math.tointeger(tonumber(query.limit))
    if not size or size < 1 then return nil, usage("--paginate: limit must be a positive integer") end
    query.limit = nil
  end
  if query.offset ~= nil then
    return nil, usage("--paginate starts at offset 0: leave offset out, or page by hand without --paginate")
  end
  local items_of = {}   -- list key -> jq filter giving each item's JSON text
  -- --slurp: the items' texts; held in memory for --jq or a terminal, else written as they come
  -- to a spool (a temporary file), so the array reaches stdout whole or not at all and memory
  -- stays flat.
  local parts = {}
  local spool = opts.slurp and not opts.silent and not filter and not w.terminal and output.spool(ctx.stdout) or nil
  local first = true
  if spool then spool:write("[") end
  local failure
  local count, err = astro.stream_list(path, nil, function(_, _, page)
    if failure then return end
    if opts.include then w.head(200, page.headers or {}) end
    if opts.slurp then
      local f = items_of[page.key]
      if not f then
        f = assert(jq.compile(".[$k][]", { k = page.key }))
        items_of[page.key] = f
      end
      local texts, jerr = f:run(page.body)
      if not texts then failure = jerr return end
      if spool then
        if #texts > 0 then
          spool:write(first and "" or ",", table.concat(texts, ","))
          first = false
        end
      else
        table.move(texts, 1, #texts, #parts + 1, parts)
      end
      return
    end
    if opts.silent then return end
    if filter then
      local out, jerr = filter:run(page.body, { raw = true })
      if not out then failure = jerr return end
      w.outputs(out)
    else
      w.body(page.body, true)
    end
  end, { query = query, page_size = size, raw = true, headers = headers })
  if not count or failure then
    if spool then spool:discard() end
    if not count then return nil, err end
    return nil, failure
  end
  if spool then
    spool:write("]\n")
    local ok, werr = spool:commit()
    if not ok then return nil, errors.new(werr) end
    return true
  end
  if opts.slurp and not opts.silent then
    local text = "[" .. table.concat(parts, ",") .. "]"
    parts = nil
    if filter then
      local out, jerr = filter:run(text, { raw = true })
      if not out then return nil, jerr end
      w.outputs(out)
    else
      w.body(text, true)
    end
  end
  return true
end

return {
  command = "api",
  use = "api PATH",
  short = "Make an authenticated request to the Astro API",
  long = "Make an authenticated request to any Astro API v1 path of the current context and print the answer. " ..
    "PATH is relative to the API base (https://api.<domain>/v1), with or without its leading /; " ..
    "{organizationId} and {workspaceId} are filled from the current context.\n\n" ..
    "-f key=value adds a string field, -F key=value a typed one: true, false, null and numbers become JSON " ..
    "values, @FILE the file's text, @- standard input. Keys nest as name[key]=value and name[]=value (a list). " ..
    "Fields go in a JSON body, or in the query string for GET or when --input gives the body. The method is GET, " ..
    "or POST when fields or --input are given (GET with --paginate); -X sets it.\n\n" ..
    "--paginate follows the pages of an offset/limit/totalCount list (largest pages, paced, in order), " ..
    "printing each page as it comes; --slurp prints the items of all pages as one JSON array instead. " ..
    "--jq filters each page (or the slurped array) with jq, strings printed raw.\n\n" ..
    "An answer that is not a success is printed too, then its message as an Error line, and the exit status " ..
    "is 1. With --dry-run a request that changes something is printed (method, path, body) and not sent; " ..
    "a GET is sent.",
  example = "  astro api /organizations/{organizationId}\n" ..
    "  astro api --paginate --jq '.users[].username' /organizations/{organizationId}/users\n" ..
    "  astro api --paginate --slurp organizations/{organizationId}/workspaces\n" ..
    "  astro api -X POST organizations/{organizationId}/teams -f name=Data -f 'memberIds[]=clxyz'\n" ..
    "  astro api -X DELETE organizations/{organizationId}/teams/clteam123 --dry-run",
  args = { min = 1, max = 1 },
  mutates = true,
  stdout_data = true, -- the answer: dry-run plan lines go to stderr
  flags = {
    { name = "method", short = "X", type = "string", default = "", help = "The HTTP method (default GET, or POST with fields or --input)" },
    { name = "raw-field", short = "f", type = "strings", help = "Add a string field key=value" },
    { name = "field", short = "F", type = "strings", help = "Add a typed field key=value (true, false, null, numbers, @FILE, @-)" },
    { name = "header", short = "H", type = "strings", help = "Add a request header 'Name: value' (not Authorization or Host)" },
    { name = "input", type = "string", default = "", help = "The request body from a file (- for standard input)" },
    { name = "include", short = "i", type = "bool", help = "Print the status line and response headers" },
    { name = "silent", type = "bool", help = "Do not print the response body" },
    { name = "paginate", type = "bool", help = "Follow every page of an offset/limit list" },
    { name = "slurp", type = "bool", help = "With --paginate: print the items of all pages as one JSON array" },
    { name = "jq", short = "q", type = "string", default = "", help = "Filter the answer with a jq expression" },
    { name = "rate-limit", type = "string", default = "",
      help = "Requests per second per method, e.g. GET=50 (the API's limits by default: GET=25,POST=10,DELETE=5)" },
  },
  run = function(opts, ctx)
    -- Everything that can be checked is checked before anything is sent.
    local method = opts.method:upper()
    local explicit = method ~= ""
    if explicit and not METHODS[method] then
      return nil, usage(string.format("-X %s: not an HTTP method (GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS)",
        output.printable(opts.method)))
    end
    if opts.slurp and not opts.paginate then return nil, usage("--slurp needs --paginate") end
    local filter
    if opts.jq ~= "" then
      local ferr
      filter, ferr = jq.compile(opts.jq)
      if not filter then
        if ferr.code == "jq_library" then return nil, errors.new("--jq: " .. ferr.message) end
        return nil, usage("--jq: " .. ferr.message)
      end
    end
    if opts.rate_limit ~= "" then
      local rates, rerr = astro.bulk.parse_rates(opts.rate_limit)
      if not rates then return nil, rerr end
      astro.bulk.rates = rates
    end
    local headers, herr = _headers(opts.header)
    if not headers then return nil, herr end
    local stdin = _stdin_reader(ctx)
    local fields, ferr = _fields(opts, stdin)
    if not fields then return nil, ferr end
    local body
    if opts.input ~= "" then
      local err
      if opts.input == "-" then body, err = stdin("--input -")
      else body, err = _read_file(opts.input, "--input " .. opts.input) end
      if not body then return nil, err end
    end
    if not explicit then method = (#fields > 0 or body ~= nil) and not opts.paginate and "POST" or "GET" end
    if opts.paginate and method ~= "GET" then return nil, usage("--paginate follows the pages of a GET only") end

    local client, cerr = ctx.api()
    if not client then return nil, cerr end
    local path, query = _path(opts.args[1], client.base_url)
    if not path then return nil, query end
    local perr
    path, perr = _fill(path)
    if not path then return nil, perr end

    if method == "GET" or method == "HEAD" or body ~= nil then
      _add_query(query, fields)
    elseif #fields > 0 then
      body = json.object()
      for _, f in ipairs(fields) do
        local ok, err = _set_nested(body, f.key, f.value)
        if not ok then return nil, err end
      end
    end
    local w = _writer(ctx.stdout)
    if opts.paginate then
      return _paginate(ctx, path, query, headers, filter, opts, w)
    end

    local res, err = astro.fetch(method, path, { query = query, body = body, headers = headers })
    if not res then return nil, err end
    if res.dry_run then return true end
    if opts.include then w.head(res.status, res.headers) end
    if not opts.silent then
      if filter and res.ok and res.body ~= "" then
        local out, jerr = filter:run(res.body, { raw = true })
        if not out then return nil, errors.new("--jq: " .. jerr.message) end
        w.outputs(out)
      else
        w.body(res.body, _is_json(res.headers))
      end
    end
    if not res.ok then
      -- The API's message, or for an answer without one (HEAD, a proxy's page) its status.
      local e = res.error
      local message = e.message
      if message:find("^failed to perform request") then
        message = "the API answered " .. res.status .. (PHRASES[res.status] and (" " .. PHRASES[res.status]) or "")
      end
      return nil, errors.new(string.format("%s (HTTP %d)", message, res.status),
        { status = res.status, requestId = e.requestId, code = "api" })
    end
    return true
  end,
}
