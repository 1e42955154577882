-- Baseline for bench/list.sh: pages the organization's users the astro CLI's way, 100 at a
-- time, one request after another (with the same HTTP session and retry policy as astro), and
-- prints the number of users. Run inside the host: astro --lua bench/sequential_list.lua
local astro = require("astro")
local client = assert(astro.client())
local path = assert(client:org_path("/users"))
local offset, count = 0, 0
while true do
  local data = assert(client:get(path, { limit = 100, offset = offset }))
  count = count + #data.users
  if data.totalCount <= offset + 100 then break end
  offset = offset + 100
end
print(count)
