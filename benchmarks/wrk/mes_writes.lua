-- wrk script: a supervisor receiving lots, one audited command per request, paced by delay()
-- (benchmarks/mes_api_load.sh runs two connections: about 200 writes/s on this machine).
local n = 0
request = function()
  n = n + 1
  local body = string.format(
    '{"id":"L-BENCH-%d-%d","material":"API-PARA","quantity":10,"unit":"kg","expires_at":"2030-01-01T00:00:00.000Z"}',
    os.time(), n)
  return wrk.format("POST", "/api/v1/lots", {["Content-Type"] = "application/json",
                                              ["Authorization"] = "Bearer " .. os.getenv("WRITE_TOKEN")}, body)
end
delay = function() return 5 end
