-- A direct writer of the config file, for the contention and crash specs:
--   astro --lua spec/support/config_writer.lua PATH keys NAME COUNT
--       sets writers.NAME.k1 .. kCOUNT, one update each (value = the key's number);
--   astro --lua spec/support/config_writer.lua PATH flip SIZE
--       alternates the key `big` between SIZE bytes of "a" and of "b" until killed.
-- Exits 1 with the message on stderr when an update fails.
local config = require("astro.core.config")
local path, mode = arg[1], arg[2]

local function update(changes)
  local ok, err = config.update(path, changes)
  if not ok then
    io.stderr:write(err, "\n")
    os.exit(1)
  end
end

if mode == "keys" then
  for i = 1, tonumber(arg[4]) do update({ { path = { "writers", arg[3], "k" .. i }, value = i } }) end
elseif mode == "flip" then
  local values = { string.rep("a", tonumber(arg[3])), string.rep("b", tonumber(arg[3])) }
  local i = 0
  while true do
    i = i % 2 + 1
    update({ { path = "big", value = values[i] } })
  end
else
  io.stderr:write("usage: config_writer.lua PATH keys NAME COUNT | PATH flip SIZE\n")
  os.exit(2)
end
