--- The retry and timeout defaults of every request. One table, public as astro.http.policy:
-- the transport, the retry rules and the engine read it at each use, so a change made by a
-- script or a plugin holds for every request after it.
local M = {
  max_attempts = 4,          -- attempts per request, the first one included
  base_delay = 0.5,          -- seconds before the first retry without Retry-After
  max_delay = 8,             -- cap on any backoff delay
  max_retry_after = 60,      -- a longer Retry-After makes the request fail instead of waiting
  retry_statuses = { [429] = true, [502] = true, [503] = true, [504] = true },
  idempotent = { GET = true, HEAD = true },
  timeout = 60,              -- seconds for a whole request (0 = none)
  connect_timeout = 10,      -- seconds to establish a connection
  concurrency = 8,           -- transfers in flight in a batch
  max_throttled = 12,        -- 429 answers (not processed: always safe to retry) per request
}

return M
