-- Decoding hostile but valid JSON: astro.json.decode against lua-cjson alone on the same text,
-- for bodies of SIZES MB (default 1,8) made of empty objects `{}` (the pre-pass's worst case),
-- of strings holding `{}`, and of objects holding an empty object. Run through the host:
--   build/astro --lua bench/json_decode.lua [SIZES]
local json = require("astro.json")
local cjson = require("cjson.safe")
local sys = require("astro.core.sys")

local sizes = {}
for mb in (arg[1] or "1,8"):gmatch("[^,]+") do sizes[#sizes + 1] = tonumber(mb) end
local kinds = {
  { "empty objects  [{},{},...]", "{}," },
  { "strings        [\"{}\",...]", '"{}",' },
  { "nested         [{\"a\":{}},...]", '{"a":{}},' },
}

print(string.format("%-32s %6s %10s %10s %8s %10s", "body", "MB", "cjson_s", "decode_s", "ratio", "heap_MB"))
for _, kind in ipairs(kinds) do
  for _, mb in ipairs(sizes) do
    local text = "[" .. kind[2]:rep(math.floor(mb * 1048576 / #kind[2])) .. "0]"
    collectgarbage()
    local t0 = sys.now()
    local v = cjson.decode(text)
    local c = sys.now() - t0
    v = nil
    collectgarbage()
    t0 = sys.now()
    v = assert(json.decode(text))
    local d = sys.now() - t0
    local heap = collectgarbage("count") / 1024
    print(string.format("%-32s %6d %10.2f %10.2f %8.1f %10.0f", kind[1], mb, c, d, d / c, heap))
    v = nil
    collectgarbage()
  end
end
