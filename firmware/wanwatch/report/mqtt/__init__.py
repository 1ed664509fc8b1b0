# mqtt: a small MQTT 3.1.1 client for the agent: codec.py (pure packets) + client.py (asyncio).
