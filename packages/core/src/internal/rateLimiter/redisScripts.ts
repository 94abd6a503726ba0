/**
 * The Lua scripts of the Redis store: one per algorithm, each a line-for-line port of
 * the arithmetic in `algorithms.ts`. Lua numbers are IEEE doubles, and every parameter
 * crosses as a shortest round-trip decimal string, so a script given the same `now`
 * makes the same decision as the in-memory store, to the last bit (the integration
 * test replays random traffic through both and compares).
 *
 * One call decides one request against the key's budget and, when `KEYS[2]` is given,
 * the global budget, and consumes from both or from neither.
 *
 *   KEYS: key state, [global state]
 *   ARGV: cost, now in ms ("" for Redis TIME), commit ("1" or "0"), expiry margin in ms,
 *         the key budget's parameters, [the global budget's parameters]
 *   reply: allowed, key allowed, key remaining, key retryAfter (-1 for never), key
 *          resetAfter, global allowed, global remaining, global retryAfter, global
 *          resetAfter; and, when not committing, the key's state was found (0/1) and
 *          the key's rate (a string)
 *
 * Redis TIME is read to the microsecond (a fraction of a millisecond): the arithmetic
 * holds for any time, and a window then fills to its last microsecond rather than to
 * its last whole millisecond.
 *
 * Redis turns Lua numbers into integers when replying, so every number replied is a
 * whole one already (the arithmetic rounds them exactly as the in-memory store does).
 *
 * A state that is idle (as permissive as a fresh one) is deleted rather than stored,
 * and a stored state expires `margin` ms after it becomes idle: forgetting it then
 * changes no decision.
 *
 * @internal
 */

const prelude = `
local EPS = 1e-6
local function whole(x) if x <= 0 then return 0 end return math.floor(x + EPS) end
local function untilMs(x) if x <= EPS then return 0 end return math.ceil(x - EPS) end
local cost = tonumber(ARGV[1])
local now
if ARGV[2] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
else
  now = tonumber(ARGV[2])
end
local commit = ARGV[3] == '1'
local margin = tonumber(ARGV[4])
local function expire(key, found, untilIdle)
  if untilIdle <= 0 then
    if found then redis.call('DEL', key) end
    return false
  end
  return math.ceil(untilIdle) + margin
end
`

// State: the theoretical arrival time (TAT), a string value. Parameters: interval (ms
// per token), tolerance (burst × interval), burst.
const tokenBucket = `
local PARAMS = 3
local function params(at) return { tonumber(ARGV[at]), tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2]) } end
local function load(key)
  local v = redis.call('GET', key)
  if v then return tonumber(v) end
  return nil
end
local function base(tat)
  if tat ~= nil and tat > now then return tat end
  return now
end
local function probe(tat, p)
  local interval, tolerance, burst = p[1], p[2], p[3]
  local b = base(tat)
  local nxt = b + cost * interval
  local conformsAt = nxt - tolerance
  if conformsAt - now <= EPS then
    return true, whole((now + tolerance - nxt) / interval), 0, untilMs(nxt - now)
  end
  local retry = -1
  if cost <= burst then retry = untilMs(conformsAt - now) end
  return false, whole((now + tolerance - b) / interval), retry, untilMs(b - now)
end
local function save(key, tat, p)
  local nxt = base(tat) + cost * p[1]
  local ttl = expire(key, tat ~= nil, nxt - now)
  if ttl then redis.call('SET', key, nxt, 'PX', ttl) end
end
local function rate() return 0 end
`

