/**
 * The Lua scripts of the Redis store: one per algorithm, each a line-for-line port of
 * the arithmetic in `algorithms.ts`. Lua numbers are IEEE doubles, and every number
 * crosses as a shortest round-trip decimal string, so a script given the same time
 * makes the same decision as the in-memory store, to the last bit (the integration
 * test replays random traffic through both and compares).
 *
 * One call decides a batch of requests of one limiter, in order, each as one atomic
 * step: against its key's budget and, when there is one, the global budget, consuming
 * from both or from neither. All of a limiter's keys share a Redis Cluster hash slot,
 * so one script may touch them all. A batch reads every state with one MGET and writes
 * each changed state once.
 *
 *   KEYS: [global state,] the batch's distinct key states
 *   ARGV: expiry margin in ms, "1" when KEYS[1] is the global state (else "0"),
 *         the key budget's parameters, [the global budget's parameters,]
 *         then per request: index of its key in KEYS, cost, mode ("1" consume, "0"
 *         peek, "2" peek and describe the key), time in ms ("" for Redis TIME)
 *   reply, per request: key allowed (0/1), key remaining, key retryAfter (-1 for
 *         never), key resetAfter, [global allowed, global remaining, global retryAfter,
 *         global resetAfter,] and in mode "2": the key's state was found (0/1) and
 *         the key's rate (a string)
 *
 * Redis turns Lua numbers into integers when replying, so every number replied is a
 * whole one already (the arithmetic rounds them as the in-memory store does). Redis
 * TIME is read once per batch, to the microsecond (a fraction of a millisecond): the
 * arithmetic holds for any time, and a window then fills to its last microsecond
 * rather than to its last whole millisecond.
 *
 * A state that is idle (as permissive as a fresh one) is deleted rather than stored,
 * and a stored state expires `margin` ms after it becomes idle: forgetting it then
 * changes no decision. States are strings: a bucket's theoretical arrival time; a
 * sliding window's start, previous and current counts; a fixed window's start and
 * count (numbers separated by spaces).
 *
 * @internal
 */

const prelude = `
local EPS = 1e-6
local function whole(x) if x <= 0 then return 0 end return math.floor(x + EPS) end
local function untilMs(x) if x <= EPS then return 0 end return math.ceil(x - EPS) end
`

// State: the theoretical arrival time (TAT). Parameters: interval (ms per token),
// tolerance (burst × interval), burst.
const tokenBucket = `
local PARAMS = 3
local function params(at) return { tonumber(ARGV[at]), tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2]) } end
local function decode(v) return tonumber(v) end
local function encode(tat) return string.format('%.17g', tat) end
local function base(tat, now)
  if tat ~= nil and tat > now then return tat end
  return now
end
local function probe(tat, p, cost, now)
  local interval, tolerance, burst = p[1], p[2], p[3]
  local b = base(tat, now)
  local nxt = b + cost * interval
  local conformsAt = nxt - tolerance
  if conformsAt - now <= EPS then
    return true, whole((now + tolerance - nxt) / interval), 0, untilMs(nxt - now)
  end
  local retry = -1
  if cost <= burst then retry = untilMs(conformsAt - now) end
  return false, whole((now + tolerance - b) / interval), retry, untilMs(b - now)
end
local function advance(tat, p, cost, now) return base(tat, now) + cost * p[1] end
local function untilIdle(tat, p, now) return tat - now end
local function rate() return 0 end
`

// State: window start, previous count, current count. Parameters: limit, window.
const slidingWindow = `
local PARAMS = 2
local function params(at) return { tonumber(ARGV[at]), tonumber(ARGV[at + 1]) } end
local function decode(v)
  local s, p, c = string.match(v, '^(%S+) (%S+) (%S+)$')
  if s == nil then return nil end
  return { tonumber(s), tonumber(p), tonumber(c) }
end
local function encode(st) return string.format('%.17g %.17g %.17g', st[1], st[2], st[3]) end
local function fields(st)
  if st == nil then return -math.huge, 0, 0 end
  return st[1], st[2], st[3]
end
local function resetAfter(w, start, previous, current, now)
  if current > 0 then return untilMs(start + 2 * w - now) end
  if previous > 0 then return untilMs(start + w - now) end
  return 0
end
local function probe(st, p, cost, now)
  local limit, w = p[1], p[2]
  local start, previous, current = fields(st)
  local age = now - start
  if age >= 2 * w then
    start = now
    previous = 0
    current = 0
  elseif age >= w then
    start = start + w
    previous = current
    current = 0
  end
  if previous == 0 and current == 0 then start = now end
  local left = w - math.max(0, now - start)
  local used = previous * left + current * w
  local budget = limit * w
  if used + cost * w <= budget then
    return true, whole((budget - used - cost * w) / w), 0, resetAfter(w, start, previous, current + cost, now)
  end
  local retry
  if cost > limit then
    retry = -1
  elseif current + cost <= limit then
    retry = untilMs(start + w - ((limit - current - cost) * w) / previous - now)
  else
    retry = untilMs(start + 2 * w - ((limit - cost) * w) / current - now)
  end
  return false, whole((budget - used) / w), retry, resetAfter(w, start, previous, current, now)
end
local function advance(st, p, cost, now)
  local w = p[2]
  local start, previous, current = fields(st)
  local age = now - start
  local idle
  if current == 0 then idle = age >= w or previous == 0 else idle = age >= 2 * w end
  if idle then return { now, 0, cost } end
  if age >= w then return { start + w, current, cost } end
  return { start, previous, current + cost }
end
local function untilIdle(st, p, now)
  if st[3] > 0 then return st[1] + 2 * p[2] - now end
  if st[2] > 0 then return st[1] + p[2] - now end
  return 0
end
local function rate(st, p, now)
  if st == nil then return 0 end
  local w = p[2]
  local age = now - st[1]
  if age >= 2 * w then return 0 end
  local previous, current, elapsed = st[2], st[3], math.max(0, age)
  if age >= w then
    previous = st[3]
    current = 0
    elapsed = age - w
  end
  return ((previous * (w - elapsed)) / w + current) * 1000 / w
end
`

