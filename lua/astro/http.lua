--- HTTP settings for scripts and plugins: the retry and timeout policy every request follows,
-- and which proxy variable applies to a URL. Requests themselves go through a client
-- (astro.request, astro.client()): nothing here sends one.
local policy = require("astro._core.policy")
local transport = require("astro._core.transport")

local M = {}

--- The retry and timeout defaults (max_attempts, base_delay, max_delay, max_retry_after,
-- retry_statuses, idempotent, timeout, connect_timeout, concurrency, max_throttled); a change
-- holds for every request after it.
M.policy = policy

--- The name of the proxy variable curl's rules pick for url (http_proxy, HTTPS_PROXY,
-- ALL_PROXY, ...), or nil when none applies or NO_PROXY lists the host; never its value.
M.proxy_variable = transport.proxy_variable

return M
