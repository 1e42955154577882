--- Listings: every item of a paginated API v1 list (offset/limit/totalCount), streamed page by
-- page in API order or gathered, on the engine; and a page-by-page iterator.
local errors = require("astro.errors")
local json = require("astro.json")
local client_mod = require("astro._core.client")
local engine = require("astro._core.engine")
local pacer_mod = require("astro._core.pacer")

local M = {}

-- Listing -----------------------------------------------------------------------------------

--- Streams every item of a paginated list in API order: the first page (largest page size)
-- gives totalCount; the other pages are fetched concurrently, paced to the GET limit, and each
-- page is handed to on_page(items, offset) as soon as the pages before it have been. Memory
-- holds only the pages waiting for an earlier one. Returns the number of items, totalCount,
-- or nil, err.
---@param client table
---@param path string
---@param key string
---@param on_page fun(items: table[], offset: integer)
---@param opts? {query?: table, page_size?: integer, concurrency?: integer, rates?: table, pacer?: table}
function M.stream(client, path, key, on_page, opts)
  opts = opts or {}
  local size = opts.page_size or client_mod.MAX_PAGE_SIZE
  local pacer = opts.pacer or pacer_mod.new(opts.rates)
  local function query(offset)
    local q = {}
    for k, v in pairs(opts.query or {}) do q[k] = v end
    q.limit, q.offset = size, offset
    return q
  end
  local function items_of(data, offset)
    if type(data) ~= "table" or type(data[key]) ~= "table" then
      return nil, errors.new(string.format("the API answered a page (offset %d) without a %q list", offset, key),
        { code = "api" })
    end
    return data[key]
  end
  local first = engine.run(client, { { method = "GET", path = path, query = query(0) } }, { pacer = pacer })[1]
  if not first.ok then return nil, first.err end
  local list, err = items_of(first.data, 0)
  if not list then return nil, err end
  local total = math.tointeger(first.data.totalCount) or #list
  local step = #list
  local count = #list
  on_page(list, 0)
  if step == 0 or count >= total then return count, total end
  local jobs, offsets = {}, {}
  for offset = step, total - 1, step do
    jobs[#jobs + 1] = { method = "GET", path = path, query = query(offset) }
    offsets[#offsets + 1] = offset
  end
  local waiting, next_index, failure = {}, 1, nil
  engine.run(client, jobs, {
    pacer = pacer, concurrency = opts.concurrency or 8, discard = true,
    on_result = function(i, result)
      if failure then return end
      if not result.ok then failure = result.err return end
      local items, ierr = items_of(result.data, offsets[i])
      if not items then failure = ierr return end
      waiting[i] = items
      while waiting[next_index] do
        local page = waiting[next_index]
        waiting[next_index] = nil
        count = count + #page
        on_page(page, offsets[next_index])
        next_index = next_index + 1
      end
    end,
  })
  if failure then return nil, failure end
  return count, total
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
  local page, i, offset, total, failed = nil, 0, 0, nil, false
  return function()
    if failed then return nil end
    if page == nil or i >= #page then
      if page ~= nil and (#page == 0 or (total and offset >= total)) then return nil end
      local q = {}
      for k, v in pairs(opts.query or {}) do q[k] = v end
      q.limit, q.offset = size, offset
      local data, err = client:request("GET", path, { query = q })
      if not data then failed = true return false, err end
      if type(data) ~= "table" or type(data[key]) ~= "table" then
        failed = true
        return false, errors.new(string.format("the API answered a page without a %q list", key), { code = "api" })
      end
      page, i = data[key], 0
      total = math.tointeger(data.totalCount) or total
      offset = offset + #page
      if #page == 0 then return nil end
    end
    i = i + 1
    return page[i]
  end
end

return M
