--- Listings: every item of a paginated API v1 list (offset/limit/totalCount), streamed page by
-- page in API order or gathered, on the engine; and a page-by-page iterator.
local errors = require("astro.errors")
local json = require("astro.json")
local client_mod = require("astro._core.client")
local engine = require("astro._core.engine")
local secrets = require("astro._core.secrets")

local M = {}

-- Listing -----------------------------------------------------------------------------------

--- The most pages one listing fetches before it stops with an error (a server whose answers
-- never end).
M.MAX_PAGES = 100000

-- The query of the page at offset: opts.query with limit and offset.
local function _page_query(query, size, offset)
  local q = {}
  for k, v in pairs(query or {}) do q[k] = v end
  q.limit, q.offset = size, offset
  return q
end

-- The error of a listing that passed its page cap.
local function _cap_error(path, max_pages, latest)
  return errors.new(string.format("the listing of %s passed %d pages and the API's answers still do not end " ..
    "(totalCount %s); stopped", path, max_pages, tostring(latest)), { code = "api" })
end

-- The error of a page holding n items at offset, past where the list ended.
local function _disagree(ended_at, offset, n)
  return errors.new(string.format("the API's pages disagree: the page at offset %d was empty but " ..
    "the one at offset %d holds %d items; list again", ended_at, offset, n), { code = "api" })
end

