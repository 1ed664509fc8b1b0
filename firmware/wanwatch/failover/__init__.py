# failover/: health checks and failover: probes, link state, policy, session restarts,
# routing actuators, the link monitor and netifd hotplug events.