// State: a hash of window start (s), previous count (p), current count (c).
// Parameters: limit, window.
const slidingWindow = `
local PARAMS = 2
local function params(at) return { tonumber(ARGV[at]), tonumber(ARGV[at + 1]) } end
local function load(key)
  local v = redis.call('HMGET', key, 's', 'p', 'c')
  if v[1] then return { tonumber(v[1]), tonumber(v[2]), tonumber(v[3]) } end
  return nil
end
local function fields(st)
  if st == nil then return -math.huge, 0, 0 end
  return st[1], st[2], st[3]
end
local function resetAfter(w, start, previous, current)
  if current > 0 then return untilMs(start + 2 * w - now) end
  if previous > 0 then return untilMs(start + w - now) end
  return 0
end
local function probe(st, p)
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
    return true, whole((budget - used - cost * w) / w), 0, resetAfter(w, start, previous, current + cost)
  end
  local retry
  if cost > limit then
    retry = -1
  elseif current + cost <= limit then
    retry = untilMs(start + w - ((limit - current - cost) * w) / previous - now)
  else
    retry = untilMs(start + 2 * w - ((limit - cost) * w) / current - now)
  end
  return false, whole((budget - used) / w), retry, resetAfter(w, start, previous, current)
end
local function isIdle(w, start, previous, current)
  local age = now - start
  if current == 0 then return age >= w or previous == 0 end
  return age >= 2 * w
end
local function save(key, st, p)
  local w = p[2]
  local start, previous, current = fields(st)
  if isIdle(w, start, previous, current) then
    start = now
    previous = 0
    current = cost
  elseif now - start >= w then
    start = start + w
    previous = current
    current = cost
  else
    current = current + cost
  end
  local untilIdle = 0
  if current > 0 then untilIdle = start + 2 * w - now elseif previous > 0 then untilIdle = start + w - now end
  local ttl = expire(key, st ~= nil, untilIdle)
  if ttl then
    redis.call('HSET', key, 's', start, 'p', previous, 'c', current)
    redis.call('PEXPIRE', key, ttl)
  end
end
local function rate(st, p)
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

// State: a hash of window start (s) and count (c). Parameters: limit, window.
const fixedWindow = `
local PARAMS = 2
local function params(at) return { tonumber(ARGV[at]), tonumber(ARGV[at + 1]) } end
local function load(key)
  local v = redis.call('HMGET', key, 's', 'c')
  if v[1] then return { tonumber(v[1]), tonumber(v[2]) } end
  return nil
end
local function view(st, w)
  if st == nil or st[2] == 0 or now - st[1] >= w then return now, 0 end
  return st[1], st[2]
end
local function probe(st, p)
  local limit, w = p[1], p[2]
  local start, count = view(st, w)
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
local function save(key, st, p)
  local w = p[2]
  local start, count = view(st, w)
  count = count + cost
  local untilIdle = 0
  if count > 0 then untilIdle = start + w - now end
  local ttl = expire(key, st ~= nil, untilIdle)
  if ttl then
    redis.call('HSET', key, 's', start, 'c', count)
    redis.call('PEXPIRE', key, ttl)
  end
end
local function rate(st, p)
  local _, count = view(st, p[2])
  return count * 1000 / p[2]
end
`

const driver = `
local kp = params(5)
local ks = load(KEYS[1])
local kA, kRem, kRetry, kReset = probe(ks, kp)
local gA, gRem, gRetry, gReset = true, 0, 0, 0
local gp, gs
if #KEYS > 1 then
  gp = params(5 + PARAMS)
  gs = load(KEYS[2])
  gA, gRem, gRetry, gReset = probe(gs, gp)
end
local allowed = kA and gA
if commit then
  if allowed then
    save(KEYS[1], ks, kp)
    if #KEYS > 1 then save(KEYS[2], gs, gp) end
  end
  return { allowed and 1 or 0, kA and 1 or 0, kRem, kRetry, kReset, gA and 1 or 0, gRem, gRetry, gReset }
end
return {
  allowed and 1 or 0, kA and 1 or 0, kRem, kRetry, kReset, gA and 1 or 0, gRem, gRetry, gReset,
  ks ~= nil and 1 or 0, string.format('%.17g', rate(ks, kp))
}
`

/** @internal */
export const scripts = {
  "token-bucket": prelude + tokenBucket + driver,
  "sliding-window": prelude + slidingWindow + driver,
  "fixed-window": prelude + fixedWindow + driver
} as const