// State: window start, count. Parameters: limit, window.
const fixedWindow = `
local PARAMS = 2
local function params(at) return { tonumber(ARGV[at]), tonumber(ARGV[at + 1]) } end
local function decode(v)
  local s, c = string.match(v, '^(%S+) (%S+)$')
  if s == nil then return nil end
  return { tonumber(s), tonumber(c) }
end
local function encode(st) return string.format('%.17g %.17g', st[1], st[2]) end
local function view(st, w, now)
  if st == nil or st[2] == 0 or now - st[1] >= w then return now, 0 end
  return st[1], st[2]
end
local function probe(st, p, cost, now)
  local limit, w = p[1], p[2]
  local start, count = view(st, w, now)
  local ending = start + w - now
  if count + cost <= limit then
    local reset = 0
    if count + cost > 0 then reset = untilMs(ending) end
    return true, whole(limit - count - cost), 0, reset
  end
  local retry = -1
  if cost <= limit then retry = untilMs(ending) end
  local reset = 0
  if count > 0 then reset = untilMs(ending) end
  return false, whole(limit - count), retry, reset
end
local function advance(st, p, cost, now)
  local start, count = view(st, p[2], now)
  return { start, count + cost }
end
local function untilIdle(st, p, now)
  if st[2] > 0 then return st[1] + p[2] - now end
  return 0
end
local function rate(st, p, now)
  local _, count = view(st, p[2], now)
  return count * 1000 / p[2]
end
`

const driver = `
local margin = tonumber(ARGV[1])
local global = ARGV[2] == '1'
local kp = params(3)
local at = 3 + PARAMS
local gp
if global then
  gp = params(at)
  at = at + PARAMS
end
local values = redis.call('MGET', unpack(KEYS))
local states, found = {}, {}
for i = 1, #KEYS do
  if values[i] then states[i] = decode(values[i]) end
  found[i] = values[i] ~= false
end
local clock
local dirty = {}
local out, n = {}, 0
while at <= #ARGV do
  local k, cost, mode, t = tonumber(ARGV[at]), tonumber(ARGV[at + 1]), ARGV[at + 2], ARGV[at + 3]
  at = at + 4
  local now
  if t == '' then
    if clock == nil then
      local time = redis.call('TIME')
      clock = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
    end
    now = clock
  else
    now = tonumber(t)
  end
  local kA, kRem, kRetry, kReset = probe(states[k], kp, cost, now)
  local gA, gRem, gRetry, gReset = true, 0, 0, 0
  if global then gA, gRem, gRetry, gReset = probe(states[1], gp, cost, now) end
  if mode == '1' and kA and gA then
    states[k] = advance(states[k], kp, cost, now)
    dirty[k] = now
    if global then
      states[1] = advance(states[1], gp, cost, now)
      dirty[1] = now
    end
  end
  out[n + 1] = kA and 1 or 0
  out[n + 2] = kRem
  out[n + 3] = kRetry
  out[n + 4] = kReset
  n = n + 4
  if global then
    out[n + 1] = gA and 1 or 0
    out[n + 2] = gRem
    out[n + 3] = gRetry
    out[n + 4] = gReset
    n = n + 4
  end
  if mode == '2' then
    out[n + 1] = states[k] ~= nil and 1 or 0
    out[n + 2] = string.format('%.17g', rate(states[k], kp, now))
    n = n + 2
  end
end
for k, now in pairs(dirty) do
  local p = kp
  if global and k == 1 then p = gp end
  local ttl = untilIdle(states[k], p, now)
  if ttl > 0 then
    redis.call('SET', KEYS[k], encode(states[k]), 'PX', math.ceil(ttl) + margin)
  elseif found[k] then
    redis.call('DEL', KEYS[k])
  end
end
return out
`

/** @internal */
export const scripts = {
  "token-bucket": prelude + tokenBucket + driver,
  "sliding-window": prelude + slidingWindow + driver,
  "fixed-window": prelude + fixedWindow + driver
} as const
