-- Argo CD health of a HealthDataHub (hdh.sovereign.eu), from the conditions the operator keeps:
-- Ready summarises placement, storage, keys and datastore; Stalled=True means the input must be
-- fixed; Reconciling=True means the current generation is being worked on.
local hs = {}

local function condition(conditions, conditionType)
  if conditions == nil then
    return nil
  end
  for _, c in ipairs(conditions) do
    if c.type == conditionType then
      return c
    end
  end
  return nil
end

if obj.status == nil or obj.status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to report the hub's status"
  return hs
end

-- A status computed for an older spec says nothing about the current one.
if obj.metadata.generation ~= nil and
    (obj.status.observedGeneration == nil or obj.status.observedGeneration < obj.metadata.generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. tostring(obj.metadata.generation)
  return hs
end

local ready = condition(obj.status.conditions, "Ready")
local stalled = condition(obj.status.conditions, "Stalled")
local reconciling = condition(obj.status.conditions, "Reconciling")

if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = stalled.message or stalled.reason or "Stalled"
  return hs
end

if obj.spec ~= nil and obj.spec.suspend == true then
  hs.status = "Suspended"
  hs.message = "spec.suspend is true: storage, keys and the datastore are not reconciled; placement is still audited"
  if ready ~= nil and ready.status == "False" and ready.message ~= nil then
    hs.message = hs.message .. " (" .. ready.message .. ")"
  end
  return hs
end

if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or "Ready"
  return hs
end

if reconciling ~= nil and reconciling.status == "True" then
  hs.status = "Progressing"
  -- Ready says what is still pending; Reconciling only that work goes on.
  hs.message = (ready ~= nil and ready.message) or reconciling.message or "Reconciling"
  return hs
end

if ready ~= nil and ready.status == "False" then
  hs.status = "Degraded"
  hs.message = ready.message or ready.reason or "Not ready"
  return hs
end

hs.status = "Progressing"
hs.message = (ready ~= nil and ready.message) or "Waiting for the hub to become ready"
return hs
