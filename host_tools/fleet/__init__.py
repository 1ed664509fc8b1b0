"""Fleet side for controllers: live view, alerts, inventory export, history, simulator."""