-- What a JSON value is, in words, for an error naming a value of the wrong type.
local function _kind(v)
  if v == nil or v == json.null then return "null" end
  if type(v) == "table" then
    if json.is_object(v) or (next(v) ~= nil and #v == 0) then return "an object" end
    return "a list"
  end
  if type(v) == "string" then return "a string" end
  if type(v) == "boolean" then return "a boolean" end
  return "a number"
end

--- The field of a list page that holds its items, for a listing whose key is not given: the
-- last segment of path when the page holds a list there (".../users" -> "users"), else the one
-- field of the page that holds a list. Returns the key, or nil, err naming why none can be told.
---@param path string
---@param data any the decoded first page
function M.list_key(path, data)
  if _kind(data) ~= "an object" then
    return nil, errors.new("the API answered a page that is " .. _kind(data) .. ", not an object", { code = "api" })
  end
  local last = path:gsub("%?.*$", ""):match("([^/]+)/*$")
  if last and _kind(data[last]) == "a list" then return last end
  local found = {}
  for k, v in pairs(data) do
    if type(k) == "string" and _kind(v) == "a list" then found[#found + 1] = k end
  end
  table.sort(found)
  if #found == 1 then return found[1] end
  if #found == 0 then
    return nil, errors.new("the answer holds no list to page through (no field of the page is a list)",
      { code = "api" })
  end
  return nil, errors.new("the answer holds several lists (" .. table.concat(found, ", ") ..
    "): cannot tell which one to page through", { code = "api" })
end

-- The raw record of a page for a raw listing: its decoded data, its text and its headers
-- (values), both cleaned of this process's secrets, and the list's key.
local function _raw(result, key)
  local headers = {}
  for k, v in pairs(result.headers or {}) do headers[k] = secrets.redact(v) end
  return { data = result.data, body = secrets.redact(result.body), headers = headers, key = key }
end

-- Checks the shape of a page as it comes in: an object whose `key` is a list of objects and
-- whose totalCount, when present, is a non-negative integer. Returns the items and the total
-- (nil when the page has none), or nil, err naming what was wrong.
local function _page(data, key, where)
  local function bad(what)
    return nil, errors.new(string.format("the API answered a page%s %s", where, what), { code = "api" })
  end
  if _kind(data) ~= "an object" then return bad("that is " .. _kind(data) .. ", not an object") end
  local items = data[key]
  if items == nil or items == json.null then return bad(string.format("without a %q list", key)) end
  if _kind(items) ~= "a list" then
    return bad(string.format("whose %q is %s, not a list", key, _kind(items)))
  end
  for i = 1, #items do
    if _kind(items[i]) ~= "an object" then
      return bad(string.format("whose %q item %d is %s, not an object", key, i, _kind(items[i])))
    end
  end
  local t = data.totalCount
  if t == nil or t == json.null then return items, nil end
  local n = type(t) == "number" and math.tointeger(t) or nil
  if not n or n < 0 then
    return bad(string.format("whose totalCount is %s, not a non-negative integer",
      type(t) == "table" and _kind(t) or json.encode(t)))
  end
  return items, n
end

--- Streams every item of a paginated list in API order. The first page (largest page size)
-- gives totalCount and the page size the server really serves; the other pages are fetched
-- concurrently on the engine (paced by the client's pacer, a refused page retried in its
-- place), at most `window` pages ahead of the last one handed over, so memory holds at most
-- that many pages whatever the list's size. Each page goes to on_page(items, offset) as soon
-- as the pages before it have. The listing ends at the first page's totalCount, followed once
-- further when a later page reports more (a list that grows while it is paged is listed up to
-- what the last page reported, not followed forever), or earlier at an empty page (a count
-- that overstated). Returns the number of items and the last totalCount, or nil, err (the
-- API's error, or one saying how the server's answers were inconsistent).
---@param client table
---@param path string
---@param key string
---@param on_page fun(items: table[], offset: integer)
-- opts.on_first_page(data), when given, gets the whole first page (fields beside the list,
-- such as the defaultRoles of a roles listing) before its items are handed over. With
-- opts.raw, on_page gets a third argument { data = the decoded page, body = its text as the
-- API sent it, headers = its response headers, key = the list's field } (body and header
-- values cleaned of this process's secrets). key nil: the list's field is told from the first page (M.list_key). opts.headers:
-- request headers every page request carries.
---@param opts? {query?: table, page_size?: integer, concurrency?: integer, window?: integer, max_pages?: integer, pacer?: table, policy?: table, on_first_page?: fun(data: table), raw?: boolean, headers?: table}
function M.stream(client, path, key, on_page, opts)
  opts = opts or {}
  local size = opts.page_size or client_mod.MAX_PAGE_SIZE
  local concurrency = opts.concurrency or 8
  local window = opts.window or 2 * concurrency
  local max_pages = opts.max_pages or M.MAX_PAGES
  local step                 -- items per page the server serves (known after the first page)
  local plan_end             -- offset the plan stops at (nil: not known yet)
  local extended = false     -- the plan was followed once past the first totalCount
  local latest               -- the last totalCount seen
  local next_offset = 0      -- the next page to plan
  local deliver = 0          -- the offset of the next page to hand over
  local stop_at              -- an empty page came at this offset: nothing is planned past it
  local waiting = {}         -- offset -> { items, raw }, pages come before an earlier one
  local pages, count, failure = 0, 0, nil

  local function fail(err) if not failure then failure = err end end

  local function feed()
    if failure then return nil end
    if next_offset > 0 and not step then return nil end          -- the first page is out
    local limit = stop_at or plan_end
    if limit and next_offset >= limit then
      -- The plan is done: follow a count that grew, once, when every page is in.
      if stop_at or extended or deliver < next_offset or not latest or latest <= plan_end then return nil end
      extended = true
      plan_end = latest
      if next_offset >= plan_end then return nil end
    end
    if step and next_offset >= deliver + window * step then return nil end
    if pages >= max_pages then
      fail(_cap_error(path, max_pages, latest))
      return nil
    end
    pages = pages + 1
    local offset = next_offset
    next_offset = next_offset + (step or size)
    return { offset = offset, job = { method = "GET", path = path, query = _page_query(opts.query, size, offset),
                                      headers = opts.headers } }
  end

  local function deliver_ready()
    while waiting[deliver] and not failure do
      local page = waiting[deliver]
      waiting[deliver] = nil
      count = count + #page.items
      on_page(page.items, deliver, page.raw)
      deliver = deliver + step
    end
  end

  local function on_final(item, result)
    if failure then return end
    local offset = item.offset
    if not result.ok then return fail(result.err) end
    if not key then
      local k, kerr = M.list_key(path, result.data)
      if not k then return fail(kerr) end
      key = k
    end
    local items, total = _page(result.data, key, string.format(" (offset %d)", offset))
    if not items then return fail(total) end
    if #items > size then
      return fail(errors.new(string.format("the API answered %d items for a page of at most %d (offset %d)",
        #items, size, offset), { code = "api" }))
    end
    latest = total or latest
    if not step then
      -- The first page: the server's page size and the plan.
      if opts.on_first_page then opts.on_first_page(result.data) end
      if #items == 0 then
        step, plan_end = size, 0
        -- A raw listing shows every page it got, an empty first page too.
        if opts.raw then on_page(items, 0, _raw(result, key)) end
        return
      end
      step = #items
      plan_end = latest or math.huge
      next_offset = step
      count = #items
      on_page(items, 0, opts.raw and _raw(result, key) or nil)
      deliver = step
      if #items < size and not latest then plan_end = #items end   -- a short first page without a count: all
      return
    end
    if stop_at and offset >= stop_at then
      if #items > 0 then return fail(_disagree(stop_at, offset, #items)) end
      return
    end
    if #items == 0 then
      -- The count overstated (or the list shrank): the list ends here.
      stop_at = offset
      for o, page in pairs(waiting) do
        if o > offset then return fail(_disagree(offset, o, #page.items)) end
      end
      return
    end
    if #items < step then
      -- A short page is the last one: nothing past it is planned.
      stop_at = offset + step
    end
    waiting[offset] = { items = items, raw = opts.raw and _raw(result, key) or nil }
    deliver_ready()
  end

  local stopped = engine.drive(client, {
    pacer = opts.pacer, policy = opts.policy, concurrency = concurrency, raw = opts.raw,
    feed = feed, on_final = on_final,
  })
  if stopped then return nil, stopped end
  if failure then return nil, failure end
  deliver_ready()
  return count, latest or count
end

--- Every item of a paginated list, in API order (see M.stream). Returns items, totalCount or
-- nil, err.
---@param client table
---@param path string
---@param key string the list's field in the page, e.g. "users"
---@param opts? {query?: table, page_size?: integer, concurrency?: integer}
function M.all(client, path, key, opts)
  local items = json.array({})
  local count, total_or_err = M.stream(client, path, key, function(page)
    table.move(page, 1, #page, #items + 1, items)
  end, opts)
  if not count then return nil, total_or_err end
  return items, total_or_err
end

--- Iterates a paginated list page by page, fetching each page when needed through
-- client:request: `for item, err in listing.each(client, path, key) do ... end`. On a failure
-- it yields false, err once and stops.
---@param client table
---@param path string
---@param key string
---@param opts? {query?: table, page_size?: integer}
function M.each(client, path, key, opts)
  opts = opts or {}
  local size = opts.page_size or client_mod.MAX_PAGE_SIZE
  local max_pages = opts.max_pages or M.MAX_PAGES
  local page, i, offset, failed, pages = nil, 0, 0, false, 0
  local plan_end, latest, extended = nil, nil, false
  local function failure(err)
    failed = true
    return false, err
  end
  return function()
    if failed then return nil end
    if page == nil or i >= #page then
      if page ~= nil then
        if #page == 0 then return nil end
        if plan_end and offset >= plan_end then
          -- Follow a count that grew while the list was paged, once.
          if extended or not latest or latest <= plan_end then return nil end
          extended, plan_end = true, latest
        end
      end
      if pages >= max_pages then
        return failure(_cap_error(path, max_pages, latest))
      end
      pages = pages + 1
      local data, err = client:request("GET", path, { query = _page_query(opts.query, size, offset) })
      if not data then return failure(err) end
      local items, total = _page(data, key, string.format(" (offset %d)", offset))
      if not items then return failure(total) end
      page, i = items, 0
      latest = total or latest
      if not plan_end then plan_end = latest or math.huge end
      offset = offset + #page
      if #page == 0 then return nil end
    end
    i = i + 1
    return page[i]
  end
end

return M
