-- Wall-clock milliseconds (with fractions) for the wrk scripts (wrk.lua, bench/window/rotate.lua),
-- through LuaJIT's ffi: os.time() has whole seconds only. Each loads it with
-- dofile(<dir of this file>/wrk-clock.lua) and gets the function.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_usec; } refit_timeval;
int gettimeofday(refit_timeval *tv, void *tz);
]]
local tv = ffi.new("refit_timeval")
return function()
  ffi.C.gettimeofday(tv, nil)
  return tonumber(tv.tv_sec) * 1000 + tonumber(tv.tv_usec) / 1000
end
